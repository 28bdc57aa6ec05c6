"""Gene-expression collections whose classes are defined per study: GEO DataSets and Expression Atlas.

Both catalog entries are collections, not single tasks (catalog task ``other``, label
"condition (per series / per experiment)"): a build names one study and one annotation
column, and the builder becomes that study's multiclass view -- its ``label_names`` are
the values of that column, read from the files (sorted), and ``task`` is multiclass. One
sample per expression profile: ``tabular`` = the profile over all rows of the matrix
(float32, NaN where the file says ``null`` / is empty), feature names in the card.

``geo`` -- a GEO DataSet (GDS) SOFT file, as NCBI serves it
(``https://ftp.ncbi.nlm.nih.gov/geo/datasets/GDSnnn/GDSxxxx/soft/GDSxxxx[_full].soft.gz``;
CLIMB's loader reads the GDS records). Format (NCBI's SOFT documentation and public
parsers, e.g. pathomx's GEO importer: ``^`` starts a section, ``!key = value`` attributes,
``null`` for missing values)::

    ^DATASET = GDS507            !dataset_title = ...
    ^SUBSET = GDS507_1           !subset_description = normal
                                 !subset_sample_id = GSM11815,GSM11832,...
                                 !subset_type = disease state
    !dataset_table_begin
    ID_REF<TAB>IDENTIFIER<TAB>GSM11815<TAB>...
    ...
    !dataset_table_end

Parameters: ``dataset`` (the GDS accession) and ``subset_type`` (which subset family is
the label; optional when the file has only one). Label = the ``subset_description`` of
the subset of that type listing the sample. Patient = the GSM sample (GDS records carry
no subject ids).

``expression_atlas`` -- one EMBL-EBI Expression Atlas experiment
(``https://ftp.ebi.ac.uk/pub/databases/microarray/data/atlas/experiments/<accession>/``).
Files (checked on real excerpts of E-MTAB-6798 committed as a test fixture in
github.com/bigbio/hvantk; names as the Bioconductor-free loaders fetch them)::

    <acc>.condensed-sdrf.tsv   no header: accession, array design (empty for RNA-seq), assay,
                               characteristic | factor, attribute, value[, ontology URI]
    <acc>-raw-counts.tsv / <acc>-transcripts-tpms.tsv / <acc>_<array>-normalized-expressions.tsv
                               per-assay matrices: annotation columns (Gene ID, Gene Name, ...)
                               then one column per assay

Parameters: ``experiment`` (the accession), ``factor`` (the attribute to classify, e.g.
``organism part``; factors are looked up first, then characteristics) and ``matrix``
(file name; optional when the folder has one per-assay matrix). Columns of the matrix
that are assays of the SDRF are samples; the other columns are row annotations. Patient
= the ``individual`` characteristic when the SDRF has one (several assays of one donor
stay together), else the assay.

Both: a sample without a value for the chosen column is an error unless
``missing_labels=exclude`` (counted in the card's ``label_mapping``). No official split:
seeded 70/10/20 split grouped by patient, stratified by label.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder
from climb.prepare.labels.mapping import MISSING_POLICIES, check_policy, is_missing

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        return (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as e:
        raise PrepareError(path, f"unreadable text file ({type(e).__name__}: {e})") from None


class StudyBuilder(Builder):
    """A builder whose label space is read from the study it is given (see module docstring)."""

    version = "1.0.0"
    task = Task.other
    fields = {"tabular": "tabular"}
    split_fractions = FRACTIONS
    split_seed = 0

    def __init__(self, **params: Any):
        super().__init__(**params)
        check_policy("missing_labels", self.params["missing_labels"], MISSING_POLICIES)
        self._loaded: dict[Path, tuple] = {}

    def load(self, raw: Path) -> tuple[np.ndarray, list[str], list[str], list[str], list[str]]:
        """(matrix (rows, samples), feature names, sample ids, patient ids, label values); sets the label space."""
        key = Path(raw).resolve()
        if key not in self._loaded:
            self._loaded[key] = self.read(raw)
        matrix, features, samples, patients, values = self._loaded[key]
        self.label_names = sorted(set(values))
        self.task = Task.multiclass
        return matrix, features, samples, patients, values

    def read(self, raw: Path) -> tuple[np.ndarray, list[str], list[str], list[str], list[str]]:
        raise NotImplementedError

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        matrix, _, samples, patients, values = self.load(raw)
        index = {v: i for i, v in enumerate(self.label_names)}
        for j, (sample, patient, value) in enumerate(zip(samples, patients, values)):
            yield {"sample_id": sample, "patient_id": patient, "split": None, "label": index[value],
                   "tabular": np.ascontiguousarray(matrix[:, j], dtype=np.float32)}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        _, features, *_ = self.load(raw)
        return {"tabular": {"feature_names": features, "missing": "NaN"},
                "label": {"definition": self.label_definition()}}

    def label_definition(self) -> str:
        raise NotImplementedError

    def labelled(self, samples: list[str], values: list[str | None], *, source: Path, what: str) -> list[bool]:
        """Which samples have a label value; the others are left out under ``missing_labels`` (counted).

        The label space is the study's own set of values, so no value is unknown.
        """
        space = sorted({v for v in values if not is_missing(v)})
        mapper = self.label_mapper({v: v for v in space}, what=what, source=source, space=space,
                                   missing=self.params["missing_labels"],
                                   hint="missing_labels=exclude leaves them out, counted in the card")
        keep = [mapper.one(v, sample) is not None for sample, v in zip(samples, values)]
        mapper.finish()
        return keep


def numeric(values: pd.DataFrame, path: Path) -> np.ndarray:
    try:
        return values.apply(pd.to_numeric, errors="raise").to_numpy(np.float32)
    except (ValueError, TypeError) as e:
        raise PrepareError(path, f"non-numeric expression values ({e})") from None


# ---------------------------------------------------------------- GEO DataSets


def parse_gds(path: Path) -> tuple[list[dict[str, str]], pd.DataFrame]:
    """A GDS SOFT file -> (subsets as attribute dicts, the data table)."""
    subsets: list[dict[str, str]] = []
    table_lines: list[str] = []
    in_table = False
    for line in read_text(path).splitlines():
        if in_table:
            if line.startswith("!dataset_table_end"):
                in_table = False
            else:
                table_lines.append(line)
        elif line.startswith("!dataset_table_begin"):
            in_table = True
        elif line.startswith("^SUBSET"):
            subsets.append({"id": line.partition("=")[2].strip()})
        elif line.startswith("!subset_") and subsets:
            key, _, value = line[1:].partition("=")
            subsets[-1][key.strip()] = value.strip()
    if not table_lines:
        raise PrepareError(path, "no !dataset_table_begin ... !dataset_table_end table (is this a GDS SOFT file?)")
    table = pd.read_csv(io.StringIO("\n".join(table_lines)), sep="\t", na_values=["null"], keep_default_na=False,
                        dtype=str)
    if list(table.columns[:2]) != ["ID_REF", "IDENTIFIER"]:
        raise PrepareError(path, f"table starts with {list(table.columns[:2])}, expected ID_REF, IDENTIFIER")
    return subsets, table


@register_builder("geo")
class GEODataSet(StudyBuilder):
    """One GEO DataSet (GDS): expression profiles classified by one subset type."""

    catalog_id = "geo"
    label_names = ["condition (per series)"]
    split_policy = ("seeded 70/10/20 split stratified by label, grouped by GSM sample (GDS records carry no subject "
                    "ids, so two samples of one donor may fall in different splits)")
    default_params: dict[str, Any] = {"dataset": None, "subset_type": None, "missing_labels": "error"}

    def _file(self, raw: Path) -> Path:
        acc = self.params["dataset"]
        found = {p.name: p for p in raw.rglob("GDS*.soft*")}
        if not acc:
            raise PrepareError(raw, f"name the GEO DataSet with dataset=GDSnnnn; found: {sorted(found) or 'none'}")
        for name in (f"{acc}_full.soft.gz", f"{acc}.soft.gz", f"{acc}_full.soft", f"{acc}.soft"):
            if name in found:
                return found[name]
        raise PrepareError(raw / f"{acc}.soft.gz", "GDS SOFT file not found")

    def source_files(self, raw: Path) -> list[Path]:
        self.load(raw)
        return [self._file(raw)]

    def label_definition(self) -> str:
        return f"subset_description of the {self.params['subset_type']!r} subsets of {self.params['dataset']}"

    def read(self, raw: Path) -> tuple[np.ndarray, list[str], list[str], list[str], list[str]]:
        path = self._file(raw)
        subsets, table = parse_gds(path)
        types = sorted({s.get("subset_type", "") for s in subsets})
        wanted = self.params["subset_type"]
        if wanted is None and len(types) == 1:
            wanted = self.params["subset_type"] = types[0]
        if wanted not in types:
            raise PrepareError(path, f"choose subset_type=... among {types}")
        value_of: dict[str, str] = {}
        for s in (s for s in subsets if s.get("subset_type") == wanted):
            for gsm in (g.strip() for g in s.get("subset_sample_id", "").split(",") if g.strip()):
                if gsm in value_of and value_of[gsm] != s.get("subset_description"):
                    raise PrepareError(path, f"{gsm} is in two {wanted!r} subsets ({value_of[gsm]!r}, "
                                             f"{s.get('subset_description')!r})")
                value_of[gsm] = s.get("subset_description", s["id"])
        samples = list(table.columns[2:])
        keep = self.labelled(samples, [value_of.get(g) for g in samples], source=path, what=f"{wanted!r} subset")
        samples = [g for g, k in zip(samples, keep) if k]
        features = [f"{r}|{g}" for r, g in zip(table["ID_REF"], table["IDENTIFIER"].fillna(""))]
        return numeric(table[samples], path), features, samples, samples, [value_of[g] for g in samples]


# ---------------------------------------------------------------- Expression Atlas


SDRF_COLUMNS = ["accession", "array", "assay", "category", "attribute", "value"]


def read_sdrf(path: Path) -> pd.DataFrame:
    """condensed-sdrf.tsv -> one row per (assay, category, attribute) with its value."""
    try:
        df = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)
    except Exception as e:  # pandas raises several types for broken tables
        raise PrepareError(path, f"unreadable condensed SDRF ({type(e).__name__}: {e})") from None
    if df.shape[1] < 6:
        raise PrepareError(path, f"{df.shape[1]} columns; a condensed SDRF has 6 or 7 (no header)")
    df = df.iloc[:, :6]
    df.columns = SDRF_COLUMNS
    bad = sorted(set(df["category"]) - {"characteristic", "factor"})
    if bad:
        raise PrepareError(path, f"column 4 holds {bad}; expected 'characteristic' or 'factor'")
    return df


@register_builder("expression_atlas")
class ExpressionAtlas(StudyBuilder):
    """One Expression Atlas experiment: per-assay expression classified by one factor."""

    catalog_id = "expression_atlas"
    label_names = ["condition (per experiment)"]
    split_policy = ("seeded 70/10/20 split stratified by label, grouped by the SDRF 'individual' characteristic when "
                    "present, else by assay")
    default_params: dict[str, Any] = {"experiment": None, "factor": None, "matrix": None, "missing_labels": "error"}

    def _folder(self, raw: Path) -> Path:
        acc = self.params["experiment"]
        if not acc:
            found = sorted(p.name.split(".condensed")[0] for p in raw.rglob("*.condensed-sdrf.tsv"))
            raise PrepareError(raw, f"name the experiment with experiment=E-...; found: {found or 'none'}")
        hits = sorted(raw.rglob(f"{acc}.condensed-sdrf.tsv"), key=lambda p: len(p.parts))
        if not hits:
            raise PrepareError(raw / acc / f"{acc}.condensed-sdrf.tsv", "condensed SDRF not found")
        return hits[0].parent

    def _matrix(self, folder: Path) -> Path:
        acc = self.params["experiment"]
        if self.params["matrix"]:
            path = folder / str(self.params["matrix"])
            if not path.is_file():
                raise PrepareError(path, "expression matrix not found")
            return path
        candidates = sorted({*folder.glob(f"{acc}-raw-counts.tsv*"), *folder.glob(f"{acc}-transcripts-tpms.tsv*"),
                             *folder.glob(f"{acc}_*-normalized-expressions.tsv*")})
        if len(candidates) != 1:
            names = [p.name for p in candidates]
            raise PrepareError(folder, f"choose the per-assay matrix with matrix=...; candidates: {names or 'none'}")
        return candidates[0]

    def source_files(self, raw: Path) -> list[Path]:
        self.load(raw)
        folder = self._folder(raw)
        return [folder / f"{self.params['experiment']}.condensed-sdrf.tsv", self._matrix(folder)]

    def label_definition(self) -> str:
        return f"SDRF {self.params['factor']!r} of {self.params['experiment']}"

    def read(self, raw: Path) -> tuple[np.ndarray, list[str], list[str], list[str], list[str]]:
        folder = self._folder(raw)
        sdrf_path = folder / f"{self.params['experiment']}.condensed-sdrf.tsv"
        sdrf = read_sdrf(sdrf_path)
        factor = self.params["factor"]
        attributes = sorted(set(sdrf["attribute"]))
        if factor not in attributes:
            factors = sorted(set(sdrf.loc[sdrf["category"] == "factor", "attribute"]))
            raise PrepareError(sdrf_path, f"choose factor=... among the factors {factors} (characteristics: "
                                          f"{sorted(set(attributes) - set(factors))})")
        rows = sdrf[sdrf["attribute"] == factor].sort_values("category", key=lambda c: c != "factor")
        value_of = dict(zip(rows["assay"][::-1], rows["value"][::-1]))  # a factor wins over a characteristic
        individual = dict(zip(*(sdrf.loc[sdrf["attribute"] == "individual", c] for c in ("assay", "value"))))
        path = self._matrix(folder)
        try:
            table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[""])
        except Exception as e:  # pandas raises several types for broken tables
            raise PrepareError(path, f"unreadable expression matrix ({type(e).__name__}: {e})") from None
        assays = set(sdrf["assay"])
        samples = [c for c in table.columns if c in assays]
        annotation = [c for c in table.columns if c not in assays]
        if not samples or not annotation:
            raise PrepareError(path, "no column is an assay of the condensed SDRF (or no annotation column)")
        keep = self.labelled(samples, [value_of.get(a) for a in samples], source=sdrf_path, what=f"{factor!r} value")
        samples = [a for a, k in zip(samples, keep) if k]
        features = ["|".join(str(v) for v in row) for row in table[annotation].itertuples(index=False)]
        patients = [individual.get(a, a) for a in samples]
        return numeric(table[samples], path), features, samples, patients, [value_of[a] for a in samples]
