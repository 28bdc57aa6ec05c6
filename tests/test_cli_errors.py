"""Errors reach the user as one line on stderr, from one handler, for every `climb` command (issue 12).

Library errors: exit 1; usage errors: exit 2; Ctrl-C: exit 130; `--debug` / `CLIMB_DEBUG=1`:
the traceback. Messages are printed literally (no rich markup). A bug keeps its traceback.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import climb
import climb.acquire
from climb.cli import ClimbGroup, app
from climb.models.registry import EncoderError

BRACKETED = "binary class_counts must be [n_negative, n_positive], got [3, 5] ([bold]not markup[/bold])"


def climb_cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def assert_one_line(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(("error: ", "interrupted")), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _raise(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc
    return fail


def test_every_command_runs_under_the_one_handler():
    group = typer.main.get_command(app)
    assert isinstance(group, ClimbGroup)
    assert set(group.commands) >= {"download", "prepare", "train", "fewshot", "pretrain", "fusion", "benchmark",
                                   "report", "export", "datasets", "info", "models"}
    assert not any(isinstance(cmd, typer.core.TyperGroup) for cmd in group.commands.values())  # no nested handlers


@pytest.mark.parametrize("argv,needle", [
    (["fewshot", "nods", "-e", "resnet1d_wang"], "dataset 'nods' is not prepared"),  # FileNotFoundError
    (["fewshot", "nods", "-e", "no_such_encoder"], "No encoder named 'no_such_encoder'"),  # KeyError in climb
    (["download", "ptbxl", "--mirror", "/nonexistent/mirror"], "neither an http(s) URL"),
])
def test_library_errors_of_real_commands_are_one_line(argv, needle):
    code = 1 if "is not prepared" in needle else 2  # an unknown name or a bad option is a usage error
    assert_one_line(climb_cli(*argv), code, needle)


def test_encoder_error_of_a_real_training_command_is_one_line(tmp_path):
    from climb.prepare import prepare

    prepare("ecg200")  # real UCR ECG200 beats shipped in an installed package
    weights = tmp_path / "encoder.safetensors"
    weights.write_bytes(b"not safetensors")
    result = climb_cli("train", "-d", "ecg200", "-e", "resnet1d_wang", "--pretrained", str(weights),
                       "--epochs", "1", "--out", str(tmp_path / "runs"), "-q")
    # checked before any training, as a bad command-line input: exit 2
    assert_one_line(result, 2, f"{weights}: not a readable safetensors file")


def test_encoder_error_is_one_line(monkeypatch):
    monkeypatch.setattr(climb.acquire, "download", _raise(EncoderError("/x.safetensors: weights file not found")))
    assert_one_line(climb_cli("download", "mitdb"), 1, "/x.safetensors: weights file not found")


def test_bracketed_text_is_printed_literally(monkeypatch):
    monkeypatch.setattr(climb.acquire, "download", _raise(EncoderError(BRACKETED)))
    assert assert_one_line(climb_cli("download", "mitdb"), 1) == f"error: {BRACKETED}"


def test_multi_line_messages_become_one_line(monkeypatch):
    monkeypatch.setattr(climb.acquire, "download", _raise(climb.acquire.AcquireError("first\n  second\n")))
    assert assert_one_line(climb_cli("download", "mitdb"), 1) == "error: first second"


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch):
    import climb.train
    from climb.prepare import prepare

    prepare("ecg200")  # the command checks its inputs before any work: the dataset must be prepared
    import climb.train.protocols

    monkeypatch.setattr(climb.train.protocols, "few_shot_configs", _raise(KeyboardInterrupt()))
    assert_one_line(climb_cli("fewshot", "ecg200", "-e", "resnet1d_wang"), 130, "interrupted")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(monkeypatch, how):
    monkeypatch.setattr(climb.acquire, "download", _raise(EncoderError("boom")))
    result = (climb_cli("--debug", "download", "mitdb") if how == "flag"
              else climb_cli("download", "mitdb", env={"CLIMB_DEBUG": "1"}))
    assert isinstance(result.exception, EncoderError) and "error: boom" not in result.stderr


def test_a_bug_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr(climb.acquire, "download", _raise(ZeroDivisionError("division by zero")))
    result = climb_cli("download", "mitdb")
    assert isinstance(result.exception, ZeroDivisionError) and "error:" not in result.stderr


def test_empty_climb_home_is_a_usage_error_not_the_current_directory(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLIMB_HOME", "")
    result = climb_cli("download", "mitdb", "--mirror", str(shared_data / "mitdb"), "--include", "100")
    assert_one_line(result, 2, "CLIMB_HOME is set but empty")
    assert list(tmp_path.iterdir()) == []


def test_empty_mirror_is_a_usage_error(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(shared_data / "mitdb")  # an empty mirror must not mean "here"
    result = climb_cli("download", "mitdb", "--mirror", "", "--include", "100", "--dest", str(tmp_path / "d"))
    assert_one_line(result, 2, "mirror '' is empty")
    assert not (tmp_path / "d" / "100.dat").exists()


def test_forged_mirror_manifest_is_refused_by_climb_download(tmp_path):
    """`climb download ptbxl --mirror DIR` with a mirror vouching for its own files: not official."""
    mirror = tmp_path / "forged"
    (mirror / "records100" / "00000").mkdir(parents=True)
    (mirror / "ptbxl_database.csv").write_text("ecg_id,forged\n1,yes\n")
    (mirror / "records100" / "00000" / "00001_lr.dat").write_bytes(b"\0" * 100)
    sums = {p.relative_to(mirror).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in mirror.rglob("*") if p.is_file()}
    (mirror / "SHA256SUMS.txt").write_text("".join(f"{h}  {p}\n" for p, h in sums.items()))
    result = climb_cli("download", "ptbxl", "--mirror", str(mirror), "--dest", str(tmp_path / "d"), "-q")
    assert_one_line(result, 1, "does not pin the publisher's SHA256SUMS.txt", "--trust-mirror")
    assert not (tmp_path / "d" / ".climb_complete").exists() and not (tmp_path / "d" / "ptbxl_database.csv").exists()


def test_the_installed_entry_point_prints_one_line(tmp_path):
    """The real process (`python -m climb.cli`, what the `climb` script runs): stderr is one line."""
    env = {**os.environ, "CLIMB_HOME": "", "PYTHONPATH": str(Path(climb.__file__).parents[1])}
    env.pop("CLIMB_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "climb.cli", "download", "mitdb", "--mirror", str(tmp_path), "-q"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [
        "error: CLIMB_HOME is set but empty; set it to a directory, or unset it for the default ~/.cache/climb"])
    assert list(tmp_path.iterdir()) == []
