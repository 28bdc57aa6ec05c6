"""The prepared store: Arrow IPC shards (memory-mapped on read) plus a JSON dataset card.

Layout of one prepared dataset::

    <prepared_root>/<name>/card.json
    <prepared_root>/<name>/<split>-<shard:05d>.arrow

Fields are encoded by their kind (`climb.prepare.encoding`): arrays flattened (`large_list`)
with a `<field>.shape` column (the shape is also in the card when it is the same for every
sample), or with `storage="png"`/`"jpeg"` one encoded picture per image/video sample. The card
lists every shard with its split, rows, size and sha256, and is sealed by its own sha256
(`climb.prepare.integrity`); opening a store checks the seal and every shard's presence and
size, and reads exactly the shards the card lists.

A build holds the dataset's lock, removes what killed builds left, writes into a temporary
directory (through `climb.safeio`: never through a link) that is renamed into place only after
the leakage check passed, so an interrupted build never leaves a half-written dataset behind.
Records of builders that declare them are prepared by worker processes or a Dask cluster
(`climb.prepare.parallel`); the shards are the same bytes whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from climb.catalog.schema import Task
from climb.errors import ClimbError, ClimbUsageError
from climb.kinds.codecs import Codec, get_codec
from climb.prepare.builder import Builder, PrepareError
from climb.prepare.encoding import CODEC_KEY, DTYPE_KEY, ROWS_PER_BATCH, SPLITS, SampleEncoder, ShapeGuard
from climb.prepare.integrity import (CARD, Level, StoreError, check_store, ensure_intact, read_card, record_hashes,
                                     remove_leftovers, seal, sha256_file, source_checksums)
from climb.prepare.splits import check_no_leakage, grouped_stratified_split
from climb.safeio import atomic_write_json, open_for_write

ROWS_PER_SHARD = 50_000
ROWS_PER_WRITE = 2048  # rows per record batch in a shard
STORE_FORMAT = 2  # 2: cards list their files and carry their own sha256


class NotPreparedError(ClimbError, FileNotFoundError):
    """There is no prepared dataset at this place (the message gives the command that prepares it)."""


def fingerprint(builder: Builder, checksums: dict[str, str]) -> str:
    """What a build is made from: builder name, version and parameters, and the sources' sha256."""
    payload = json.dumps(
        {"builder": builder.name, "version": builder.version, "params": builder.params,
         "sources": checksums}, sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# ---------------------------------------------------------------- reading


class FieldView:
    """Random access to one field of one split: zero-copy numpy views of the memory map for
    fixed-shape arrays and numbers, decoded arrays for encoded fields, Python objects otherwise.

    `take(indices)` reads many samples at once: one gather per shard for fixed-shape fields
    (into `out` when given), a decode per sample for encoded ones.
    """

    def __init__(self, chunks: list[pa.Array], shape: list[int] | None, shapes: list[pa.Array] | None,
                 codec: Codec | None = None, dtype: str | None = None):
        self.chunks, self.shape, self.shapes, self.codec = chunks, shape, shapes, codec
        self.dtype = np.dtype(dtype) if dtype else None
        self.starts = np.cumsum([0] + [len(c) for c in chunks])
        self._np = [self._chunk_numpy(c) for c in chunks] if shape is not None and codec is None else None
        self._objects: np.ndarray | None = None

    def _chunk_numpy(self, chunk: pa.Array) -> np.ndarray:
        if not pa.types.is_large_list(chunk.type):
            return chunk.to_numpy(zero_copy_only=False)
        offsets = chunk.offsets.to_numpy()
        values = chunk.values.to_numpy(zero_copy_only=False)
        return values[offsets[0]:offsets[-1]].reshape(len(chunk), *self.shape)

    @property
    def value_dtype(self) -> np.dtype | None:
        """The numpy dtype of fixed-shape and encoded values (None for strings and variable shapes)."""
        return self.dtype if self.codec is not None else (self._np[0].dtype if self._np else None)

    @property
    def fixed(self) -> bool:
        """Every value has one known shape (and comes back from `take` as one stacked array)."""
        return self.shape is not None

    def __len__(self) -> int:
        return int(self.starts[-1])

    def _locate(self, i: int) -> tuple[int, int]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        c = int(np.searchsorted(self.starts, i, side="right") - 1)
        return c, i - int(self.starts[c])

    def __getitem__(self, i: int) -> Any:
        c, j = self._locate(int(i))
        if self._np is not None:
            return self._np[c][j]
        chunk = self.chunks[c]
        if self.codec is not None:
            shape = self.shape if self.shape is not None else self.shapes[c][j].as_py()
            return self.codec.decode(chunk[j].as_py(), tuple(shape), self.dtype)
        if pa.types.is_large_list(chunk.type):
            shape = self.shapes[c][j].as_py()
            return chunk[j].values.to_numpy(zero_copy_only=False).reshape(shape)
        return chunk[j].as_py()

    def take(self, indices: np.ndarray, out: np.ndarray | None = None) -> np.ndarray | list[Any]:
        """Values at `indices` (in range): an (n, *shape) array for fixed shapes, else a list."""
        indices = np.asarray(indices, dtype=np.int64)
        if self._np is not None and len(self._np) == 1:
            return np.take(self._np[0], indices, axis=0, out=out)
        if self._np is not None:
            out = np.empty((len(indices), *self.shape), self._np[0].dtype) if out is None else out
            chunk_of = np.searchsorted(self.starts, indices, side="right") - 1
            for c in np.unique(chunk_of):
                mask = chunk_of == c
                out[mask] = self._np[c][indices[mask] - self.starts[c]]
            return out
        if self.codec is not None and self.shape is not None:
            out = np.empty((len(indices), *self.shape), self.dtype) if out is None else out
            for k, i in enumerate(indices):
                c, j = self._locate(int(i))
                self.codec.decode(self.chunks[c][j].as_py(), tuple(self.shape), self.dtype, out=out[k])
            return out
        if self.codec is None and not pa.types.is_large_list(self.chunks[0].type):
            return self._take_objects(indices)
        return [self[int(i)] for i in indices]

    def _take_objects(self, indices: np.ndarray) -> list[Any]:
        """Strings (ids, text) at `indices`, from the column converted once to Python objects
        (an Arrow `take` + `to_pylist` per batch costs more than the whole batch of pixels)."""
        if self._objects is None:
            self._objects = np.empty(len(self), dtype=object)
            self._objects[:] = [v for chunk in self.chunks for v in chunk.to_pylist()]
        return self._objects[indices].tolist()

    def all(self) -> np.ndarray:
        """The whole field as one array (fixed-shape fields and scalars only)."""
        if self._np is None:
            raise ValueError("field has variable shape or is encoded; index samples one by one")
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
    """A prepared dataset on disk: its card and memory-mapped splits.

    Opening checks the store (`climb.prepare.integrity.check_store`) at `check` level: "size"
    (default: the card's seal, every shard present with its size), "cached" (plus shard sha256
    where a shard changed on disk since it was last hashed) or "full" (re-hash every shard).
    """

    def __init__(self, root: Path, check: Level = "size"):
        self.root = Path(root)
        if not (self.root / CARD).is_file():
            raise NotPreparedError(f"{self.root}: not a prepared dataset (no {CARD}); run `climb prepare`")
        self.card: dict[str, Any] = read_card(self.root)
        ensure_intact(self.root, self.card, check)
        self._tables: dict[str, pa.Table] = {}

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if s in self.card["splits"]]

    def shard_files(self, split: str) -> list[str]:
        """The shard files of `split`, in order, as the card lists them."""
        return sorted(n for n, meta in self.card["files"].items() if meta["split"] == split)

    def table(self, split: str) -> pa.Table:
        """The split as an Arrow table backed by memory-mapped shard files."""
        if split not in self.card["splits"]:
            raise KeyError(f"{self.name} has no split {split!r}; splits: {self.splits}")
        if split not in self._tables:
            tables = [self._read_shard(name) for name in self.shard_files(split)]
            self._tables[split] = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return self._tables[split]

    def _read_shard(self, name: str) -> pa.Table:
        path = self.root / name
        try:
            table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        except (OSError, pa.ArrowException) as e:
            raise StoreError(path, f"unreadable shard ({type(e).__name__}: {e}); run `climb verify {self.name}`, "
                             f"then `climb prepare {self.name}`") from None
        if table.num_rows != self.card["files"][name]["rows"]:
            raise StoreError(path, f"{table.num_rows} rows, the card says {self.card['files'][name]['rows']}; "
                             f"run `climb prepare {self.name}` to rebuild it")
        return table

    def field(self, split: str, name: str) -> FieldView:
        """Random access to a field (or `label`, `patient_id`, `sample_id`) of a split."""
        table = self.table(split)
        if name not in table.column_names:
            raise KeyError(f"{self.name} has no field {name!r}; fields: {table.column_names}")
        meta = self.card["fields"].get(name, {})
        shape = meta.get("shape")
        if name in ("sample_id", "patient_id", "group_id", "split"):
            shape = None
        elif not pa.types.is_large_list(table.schema.field(name).type) and meta.get("encoding") is None:
            shape = None if pa.types.is_string(table.schema.field(name).type) else []
        shapes = table.column(f"{name}.shape").chunks if f"{name}.shape" in table.column_names else None
        codec = get_codec(meta["encoding"]) if meta.get("encoding") else None
        return FieldView(table.column(name).chunks, shape, shapes, codec, meta.get("dtype") if codec else None)

    def labels(self, split: str) -> np.ndarray:
        return self.field(split, "label").all()

    def __len__(self) -> int:
        return sum(v["num_samples"] for v in self.card["splits"].values())

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={self.card['splits'][s]['num_samples']}" for s in self.splits)
        return f"PreparedDataset({self.name!r}, {self.card['task']}, {sizes})"


