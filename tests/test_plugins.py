"""climb.plugins: entry points, $CLIMB_PLUGINS and suite lists load user code once; failures are one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from climb import plugins
from helpers import pip_install_plugin


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(plugins, "_loaded", {})
    monkeypatch.delenv(plugins.ENV_VAR, raising=False)


def _write_module(root: Path, name: str, body: str) -> None:
    (root / f"{name}.py").write_text(textwrap.dedent(body))


def test_env_and_suite_modules_load_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_module(tmp_path, "plug_a", "import builtins\nbuiltins.PLUG_A = getattr(builtins, 'PLUG_A', 0) + 1\n")
    _write_module(tmp_path, "plug_b", "import builtins\nbuiltins.PLUG_B = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV_VAR, " plug_a , ")
    import builtins

    loaded = plugins.load_plugins(["plug_b"])
    plugins.load_plugins(["plug_b"])
    assert builtins.PLUG_A == 1 and builtins.PLUG_B is True
    assert loaded == {"plug_a": "$CLIMB_PLUGINS: plug_a", "plug_b": "suite: plug_b"}
    del builtins.PLUG_A, builtins.PLUG_B


@pytest.mark.parametrize("body, detail", [
    ("import not_a_module_anywhere\n", "ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
    ("raise ValueError('bad [label] table')\n", "ValueError: bad [label] table"),
])
def test_a_broken_plugin_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                body: str, detail: str) -> None:
    _write_module(tmp_path, "plug_broken", body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV_VAR, "plug_broken")
    with pytest.raises(plugins.PluginError) as info:
        plugins.load_plugins()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("plugin 'plug_broken' ($CLIMB_PLUGINS: plug_broken) failed to load: ")
    assert message.endswith(detail)


def test_entry_point_of_an_installed_distribution(tmp_path: Path) -> None:
    """A real distribution with a `climb.plugins` entry point, installed by pip into a target dir."""
    src = tmp_path / "src"
    (src / "lab_plugin").mkdir(parents=True)
    (src / "lab_plugin" / "__init__.py").write_text("SETUP_CALLS = []\ndef setup():\n    SETUP_CALLS.append(1)\n")
    target = tmp_path / "site"
    pip_install_plugin(src, target, dist="lab-plugin", package="lab_plugin", entry_point='lab = "lab_plugin:setup"')
    code = ("from climb import plugins; import lab_plugin; print(plugins.load_plugins()); "
            "plugins.load_plugins(); print(lab_plugin.SETUP_CALLS)")
    env = {**__import__("os").environ, "PYTHONPATH": f"{target}:{Path(plugins.__file__).parents[1]}"}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    assert out.splitlines() == ["{'lab': 'entry point of lab-plugin: lab_plugin:setup'}", "[1]"]


def _busi_declaration(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""
        name: {name}
        kind: image_folders
        root: Dataset_BUSI_with_GT
        skip_containing: _mask
        label: {{task: multiclass, classes: [normal, benign, malignant]}}
        split: {{by: random, fractions: {{train: 0.5, val: 0.25, test: 0.25}}}}
    """))
    return path


def test_cli_prepares_a_declared_dataset_file_and_a_plugin_registered_one(
        shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`climb prepare my.yaml` and `climb prepare NAME` of a $CLIMB_PLUGINS module, through the CLI alone."""
    from typer.testing import CliRunner

    from climb.cli import app
    from climb.prepare import open_prepared

    busi = shared_data / "real_samples" / "busi"
    if not busi.is_dir():
        pytest.skip("real_samples/busi not present in ../shared/data")
    runner = CliRunner()
    result = runner.invoke(app, ["prepare", str(_busi_declaration(tmp_path, "yaml_busi")), "--raw", str(busi), "-q"])
    assert result.exit_code == 0, result.output
    assert open_prepared("yaml_busi").card["label_names"] == ["normal", "benign", "malignant"]
    _busi_declaration(tmp_path, "plug_busi")
    _write_module(tmp_path, "lab_busi_plugin", f"""
        from pathlib import Path
        from climb.prepare.declared import register_declared
        register_declared(Path({str(tmp_path)!r}) / "plug_busi.yaml")
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV_VAR, "lab_busi_plugin")
    result = runner.invoke(app, ["prepare", "plug_busi", "--raw", str(busi), "-q"])
    assert result.exit_code == 0, result.output
    card = open_prepared("plug_busi").card
    assert sum(s["num_samples"] for s in card["splits"].values()) == 12  # the 12 real BUSI images


def test_a_plugin_encoder_is_listed_and_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A $CLIMB_PLUGINS module registers an encoder through the public function; the registry sees it."""
    _write_module(tmp_path, "lab_encoder_plugin", """
        import torch.nn as nn
        from climb.models import register_encoder

        @register_encoder("lab_tiny_mlp", "tabular", in_channels=None, description="a lab's own tabular MLP")
        def lab_tiny_mlp(in_channels, **kw):
            net = nn.Sequential(nn.Linear(in_channels, 8), nn.ReLU())
            net.out_dim = 8
            return net
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV_VAR, "lab_encoder_plugin")
    import torch

    from climb.models import create_encoder, list_encoders

    assert "lab_tiny_mlp" in list_encoders("tabular")
    assert create_encoder("lab_tiny_mlp", in_channels=5)(torch.zeros(2, 5)).shape == (2, 8)


def test_a_suites_plugins_are_imported_before_it_is_read(tmp_path: Path) -> None:
    """`plugins:` in a suite file: modules beside the suite are imported, then the suite validates."""
    from climb.benchmark.suite import load_suite, suite_path

    _write_module(tmp_path, "suite_side_plugin", "import builtins\nbuiltins.SUITE_SIDE_PLUGIN = True\n")
    demo = suite_path("demo").read_text()
    (tmp_path / "mine.yaml").write_text(demo.replace("name: demo", "name: mine", 1) + "\nplugins: [suite_side_plugin]\n")
    import builtins

    suite = load_suite(tmp_path / "mine.yaml")
    assert suite.plugins == ["suite_side_plugin"] and builtins.SUITE_SIDE_PLUGIN is True
    assert plugins.loaded_plugins()["suite_side_plugin"] == "suite: suite_side_plugin"
    del builtins.SUITE_SIDE_PLUGIN
