"""User catalogs ($CLIMB_CATALOG_PATH) and plugin-registered entries: listed, shown, validated."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from climb import catalog, plugins
from climb.catalog import CATALOG_PATH_VAR, CatalogError, entries, entries_dir, entry_origin, get
from climb.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_registered", {})
    monkeypatch.setattr(plugins, "_loaded", {})
    monkeypatch.delenv(plugins.ENV_VAR, raising=False)
    monkeypatch.delenv(CATALOG_PATH_VAR, raising=False)


def _entry(entry_id: str, **changes) -> dict:
    """A user's entry for their own copy of BUSI: the built-in entry's facts under a new id."""
    raw = yaml.safe_load((entries_dir() / "busi.yaml").read_text())
    return {**raw, "id": entry_id, "name": f"{entry_id} (my lab's BUSI copy)", "in_climb": False, **changes}


def _write(directory: Path, entry: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{entry['id']}.yaml"
    path.write_text(yaml.safe_dump(entry))
    return path


def test_catalog_path_entries_are_listed_and_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    first, second = _write(a, _entry("lab_busi")), _write(b, _entry("lab_busi_site2", labels=["benign", "malignant"],
                                                                    task="binary"))
    monkeypatch.setenv(CATALOG_PATH_VAR, f"{a}{__import__('os').pathsep}{b}")
    ids = [e.id for e in entries()]
    assert {"lab_busi", "lab_busi_site2", "busi", "mitdb"} <= set(ids) and ids == sorted(ids)
    assert get("lab_busi_site2").labels == ["benign", "malignant"]
    assert entry_origin("lab_busi") == str(first) and entry_origin("lab_busi_site2") == str(second)
    assert entry_origin("busi") == str(entries_dir() / "busi.yaml")


def test_catalog_path_entry_edited_is_reread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CATALOG_PATH_VAR, str(tmp_path))
    _write(tmp_path, _entry("lab_busi"))
    assert get("lab_busi").task.value == "multiclass"
    _write(tmp_path, _entry("lab_busi", task="binary", labels=["benign", "malignant"], notes="edited"))
    assert get("lab_busi").task.value == "binary"


@pytest.mark.parametrize("problem, match", [
    ({"access": "whenever"}, r"lab_busi\.yaml: access: "),
    ({"id": "other_id"}, r"lab_busi\.yaml: field id: 'other_id' must match the file name 'lab_busi'"),
])
def test_a_bad_user_entry_is_one_line_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      problem: dict, match: str) -> None:
    path = tmp_path / "lab_busi.yaml"
    path.write_text(yaml.safe_dump({**_entry("lab_busi"), **problem}))
    monkeypatch.setenv(CATALOG_PATH_VAR, str(tmp_path))
    with pytest.raises(CatalogError, match=match):
        entries()
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], result.stderr


def test_unparsable_yaml_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lab_busi.yaml").write_text("id: lab_busi\nname: [unclosed\n")
    monkeypatch.setenv(CATALOG_PATH_VAR, str(tmp_path))
    with pytest.raises(CatalogError) as info:
        get("busi")
    assert "\n" not in str(info.value) and str(tmp_path / "lab_busi.yaml") in str(info.value)


def test_a_user_entry_may_not_redefine_an_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, _entry("busi"))
    monkeypatch.setenv(CATALOG_PATH_VAR, str(tmp_path))
    with pytest.raises(CatalogError, match=rf"{path}: catalog id 'busi' is already defined by .*entries/busi.yaml"):
        get("lab_busi")


def test_a_missing_catalog_directory_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CATALOG_PATH_VAR, str(tmp_path / "nope"))
    with pytest.raises(CatalogError, match=rf"\$CLIMB_CATALOG_PATH: {tmp_path / 'nope'} is not a directory"):
        entries()


def test_register_entry_from_a_plugin_reaches_info_and_datasets(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lab_catalog_plugin.py").write_text(textwrap.dedent(f"""
        from climb.catalog import register_entry
        register_entry({_entry("lab_busi_plugin")!r})
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV_VAR, "lab_catalog_plugin")
    result = runner.invoke(app, ["info", "lab_busi_plugin"])
    assert result.exit_code == 0, result.output
    assert "lab_busi_plugin (my lab's BUSI copy)" in result.stdout
    assert "registered entry 'lab_busi_plugin'" in result.stdout  # the "defined in" row
    listed = json.loads(runner.invoke(app, ["datasets", "--json", "--domain", "oncology"]).stdout)
    assert "lab_busi_plugin" in {d["id"] for d in listed["datasets"]}


def test_user_catalog_entry_in_climb_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, _entry("lab_busi"))
    monkeypatch.setenv(CATALOG_PATH_VAR, str(tmp_path))
    result = runner.invoke(app, ["info", "lab_busi"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "defined in" in result.stdout and str(path) in result.stdout
    assert "defined in" not in runner.invoke(app, ["info", "busi"]).stdout


def test_register_entry_conflicts_are_errors() -> None:
    entry = catalog.register_entry(_entry("lab_busi_reg"))
    assert catalog.register_entry(_entry("lab_busi_reg")) == entry  # the same again: no-op
    with pytest.raises(CatalogError, match="catalog id 'lab_busi_reg' is already registered"):
        catalog.register_entry(_entry("lab_busi_reg", notes="different"))
    with pytest.raises(CatalogError, match="'lab_bad'.*access"):
        catalog.register_entry(_entry("lab_bad", access="whenever"))
    catalog.register_entry(_entry("busi", notes="a clash"), origin="my plugin")
    with pytest.raises(CatalogError, match="my plugin: catalog id 'busi' is already defined by"):
        entries()
