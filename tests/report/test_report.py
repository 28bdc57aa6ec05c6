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
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": [], "classes": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
            self.tables[-1]["classes"].append(attrs.get("class") or "")
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption:
            self.tables[-1]["caption"] += data

    def table(self, caption: str) -> dict:
        found = [t for t in self.tables if t["caption"] == caption]
        assert len(found) == 1, f"expected one table {caption!r}, got {[t['caption'] for t in self.tables]}"
        t = found[0]
        return {"header": t["rows"][0], "rows": t["rows"][1:], "classes": t["classes"][1:]}


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
    for present in ("run", "metrics", "curves", "references", "data", "timing"):
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