# ---------------------------------------------------------------- writing


def build(builder: Builder, raw: Path, out_root: Path, *, force: bool = False, quiet: bool = True,
          workers: int = 1, cluster: Any = None, storage: str | None = None) -> PreparedDataset:
    """Run `builder` on `raw` into `out_root/<name>` atomically; reuse a matching, intact build.

    `workers` processes (or a Dask `cluster`: a scheduler address or a `distributed.Client`)
    prepare the records of builders that declare them. `storage`: "arrays" (decoded arrays),
    "png" or "jpeg" (encoded images/videos); None keeps the existing build's storage, else arrays.
    A build whose store fails verification is rebuilt, saying why unless `quiet`.
    """
    from filelock import FileLock

    if workers < 1:
        raise ClimbUsageError(f"workers must be >= 1, got {workers}")
    raw = Path(raw)
    if not raw.is_dir():
        raise PrepareError(raw, "raw data directory does not exist; run `climb download` first")
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / builder.name
    encoder = SampleEncoder(builder, storage or _existing_storage(final))
    with FileLock(str(out_root / f".{builder.name}.lock")):
        for leftover in remove_leftovers(out_root, builder.name):
            _say(quiet, f"{builder.name}: removed {leftover.name}, left by an interrupted build")
        checksums = source_checksums(builder.source_files(raw), raw)
        fp = fingerprint(builder, checksums)
        if not force and (final / CARD).is_file():
            existing, problem = _reusable(final, fp, storage)
            if existing is not None:
                return existing
            if problem:
                _say(quiet, f"{builder.name}: the prepared store failed verification ({problem}); rebuilding it")
        tmp = out_root / f".tmp-{builder.name}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            card = _build_into(builder, raw, tmp, encoder, checksums, fp, quiet, workers, cluster)
            atomic_write_json(tmp / CARD, card)
            _swap_into_place(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        record_hashes(final, card)
    return PreparedDataset(final)


def _existing_storage(final: Path) -> str:
    """The storage of the build at `final` (a rebuild keeps it), else "arrays"."""
    try:
        return str(read_card(final).get("storage", "arrays")) if (final / CARD).is_file() else "arrays"
    except StoreError:
        return "arrays"


def _reusable(final: Path, fp: str, storage: str | None) -> tuple[PreparedDataset | None, str | None]:
    """(the existing store, None) when it can be reused; else (None, why it failed verification or None)."""
    try:
        card = read_card(final)
    except StoreError as e:
        return None, e.problem
    if card.get("fingerprint") != fp or (storage is not None and card.get("storage", "arrays") != storage):
        return None, None  # sources, builder or storage changed: an ordinary rebuild
    if any(f["kind"] in TRAIN_STATS_KINDS and "mean" not in f for f in card.get("fields", {}).values()):
        return None, None  # built before climb stored train-split statistics: rebuilt with them
    bad = [c for c in check_store(final, card, "cached") if not c.ok]
    if bad:
        return None, f"{bad[0].name}: {bad[0].detail}"
    return PreparedDataset(final), None


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True, soft_wrap=True).print(f"[yellow]{escape(message)}[/yellow]")


