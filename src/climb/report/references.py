"""Published reference numbers, as data, for comparison next to a run's own results.

Each `Reference` names the prepared dataset(s) and the climb metric it matches, the
model, the value and its source. Numbers are only comparable on the same split and
label definition; `caveat` says where ours necessarily differs (e.g. a data subset).

Three sources, shown side by side in the report: climb's own `REFERENCES`, those a plugin
adds with `register_reference`, and a suite's ``references:`` section (kept in the run's
manifest, read back by `suite_references`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MEDMNIST_V2 = ("Yang et al. 2023, MedMNIST v2: a large-scale lightweight benchmark for 2D and 3D biomedical "
               "image classification, Scientific Data 10:41, Table 3 (test split)")
STRODTHOFF_2020 = ("Strodthoff et al. 2020, Deep learning for ECG analysis: benchmarks and insights from PTB-XL, "
                   "IEEE JBHI 25(5), 2021 (superdiagnostic macro AUC, test fold 10)")
BENCHMD = ("Wantlin et al. 2023, BenchMD: a benchmark for unified learning on medical images and sensors, "
           "arXiv:2304.08486, Table 1 (PTB-XL, best full fine-tune)")
BIOT = ("Yang et al. 2023, BIOT: biosignal transformer for cross-data learning in the wild, NeurIPS 2023, "
        "TUAB abnormal-EEG results (AUROC)")

PTBXL_SUBSET_CAVEAT = ("reference trained and tested on the full PTB-XL (21,799 records); a run on the "
                       "500-record subset in ../shared/data trains on far less data and will score lower")


@dataclass(frozen=True)
class Reference:
    """One published number: `model` scored `value` in `metric` on `datasets` (climb names)."""

    datasets: tuple[str, ...]
    metric: str
    value: float
    model: str
    source: str
    caveat: str = ""

    @property
    def short_source(self) -> str:
        """`Author et al. year` of the citation, for table cells."""
        return self.source.split(",", 1)[0]


REFERENCES: tuple[Reference, ...] = (
    Reference(("pneumoniamnist",), "auroc", 0.944, "ResNet-18 (28 px)", MEDMNIST_V2),
    Reference(("pneumoniamnist",), "accuracy", 0.854, "ResNet-18 (28 px)", MEDMNIST_V2),
    Reference(("pneumoniamnist",), "auroc", 0.991, "Google AutoML Vision", MEDMNIST_V2),
    Reference(("pneumoniamnist",), "accuracy", 0.946, "Google AutoML Vision", MEDMNIST_V2),
    Reference(("breastmnist",), "auroc", 0.901, "ResNet-18 (28 px)", MEDMNIST_V2),
    Reference(("breastmnist",), "accuracy", 0.863, "ResNet-18 (28 px)", MEDMNIST_V2),
    Reference(("ptbxl", "ptbxl_500hz"), "auroc", 0.930, "resnet1d_wang", STRODTHOFF_2020, PTBXL_SUBSET_CAVEAT),
    Reference(("ptbxl", "ptbxl_500hz"), "auroc", 0.928, "xresnet1d101", STRODTHOFF_2020, PTBXL_SUBSET_CAVEAT),
    Reference(("ptbxl_climb7",), "auroc", 0.797, "best full fine-tune (BenchMD 7-class view)", BENCHMD,
              "reference on the full PTB-XL; a subset run will score lower"),
    Reference(("tuab",), "auroc", 0.8815, "BIOT (pretrained)", BIOT),
    Reference(("tuab",), "auroc", 0.8707, "ST-Transformer", BIOT),
)


_registered: list[Reference] = []


def register_reference(reference: Reference) -> Reference:
    """Add a reference number for every report (a plugin's published baseline); idempotent."""
    if not isinstance(reference, Reference):
        raise TypeError(f"register_reference expects a climb.report.Reference, got {type(reference).__name__}")
    if reference not in _registered:
        _registered.append(reference)
    return reference


def suite_references(manifest: Mapping[str, Any] | None) -> list[Reference]:
    """The ``references:`` of the suite a benchmark run's manifest records (none for other runs)."""
    suite = (manifest or {}).get("suite_yaml") or {}
    return [Reference((dataset,), ref["metric"], float(ref["value"]), ref.get("model") or "reference",
                      ref["source"], ref.get("caveat") or "")
            for dataset, refs in (suite.get("references") or {}).items() for ref in refs]


def references_for(dataset: str, metric: str, manifest: Mapping[str, Any] | None = None) -> list[Reference]:
    """The reference numbers that match a prepared dataset name and a climb metric name.

    climb's own, then plugins', then those of the suite recorded in `manifest` (a run's).
    """
    from climb.plugins import load_plugins

    load_plugins()
    candidates = [*REFERENCES, *_registered, *suite_references(manifest)]
    return [r for r in candidates if dataset in r.datasets and metric == r.metric]


__all__ = ["REFERENCES", "Reference", "references_for", "register_reference", "suite_references"]
