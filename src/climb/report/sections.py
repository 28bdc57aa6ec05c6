"""The report's sections, each built only from what the run contains (None when there is nothing).

Every table cell holding a result is formatted from the results.csv row itself
(`format_estimate(value, ci_low, ci_high)`); derived numbers (seed means, differences of
two point estimates) are labelled as such.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from climb.evaluate.metrics import METRICS as METRIC_REGISTRY
from climb.report import plots
from climb.report.document import Figure, Note, Section, Table, format_estimate, format_number, format_seconds
from climb.report.references import references_for
from climb.report.rows import headline_metric, is_budgeted, is_dropped, is_leak, is_paired, seed_summary, seed_text
from climb.report.run import Run, cell_wall_seconds, manifest_value
from climb.report.summary import summary_section

DEMO_BANNER = "This is the offline DEMO suite on small package-shipped data; numbers are not CLIMB results"
METRICS = {name: m.label for name, m in METRIC_REGISTRY.items()}  # display labels, from the metric registry
ROW_KEYS = ["cell", "dataset", "split", "setting", "encoder", "seed"]
MAX_PANELS = 6


@dataclass
class Context:
    run: Run
    out_dir: Path

    @property
    def figures(self) -> Path:
        return self.out_dir / "figures"

    def figure(self, name: str, caption: str) -> Figure:
        path = self.figures / f"{slug(name)}.png"
        return Figure(path, caption, relative=path.relative_to(self.out_dir).as_posix())


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _notes_text(notes_lists: Iterable[list[str]]) -> str:
    unique: list[str] = []
    for notes in notes_lists:
        unique += [n for n in notes if n not in unique]
    return "; ".join(unique)


# ---------------------------------------------------------------- header


def run_banners(ctx: Context) -> list[Note]:
    """What a reader must see first: the demo banner, failed cells, label-leak rows, unreadable files."""
    run = ctx.run
    blocks: list[Note] = []
    if run.demo:
        blocks.append(Note(DEMO_BANNER, "danger"))
    failed = [c for c, info in run.cells.items() if str(info.get("status", "")).lower() == "failed"]
    if failed:
        blocks.append(Note(f"{len(failed)} cell(s) failed: {', '.join(failed)} (see Wall time).", "warning"))
    if run.results["notes"].map(is_leak).any():
        blocks.append(Note("Some rows come from a LABEL LEAK variant (an input states the answer); they are "
                           "highlighted in red and are not benchmark results.", "danger"))
    return blocks + [Note(p, "warning") for p in run.problems]


def opening_section(ctx: Context) -> Section:
    """The report opens with the warnings and the summary matrix (`climb.report.summary`)."""
    return summary_section(ctx.run.results, run_banners(ctx))


def header_section(ctx: Context) -> Section:
    rows = [[k, v] for k, v in run_facts(ctx) if v]
    return Section("Run", "run", [Table(["", "value"], rows, caption="What was run")])


def run_facts(ctx: Context) -> list[tuple[str, str]]:
    run, m = ctx.run, ctx.run.manifest
    suite = manifest_value(m, "suite_name", "suite", "name")
    suite = suite.get("name") if isinstance(suite, dict) else suite
    started = manifest_value(m, "started", "start_time", "start", "started_at")
    ended = manifest_value(m, "ended", "end_time", "end", "finished", "ended_at")
    seeds = manifest_value(m, "seeds")
    return [
        ("suite", str(suite or run.path.name)),
        ("demo", "yes (offline demo data)" if run.demo else "no"),
        ("started", str(started or "")), ("ended", str(ended or "")),
        ("climb version", str(manifest_value(m, "climb_version", "climb", "version") or "")),
        ("git commit", str(manifest_value(m, "git_commit", "commit", "git") or "unknown")),
        ("python", str(manifest_value(m, "python_version", "python") or "")),
        ("torch", str(manifest_value(m, "torch_version", "torch") or "")),
        ("hardware", _hardware(manifest_value(m, "hardware"))),
        ("seeds", ", ".join(map(str, seeds)) if isinstance(seeds, list) else str(seeds or "")),
        ("cells", _cell_counts(run)),
        ("datasets", ", ".join(sorted(set(run.results["dataset"])))),
        ("result rows", str(len(run.results))),
        ("total wall time", format_seconds(_total_wall(run))),
    ]


def _hardware(hw: object) -> str:
    if not isinstance(hw, dict):
        return str(hw or "")
    parts = []
    for key, value in hw.items():
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "none"
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _cell_counts(run: Run) -> str:
    ids = set(run.cells) | set(run.results["cell"]) - {""}
    statuses = [str(run.cells.get(c, {}).get("status", "done" if c in set(run.results["cell"]) else "?"))
                for c in ids]
    counts = pd.Series(statuses).value_counts() if statuses else pd.Series(dtype=int)
    return f"{len(ids)} (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")" if ids else ""


def _total_wall(run: Run) -> float:
    for key in ("wall_seconds", "total_wall_seconds", "duration_seconds"):
        value = manifest_value(run.manifest, key)
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    seconds = [cell_wall_seconds(run, c) for c in set(run.cells) | set(run.results["cell"]) - {""}]
    seconds = [s for s in seconds if math.isfinite(s)]
    return float(sum(seconds)) if seconds else math.nan


# ---------------------------------------------------------------- per-dataset metrics


def metrics_section(ctx: Context) -> Section | None:
    results = ctx.run.results
    if results.empty:
        return None
    blocks: list = [Note("Headline: macro AUROC (MAE for regression), with 95% patient-level bootstrap CIs "
                         "(value [ci_low, ci_high]). Red rows: label-leak variants.")]
    for dataset, frame in results.groupby("dataset", sort=True):
        metric = headline_metric(frame)
        fig = _metric_figure(ctx, str(dataset), frame, metric)
        blocks += ([fig] if fig else []) + [metrics_table(frame, f"{dataset}: all metrics")]
    return Section("Results per dataset", "metrics", blocks)


def metrics_table(frame: pd.DataFrame, caption: str) -> Table:
    """One row per (cell, split, protocol, encoder, seed), one column per metric, exact row values."""
    present = list(dict.fromkeys(frame["metric"]))
    metrics = [m for m in METRICS if m in present] + [m for m in present if m not in METRICS]
    keys = [k for k in ROW_KEYS if k != "dataset" and (k != "cell" or frame["cell"].ne("").any())]
    with_notes = bool(frame["notes"].map(bool).any())
    columns = keys + ["n"] * ("n" in frame.columns) + [METRICS.get(m, m) for m in metrics] + ["notes"] * with_notes
    rows, classes = [], []
    for _, group in frame.groupby(keys, sort=False, dropna=False):
        first = group.iloc[0]
        row = [seed_text(first[k]) if k == "seed" else str(first[k]) for k in keys]
        if "n" in frame.columns:
            row.append(seed_text(first["n"]))
        by_metric = {r.metric: r for r in group.itertuples()}
        row += [format_estimate(by_metric[m].value, by_metric[m].ci_low, by_metric[m].ci_high)
                if m in by_metric else "" for m in metrics]
        if with_notes:
            row.append(_notes_text(group["notes"]))
        rows.append(row)
        classes.append("leak" if group["notes"].map(is_leak).any() else "")
    return Table(columns, rows, caption, classes, folded=True)


def _bar_rows(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The rows drawn as bars: the headline metric, no few-shot and no dropped-modality rows."""
    rows = frame[(frame["metric"] == metric) & ~is_budgeted(frame) & ~is_dropped(frame)
                 & ~is_paired(frame)]
    return rows[rows["split"] == "test"] if (rows["split"] == "test").any() else rows