def _build_into(builder: Builder, raw: Path, tmp: Path, encoder: SampleEncoder, checksums: dict[str, str],
                fp: str, quiet: bool, workers: int, cluster: Any) -> dict[str, Any]:
    import climb

    strata = _stage(builder, raw, tmp / "_staging.arrow", encoder, quiet, workers, cluster)
    table = pa.ipc.open_stream(pa.memory_map(str(tmp / "_staging.arrow"), "r")).read_all()
    splits = _assign_splits(table, builder, strata)
    patients = np.asarray(table.column("patient_id").to_pylist())
    groups = np.asarray(table.column(split_unit(table)).to_pylist())
    check_no_leakage({s: groups[splits == s] for s in SPLITS if (splits == s).any()},
                     "group" if split_unit(table) == "group_id" else "patient")
    labels = _label_array(table, builder.task)
    stored = table.drop_columns(["split"])
    batches, starts = stored.to_batches(), np.cumsum([0] + [b.num_rows for b in stored.to_batches()])
    split_info, files = {}, {}
    for s in SPLITS:
        idx = np.flatnonzero(splits == s)
        if not len(idx):
            continue
        files.update(_write_split(batches, starts, idx, tmp, s, stored.schema))
        pids = sorted(set(patients[idx]))
        split_info[s] = {
            "num_samples": int(len(idx)),
            "num_patients": len(pids),
            "class_counts": _class_counts(labels[idx], builder.task, builder.label_names),
            "patient_ids_sha256": hashlib.sha256("\n".join(pids).encode()).hexdigest(),
        }
        if split_unit(table) == "group_id":
            gids = sorted(set(groups[idx]))
            split_info[s].update(num_groups=len(gids),
                                 group_ids_sha256=hashlib.sha256("\n".join(gids).encode()).hexdigest())
    (tmp / "_staging.arrow").unlink()
    return seal({
        "name": builder.name, "catalog_id": builder.catalog_id, "builder": type(builder).__name__,
        "builder_version": builder.version, "climb_version": climb.__version__, "params": builder.params,
        "task": builder.task.value, "label_names": list(builder.label_names),
        "fields": _with_train_stats(_field_meta(table, builder, builder.field_meta(raw)), table, splits == "train"),
        "split_policy": builder.split_policy, "splits": split_info,
        **({"split_unit": "group_id"} if split_unit(table) == "group_id" else {}),
        "source_checksums": checksums, "fingerprint": fp, "storage": encoder.storage,
        "store_format": STORE_FORMAT, "files": files,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **builder.card_extras(),  # label-mapping losses and raw-file verification, recorded in the card
    })


