"""climb: the CLIMB clinical benchmark, from catalog to report.

Layers (data flows one way): catalog -> acquire -> prepare -> load -> models ->
train -> evaluate -> report. The CLI (`climb`) is a thin shell over them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load"]


def load(dataset: str, split: str = "train", **kwargs):
    """A torch Dataset over one split of a prepared dataset (see `climb.loading.load`).

    Imported lazily so that `import climb` (and the CLI) does not pay for torch.
    """
    from climb.loading import load as _load

    return _load(dataset, split=split, **kwargs)