def _estimates(rows: pd.DataFrame, keys: list[str],
               color_of: Callable[[tuple], str | None] = lambda key: None) -> list[plots.Estimate]:
    """One bar per group of `keys` (mean over seeds when several); label-leak groups in red."""
    out = []
    for key, group in rows.groupby(keys, sort=False, dropna=False):
        value, low, high, _ = seed_summary(group)
        key = key if isinstance(key, tuple) else (key,)
        n_seeds = group["seed"].nunique()
        label = " · ".join(str(k) for k in key) + (f" (mean of {n_seeds} seeds)" if n_seeds > 1 else "")
        color = plots.PALETTE[3] if group["notes"].map(is_leak).any() else color_of(key)
        out.append(plots.Estimate(label, value, low, high, color))
    return out


def _metric_figure(ctx: Context, dataset: str, frame: pd.DataFrame, metric: str) -> Figure | None:
    rows = _bar_rows(frame, metric)
    if rows.empty:
        return None
    one_encoder = rows["encoder"].nunique() == 1
    keys = ["setting"] + ["encoder"] * (not one_encoder) + ["split"] * (rows["split"].nunique() > 1)
    bars = _estimates(rows, keys)
    refs = [(f"{r.model} (published)", r.value) for r in references_for(dataset, metric, ctx.run.manifest)]
    fig = ctx.figure(f"metrics_{dataset}", f"{dataset}: test {METRICS.get(metric, metric)} per protocol and "
                                           "encoder, 95% CI error bars" + ("; dashed: published references"
                                                                           if refs else ""))
    title = f"{dataset}: {METRICS.get(metric, metric)}" + (f" ({rows['encoder'].iloc[0]})" if one_encoder else "")
    title += " — LABEL LEAK in red" if rows["notes"].map(is_leak).any() else ""
    plots.metric_bars(bars, fig.path, title, f"test {METRICS.get(metric, metric)} (95% CI)", refs)
    return fig