def _stage(builder: Builder, raw: Path, staging: Path, encoder: SampleEncoder, quiet: bool, workers: int,
           cluster: Any) -> list[object]:
    """Write every sample, validated and encoded, to the staging stream in order; return the strata."""
    guard = ShapeGuard(encoder)
    strata: list[object] = []
    writer = schema = None
    with open_for_write(staging, exclusive=True) as f:
        sink = pa.PythonFile(f, mode="w")
        for batch, batch_strata in _batches(builder, raw, encoder, quiet, workers, cluster):
            if writer is None:
                schema = batch.schema
                writer = pa.ipc.new_stream(sink, schema)
            elif not batch.schema.equals(schema, check_metadata=True):
                raise PrepareError(builder.name, f"samples disagree on field types: {batch.schema} vs {schema}")
            guard.check(batch)
            writer.write_batch(batch)
            strata.extend(batch_strata)
        if writer is None:
            raise PrepareError(raw, f"builder {builder.name} produced no samples")
        writer.close()
    return strata


def _batches(builder: Builder, raw: Path, encoder: SampleEncoder, quiet: bool, workers: int,
             cluster: Any) -> Iterator[tuple[pa.RecordBatch, list[object]]]:
    """(record batch, strata) in sample order: from worker chunks, or `generate` for serial builders."""
    from climb.prepare.parallel import Backend, PrepareJob, run_chunks

    label = f"prepare {builder.name}"
    records = builder.parallel_records(raw)
    if records is None:
        if workers > 1 or cluster is not None:
            _say(quiet, f"{builder.name}: its builder declares no parallel records; preparing in one process")
        rows: list[dict[str, Any]] = []
        strata: list[object] = []
        for sample in _progress(builder.generate(raw), builder.num_samples_hint(raw), quiet, label):
            encoder.validate(sample, len(strata))
            strata.append(builder.stratum(sample))
            rows.append(sample)
            if len(rows) == ROWS_PER_BATCH:
                yield encoder.encode(rows), strata
                rows, strata = [], []
        if rows:
            yield encoder.encode(rows), strata
        return
    backend = Backend(PrepareJob(builder, raw, encoder), workers, cluster)
    try:
        for chunk in _progress(run_chunks(backend, records), len(records), quiet, label, lambda c: c.records):
            if chunk.batch is not None:
                yield chunk.batch, chunk.strata
    finally:
        backend.close()


