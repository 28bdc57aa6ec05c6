"""The generic builders behind declarations: one `Builder` class per declared `kind`.

Each reads its input with the machinery of the built-in builders (imported, not copied):
images with `climb.prepare.builders.images_2d`, molecules with the featurisation and
scaffold split of `climb.prepare.builders.moleculenet`, WFDB records with
`climb.prepare.builders.mitdb.read_wfdb`, so a declared dataset over the same files
yields the same arrays as the built-in builder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError
from climb.prepare.builders.images_2d import (IMAGE_EXTS, carve_val, class_folder_records, index_by_stem,
                                              load_image)
from climb.extras import require
from climb.prepare.declared import rows as R
from climb.prepare.declared.schema import (Common, Declaration, DeclarationError, EdfDataset, ImageFolderDataset,
                                           ImageTableDataset, MoleculeDataset, TableDataset, WfdbDataset)
from climb.prepare.labels.mapping import LabelMapper, RecordQuotes, quote

_ADAPTER: TypeAdapter = TypeAdapter(Declaration)


def validate_declaration(mapping: Any, source: str = "<declaration>") -> Common:
    """A mapping as a declaration; errors name `source` and each offending field."""
    if not isinstance(mapping, dict):
        raise DeclarationError(f"{source}: expected a mapping at top level")
    try:
        decl = _ADAPTER.validate_python(mapping)
    except ValidationError as e:
        problems = "; ".join(f"{_where(err['loc'], mapping)}: {err['msg']}" for err in e.errors())
        raise DeclarationError(f"{source}: {problems}") from None
    table = getattr(decl, "table", None)
    if table is not None and table.group_column and (decl.split.by == "scaffold"
                                                     or getattr(decl.split, "val_from_train", None)):
        raise DeclarationError(f"{source}: table.group_column: not with split.by scaffold or val_from_train "
                               "(those group by patient / scaffold); use a split column or by: random")
    return decl


def _where(loc: tuple, mapping: dict) -> str:
    """The field path of a pydantic error without the union tags (`kind`, `split.by` values)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == mapping.get("kind"):
        parts = parts[1:]
    split_by = (mapping.get("split") or {}).get("by") if isinstance(mapping.get("split"), dict) else None
    if len(parts) >= 2 and parts[0] == "split" and parts[1] == split_by:
        parts = [parts[0], *parts[2:]]
    return ".".join(parts) or "<dataset>"


def _stratum(label: Any) -> object:
    return tuple(np.asarray(label).tolist()) if np.ndim(label) else label


