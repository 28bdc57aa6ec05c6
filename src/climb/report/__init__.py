"""`climb report RUN`: an HTML + Markdown report of a benchmark run directory.

    from climb.report import build_report
    html_path = build_report("runs/bench/demo-2024...")   # writes report.html, report.md, figures/*.png

The run directory follows the `climb benchmark` contract (manifest.json, results.csv,
cells/<id>/{cell.json, predictions.npz}). Sections appear only for what the run holds:
per-dataset metrics with CIs, ROC and calibration curves, multitask gains, few-shot
curves, fusion comparisons, published reference numbers, the data distribution and
wall time per cell.
"""

from __future__ import annotations

from pathlib import Path

from climb.report.document import Document, format_estimate, format_number
from climb.report.html import render_html, render_markdown
from climb.report.references import REFERENCES, Reference, references_for, register_reference
from climb.report.run import Run, RunError, load_run
from climb.report.sections import DEMO_BANNER, SECTIONS, Context, run_facts
from climb.safeio import atomic_write_text


def build_document(run: Run, out_dir: Path) -> Document:
    """All sections the run has content for; figures are written under out_dir/figures."""
    ctx = Context(run, out_dir)
    suite = dict(run_facts(ctx)).get("suite", run.path.name)
    sections = [s for s in (build(ctx) for build in SECTIONS) if s is not None]
    title = f"climb benchmark report: {suite}" + (" (DEMO)" if run.demo else "")
    return Document(title, sections)


def build_report(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write report.html, report.md and figures/*.png for a run; returns the HTML path."""
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path
    out.mkdir(parents=True, exist_ok=True)
    doc = build_document(run, out)
    atomic_write_text(out / "report.md", render_markdown(doc))  # never through a planted symlink
    html_path = out / "report.html"
    atomic_write_text(html_path, render_html(doc))
    return html_path


__all__ = ["DEMO_BANNER", "REFERENCES", "Reference", "Run", "RunError", "build_document", "build_report",
           "format_estimate", "format_number", "load_run", "references_for", "register_reference"]
