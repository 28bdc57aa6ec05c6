"""manifest.json of a benchmark run: suite, versions, hardware, data, seeds, times and per-cell status."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from climb.benchmark.data import DataStatus
from climb.benchmark.execute import now, rank, write_json
from climb.benchmark.suite import Suite


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    import lightning
    import torch

    import climb

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {"climb_version": climb.__version__, "git_commit": _git_commit(), "python": sys.version.split()[0],
            "torch": torch.__version__, "lightning": lightning.__version__, "platform": platform.platform(),
            "hardware": {"cpu_count": os.cpu_count(), "gpus": gpus, "machine": platform.machine()}}


class Manifest:
    """manifest.json, rewritten atomically after every cell."""

    def __init__(self, out_dir: Path, suite: Suite, suite_file: str | None, compute: dict[str, Any]):
        self.path = out_dir / "manifest.json"
        old = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.data: dict[str, Any] = {
            "suite": suite.name, "demo": suite.demo, "description": suite.description, "suite_file": suite_file,
            "suite_yaml": suite.model_dump(mode="json"), "references": suite.reference_numbers(),
            **environment(), "compute": compute, "seeds": suite.seeds,
            "started": old.get("started", now()), "attempts": [*old.get("attempts", []), now()],
            "finished": None, "datasets": {}, "cells": old.get("cells", {}),
        }

    def datasets(self, data: dict[str, DataStatus]) -> None:
        self.data["datasets"] = {n: {k: v for k, v in asdict(s).items() if k != "name"} for n, s in data.items()}

    def cell(self, cell_id: str, record: dict[str, Any]) -> None:
        self.data["cells"][cell_id] = {k: record.get(k) for k in ("status", "wall_seconds", "error")}

    def write(self, finished: bool = False) -> None:
        if finished:
            self.data["finished"] = now()
        if rank() == 0:
            write_json(self.path, self.data)