# ---------------------------------------------------------------- ROC and calibration


def _task_of(frame: pd.DataFrame, y: np.ndarray, score: np.ndarray) -> str:
    if "mae" in set(frame["metric"]) and "auroc" not in set(frame["metric"]):
        return "regression"
    if y.ndim == 2 and y.shape[1] > 1:
        return "multilabel"
    if score.ndim == 2 and score.shape[1] > 2:
        return "multiclass"
    if np.isin(np.unique(y), (0, 1)).all():
        return "binary"
    return "regression"


def _panels(ctx: Context) -> dict[str, list[plots.PredictionPanel]]:
    """Prediction panels per dataset: every cell's predictions except few-shot and dropped modalities."""
    results = ctx.run.results
    panels: dict[str, list[plots.PredictionPanel]] = {}
    for cell, sources in sorted(ctx.run.predictions.items()):
        for source, pred in sources.items():
            dataset, _, label = source.partition("/")
            rows = results[(results["dataset"] == dataset) & ((results["cell"] == cell) | (results["cell"] == ""))]
            protocol = str(rows["setting"].iloc[0]) if len(rows) else (label or cell)
            if "-drop-" in label or (len(rows) and is_budgeted(rows).all()) or pred["y"].size == 0:
                continue
            encoder = str(rows["encoder"].iloc[0]) if len(rows) else ""
            seed = seed_text(rows["seed"].iloc[0]) if len(rows) else ""
            title = " · ".join(p for p in (protocol, encoder, f"seed {seed}" if seed else "") if p)
            task = _task_of(rows if len(rows) else results, pred["y"], pred["score"])
            panels.setdefault(dataset, []).append(plots.PredictionPanel(title, pred["y"], pred["score"], task))
    return panels


def curves_section(ctx: Context) -> Section | None:
    blocks: list = []
    for dataset, panels in sorted(_panels(ctx).items()):
        shown, skipped = panels[:MAX_PANELS], len(panels) - MAX_PANELS
        extra = f" ({skipped} more prediction sets not drawn)" if skipped > 0 else ""
        if shown[0].task == "regression":
            fig = ctx.figure(f"regression_{dataset}", f"{dataset}: predicted vs true on the test split{extra}")
            plots.regression_panels(shown, fig.path, f"{dataset}: predicted vs true")
            blocks.append(fig)
            continue
        shown = [p for p in shown if p.task != "regression"]
        roc = ctx.figure(f"roc_{dataset}", f"{dataset}: ROC curves on the test split (multiclass/multilabel: "
                                           f"one-vs-rest per class and macro average){extra}")
        plots.roc_panels(shown, roc.path, f"{dataset}: ROC curves")
        cal = ctx.figure(f"calibration_{dataset}", f"{dataset}: reliability diagrams, 10 equal-width bins; "
                                                   f"marker size = samples in the bin{extra}")
        plots.calibration_panels(shown, cal.path, f"{dataset}: calibration")
        blocks += [roc, cal]
    if not blocks:
        return None
    return Section("ROC curves and calibration", "curves", [Note(
        "From each cell's saved test predictions (predictions.npz). Few-shot and dropped-modality "
        "predictions are summarised in their own sections.")] + blocks)


# ---------------------------------------------------------------- multitask vs single


