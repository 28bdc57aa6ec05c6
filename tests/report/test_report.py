"""`climb report` on a miniature real run: files, images, exact numbers, demo banner, references."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from climb.report import DEMO_BANNER, RunError, build_report, format_estimate, load_run
from climb.report.sections import metrics_table

BONN_CELL = "single__bonn_eeg__eegnet__seed0"  # cell ids written by conftest.real_run
PNEUMONIA_CELL = "baseline__pneumoniamnist__mean_intensity__seed0"


class ReportParser(HTMLParser):
    """Tables (caption, header, rows of cell texts, row classes), image sources and all text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.sections: list[str] = []  # section ids in order
        self.order: list[tuple[str, str]] = []  # ("section", id) / ("table", caption) / ("img", src) in order
        self._cell: list[str] | None = None
        self._in_caption = False
        self._summary: list[str] | None = None  # a folded table's caption: its <details><summary> text
        self._in_count = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
            self.order.append(("section", attrs["id"]))
        elif tag == "table":
            folded = self._summary is not None
            caption = "".join(self._summary or []).strip()
            self.tables.append({"caption": caption, "header": [], "rows": [], "classes": [], "cell_classes": [],
                                "folded": folded, "table_class": attrs.get("class") or ""})
            self._summary = None
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
            self.tables[-1]["classes"].append(attrs.get("class") or "")
            self.tables[-1]["cell_classes"].append([])
        elif tag in ("td", "th"):
            self._cell = []
            self.tables[-1]["cell_classes"][-1].append(attrs.get("class") or "")
        elif tag == "caption":
            self._in_caption = True
        elif tag == "summary":
            self._summary = []
        elif tag == "span" and self._summary is not None and attrs.get("class") == "rows":
            self._in_count = True
        elif tag == "img":
            self.images.append(attrs["src"])
            self.order.append(("img", attrs["src"]))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False
        elif tag == "span":
            self._in_count = False
        elif tag == "table":
            self.order.append(("table", self.tables[-1]["caption"]))

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption:
            self.tables[-1]["caption"] += data
        elif self._summary is not None and not self._in_count:
            self._summary.append(data)

    def table(self, caption: str) -> dict:
        found = [t for t in self.tables if t["caption"] == caption]
        assert len(found) == 1, f"expected one table {caption!r}, got {[t['caption'] for t in self.tables]}"
        t = found[0]
        return {"header": t["rows"][0], "rows": t["rows"][1:], "classes": t["classes"][1:],
                "cell_classes": t["cell_classes"][1:], "folded": t["folded"]}


