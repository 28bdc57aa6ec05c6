"""Nothing in climb unpickles: every checkpoint / weights load is safetensors or torch.load(weights_only=True).

A pickle is a program: loading one from a run directory, a download or a mirror runs
whatever it contains. This test reads every module of the package (all layers, so it
guards every helper's code) and fails on any load that could unpickle.
"""

from __future__ import annotations

import re
from pathlib import Path

import climb

PACKAGE = Path(climb.__file__).parent
UNSAFE = {
    r"\bimport\s+(c?pickle|dill|joblib|cloudpickle)\b": "imports a pickle library",
    r"\bfrom\s+(c?pickle|dill|joblib|cloudpickle)\b": "imports a pickle library",
    r"\bpickle\.loads?\(": "unpickles",
    r"weights_only\s*=\s*False": "torch.load(weights_only=False) unpickles",
    r"allow_pickle\s*=\s*True": "numpy allow_pickle=True unpickles",
    r"\.load_from_checkpoint\(": "Lightning's load_from_checkpoint (use climb.train.engine.load_checkpoint)",
    r"\bread_pickle\(": "pandas read_pickle unpickles",
    r"torch\.hub\.load\(": "torch.hub.load runs downloaded code",
}


def _torch_loads_without_weights_only(text: str) -> list[int]:
    """Line numbers of torch.load(...) calls whose arguments do not say weights_only=True."""
    lines = []
    for match in re.finditer(r"torch\.load\(", text):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        if not re.search(r"weights_only\s*=\s*True", text[match.end():end]):
            lines.append(text.count("\n", 0, match.start()) + 1)
    return lines


def test_no_module_of_the_package_can_unpickle():
    problems = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50, "the package was not found"
    for path in files:
        text = path.read_text(encoding="utf-8")
        code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # comments may mention them
        for pattern, why in UNSAFE.items():
            for m in re.finditer(pattern, code):
                problems.append(f"{path.relative_to(PACKAGE)}:{code.count(chr(10), 0, m.start()) + 1}: {why}")
        problems += [f"{path.relative_to(PACKAGE)}:{n}: torch.load without weights_only=True"
                     for n in _torch_loads_without_weights_only(code)]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_are_for():
    assert _torch_loads_without_weights_only("x = torch.load(p, map_location='cpu')") == [1]
    assert _torch_loads_without_weights_only("torch.load(\n p,\n weights_only=True)") == []
    assert any(re.search(p, "m = M.load_from_checkpoint(path)") for p in UNSAFE)
    assert any(re.search(p, "import pickle") for p in UNSAFE)
    assert any(re.search(p, "np.load(f, allow_pickle=True)") for p in UNSAFE)