def multitask_section(ctx: Context) -> Section | None:
    results = ctx.run.results
    paired = results[(results["protocol"] == "multitask-vs-single") & results["metric"].str.startswith("auroc")]
    if len(paired):
        table, bars = _paired_gains(paired)
        note = Note("Paired bootstrap difference multitask − single-task on the same test samples (95% CI).")
    else:
        table, bars = _computed_gains(results)
        note = Note("No paired rows in this run: differences of the two protocols' point estimates "
                    "(mean over seeds), WITHOUT a confidence interval.", "warning")
    if table is None:
        return None
    fig = ctx.figure("multitask_gain", "AUROC gain of multitask over single-task training per dataset"
                     + ("" if len(paired) else " (no CI: difference of point estimates)"))
    plots.metric_bars(bars, fig.path, "Multitask − single-task AUROC", "AUROC difference", zero_line=True)
    return Section("Multitask vs single-task", "multitask", [note, fig, table])


def _paired_gains(rows: pd.DataFrame) -> tuple[Table, list[plots.Estimate]]:
    body, bars = [], []
    for r in rows.itertuples():
        body.append([r.dataset, r.encoder, seed_text(r.seed), r.metric, format_estimate(r.value, r.ci_low, r.ci_high)])
        bars.append(plots.Estimate(f"{r.dataset} · {r.encoder}", r.value, r.ci_low, r.ci_high,
                                   plots.PALETTE[2] if r.value >= 0 else plots.PALETTE[3]))
    return Table(["dataset", "encoder", "seed", "metric", "difference [95% CI]"], body,
                 "multitask − single-task, paired bootstrap"), bars


def _computed_gains(results: pd.DataFrame) -> tuple[Table | None, list[plots.Estimate]]:
    auroc = results[(results["metric"] == "auroc") & (results["split"] == "test")]
    body, bars = [], []
    for (dataset, encoder), group in auroc.groupby(["dataset", "encoder"], sort=True):
        single, multi = group[group["protocol"] == "single"], group[group["protocol"] == "multitask"]
        if single.empty or multi.empty:
            continue
        s, m = seed_summary(single)[0], seed_summary(multi)[0]
        body.append([dataset, encoder, format_number(s), format_number(m), format_number(m - s),
                     "none (point estimates)"])
        bars.append(plots.Estimate(f"{dataset} · {encoder}", m - s,
                                   color=plots.PALETTE[2] if m >= s else plots.PALETTE[3]))
    if not body:
        return None, []
    return Table(["dataset", "encoder", "single AUROC", "multitask AUROC", "difference", "CI"], body,
                 "multitask − single-task, computed from the two protocols (no CI)"), bars


# ---------------------------------------------------------------- few-shot


def fewshot_section(ctx: Context) -> Section | None:
    results = ctx.run.results
    rows = results[(results["protocol"] == "fewshot") & is_budgeted(results)].assign(
        k=lambda f: f["shots"].astype(int))
    if rows.empty:
        return None
    blocks: list = [Note("Few-shot transfer: k training examples per class, several seeds. Points: mean over "
                         "seeds; band: 95% t-interval over seeds (one seed: its bootstrap CI).")]
    for dataset, frame in rows.groupby("dataset", sort=True):
        metric = headline_metric(frame)
        frame = frame[(frame["metric"] == metric)]
        frame = frame[frame["split"] == "test"] if (frame["split"] == "test").any() else frame
        curves, body = [], []
        for (encoder, init, mode), group in frame.groupby(["encoder", "init", "mode"], sort=True):
            curve = plots.Curve(f"{encoder} · {init} · {mode}", [], [], [], [])
            for k, at_k in group.groupby("k", sort=True):
                value, low, high, kind = seed_summary(at_k)
                curve.ks.append(int(k)), curve.values.append(value), curve.lows.append(low), curve.highs.append(high)
                body.append([encoder, init, mode, str(int(k)), str(at_k["seed"].nunique()),
                             format_estimate(value, low, high), kind])
            curves.append(curve)
        label = METRICS.get(metric, metric)
        fig = ctx.figure(f"fewshot_{dataset}", f"{dataset}: few-shot {label} vs k")
        plots.fewshot_curves(curves, fig.path, f"{dataset}: few-shot transfer", f"test {label}")
        blocks += [fig, Table(["encoder", "init", "mode", "k", "seeds", f"{label} [interval]", "interval"], body,
                              f"{dataset}: few-shot {label}", folded=True)]
    return Section("Few-shot transfer", "fewshot", blocks)


# ---------------------------------------------------------------- fusion


