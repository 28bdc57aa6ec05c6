"""Install time and size of climb-bench's core and its extras, each in a fresh virtual environment.

    python benchmarks/install_size.py                      # core vs all
    python benchmarks/install_size.py --target core --target eeg --target all

For each target it creates a virtual environment under a temporary directory, times
`pip install "<repo>[extra]"` (a regular, non-editable install of this checkout), then
measures the environment's size on disk (`du`, bytes of every file) and counts the installed
distributions. pip's download cache is whatever pip uses here (say `--cold` to give every
target an empty cache of its own: everything is downloaded again, which measures the network
too). The table is printed side by side, with each target's ratio to the first one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Measured:
    target: str
    seconds: float
    bytes: int
    distributions: int


def disk_bytes(folder: Path) -> int:
    """Bytes on disk of a folder, as `du` counts them (`du -sb`)."""
    out = subprocess.run(["du", "-sb", str(folder)], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def install(target: str, work: Path, cold: bool) -> Measured:
    """A fresh venv under `work` with `climb-bench[target]` installed (`core`: no extra)."""
    venv = work / f"venv-{target}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    spec = str(REPO) if target == "core" else f"{REPO}[{target}]"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if cold:
        env["PIP_CACHE_DIR"] = str(work / f"pip-cache-{target}")
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", spec], check=True, env=env)
    seconds = time.perf_counter() - started
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"], check=True,
                            capture_output=True, text=True, env=env).stdout
    return Measured(target, seconds, disk_bytes(venv), len(json.loads(listed)))


def table(rows: list[Measured]) -> str:
    base = rows[0]
    lines = ["| target | install s | size MiB | distributions | time x | size x |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.target} | {r.seconds:.0f} | {r.bytes / 2**20:.0f} | {r.distributions} | "
                     f"{r.seconds / base.seconds:.2f} | {r.bytes / base.bytes:.2f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", action="append", help="core or an extra of pyproject.toml (repeat; default core, all)")
    p.add_argument("--cold", action="store_true", help="an empty pip cache per target (downloads everything)")
    p.add_argument("--keep", type=Path, help="build the venvs here and keep them (default: a removed temp dir)")
    args = p.parse_args()
    targets = args.target or ["core", "all"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="climb-install-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for target in targets:
            rows.append(install(target, work, args.cold))
            print(f"{target}: {rows[-1].seconds:.0f} s, {rows[-1].bytes / 2**20:.0f} MiB", file=sys.stderr)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, pip cache: {'cold' if args.cold else 'warm'}")
    print(table(rows))


if __name__ == "__main__":
    main()