def _parse(html_path: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(html_path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def report(real_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(real_run, tmp_path_factory.mktemp("report_out"))


def test_report_writes_html_markdown_and_real_figures(report: Path):
    parsed = _parse(report)
    md = (report.parent / "report.md").read_text()
    assert parsed.images, "no figures in the report"
    for src in parsed.images:
        png = report.parent / src
        assert not src.startswith(("/", "http")) and png.suffix == ".png" and png.is_file(), src
        assert png.stat().st_size > 5_000, f"{src} is trivially small"
        with Image.open(png) as im:
            assert im.format == "PNG" and min(im.size) > 100
    assert sorted(set(parsed.images)) == sorted(set(re.findall(r"\]\((figures/[^)]+\.png)\)", md)))
    for name in ("metrics_bonn_eeg", "roc_bonn_eeg", "calibration_bonn_eeg", "roc_pneumoniamnist", "data_run",
                 "data_catalog"):
        assert f"figures/{name}.png" in parsed.images


def test_metric_tables_hold_exactly_the_numbers_of_results_csv(report: Path, real_run: Path):
    results = pd.read_csv(real_run / "results.csv")
    parsed = _parse(report)
    from climb.evaluate import METRICS

    columns = {name: m.label for name, m in METRICS.items()}  # every registered metric, e.g. the Brier score
    assert "brier" in set(results["metric"])
    shown: list[str] = []
    for dataset, rows in results.groupby("dataset"):
        table = parsed.table(f"{dataset}: all metrics")
        header = table["header"]
        assert len(table["rows"]) == 1  # one cell per dataset in this run
        row = table["rows"][0]
        assert row[header.index("cell")] == rows["cell"].iloc[0]
        for r in rows.itertuples():
            expected = f"{r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
            assert expected == format_estimate(r.value, r.ci_low, r.ci_high)
            assert row[header.index(columns[r.metric])] == expected, (dataset, r.metric)
        shown += [c for c in row if "[" in c]
    assert len(shown) == len(results)  # no estimate in the tables that results.csv lacks


def test_demo_banner_appears_only_for_demo_runs(report: Path, real_run: Path, tmp_path: Path):
    assert DEMO_BANNER not in "".join(_parse(report).text)
    assert DEMO_BANNER not in (report.parent / "report.md").read_text()
    demo_run = tmp_path / "demo_run"
    shutil.copytree(real_run, demo_run, ignore=shutil.ignore_patterns("checkpoints", "tb", "logs", "figures",
                                                                      "report.*"))
    manifest = json.loads((demo_run / "manifest.json").read_text())
    (demo_run / "manifest.json").write_text(json.dumps({**manifest, "demo": True}))
    demo = build_report(demo_run)
    assert demo == demo_run / "report.html"
    assert DEMO_BANNER in "".join(_parse(demo).text)
    assert DEMO_BANNER in (demo_run / "report.md").read_text()


def test_reference_numbers_sit_next_to_our_pneumoniamnist_auroc(report: Path, real_run: Path):
    ours = pd.read_csv(real_run / "results.csv").query("dataset == 'pneumoniamnist' and metric == 'auroc'").iloc[0]
    table = _parse(report).table("ours vs published")
    h = table["header"]
    rows = [r for r in table["rows"] if r[h.index("dataset")] == "pneumoniamnist" and r[h.index("metric")] == "AUROC"]
    by_model = {r[h.index("reference model")]: r for r in rows}
    resnet = by_model["ResNet-18 (28 px)"]
    assert resnet[h.index("reference")] == "0.944"
    assert resnet[h.index("ours [95% CI]")] == format_estimate(ours.value, ours.ci_low, ours.ci_high)
    assert resnet[h.index("ours − reference")] == f"{ours.value - 0.944:.3f}"
    assert resnet[h.index("source")].startswith("Yang et al. 2023")
    assert "0.854" in {r[h.index("reference")] for r in table["rows"]}  # accuracy reference too
    assert not any(r[h.index("dataset")] == "bonn_eeg" for r in table["rows"])  # no published number for it


def test_sections_without_content_are_left_out(report: Path):
    html = report.read_text()
    for present in ("summary", "run", "metrics", "curves", "references", "data", "timing"):
        assert f'<section id="{present}">' in html
    for absent in ("multitask", "fewshot", "fusion"):  # the run holds no such rows
        assert f'<section id="{absent}">' not in html
    timing = _parse(report).table("Wall time and training throughput per cell")
    assert {r[0] for r in timing["rows"]} == {BONN_CELL, PNEUMONIA_CELL}


def test_label_leak_rows_are_marked(real_run: Path):
    frame = load_run(real_run).results.query("dataset == 'bonn_eeg'").copy()
    frame["notes"] = [["LABEL LEAK: the report states the diagnosis"]] * len(frame)
    table = metrics_table(frame, "leak")
    assert table.row_classes == ["leak"] and table.columns[-1] == "notes"


def test_bad_run_directories_are_named_in_the_error(tmp_path: Path):
    with pytest.raises(RunError, match="manifest.json missing"):
        build_report(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    pd.DataFrame({"dataset": ["x"], "value": [0.5]}).to_csv(tmp_path / "results.csv", index=False)
    with pytest.raises(RunError, match=r"results.csv: missing columns split, protocol"):
        build_report(tmp_path)


def test_cli_writes_the_report_to_out(report: Path, real_run: Path, tmp_path: Path):
    from climb.cli import app

    out = tmp_path / "cli_out"
    done = CliRunner().invoke(app, ["report", str(real_run), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 1


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot_report.py"


def test_screenshot_of_the_report_is_a_real_picture(report: Path, tmp_path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("screenshot_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if module.find_chromium() is None:
        pytest.skip("chromium not installed (/usr/bin/chromium or chromium on PATH): screenshot not checked")
    out = tmp_path / "shot.png"
    assert module.main([str(report), str(out), "--height", "2500"]) == 0
    assert out.stat().st_size > 20_000
    with Image.open(out) as im:
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.shape[:2] == (2500, 1400)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # text, tables and figures, not a blank page


SUMMARY = "Headline metric per dataset and setting on the test split, 95% CI (patient-level bootstrap)"


def test_report_opens_with_the_summary_matrix_of_headline_results(report: Path, real_run: Path):
    parsed = _parse(report)
    assert parsed.sections[0] == "summary"
    kinds = [kind for kind, _ in parsed.order]
    assert parsed.order[kinds.index("table")] == ("table", SUMMARY)  # the first table, before any figure
    assert kinds.index("table") < kinds.index("img")
    matrix = parsed.table(SUMMARY)
    h = matrix["header"]
    assert not matrix["folded"] and h[:4] == ["dataset", "metric", "encoder", "single"]
    results = pd.read_csv(real_run / "results.csv").query("metric == 'auroc' and split == 'test'")
    assert [row[0] for row in matrix["rows"]] == sorted(results["dataset"])
    for row in matrix["rows"]:
        ours = results[results["dataset"] == row[0]].iloc[0]
        assert row[1:] == ["AUROC", ours.encoder, format_estimate(ours.value, ours.ci_low, ours.ci_high)]


def test_detail_tables_are_folded_under_the_summary(report: Path):
    parsed = _parse(report)
    folded = {t["caption"] for t in parsed.tables if t["folded"]}
    assert {"bonn_eeg: all metrics", "pneumoniamnist: all metrics", "ours vs published",
            "Wall time and training throughput per cell"} <= folded
    assert SUMMARY not in folded and "What was run" not in folded
    md = (report.parent / "report.md").read_text()
    assert "<details><summary>bonn_eeg: all metrics (1 row)</summary>" in md


def _run_with_rows(real_run: Path, out: Path, extra: list[dict]) -> Path:
    """A copy of the real run's manifest and results.csv plus `extra` rows (paired, multitask, few-shot)."""
    out.mkdir()
    shutil.copy(real_run / "manifest.json", out / "manifest.json")
    results = pd.read_csv(real_run / "results.csv")
    pd.concat([results, pd.DataFrame(extra)], ignore_index=True).to_csv(out / "results.csv", index=False)
    return out


def test_paired_gains_are_marked_only_when_their_ci_excludes_zero(real_run: Path, tmp_path: Path):
    from climb.report.summary import LOSS, GAIN, gain_mark, summary_matrix

    base = pd.read_csv(real_run / "results.csv").query("metric == 'auroc'").set_index("dataset")
    extra = []
    for dataset, (low, high) in {"bonn_eeg": (0.012, 0.094), "pneumoniamnist": (-0.021, 0.033)}.items():
        row = base.loc[dataset].to_dict() | {"dataset": dataset, "cell": ""}
        extra.append(row | {"protocol": "multitask", "value": row["value"] + 0.05})
        extra.append(row | {"protocol": "multitask-vs-single", "value": (low + high) / 2, "ci_low": low,
                            "ci_high": high})
    bonn = base.loc["bonn_eeg"].to_dict() | {"dataset": "bonn_eeg", "cell": "", "protocol": "fewshot",
                                              "init": "scratch", "mode": "finetune"}
    extra += [bonn | {"shots": 1, "value": 0.61}, bonn | {"shots": 8, "value": 0.72, "ci_low": 0.6, "ci_high": 0.8}]
    fused = bonn | {"protocol": "fusion", "fusion": "late_average", "modalities": "eeg+tabular"}
    extra += [fused | {"value": 0.9}, fused | {"dropped": "tabular", "value": 0.4}]  # tested without a modality
    matrix = summary_matrix(load_run(_run_with_rows(real_run, tmp_path / "run", extra)).results)
    h = matrix.columns
    assert h[3:] == ["single", "multitask", "multitask − single (paired)", "fewshot · k=8 · scratch · finetune",
                     "fusion · late_average · scratch · finetune"]  # no dropped-modality column
    assert matrix.rows[0][-1].startswith("0.900 [")
    bonn_row, pneumonia_row = matrix.rows
    paired = h.index("multitask − single (paired)")
    assert bonn_row[paired] == f"+0.053 [0.012, 0.094] {GAIN}"
    assert matrix.cell_class(0, paired) == "gain"
    assert pneumonia_row[paired] == "+0.006 [-0.021, 0.033]" and matrix.cell_class(1, paired) == ""
    assert bonn_row[h.index("fewshot · k=8 · scratch · finetune")] == "0.720 [0.600, 0.800]"  # largest k only
    assert pneumonia_row[h.index("fewshot · k=8 · scratch · finetune")] == ""
    assert gain_mark(-0.3, -0.1) == LOSS and gain_mark(-0.3, -0.1, higher_is_better=False) == GAIN
    assert gain_mark(-0.1, 0.2) == "" and gain_mark(float("nan"), 0.2) == ""


def test_report_files_are_never_written_through_a_planted_symlink(real_run: Path, tmp_path: Path):
    from climb.safeio import UnsafePathError

    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    (out / "figures").mkdir(parents=True)
    victim.write_text("keep me")
    (out / "figures" / "metrics_bonn_eeg.png").symlink_to(victim)
    with pytest.raises(UnsafePathError, match="metrics_bonn_eeg.png is a symbolic link"):
        build_report(real_run, out)
    (out / "figures" / "metrics_bonn_eeg.png").unlink()
    (out / "report.html").symlink_to(victim)
    with pytest.raises(UnsafePathError, match="report.html is a symbolic link"):
        build_report(real_run, out)
    assert victim.read_text() == "keep me"