def fusion_section(ctx: Context) -> Section | None:
    results = ctx.run.results
    rows = results[results["protocol"] == "fusion"]
    if rows.empty:
        return None
    rows = rows.assign(model=np.where(rows["fusion"] == "unimodal", "unimodal " + rows["modalities"], rows["fusion"]),
                       setting=np.where(rows["shots"].isna(), "full", rows["shots"].astype("string") + "shot"))
    blocks: list = [Note("Unimodal baselines vs each fusion strategy, full data and 8-shot; 'without X' = the "
                         "fused model tested with modality X missing.")]
    if rows["notes"].map(is_leak).any():
        leak = _notes_text(rows.loc[rows["notes"].map(is_leak), "notes"])
        blocks.append(Note(leak if "LABEL LEAK" in leak else f"LABEL LEAK: {leak}", "danger"))
    for dataset, frame in rows.groupby("dataset", sort=True):
        metric = headline_metric(frame)
        frame = frame[frame["metric"] == metric]
        label = METRICS.get(metric, metric)
        full = frame[frame["dropped"] == ""]
        full = full.sort_values("setting", key=lambda col: col != "full", kind="stable")
        bars = _estimates(full, ["setting", "init", "model"],
                          lambda key: plots.PALETTE[0] if key[0] == "full" else plots.PALETTE[1])
        fig = ctx.figure(f"fusion_{dataset}", f"{dataset}: fusion strategies vs unimodal baselines "
                                              f"(blue: full data, orange: few-shot), 95% CI")
        leak_title = " — LABEL LEAK" if frame["notes"].map(is_leak).any() else ""
        plots.metric_bars(bars, fig.path, f"{dataset}: fusion, test {label}{leak_title}", f"test {label} (95% CI)")
        blocks += [fig, _fusion_table(frame, dataset, label)]
    return Section("Fusion", "fusion", blocks)


def _fusion_table(frame: pd.DataFrame, dataset: str, label: str) -> Table:
    drops = sorted(d for d in frame["dropped"].unique() if d)
    columns = ["setting", "init", "model", "encoders", "seed", f"{label} (all modalities)"] + \
        [f"without {d}" for d in drops]
    body, classes = [], []
    frame = frame.sort_values(["setting", "init", "model"], key=lambda col: col.replace("full", "0"))
    for (setting, init, model, encoder, seed), group in frame.groupby(
            ["setting", "init", "model", "encoder", "seed"], sort=False, dropna=False):
        by_drop = {r.dropped: r for r in group.itertuples()}
        row = [setting, init, model, encoder, seed_text(seed)]
        row += [format_estimate(by_drop[d].value, by_drop[d].ci_low, by_drop[d].ci_high) if d in by_drop else ""
                for d in ["", *drops]]
        body.append(row)
        classes.append("leak" if group["notes"].map(is_leak).any() else "")
    return Table(columns, body, f"{dataset}: fusion and missing-modality test {label}", classes, folded=True)


# ---------------------------------------------------------------- references


def references_section(ctx: Context) -> Section | None:
    results = ctx.run.results
    rows = results[(results["split"] == "test") & ~is_budgeted(results) & ~is_dropped(results)
                   & ~is_paired(results)]
    body, classes, used = [], [], {}
    for r in rows.itertuples():
        for ref in references_for(r.dataset, r.metric, ctx.run.manifest):
            body.append([r.dataset, r.setting, r.encoder, seed_text(r.seed), METRICS.get(r.metric, r.metric),
                         format_estimate(r.value, r.ci_low, r.ci_high), ref.model, format_number(ref.value),
                         format_number(r.value - ref.value), ref.short_source])
            classes.append("leak" if is_leak(r.notes) else "")
            used.setdefault(ref.source, set()).update([ref.caveat] if ref.caveat else [])
    if not body:
        return None
    note = Note("Published numbers on the same dataset and metric. They come from other training budgets, "
                "input sizes and (for PTB-XL) the full dataset: a context, not a target.")
    sources = Table(["source", "reference", "caveat"],
                    [[src.split(",", 1)[0], src, "; ".join(sorted(caveats))] for src, caveats in used.items()],
                    "Sources")
    return Section("Reference numbers from the literature", "references", [note, Table(
        ["dataset", "protocol", "encoder", "seed", "metric", "ours [95% CI]", "reference model", "reference",
         "ours − reference", "source"], body, "ours vs published", classes, folded=True), sources])


# ---------------------------------------------------------------- data distribution


