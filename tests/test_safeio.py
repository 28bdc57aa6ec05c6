"""climb.safeio: no write ever goes through a symbolic link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from climb.safeio import UnsafePathError, atomic_write_json, atomic_write_text, open_for_write


def test_open_for_write_refuses_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "file.part"
    link.symlink_to(victim)
    for append in (False, True):
        with pytest.raises(UnsafePathError, match="file.part is a symbolic link"):
            open_for_write(link, append=append)
    assert victim.read_text() == "precious"


def test_open_for_write_appends_and_truncates(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    with open_for_write(path) as f:
        f.write(b"abc")
    with open_for_write(path, append=True) as f:
        f.write(b"def")
    assert path.read_bytes() == b"abcdef"
    with open_for_write(path) as f:
        f.write(b"x")
    assert path.read_bytes() == b"x"
    with pytest.raises(FileExistsError):
        open_for_write(path, exclusive=True)


def test_atomic_write_refuses_a_link_and_leaves_no_temp(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    link = tmp_path / "card.json"
    link.symlink_to(victim)
    with pytest.raises(UnsafePathError):
        atomic_write_json(link, {"a": 1})
    assert victim.read_text() == "{}"
    target = tmp_path / "state.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_text(tmp_path / "t.txt", "hello")
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json", "state.json", "t.txt", "victim.json"]
