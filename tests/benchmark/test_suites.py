"""Shipped suites load and validate; bad suites fail naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from climb.benchmark import SuiteError, load_suite, shipped_suites, validate_suite
from climb.benchmark.runner import cell_datasets, locate_raw


def test_shipped_suites_are_demo_shared_real_and_climb():
    assert {"demo", "shared-real", "climb"} <= set(shipped_suites())


@pytest.mark.parametrize("name", ["demo", "shared-real", "climb"])
def test_shipped_suite_validates_against_builders_and_encoders(name: str):
    from climb.prepare import builder_names

    suite = load_suite(name)
    cells = validate_suite(suite)
    assert cells and len({c.id for c in cells}) == len(cells)
    assert set(suite.datasets) <= set(builder_names())
    for cell in cells:  # every cell reads only datasets the suite says where to get
        assert set(cell_datasets(cell)) <= set(suite.datasets)


def test_demo_needs_no_network_and_no_shared_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("CLIMB_SHARED_DATA", str(tmp_path / "absent"))
    monkeypatch.chdir(tmp_path)
    suite = load_suite("demo")
    assert suite.demo is True
    kinds = {c.protocol for c in validate_suite(suite)}
    assert {"single", "multitask", "fewshot"} <= kinds
    from climb.benchmark.suite import input_kind

    assert len({input_kind(n, s) for n, s in suite.datasets.items()}) >= 2  # ECG signal + tabular (omics, cytology)
    for name, spec in suite.datasets.items():
        assert spec.package, f"{name} must come from an installed package"
        raw, missing = locate_raw(name, spec)
        assert missing is None and raw is not None and raw.is_dir(), missing


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def test_bad_suite_names_file_and_field(tmp_path: Path):
    path = _write(tmp_path, "name: x\ndatasets: {wdbc: package}\nprotocols: {single: {}}\nbudget: {epochs: 0}\n")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert str(path) in str(err.value) and "budget.epochs" in str(err.value)


@pytest.mark.parametrize("sources", ["{shared: a, package: true}", "{raw: /tmp, package: true}"])
def test_dataset_needs_exactly_one_source(tmp_path: Path, sources: str):
    path = _write(tmp_path, f"name: x\ndatasets: {{wdbc: {sources}}}\nprotocols: {{single: {{}}}}\n")
    with pytest.raises(SuiteError, match=r"datasets\.wdbc.*exactly one source: `shared: <folder>`, `raw: <path>`"):
        load_suite(path)


def test_protocol_must_reference_listed_datasets(tmp_path: Path):
    path = _write(tmp_path, "name: x\ndatasets: {wdbc: package}\n"
                            "protocols: {multitask: {groups: {g: {datasets: [wdbc, ecg200]}}}}\n")
    with pytest.raises(SuiteError, match=r"groups\.g\.datasets.*ecg200"):
        load_suite(path)


def test_unknown_builder_and_encoder_are_reported(tmp_path: Path):
    suite = load_suite(_write(tmp_path, "name: x\ndatasets: {wdbc: package, nosuch: download}\n"
                                        "encoders: {tabular: [mlp]}\nprotocols: {single: {}}\n"))
    with pytest.raises((SuiteError, KeyError), match="nosuch"):
        validate_suite(suite)
    suite = load_suite(_write(tmp_path, "name: x\ndatasets: {wdbc: package}\n"
                                        "encoders: {tabular: [not_an_encoder]}\nprotocols: {single: {}}\n"))
    with pytest.raises(SuiteError, match="not_an_encoder"):
        validate_suite(suite)


def test_unknown_suite_name_lists_shipped(tmp_path: Path):
    with pytest.raises(SuiteError, match="shipped: .*demo"):
        load_suite("no-such-suite")


def test_raw_source_is_resolved_against_the_suite_folder(tmp_path: Path, shared_data: Path):
    (tmp_path / "data").symlink_to(shared_data / "real_samples" / "busi", target_is_directory=True)
    path = tmp_path / "lab.yaml"
    path.write_text("name: lab\ndatasets:\n  busi: {raw: data}\n  wdbc: {raw: /no/such/dir}\n"
                    "encoders: {image: [resnet18_small], tabular: [mlp]}\nprotocols: {single: {}}\n")
    suite = load_suite(path)
    assert suite.datasets["busi"].raw == (tmp_path / "data").resolve() and suite.datasets["busi"].source == "raw"
    assert locate_raw("busi", suite.datasets["busi"]) == ((tmp_path / "data").resolve(), None)
    assert locate_raw("wdbc", suite.datasets["wdbc"]) == (None, "wdbc: raw: /no/such/dir is not a directory")
    from climb.benchmark.runner import prepare_dataset

    status = prepare_dataset("busi", suite.datasets["busi"])  # `climb prepare busi --raw DIR`'s checks and build
    assert status.ready and status.source == "raw" and status.raw == str((tmp_path / "data").resolve())


def test_references_are_validated(tmp_path: Path):
    ok = _write(tmp_path, "name: x\ndatasets: {wdbc: package}\nprotocols: {single: {}}\n"
                "references:\n  wdbc: {metric: auroc, value: 0.99, source: Street et al. 1993, model: MSM-T}\n")
    refs = load_suite(ok).references["wdbc"]
    assert [(r.metric, r.value, r.source, r.model) for r in refs] == [("auroc", 0.99, "Street et al. 1993", "MSM-T")]
    for bad, match in [("{ecg200: [{metric: auroc, value: 0.9, source: s}]}", r"references: \['ecg200'\] not listed"),
                       ("{wdbc: [{metric: auc, value: 0.9, source: s}]}", r"references\.wdbc\.0\.metric.*unknown metric 'auc'"),
                       ("{wdbc: [{metric: auroc, value: 0.9}]}", r"references\.wdbc\.0\.source: Field required")]:
        path = _write(tmp_path, f"name: x\ndatasets: {{wdbc: package}}\nprotocols: {{single: {{}}}}\nreferences: {bad}\n")
        with pytest.raises(SuiteError, match=match):
            load_suite(path)
