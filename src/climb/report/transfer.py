"""The transfer table: a model trained on one dataset, tested on its own test split and on external ones.

Built from the typed result rows alone: a row whose `dataset` is not among its `trained_on` is an
external test (`climb.benchmark.protocols.external`, `TrainConfig.test_on`). One table per training
dataset, one row per (protocol, encoder, seed), one column per test dataset, in the task's headline
metric with each row's own 95% patient-level bootstrap CI; the drop from internal to external is a
derived number, labelled as such. Fusion's cross-site tests are in the fusion section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from climb.report.document import Note, Section, Table, format_estimate, format_number

if TYPE_CHECKING:
    from climb.report.sections import Context


def is_external(frame: pd.DataFrame) -> pd.Series:
    """Rows testing a dataset the model was not trained on."""
    trained = frame["trained_on"].fillna("").astype(str)
    return pd.Series([bool(t) and d not in t.split("+") for d, t in zip(frame["dataset"], trained)], index=frame.index)


def transfer_section(ctx: Context) -> Section | None:
    from climb.report.sections import METRICS, headline_metric

    results = ctx.run.results
    if "trained_on" not in results.columns or results.empty:
        return None
    results = results[results["fusion"].fillna("").eq("")] if "fusion" in results.columns else results
    external = results[is_external(results)]
    if external.empty:
        return None
    blocks: list = [Note("Trained once, tested on the training dataset's own test split (internal) and on every "
                         "split of other datasets with the same labels (external); 95% patient-level bootstrap "
                         "CIs. 'external - internal' is the difference of the two point estimates (derived).")]
    for trained_on, ext in external.groupby("trained_on", sort=True):
        metric = headline_metric(ext)
        keys = ["protocol", "encoder", "seed"]
        cells = set(ext["cell"]) if "cell" in ext.columns else set()
        own = results[(results["dataset"] == trained_on) & (results["split"] == "test") & (results["metric"] == metric)
                      & results["trained_on"].eq(trained_on) & (results["cell"].isin(cells) if cells else True)]
        ext = ext[ext["metric"] == metric]
        targets = sorted(ext["dataset"].unique())
        label = METRICS.get(metric, metric)
        columns = [*keys, f"internal ({trained_on} test)", *(f"{t} (external)" for t in targets),
                   *(f"{t} - internal" for t in targets)]
        body = [_row(key, own, ext, keys, targets) for key, _ in ext.groupby(keys, sort=True)]
        blocks.append(Table(columns, body, f"trained on {trained_on}: test {label}"))
    return Section("External validation (transfer)", "transfer", blocks)


def _row(key: tuple, own: pd.DataFrame, ext: pd.DataFrame, keys: list[str], targets: list[str]) -> list[str]:
    def pick(frame: pd.DataFrame) -> pd.Series | None:
        match = frame[(frame[keys] == pd.Series(key, index=keys)).all(axis=1)]
        return match.iloc[0] if len(match) else None

    inside = pick(own)
    outside = {t: pick(ext[ext["dataset"] == t]) for t in targets}
    cells = [format_estimate(r.value, r.ci_low, r.ci_high) if r is not None else "" for r in [inside, *outside.values()]]
    drops = [format_number(r.value - inside.value) if r is not None and inside is not None else ""
             for r in outside.values()]
    return [str(k) for k in key] + cells + drops