def _catalog_entries(datasets: Iterable[str]) -> tuple[list, dict[str, object]]:
    """All catalog entries, and the entry of each prepared dataset name (None when unknown)."""
    from climb.catalog import entries

    catalog = entries()
    by_id = {e.id: e for e in catalog}
    found: dict[str, object] = {}
    for name in datasets:
        found[name] = by_id.get(name) or _entry_by_builder(name, by_id)
    return catalog, found


def _entry_by_builder(name: str, by_id: dict) -> object | None:
    from climb.prepare.builder import builders_for

    for entry_id in sorted((i for i in by_id if name.startswith(i)), key=len, reverse=True):
        try:
            if name in builders_for(entry_id):
                return by_id[entry_id]
        except Exception:  # noqa: BLE001 - a broken builder must not break the report
            return None
    return None


def distribution_section(ctx: Context) -> Section | None:
    from climb.catalog.summary import plot_distribution

    datasets = sorted(set(ctx.run.results["dataset"]))
    catalog, found = _catalog_entries(datasets)
    used = list({e.id: e for e in found.values() if e is not None}.values())
    blocks: list = []
    if used:
        fig = ctx.figure("data_run", "Catalog entries behind the datasets of this run, by modality family, "
                                     "clinical domain, access and task")
        plot_distribution(used, fig.path, title=f"This run: {len(used)} catalog entries ({len(datasets)} datasets)")
        blocks.append(fig)
    body = []
    for name in datasets:
        e = found[name]
        n = ctx.run.results.loc[(ctx.run.results["dataset"] == name) & (ctx.run.results["split"] == "test"), "n"] \
            if "n" in ctx.run.results.columns else pd.Series(dtype=float)
        n_text = seed_text(n.dropna().max()) if len(n.dropna()) else ""
        body.append([name, e.id, e.modality, e.family.value, e.domain, e.task.value, e.access.value, n_text]
                    if e is not None else [name, "(not in catalog)", "", "", "", "", "", n_text])
    blocks.append(Table(["dataset", "catalog entry", "modality", "family", "domain", "task", "access",
                         "test samples"], body, "Datasets in this run"))
    if catalog:
        fig = ctx.figure("data_catalog", "The whole climb catalog by modality family, clinical domain, access "
                                         "and task")
        plot_distribution(catalog, fig.path)
        blocks.append(fig)
    return Section("Data distribution", "data", blocks)


# ---------------------------------------------------------------- wall time


def timing_section(ctx: Context) -> Section | None:
    run = ctx.run
    ids = sorted(set(run.cells) | (set(run.results["cell"]) - {""}))
    if not ids:
        return None
    body, bars, classes = [], [], []
    for cell in ids:
        info, rows = run.cells.get(cell, {}), run.results[run.results["cell"] == cell]
        status = str(info.get("status", "done" if len(rows) else "?"))
        wall = cell_wall_seconds(run, cell)
        rate = _first_number(rows, "train_samples_per_second")
        body.append([cell, status, ", ".join(sorted(set(rows["dataset"]))), ", ".join(sorted(set(rows["protocol"]))),
                     ", ".join(sorted(set(rows["encoder"]))), format_seconds(wall),
                     f"{rate:.1f}" if math.isfinite(rate) else "n/a", str(info.get("error") or "")])
        classes.append("failed" if status.lower() == "failed" else "")
        bars.append(plots.Estimate(cell, wall if math.isfinite(wall) else math.nan,
                                   color=plots.PALETTE[3] if status.lower() == "failed" else None))
    blocks: list = [Table(["cell", "status", "datasets", "protocols", "encoder", "wall time",
                           "train samples/s", "error"], body, "Wall time and training throughput per cell",
                          classes, folded=True)]
    if len(ids) > 1 and any(math.isfinite(b.value) for b in bars):
        fig = ctx.figure("wall_time", "Wall time per cell (seconds)")
        plots.metric_bars(bars, fig.path, "Wall time per cell", "seconds")
        blocks.insert(0, fig)
    return Section("Wall time and throughput", "timing", blocks)


def _first_number(rows: pd.DataFrame, column: str) -> float:
    if column not in rows.columns:
        return math.nan
    values = pd.to_numeric(rows[column], errors="coerce").dropna()
    return float(values.iloc[0]) if len(values) else math.nan


from climb.report.transfer import transfer_section  # noqa: E402 (it reads this module's helpers lazily)

SECTIONS = (opening_section, header_section, metrics_section, curves_section, multitask_section, transfer_section,
            fewshot_section, fusion_section, references_section, distribution_section, timing_section)
