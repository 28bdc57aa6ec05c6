"""Published reference numbers, as data: what a model scored on a dataset, and where it was published.

Each `Reference` names the prepared dataset(s) and the climb metric it matches, the
model, the value and its source. Numbers are only comparable on the same split and
label definition; `caveat` says where ours necessarily differs (e.g. a data subset).
climb's own are `REFERENCES`; a plugin adds its own with `register_reference` (this module
imports nothing heavy, so a plugin imported by every command stays cheap). The report puts
them, and a suite's ``references:``, beside a run's results (`climb.report.references`).
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


_registered: list[Reference] = []


def register_reference(reference: Reference) -> Reference:
    """Add a reference number for every report (a plugin's published baseline); idempotent."""
    if not isinstance(reference, Reference):
        raise TypeError(f"register_reference expects a climb.catalog.Reference, got {type(reference).__name__}")
    if reference not in _registered:
        _registered.append(reference)
    return reference


def registered_references() -> list[Reference]:
    """The reference numbers plugins registered (after loading the plugins not yet loaded)."""
    from climb.plugins import load_plugins

    load_plugins()
    return list(_registered)


def known_references() -> list[Reference]:
    """climb's reference numbers, then those plugins registered."""
    return [*REFERENCES, *registered_references()]


__all__ = ["REFERENCES", "Reference", "known_references", "register_reference", "registered_references"]