def _progress(iterable: Iterable, total: int | None, quiet: bool, label: str,
              weight: Callable[[Any], int] = lambda item: 1) -> Iterator:
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
            bar.advance(task, weight(item))


def _write_split(batches: list[pa.RecordBatch], starts: np.ndarray, indices: np.ndarray, out_dir: Path,
                 split: str, schema: pa.Schema) -> dict[str, dict[str, Any]]:
    """Write rows `indices` (ascending) of the staged batches as shards; their card entries.

    Each shard's record batches are ROWS_PER_WRITE rows gathered per staged batch and combined,
    so the bytes do not depend on how the staged batches were cut (number of workers).
    """
    files: dict[str, dict[str, Any]] = {}
    for shard, first in enumerate(range(0, len(indices), ROWS_PER_SHARD)):
        part = indices[first:first + ROWS_PER_SHARD]
        name = f"{split}-{shard:05d}.arrow"
        with open_for_write(out_dir / name, exclusive=True) as f:
            with pa.ipc.new_file(pa.PythonFile(f, mode="w"), schema) as writer:
                for b in range(0, len(part), ROWS_PER_WRITE):
                    writer.write_batch(_gather(batches, starts, part[b:b + ROWS_PER_WRITE], schema))
        path = out_dir / name
        files[name] = {"split": split, "rows": int(len(part)), "size": path.stat().st_size,
                       "sha256": sha256_file(path)}
    return files


