"""Helpers shared by test modules (importable as `helpers`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _climb_home(home: Path) -> Iterator[None]:
    old = os.environ.get("CLIMB_HOME")
    os.environ["CLIMB_HOME"] = str(home)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CLIMB_HOME")
        else:
            os.environ["CLIMB_HOME"] = old


def prepare_into(home: Path, datasets: dict[str, Path]) -> Path:
    """Prepare `datasets` (name -> raw dir) into the CLIMB_HOME `home` (for session fixtures)."""
    from climb.prepare import prepare

    with _climb_home(home):
        for name, raw in datasets.items():
            prepare(name, raw=raw)
    return home


def pip_install_plugin(src: Path, target: Path, *, dist: str, package: str, entry_point: str,
                       package_data: tuple[str, ...] = ()) -> None:
    """Write `src/pyproject.toml` for a distribution `dist` with `climb.plugins` entry point
    `entry_point` ("name = module[:callable]") and pip-install `src` into `target` (offline)."""
    import subprocess
    import sys

    data = f'[tool.setuptools.package-data]\n{package} = {list(package_data)!r}\n' if package_data else ""
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{dist}"\nversion = "0.1"\n'
        f'[project.entry-points."climb.plugins"]\n{entry_point}\n'
        f'[tool.setuptools]\npackages = ["{package}"]\n{data}')
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(src)], check=True, capture_output=True)


def published_ecg200(home: Path) -> Path:
    """A tiny resnet1d_wang trained on the real UCR ECG200 beats (an installed package ships them)
    in CLIMB_HOME `home`, published as a climb model folder (`home/published`)."""
    from climb.models.publish import publish
    from climb.prepare import prepare
    from climb.train import TrainConfig, train

    with _climb_home(home):
        prepare("ecg200")
        run = train(TrainConfig(datasets=["ecg200"], encoder="resnet1d_wang", out_dir=home / "runs", epochs=1,
                                batch_size=16, limit_train_batches=2, n_boot=10))
        return publish(run.run_dir, home / "published")
