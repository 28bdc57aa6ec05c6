"""Run a builder through the store alone, past `climb.prepare.prepare`'s raw-file check.

Tests of a builder's own error messages damage files whose checksums the catalog pins;
`prepare()` refuses those before the builder reads them (climb.prepare.raw_check), so
such tests assert that refusal and then reach the builder through this helper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_unverified(name: str, raw: Path, **params: Any):
    from climb.config import prepared_root
    from climb.prepare import create_builder
    from climb.prepare.store import build

    return build(create_builder(name, **params), Path(raw), prepared_root())