def _gather(batches: list[pa.RecordBatch], starts: np.ndarray, rows: np.ndarray, schema: pa.Schema) -> pa.RecordBatch:
    """Rows `rows` (ascending) of the staged batches as one record batch."""
    batch_of = np.searchsorted(starts, rows, side="right") - 1
    parts = [batches[b].take(pa.array(rows[batch_of == b] - starts[b])) for b in np.unique(batch_of)]
    combined = pa.Table.from_batches(parts, schema).combine_chunks()
    return combined.to_batches()[0]


def _field_meta(table: pa.Table, builder: Builder, extra: dict[str, dict]) -> dict[str, dict]:
    meta: dict[str, dict] = {}
    for name, kind in {"label": "label", **builder.fields}.items():
        entry: dict[str, Any] = {"kind": kind, **extra.get(name, {})}
        field = table.schema.field(name)
        if f"{name}.shape" in table.column_names:
            shapes = {tuple(s) for s in table.column(f"{name}.shape").to_pylist()}
            entry["shape"] = list(next(iter(shapes))) if len(shapes) == 1 else None
            if field.metadata and CODEC_KEY in field.metadata:
                codec = get_codec(field.metadata[CODEC_KEY].decode())
                entry.update(dtype=field.metadata[DTYPE_KEY].decode(), encoding=codec.name, lossless=codec.lossless)
            else:
                entry["dtype"] = str(field.type.value_type)
        else:
            entry["dtype"] = str(field.type)
        meta[name] = entry
    return meta


TRAIN_STATS_KINDS = ("tabular", "timeseries")  # standardised per feature (the last axis) by their default transform


def _with_train_stats(meta: dict[str, dict], table: pa.Table, train: np.ndarray) -> dict[str, dict]:
    """Per-feature mean/std of tabular and time-series fields, from the train split only,
    for fields whose builder gave none (`default_transform` applies them)."""
    for name, entry in meta.items():
        if entry["kind"] not in TRAIN_STATS_KINDS or "mean" in entry or not train.any():
            continue
        column = table.column(name).take(pa.array(np.flatnonzero(train))).combine_chunks()
        n_features = table.column(f"{name}.shape")[0].as_py()[-1]
        values = column.values.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, n_features)
        observed = ~np.isnan(values)
        count = observed.sum(axis=0)
        filled = np.where(observed, values, 0.0)
        mean = filled.sum(axis=0) / np.maximum(count, 1)
        std = np.sqrt((np.where(observed, values - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1))
        entry.update(mean=mean.tolist(), std=std.tolist(),
                     stats_from=f"train split ({int(train.sum())} samples), computed by climb; NaN ignored")
        if (count == 0).any():  # no train value: mean 0, std 0 (left unscaled; NaN -> 0 by the transform)
            names = entry.get("feature_names") or list(range(n_features))
            entry["stats_without_train_values"] = [names[i] for i in np.flatnonzero(count == 0)]
    return meta


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
        table.column(split_unit(table)).to_pylist(), strata, builder.split_fractions, builder.split_seed
    )


def split_unit(table: pa.Table) -> str:
    """The column splits keep apart: `group_id` when the builder gives one, else `patient_id`."""
    return "group_id" if "group_id" in table.column_names else "patient_id"


def _label_array(table: pa.Table, task: Task) -> np.ndarray:
    col = table.column("label").combine_chunks()
    if task == Task.multilabel:
        shape = table.column("label.shape").to_pylist()
        return col.values.to_numpy(zero_copy_only=False).reshape(len(col), *shape[0])
    return col.to_numpy(zero_copy_only=False)


def _swap_into_place(tmp: Path, final: Path) -> None:
    old = None
    if final.exists() or final.is_symlink():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    elif old is not None:
        old.unlink()


__all__ = ["NotPreparedError", "PreparedDataset", "StoreError", "build", "fingerprint", "sha256_file",
           "source_checksums"]