class DeclaredBuilder(Builder):
    """A builder configured by a validated declaration (`params["declaration"]`)."""

    version = "1.0.0"
    default_params: dict[str, Any] = {"declaration": {}}

    def __init__(self, **params: Any):
        super().__init__(**params)
        d = self.decl = validate_declaration(self.params["declaration"])
        self.catalog_id = d.catalog
        self.version = f"declared-{d.version}"
        self.task = Task(d.label.task)
        self.label_names = d.label.label_names
        self.fields = self._fields()
        self.split_seed = d.split.seed
        self.split_fractions = dict(d.split.fractions) if d.split.by == "random" else None
        self.split_policy = self._split_policy()
        self._cache: dict[Path, tuple[list[R.Row], dict[str, Any]]] = {}

    # ------------------------------------------------------------ what each kind supplies

    def _fields(self) -> dict[str, str]:
        raise NotImplementedError

    def _read(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        """All usable rows, and the counts / facts for the card."""
        raise NotImplementedError

    def _payload(self, row: R.Row, raw: Path) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------ the builder contract

    def _rows(self, raw: Path) -> list[R.Row]:
        key = Path(raw).resolve()
        if key not in self._cache:
            rows, facts = self._read(Path(raw))
            if not rows:
                raise PrepareError(raw, f"declared dataset {self.decl.name!r}: no usable samples")
            split = self.decl.split
            if getattr(split, "val_from_train", None):
                rows = carve_val(rows, split.val_from_train, split.seed, _stratum)
            self._cache[key] = (rows, facts)
        return self._cache[key][0]

    def _facts(self, raw: Path) -> dict[str, Any]:
        self._rows(raw)
        return self._cache[Path(raw).resolve()][1]

    def default_raw(self) -> Path | None:
        return Path(self.decl.raw) if self.decl.raw else None

    def num_samples_hint(self, raw: Path) -> int | None:
        return len(self._rows(raw))

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        for row in self._rows(raw):
            sample = {"sample_id": row.sample_id, "patient_id": row.patient_id, "split": row.split,
                      "label": row.label, **self._payload(row, raw)}
            if row.mask is not None:
                sample["mask"] = row.mask
            if row.group_id is not None:
                sample["group_id"] = row.group_id
            yield sample

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        facts = dict(self._facts(raw))  # a copy: the cached facts stay whole for the next call
        meta: dict[str, dict[str, Any]] = {"label": {"declared": self.decl.label.model_dump(mode="json"),
                                                     **facts.pop("label", {})}}
        for name, value in facts.items():
            meta.setdefault(name, {}).update(value)
        if "mask" in self.fields:
            meta.setdefault("mask", {})["meaning"] = "1 = label measured, 0 = missing (label stored as 0)"
        return meta

    def _split_policy(self) -> str:
        s = self.decl.split
        if s.by == "random":
            return (f"declared: seeded ({s.seed}) split grouped by {self._split_unit()}, stratified by label, "
                    f"{'/'.join(f'{v:.0%}' for v in s.fractions.values())} {'/'.join(s.fractions)}"
                    + self._group_note())
        if s.by == "column":
            text = f"declared: split column {s.column!r} ({', '.join(f'{k}={v}' for k, v in s.values.items())})"
        elif s.by == "folders":
            text = f"declared: split folders ({', '.join(f'{k} -> {v}' for k, v in s.folders.items())})"
        else:
            return (f"declared: balanced Bemis-Murcko scaffold split (chemprop's scaffold_balanced, seed "
                    f"{s.seed}), {'/'.join(f'{v:.0%}' for v in s.fractions.values())}; patient_id = scaffold")
        if s.val_from_train:
            text += f"; val = seeded ({s.seed}) patient-grouped, stratified {s.val_from_train:.0%} of train"
        return text + self._patient_note() + self._group_note()

    def _split_unit(self) -> str:
        table = getattr(self.decl, "table", None)
        return f"group (column {table.group_column!r})" if table is not None and table.group_column else "patient"

    def _group_note(self) -> str:
        table = getattr(self.decl, "table", None)
        return f"; group_id = column {table.group_column!r} (splits keep groups apart)" \
            if table is not None and table.group_column else ""

    def _patient_note(self) -> str:
        table = getattr(self.decl, "table", None)
        if table is not None and table.patient_column:
            return f"; patient_id = column {table.patient_column!r}"
        return "; no patient column: each sample is its own patient"


class TableRowsBuilder(DeclaredBuilder):
    """Kinds that read one table: rows, labels, splits and scalar columns."""

    def _fields(self) -> dict[str, str]:
        return {**self._kind_fields(), **{c: "scalar" for c in self.decl.table.scalars},
                **({"mask": "mask"} if self.decl.label.missing_labels == "mask" else {})}

    def _kind_fields(self) -> dict[str, str]:
        raise NotImplementedError

    def _named_columns(self) -> list[str]:
        t, d = self.decl.table, self.decl
        named = [*d.label.label_columns, *t.scalars]
        named += [c for c in (t.id_column, t.patient_column, t.group_column, getattr(d.split, "column", None)) if c]
        return named

    def _table(self, raw: Path):
        path, frame = R.read_declared_table(raw, self.decl.table, self._named_columns())
        self._frame, self._source = frame, path
        scalars = R.numeric_columns(frame, list(self.decl.table.scalars), self.decl.table, path)
        self._scalars = {c: scalars[:, j] for j, c in enumerate(self.decl.table.scalars)}
        return path, frame

    def _table_rows(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        path, frame = self._table(raw)
        mapper = R.label_mapper(self, self.decl.label, path)
        rows, counts = R.table_rows(frame, self.decl.table, self.decl.label, self.decl.split, path, mapper)
        return rows, {"label": {"rows_in_table": len(frame), **counts}}

    def _scalar_values(self, row: R.Row) -> dict[str, float]:
        return {c: float(v[row.index]) for c, v in self._scalars.items()}

    def source_files(self, raw: Path) -> list[Path]:
        return [R.under(raw, self.decl.table.file)]


class DeclaredTable(TableRowsBuilder):
    """kind: table -> `tabular` (F,) float32 from numeric feature columns (NaN = missing, counted)."""

    decl: TableDataset

    def _kind_fields(self) -> dict[str, str]:
        return {"tabular": "tabular"}

    def _named_columns(self) -> list[str]:
        return [*super()._named_columns(), *(self.decl.features or [])]

    def _read(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        rows, facts = self._table_rows(raw)
        frame = self._frame
        used = set(TableRowsBuilder._named_columns(self))
        self._feature_names = list(self.decl.features or [c for c in frame.columns if c not in used])
        self._features = R.numeric_columns(frame, self._feature_names, self.decl.table,
                                           self._source).astype(np.float32)
        missing = int(np.isnan(self._features[[r.index for r in rows]]).sum())
        facts["tabular"] = {"feature_names": self._feature_names, "missing_values": missing}
        return rows, facts

    def _payload(self, row: R.Row, raw: Path) -> dict[str, Any]:
        return {"tabular": self._features[row.index], **self._scalar_values(row)}


class DeclaredImageTable(TableRowsBuilder):
    """kind: image_table -> `image` uint8 (C, size, size), read like the built-in 2D image builders."""

    decl: ImageTableDataset

    def _kind_fields(self) -> dict[str, str]:
        return {"image": "image"}

    def _named_columns(self) -> list[str]:
        return [*super()._named_columns(), self.decl.path_column]

    def _read(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        rows, facts = self._table_rows(raw)
        root = R.under(raw, self.decl.image_root)
        by_stem = index_by_stem(root) if self.decl.image_lookup == "stem" else None
        self._paths = {}
        absent = []
        for row in rows:
            value = self._frame[self.decl.path_column].iloc[row.index]
            text = R.cell_text(value) or ""
            if by_stem is not None:
                stem = Path(text).stem if Path(text).suffix.lower() in IMAGE_EXTS else text
                path = by_stem.get(stem, root / text)
            else:
                path = root / text
            if not text or not path.is_file():
                absent.append((row.line, value))
            self._paths[row.index] = path
        if absent:
            raise R._quote(self._source, f"name an image not found under {root}", absent, "")
        facts["image"] = {"channels": self.decl.channels, "size": self.decl.size,
                          "preprocessing": "long side resized to size, zero-padded to square, uint8"}
        return rows, facts

    def source_files(self, raw: Path) -> list[Path]:
        self._rows(raw)
        return [*super().source_files(raw), *self._paths.values()]

    def _payload(self, row: R.Row, raw: Path) -> dict[str, Any]:
        return {"image": load_image(self._paths[row.index], self.decl.size, self.decl.channels),
                **self._scalar_values(row)}


class DeclaredImageFolders(DeclaredBuilder):
    """kind: image_folders -> `image`; folders are classes, images listed in sorted order.

    Records come from `images_2d.class_folder_records` (sample id = `<class>/<file>`, with
    `<split folder>/` in front under `split.by: folders`), exactly as the built-in
    folder-per-class builders (BUSI, Brain tumor MRI, LC25000) list them.
    """

    decl: ImageFolderDataset

    def _fields(self) -> dict[str, str]:
        return {"image": "image"}

    def _roots(self, raw: Path) -> list[tuple[Path, str | None, str]]:
        """(folder holding the class folders, its split, the sample id prefix) for each root."""
        root = R.under(raw, self.decl.root)
        if self.decl.split.by == "folders":
            return [(root / folder, split, f"{folder}/") for folder, split in self.decl.split.folders.items()]
        return [(root, None, "")]

    def _read(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        classes = {str(folder): i for folder, i in self.decl.label.class_index().items()}
        skip = self.decl.skip_containing
        records, unlabelled, found, skipped = [], {}, set(), 0
        for root, split, prefix in self._roots(raw):
            if not root.is_dir():
                raise PrepareError(root, "declared image folder not found")
            loose = _images(p for p in root.iterdir() if p.is_file())
            if loose:
                unlabelled[f"{root} (outside any class folder)"] = loose
            for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
                images = _images(sub.rglob("*"))
                if sub.name in classes:
                    found.add(sub.name)
                    skipped += sum(1 for f in images if skip and skip in f.stem)
                elif images:
                    unlabelled[str(sub)] = images
            others = [p.name for p in root.iterdir() if p.is_dir() and p.name not in classes]  # counted above
            records += class_folder_records(root, classes, split, id_prefix=prefix, skip=skip, ignore=others)
        absent = [n for i, n in enumerate(self.label_names) if i not in {classes[f] for f in found}]
        if absent:
            raise PrepareError(R.under(raw, self.decl.root), f"no folder for declared class(es) {absent}")
        dropped = sum(map(len, unlabelled.values()))
        if unlabelled and self.decl.label.unknown_labels == "error":
            raise PrepareError(R.under(raw, self.decl.root), f"{dropped} image(s) are not in a declared class "
                               f"folder: {', '.join(f'{k}: {len(v)}' for k, v in unlabelled.items())} (declare "
                               "the folders in label.classes, or label.unknown_labels: drop to drop them, "
                               "counted in the card)")
        self._paths = {i: r.path for i, r in enumerate(records)}
        rows = [R.Row(r.sample_id, r.patient_id, r.label, r.split, i) for i, r in enumerate(records)]
        return rows, {"label": {"dropped_unknown_labels": dropped, "undeclared_folders": sorted(unlabelled)},
                      "image": {"channels": self.decl.channels, "size": self.decl.size, "skip_containing": skip,
                                "skipped_images": skipped,
                                "preprocessing": "long side resized to size, zero-padded to square, uint8"}}

    def source_files(self, raw: Path) -> list[Path]:
        self._rows(raw)
        return list(self._paths.values())

    def _payload(self, row: R.Row, raw: Path) -> dict[str, Any]:
        return {"image": load_image(self._paths[row.index], self.decl.size, self.decl.channels)}

    def _patient_note(self) -> str:
        return "; no patient ids in a folder layout: each image is its own patient"


def _images(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("._") and p.is_file()]


class DeclaredMolecules(TableRowsBuilder):
    """kind: molecules -> RDKit graphs + SMILES, featurised by `moleculenet.mol_graph`."""

    decl: MoleculeDataset

    def _kind_fields(self) -> dict[str, str]:
        return {"node_features": "node_features", "edge_index": "edge_index", "edge_weight": "edge_weight",
                "smiles": "text"}

    def _named_columns(self) -> list[str]:
        return [*super()._named_columns(), self.decl.smiles_column]

    def _read(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        from dataclasses import replace

        require("rdkit", "declared molecule datasets")
        from rdkit import Chem, RDLogger

        from climb.prepare.builders.moleculenet import scaffold_of, scaffold_split

        RDLogger.DisableLog("rdApp.*")
        rows, facts = self._table_rows(raw)
        smiles_cells = self._frame[self.decl.smiles_column]
        self._mols, kept, invalid = {}, [], []
        for row in rows:
            text = R.cell_text(smiles_cells.iloc[row.index])
            mol = Chem.MolFromSmiles(text) if text else None
            if mol is None or mol.GetNumAtoms() == 0:
                invalid.append((row.line, smiles_cells.iloc[row.index]))
                continue
            self._mols[row.index] = (text, mol)
            kept.append(row)
        if invalid and self.decl.invalid_smiles == "error":
            raise R._quote(self._source, f"with a SMILES RDKit cannot parse in {self.decl.smiles_column!r}",
                           invalid, " (declare invalid_smiles: drop to drop them, counted in the card)")
        if self.decl.split.by == "scaffold":
            scaffolds = [scaffold_of(self._mols[r.index][1]) for r in kept]
            splits = scaffold_split(scaffolds, dict(self.decl.split.fractions), seed=self.decl.split.seed)
            kept = [replace(r, patient_id=s, split=sp) for r, s, sp in zip(kept, scaffolds, splits)]
        facts["smiles"] = {"column": self.decl.smiles_column, "dropped_invalid_smiles": len(invalid),
                           **({"num_scaffolds": len({r.patient_id for r in kept})}
                              if self.decl.split.by == "scaffold" else {})}
        return kept, facts

    def _payload(self, row: R.Row, raw: Path) -> dict[str, Any]:
        from climb.prepare.builders.moleculenet import mol_graph

        text, mol = self._mols[row.index]
        return {"smiles": text, **mol_graph(mol), **self._scalar_values(row)}

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        from climb.prepare.builders.moleculenet import ATOM_FEATURE_NAMES

        meta = super().field_meta(raw)
        meta.setdefault("node_features", {})["feature_names"] = ATOM_FEATURE_NAMES
        meta.setdefault("edge_index", {})["directed"] = "every bond stored in both directions"
        meta.setdefault("edge_weight", {})["meaning"] = "bond order (single 1, double 2, triple 3, aromatic 1.5)"
        return meta

    def _patient_note(self) -> str:
        return "" if self.decl.split.by == "scaffold" else super()._patient_note()


class DeclaredWfdb(TableRowsBuilder):
    """kind: wfdb -> `signal` (leads, samples) float32 in physical units, via `mitdb.read_wfdb`."""

    decl: WfdbDataset

    def _kind_fields(self) -> dict[str, str]:
        return {"signal": "signal"}

    def _named_columns(self) -> list[str]:
        return [*super()._named_columns(), self.decl.record_column]

    def _read(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        from climb.prepare.builders.mitdb import read_header

        rows, facts = self._table_rows(raw)
        root = R.under(raw, self.decl.records_root)
        self._records, absent = {}, []
        for row in rows:
            value = self._frame[self.decl.record_column].iloc[row.index]
            record = root / str(R.cell_text(value) or "")
            if R.cell_text(value) is None or not record.with_suffix(".hea").is_file():
                absent.append((row.line, value))
            self._records[row.index] = record
        if absent:
            raise R._quote(self._source, f"name a WFDB record with no .hea file under {root}", absent, "")
        first = read_header(self._records[rows[0].index]) if rows else None
        facts["signal"] = {"sampling_rate": self.decl.sampling_rate or (first.fs if first else None),
                           "lead_names": self.decl.leads or (list(first.sig_name) if first else []),
                           "units": list(first.units) if first else []}
        return rows, facts

    def source_files(self, raw: Path) -> list[Path]:
        from climb.prepare.builders.mitdb import read_header

        rows = self._rows(raw)
        files = super().source_files(raw)
        for row in rows:
            record = self._records[row.index]
            files += [record.with_suffix(".hea"), *(record.parent / f for f in read_header(record).file_name)]
        return files

    def _payload(self, row: R.Row, raw: Path) -> dict[str, Any]:
        from climb.prepare.builders.mitdb import read_wfdb

        d = self.decl
        signal, _ = read_wfdb(self._records[row.index], expect_rate=d.sampling_rate,
                              expect_leads=[lead.upper() for lead in d.leads] if d.leads else None,
                              expect_length=d.length)
        return {"signal": signal, **self._scalar_values(row)}


class DeclaredEdf(DeclaredBuilder):
    """kind: edf -> `eeg` (channels, duration * rate) float32 windows around annotations.

    Channels are read and resampled by `climb.prepare.builders.sleep.read_edf_channels`
    (pyedflib, mne as a fallback; units as stored in the file). Embedded EDF+/BDF+
    annotations are read with pyedflib, a sidecar with `mne.read_annotations`.
    Sample id = `<recording path relative to raw>@<window start in s>`.
    """

    decl: EdfDataset

    def _fields(self) -> dict[str, str]:
        return {"eeg": "eeg"}

    def _recordings(self, raw: Path) -> list[Path]:
        found = sorted(p for p in Path(raw).glob(self.decl.files) if p.is_file())
        if not found:
            raise PrepareError(raw, f"no recording matches {self.decl.files!r}")
        return found

    def _patient(self, raw: Path, path: Path) -> str:
        if self.decl.patient_pattern is None:
            return path.stem
        relative = path.relative_to(raw).as_posix()
        match = re.search(self.decl.patient_pattern, relative)
        if not match or not match.group("patient"):
            raise PrepareError(path, f"patient_pattern {self.decl.patient_pattern!r} does not match {relative!r}")
        return match.group("patient")

    def _annotation_path(self, path: Path) -> Path | None:
        if self.decl.annotation_file is None:
            return None
        sidecar = path.parent / self.decl.annotation_file.format(stem=path.stem)
        if not sidecar.is_file():
            raise PrepareError(sidecar, f"annotation file of {path.name} not found")
        return sidecar

    def _annotations(self, path: Path) -> list[tuple[float, float, str]]:
        sidecar = self._annotation_path(path)
        require("mne" if sidecar is not None else "pyedflib", "EDF/BDF annotations")
        try:
            if sidecar is not None:
                import mne

                found = mne.read_annotations(str(sidecar))
                return list(zip(map(float, found.onset), map(float, found.duration), map(str, found.description)))
            import pyedflib

            with pyedflib.EdfReader(str(path)) as edf:
                onsets, durations, texts = edf.readAnnotations()
                duration = float(edf.getFileDuration())
        except PrepareError:
            raise
        except Exception as e:  # pyedflib / mne raise many types for foreign or truncated files
            raise PrepareError(sidecar or path, f"unreadable annotations ({type(e).__name__}: {e})") from None
        self._durations[path] = duration
        return list(zip(map(float, onsets), map(float, durations), map(str, texts)))

    def _duration(self, path: Path) -> float:
        if path not in self._durations:
            pyedflib = require("pyedflib", "EDF/BDF recordings")

            try:
                with pyedflib.EdfReader(str(path)) as edf:
                    self._durations[path] = float(edf.getFileDuration())
            except Exception as e:
                raise PrepareError(path, f"not a readable EDF/BDF file ({type(e).__name__}: {e})") from None
        return self._durations[path]

    def _windows(self, onset: float, length: float) -> list[float]:
        """Window starts of one annotation; a tiled span's remainder is counted in `_untiled`."""
        w = self.decl.window
        if not w.tile:
            return [onset + w.offset]
        count = int(np.floor(length / w.duration + 1e-9))
        self._untiled["annotations_shorter_than_window"] += count == 0
        self._untiled["untiled_seconds"] += max(length - count * w.duration, 0.0)
        return [onset + w.offset + k * w.duration for k in range(count)]

    def _read(self, raw: Path) -> tuple[list[R.Row], dict[str, Any]]:
        mapper = self._description_mapper(raw)
        self._durations: dict[Path, float] = {}
        self._windows_of: dict[int, tuple[Path, float]] = {}
        self._untiled = {"annotations_shorter_than_window": 0, "untiled_seconds": 0.0}
        rows, outside, file_of = [], [], {}
        for path in self._recordings(raw):
            patient, relative = self._patient(raw, path), path.relative_to(raw).as_posix()
            annotations, end = self._annotations(path), self._duration(path)
            for onset, length, text in annotations:
                record = f"{relative} at {onset:g} s"
                file_of[record] = relative
                label = mapper.one(text, record)
                if label is None:  # ignored, or unknown / empty (counted by the mapper)
                    continue
                for start in self._windows(onset, length):
                    if start < 0 or start + self.decl.window.duration > end + 1e-9:
                        outside.append((relative, start, text))
                        continue
                    self._windows_of[len(rows)] = (path, start)
                    rows.append(R.Row(f"{relative}@{start:g}", patient, label, None, len(rows)))
        offenders = mapper.offenders()
        counts = R.label_counts(mapper.finish(source=file_of[offenders[0]] if offenders else None))
        if outside and self.decl.out_of_range == "error":
            cited = [(f"{f} at {t:g} s", x) for f, t, x in outside]
            raise PrepareError(outside[0][0], quote("annotation", "whose window reaches past the recording", cited,
                                                    " (out_of_range: drop to drop them, counted in the card)"))
        return rows, {"label": {"dropped_unknown_labels": counts["dropped_unknown_labels"],
                                "dropped_missing_labels": counts["dropped_missing_labels"],
                                "ignored_descriptions": list(self.decl.ignore)},
                      "eeg": {"channel_names": list(self.decl.channels), "sampling_rate": self.decl.sampling_rate,
                              "window": self.decl.window.model_dump(), "dropped_out_of_range": len(outside),
                              **({k: round(v, 6) for k, v in self._untiled.items()} if self.decl.window.tile else {}),
                              "units": "as stored in the EDF (pyedflib physical units)"}}

    def _description_mapper(self, raw: Path) -> LabelMapper:
        """The `LabelMapper` of annotation descriptions: declared classes, `ignore` left out (counted)."""
        label = self.decl.label
        table = {text: self.label_names[i] for text, i in label.class_index().items()}
        table.update({R.cell_text(d): None for d in self.decl.ignore})
        quotes = RecordQuotes(
            "annotation", f"with a description outside {list(label.class_index())}", "with an empty description",
            " (declare it in label.classes or ignore, or label.unknown_labels: drop to drop them, counted in the card)",
            " (label.missing_labels: drop to drop them, counted in the card)")
        return self.label_mapper(table, what="annotation description", source=raw, unknown=label.unknown_labels,
                                 missing=R.MISSING_POLICY[label.missing_labels], quotes=quotes, key=R.cell_text)

    def source_files(self, raw: Path) -> list[Path]:
        files = self._recordings(raw)
        return [*files, *(s for s in map(self._annotation_path, files) if s is not None)]

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        from climb.prepare.builders.sleep import read_edf_channels

        rate, n = self.decl.sampling_rate, int(round(self.decl.window.duration * self.decl.sampling_rate))
        wanted = {c: [c] for c in self.decl.channels}
        current, data = None, None
        for row in self._rows(raw):
            path, start = self._windows_of[row.index]
            if path != current:
                current, data = path, read_edf_channels(path, wanted, rate)
            first = int(round(start * rate))
            window = data[:, first:first + n]
            if window.shape[1] != n:
                raise PrepareError(path, f"window at {start:g} s has {window.shape[1]} samples, expected {n}")
            yield {"sample_id": row.sample_id, "patient_id": row.patient_id, "split": None,
                   "label": row.label, "eeg": np.ascontiguousarray(window)}

    def _patient_note(self) -> str:
        return ("; patient_id from patient_pattern" if self.decl.patient_pattern
                else "; patient_id = recording file stem")


KIND_BUILDERS: dict[str, type[DeclaredBuilder]] = {
    "table": DeclaredTable, "image_table": DeclaredImageTable, "image_folders": DeclaredImageFolders,
    "molecules": DeclaredMolecules, "wfdb": DeclaredWfdb, "edf": DeclaredEdf,
}
