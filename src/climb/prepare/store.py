"""The prepared store: Arrow IPC shards (memory-mapped on read) plus a JSON dataset card.

Layout of one prepared dataset::

    <prepared_root>/<name>/card.json
    <prepared_root>/<name>/<split>-<shard:05d>.arrow

Array fields are stored flattened (`list<dtype>`) with their shape in the card when it
is the same for every sample, else in a `<field>.shape` column. Writing goes to a
temporary directory that is renamed into place only after the leakage check passed,
so a failed or interrupted build never leaves a half-written dataset behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from climb.catalog.schema import Task
from climb.prepare.builder import FIELD_KINDS, Builder, PrepareError
from climb.prepare.splits import check_no_leakage, grouped_stratified_split

SPLITS = ("train", "val", "test")
ROWS_PER_BATCH = 256
ROWS_PER_SHARD = 50_000
CARD = "card.json"


# ---------------------------------------------------------------- encoding samples


def _label_kind(task: Task) -> str:
    return {Task.multilabel: "array", Task.regression: "float"}.get(task, "int")


def _encode_batch(rows: list[dict[str, Any]], builder: Builder) -> pa.RecordBatch:
    cols: dict[str, pa.Array] = {
        "sample_id": pa.array([str(r["sample_id"]) for r in rows], pa.string()),
        "patient_id": pa.array([str(r["patient_id"]) for r in rows], pa.string()),
        "split": pa.array([r.get("split") for r in rows], pa.string()),
    }
    names = ["label", *builder.fields]
    for name in names:
        kind = "label" if name == "label" else builder.fields[name]
        values = [r.get(name) for r in rows]
        if kind == "text":
            cols[name] = pa.array(values, pa.string())
        elif kind == "scalar" or (kind == "label" and _label_kind(builder.task) != "array"):
            dtype = pa.int64() if kind == "label" and _label_kind(builder.task) == "int" else pa.float64()
            cols[name] = pa.array(values, dtype)
        else:
            arrays = [np.ascontiguousarray(v) for v in values]
            dtype = arrays[0].dtype
            flat = np.concatenate([a.reshape(-1).astype(dtype, copy=False) for a in arrays])
            offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
            offsets[1:] = np.cumsum([a.size for a in arrays])
            cols[name] = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat))
            cols[f"{name}.shape"] = pa.array([list(a.shape) for a in arrays], pa.list_(pa.int32()))
    return pa.RecordBatch.from_pydict(cols)


def _validate_sample(sample: dict[str, Any], builder: Builder, index: int) -> None:
    where = f"sample {sample.get('sample_id', index)!r} of {builder.name}"
    for key in ("sample_id", "patient_id", "label"):
        if sample.get(key) is None:
            raise PrepareError(where, f"missing {key!r}")
    if sample.get("split") not in (None, *SPLITS):
        raise PrepareError(where, f"unknown split {sample.get('split')!r}")
    label = sample["label"]
    n = len(builder.label_names)
    if builder.task in (Task.binary, Task.multiclass) and not (0 <= int(label) < n):
        raise PrepareError(where, f"label {label} outside 0..{n - 1}")
    if builder.task == Task.multilabel and np.asarray(label).shape != (n,):
        raise PrepareError(where, f"multilabel label shape {np.asarray(label).shape} != ({n},)")
    for name, kind in builder.fields.items():
        value = sample.get(name)
        if value is None:
            raise PrepareError(where, f"missing field {name!r}")
        if kind in ("text", "scalar"):
            continue
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and kind not in ("timeseries", "tabular") and not np.isfinite(arr).all():
            raise PrepareError(where, f"field {name!r} has NaN or inf values")


# ---------------------------------------------------------------- hashing sources


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _hash_cache_path() -> Path:
    from climb.config import climb_home

    return climb_home() / "hash_cache.json"


def source_checksums(files: Iterable[Path], root: Path) -> dict[str, str]:
    """sha256 of each source file (relative to `root`), cached by path, size and mtime."""
    cache_path = _hash_cache_path()
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    out: dict[str, str] = {}
    for f in sorted(set(Path(p) for p in files)):
        if not f.is_file():
            raise PrepareError(f, "source file is missing")
        st = f.stat()
        key = f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        if key not in cache:
            cache[key] = sha256_file(f)
        rel = os.path.relpath(f, root)
        out[rel] = cache[key]
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_path.with_suffix(f".{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(cache))
    os.replace(tmp, cache_path)
    return out


def fingerprint(builder: Builder, checksums: dict[str, str]) -> str:
    payload = json.dumps(
        {"builder": builder.name, "version": builder.version, "params": builder.params,
         "sources": checksums}, sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# ---------------------------------------------------------------- reading


@dataclass
class FieldView:
    """Random access to one field of one split, zero-copy from the memory map where possible."""

    chunks: list[pa.Array]
    shape: list[int] | None
    shapes: list[pa.Array] | None
    starts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.starts = np.cumsum([0] + [len(c) for c in self.chunks])
        self._np = [self._chunk_numpy(c) for c in self.chunks] if self.shape is not None else None

    def _chunk_numpy(self, chunk: pa.Array) -> np.ndarray:
        if not pa.types.is_large_list(chunk.type):
            return chunk.to_numpy(zero_copy_only=False)
        offsets = chunk.offsets.to_numpy()
        values = chunk.values.to_numpy(zero_copy_only=False)
        return values[offsets[0]:offsets[-1]].reshape(len(chunk), *self.shape)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, i: int) -> Any:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        c = int(np.searchsorted(self.starts, i, side="right") - 1)
        j = i - int(self.starts[c])
        if self._np is not None:
            return self._np[c][j]
        chunk = self.chunks[c]
        if pa.types.is_large_list(chunk.type):
            shape = self.shapes[c][j].as_py()
            return chunk[j].values.to_numpy(zero_copy_only=False).reshape(shape)
        return chunk[j].as_py()

    def all(self) -> np.ndarray:
        """The whole field as one array (fixed-shape fields and scalars only)."""
        if self._np is None:
            raise ValueError("field has variable shape; index samples one by one")
        return np.concatenate(self._np) if len(self._np) != 1 else self._np[0]


class CardInfo:
    """Name, task and label names read from a dataset card (`self.card`)."""

    card: dict[str, Any]

    @property
    def name(self) -> str:
        return self.card["name"]

    @property
    def task(self) -> Task:
        return Task(self.card["task"])

    @property
    def label_names(self) -> list[str]:
        return list(self.card["label_names"])


class PreparedDataset(CardInfo):
    """A prepared dataset on disk: its card and memory-mapped splits."""

    def __init__(self, root: Path):
        self.root = Path(root)
        card_path = self.root / CARD
        if not card_path.is_file():
            raise FileNotFoundError(f"{self.root}: not a prepared dataset (no {CARD}); run `climb prepare`")
        self.card: dict[str, Any] = json.loads(card_path.read_text())
        self._tables: dict[str, pa.Table] = {}

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if s in self.card["splits"]]

    def table(self, split: str) -> pa.Table:
        """The split as an Arrow table backed by memory-mapped shard files."""
        if split not in self.card["splits"]:
            raise KeyError(f"{self.name} has no split {split!r}; splits: {self.splits}")
        if split not in self._tables:
            shards = sorted(self.root.glob(f"{split}-*.arrow"))
            tables = [pa.ipc.open_file(pa.memory_map(str(p), "r")).read_all() for p in shards]
            self._tables[split] = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return self._tables[split]

    def field(self, split: str, name: str) -> FieldView:
        """Random access to a field (or `label`, `patient_id`, `sample_id`) of a split."""
        table = self.table(split)
        if name not in table.column_names:
            raise KeyError(f"{self.name} has no field {name!r}; fields: {table.column_names}")
        meta = self.card["fields"].get(name, {})
        shape = meta.get("shape")
        if name == "label" and self.task != Task.multilabel:
            shape = []
        if name in ("sample_id", "patient_id", "split") or meta.get("kind") in ("text", "scalar"):
            shape = None if meta.get("kind") == "text" or name in ("sample_id", "patient_id", "split") else []
        shapes = table.column(f"{name}.shape").chunks if f"{name}.shape" in table.column_names else None
        return FieldView(table.column(name).chunks, shape, shapes)

    def labels(self, split: str) -> np.ndarray:
        return self.field(split, "label").all()

    def __len__(self) -> int:
        return sum(v["num_samples"] for v in self.card["splits"].values())

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={self.card['splits'][s]['num_samples']}" for s in self.splits)
        return f"PreparedDataset({self.name!r}, {self.card['task']}, {sizes})"


# ---------------------------------------------------------------- writing


def _class_counts(labels: np.ndarray, task: Task, names: list[str]) -> dict[str, float]:
    if task in (Task.binary, Task.multiclass):
        counts = np.bincount(labels.astype(int), minlength=len(names))
        return {n: int(c) for n, c in zip(names, counts)}
    if task == Task.multilabel:
        return {n: int(c) for n, c in zip(names, labels.reshape(len(labels), -1).sum(0))}
    return {"mean": float(np.mean(labels)), "std": float(np.std(labels))} if len(labels) else {}


def _assign_splits(table: pa.Table, builder: Builder, strata: list[object]) -> np.ndarray:
    given = table.column("split").to_pylist()
    if all(s is not None for s in given):
        return np.asarray(given)
    if builder.split_fractions is None:
        raise PrepareError(builder.name, "samples without a split, but the builder sets no split_fractions")
    if any(s is not None for s in given):
        raise PrepareError(builder.name, "some samples have an official split and some do not")
    return grouped_stratified_split(
        table.column("patient_id").to_pylist(), strata, builder.split_fractions, builder.split_seed
    )


def _field_meta(table: pa.Table, builder: Builder, extra: dict[str, dict]) -> dict[str, dict]:
    meta: dict[str, dict] = {}
    for name, kind in {"label": "label", **builder.fields}.items():
        entry: dict[str, Any] = {"kind": kind, **extra.get(name, {})}
        col = table.column(name)
        if f"{name}.shape" in table.column_names:
            shapes = {tuple(s) for s in table.column(f"{name}.shape").to_pylist()}
            entry["shape"] = list(next(iter(shapes))) if len(shapes) == 1 else None
            entry["dtype"] = str(col.type.value_type)
        else:
            entry["dtype"] = str(col.type)
        meta[name] = entry
    return meta


def _write_split(table: pa.Table, indices: np.ndarray, out_dir: Path, split: str, schema: pa.Schema) -> int:
    shard = 0
    for start in range(0, max(len(indices), 1), ROWS_PER_SHARD):
        part = indices[start:start + ROWS_PER_SHARD]
        with pa.OSFile(str(out_dir / f"{split}-{shard:05d}.arrow"), "wb") as sink:
            with pa.ipc.new_file(sink, schema) as writer:
                for b in range(0, len(part), ROWS_PER_BATCH * 8):
                    writer.write_table(table.take(pa.array(part[b:b + ROWS_PER_BATCH * 8])))
        shard += 1
    return shard


def _progress(iterable: Iterable, total: int | None, quiet: bool, label: str) -> Iterator:
    if quiet:
        yield from iterable
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for item in iterable:
            yield item
            bar.advance(task)


def build(builder: Builder, raw: Path, out_root: Path, *, force: bool = False, quiet: bool = True) -> PreparedDataset:
    """Run `builder` on `raw` into `out_root/<name>` atomically; reuse a matching build."""
    from filelock import FileLock

    import climb

    raw = Path(raw)
    if not raw.is_dir():
        raise PrepareError(raw, "raw data directory does not exist; run `climb download` first")
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / builder.name
    with FileLock(str(out_root / f".{builder.name}.lock")):
        checksums = source_checksums(builder.source_files(raw), raw)
        fp = fingerprint(builder, checksums)
        if not force and (final / CARD).is_file():
            existing = PreparedDataset(final)
            if existing.card.get("fingerprint") == fp:
                return existing
        tmp = out_root / f".tmp-{builder.name}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            card = _build_into(builder, raw, tmp, checksums, fp, climb.__version__, quiet)
            (tmp / CARD).write_text(json.dumps(card, indent=2))
            _swap_into_place(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return PreparedDataset(final)


def _build_into(builder: Builder, raw: Path, tmp: Path, checksums: dict[str, str], fp: str,
                version: str, quiet: bool) -> dict[str, Any]:
    staging = tmp / "_staging.arrow"
    strata: list[object] = []
    rows: list[dict[str, Any]] = []
    writer = None
    count = 0
    samples = _progress(builder.generate(raw), builder.num_samples_hint(raw), quiet, f"prepare {builder.name}")
    with pa.OSFile(str(staging), "wb") as sink:
        for sample in samples:
            _validate_sample(sample, builder, count)
            strata.append(builder.stratum(sample))
            rows.append(sample)
            count += 1
            if len(rows) == ROWS_PER_BATCH:
                writer = _flush(rows, builder, sink, writer)
        if rows:
            writer = _flush(rows, builder, sink, writer)
        if writer is None:
            raise PrepareError(raw, f"builder {builder.name} produced no samples")
        writer.close()
    table = pa.ipc.open_stream(pa.memory_map(str(staging), "r")).read_all()
    splits = _assign_splits(table, builder, strata)
    patients = np.asarray(table.column("patient_id").to_pylist())
    check_no_leakage({s: patients[splits == s] for s in SPLITS if (splits == s).any()})
    labels = _label_array(table, builder.task)
    split_info = {}
    schema = table.drop_columns(["split"]).schema
    for s in SPLITS:
        idx = np.flatnonzero(splits == s)
        if not len(idx):
            continue
        _write_split(table.drop_columns(["split"]), idx, tmp, s, schema)
        pids = sorted(set(patients[idx]))
        split_info[s] = {
            "num_samples": int(len(idx)),
            "num_patients": len(pids),
            "class_counts": _class_counts(labels[idx], builder.task, builder.label_names),
            "patient_ids_sha256": hashlib.sha256("\n".join(pids).encode()).hexdigest(),
        }
    staging.unlink()
    return {
        "name": builder.name, "catalog_id": builder.catalog_id, "builder": type(builder).__name__,
        "builder_version": builder.version, "climb_version": version, "params": builder.params,
        "task": builder.task.value, "label_names": list(builder.label_names),
        "fields": _field_meta(table, builder, builder.field_meta(raw)),
        "split_policy": builder.split_policy, "splits": split_info,
        "source_checksums": checksums, "fingerprint": fp,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _flush(rows: list[dict[str, Any]], builder: Builder, sink: pa.NativeFile, writer):
    batch = _encode_batch(rows, builder)
    if writer is None:
        writer = pa.ipc.new_stream(sink, batch.schema)
        writer.climb_schema = batch.schema
    elif not batch.schema.equals(writer.climb_schema):
        raise PrepareError(builder.name, f"samples disagree on field types: {batch.schema} vs {writer.climb_schema}")
    writer.write_batch(batch)
    rows.clear()
    return writer


def _label_array(table: pa.Table, task: Task) -> np.ndarray:
    col = table.column("label").combine_chunks()
    if task == Task.multilabel:
        shape = table.column("label.shape").to_pylist()
        return col.values.to_numpy(zero_copy_only=False).reshape(len(col), *shape[0])
    return col.to_numpy(zero_copy_only=False)


def _swap_into_place(tmp: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["FIELD_KINDS", "PreparedDataset", "build", "fingerprint", "sha256_file", "source_checksums"]
