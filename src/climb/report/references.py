"""Published reference numbers, as data, for comparison next to a run's own results.

Each `Reference` names the prepared dataset(s) and the climb metric it matches, the
model, the value and its source. Numbers are only comparable on the same split and
label definition; `caveat` says where ours necessarily differs (e.g. a data subset).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def references_for(dataset: str, metric: str) -> list[Reference]:
    """The published numbers that match a prepared dataset name and a climb metric name."""
    return [r for r in REFERENCES if dataset in r.datasets and metric == r.metric]


__all__ = ["REFERENCES", "Reference", "references_for"]
