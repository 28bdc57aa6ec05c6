"""Samples -> validated Arrow record batches: the one encoding path of serial and parallel builds.

Each field is encoded by its kind (`climb.kinds`): arrays as `large_list<dtype>` plus a
`<field>.shape` column, or, with compact storage, as one encoded picture per sample
(`large_binary`, the codec and dtype in the Arrow field's metadata) plus the shape column;
text as `string`; numbers as `float64`. Labels: class index `int64`, regression `float64`,
multilabel a `large_list` 0/1 vector.

Nothing is changed silently: a sample with a missing key, a label outside the label space,
a NaN label, NaN/inf in a field whose kind does not mean "missing" by NaN, two dtypes in one
field, or (checked across the whole dataset by `ShapeGuard`) two shapes in a fixed-shape
field is a `PrepareError` naming the sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from climb.catalog.schema import Task
from climb.errors import ClimbUsageError
from climb.kinds import UnknownKindError, get_kind
from climb.kinds.codecs import STORAGES, Codec, get_codec
from climb.prepare.builder import Builder, PrepareError

SPLITS = ("train", "val", "test")
ROWS_PER_BATCH = 256  # samples per staged record batch of a serial build
CODEC_KEY, DTYPE_KEY = b"climb.codec", b"climb.dtype"  # Arrow field metadata of encoded columns


class SampleEncoder:
    """Validates a builder's samples and encodes them into Arrow record batches (picklable)."""

    def __init__(self, builder: Builder, storage: str = "arrays"):
        if storage not in STORAGES:
            raise ClimbUsageError(f"unknown storage {storage!r}; known: {', '.join(STORAGES)}")
        try:
            self.kinds = {name: get_kind(kind) for name, kind in builder.fields.items()}
        except UnknownKindError as e:
            raise PrepareError(builder.name, str(e)) from None
        self.builder = builder
        self.storage = storage
        self.codecs: dict[str, Codec] = {name: get_codec(storage) for name, kind in self.kinds.items()
                                         if storage in kind.codecs}

    # ------------------------------------------------------------ validation

    def validate(self, sample: dict[str, Any], index: int | str) -> None:
        """Raise `PrepareError` naming the sample unless it is a valid standard sample."""
        builder = self.builder
        where = f"sample {sample.get('sample_id', index)!r} of {builder.name}"
        for key in ("sample_id", "patient_id", "label"):
            if sample.get(key) is None:
                raise PrepareError(where, f"missing {key!r}")
        if sample.get("split") not in (None, *SPLITS):
            raise PrepareError(where, f"unknown split {sample.get('split')!r}")
        grouped = sample.get("group_id") is not None
        if self.__dict__.setdefault("grouped", grouped) != grouped:  # all samples name a group, or none
            raise PrepareError(where, "has no group_id, but other samples have one" if not grouped
                               else "has a group_id, but other samples have none")
        self._validate_label(sample["label"], where)
        for name, kind in self.kinds.items():
            value = sample.get(name)
            if value is None:
                raise PrepareError(where, f"missing field {name!r}")
            if kind.value == "text":
                if not isinstance(value, str):
                    raise PrepareError(where, f"text field {name!r} holds {type(value).__name__}, not str")
                continue
            arr = np.asarray(value)
            if kind.value == "number" and arr.ndim != 0:
                raise PrepareError(where, f"number field {name!r} holds an array of shape {arr.shape}")
            if kind.value == "array" and arr.dtype.kind not in "biuf":
                raise PrepareError(where, f"field {name!r} ({kind.name}) holds {arr.dtype} values, not numbers")
            if arr.dtype.kind == "f" and not kind.nan_means_missing and not np.isfinite(arr).all():
                raise PrepareError(where, f"field {name!r} has NaN or inf values")

    def _validate_label(self, label: Any, where: str) -> None:
        task, n = self.builder.task, len(self.builder.label_names)
        values = np.asarray(label, dtype=np.float64) if np.asarray(label).dtype.kind in "biuf" else None
        if values is None:
            raise PrepareError(where, f"label {label!r} is not a number")
        if not np.isfinite(values).all():
            raise PrepareError(where, f"label is NaN or inf ({label!r})")
        if task in (Task.binary, Task.multiclass) and not (values.ndim == 0 and 0 <= int(values) < n):
            raise PrepareError(where, f"label {label} outside 0..{n - 1}")
        if task == Task.multilabel and values.shape != (n,):
            raise PrepareError(where, f"multilabel label shape {values.shape} != ({n},)")

    # ------------------------------------------------------------ encoding

    def encode(self, rows: list[dict[str, Any]]) -> pa.RecordBatch:
        """One record batch of `rows` (validated samples), columns in a fixed order."""
        fields: list[pa.Field] = [pa.field("sample_id", pa.string()), pa.field("patient_id", pa.string()),
                                  pa.field("split", pa.string())]
        arrays: list[pa.Array] = [pa.array([str(r["sample_id"]) for r in rows], pa.string()),
                                  pa.array([str(r["patient_id"]) for r in rows], pa.string()),
                                  pa.array([r.get("split") for r in rows], pa.string())]
        if rows and rows[0].get("group_id") is not None:  # optional: what splits keep apart (default: the patient)
            fields.append(pa.field("group_id", pa.string()))
            arrays.append(pa.array([str(r["group_id"]) for r in rows], pa.string()))
        for columns in [self._label_column(rows), *(self._field_column(n, k, rows) for n, k in self.kinds.items())]:
            for field, array in columns:
                fields.append(field)
                arrays.append(array)
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))

    def _label_column(self, rows: list[dict[str, Any]]) -> list[tuple[pa.Field, pa.Array]]:
        values = [r["label"] for r in rows]
        if self.builder.task == Task.multilabel:
            arrays = [np.asarray(v) for v in values]
            _one_dtype("label", arrays, rows, self.builder)
            return _array_columns("label", arrays)
        if self.builder.task == Task.regression:
            return [(pa.field("label", pa.float64()), pa.array([float(v) for v in values], pa.float64()))]
        return [(pa.field("label", pa.int64()), pa.array([int(v) for v in values], pa.int64()))]

    def _field_column(self, name: str, kind, rows: list[dict[str, Any]]) -> list[tuple[pa.Field, pa.Array]]:
        values = [r[name] for r in rows]
        if kind.value == "text":
            return [(pa.field(name, pa.string()), pa.array(values, pa.string()))]
        if kind.value == "number":
            return [(pa.field(name, pa.float64()), pa.array([float(v) for v in values], pa.float64()))]
        arrays = [np.ascontiguousarray(v) for v in values]
        codec = self.codecs.get(name)
        _one_dtype(name, arrays, rows, self.builder)
        if codec is None:
            return _array_columns(name, arrays)
        for a, r in zip(arrays, rows):
            if problem := codec.problem(a):
                raise PrepareError(f"sample {r['sample_id']!r} of {self.builder.name}",
                                   f"field {name!r}: {problem} (--storage {codec.name})")
        meta = {CODEC_KEY: codec.name.encode(), DTYPE_KEY: str(arrays[0].dtype).encode()}
        return [(pa.field(name, pa.large_binary(), metadata=meta),
                 pa.array([codec.encode(a) for a in arrays], pa.large_binary())),
                _shape_column(name, arrays)]


def _one_dtype(name: str, arrays: list[np.ndarray], rows: list[dict[str, Any]], builder: Builder) -> None:
    first = arrays[0].dtype
    for a, r in zip(arrays, rows):
        if a.dtype != first:
            raise PrepareError(f"sample {r['sample_id']!r} of {builder.name}",
                               f"field {name!r} is {a.dtype} but sample {rows[0]['sample_id']!r} has {first} "
                               "(one dtype per field; nothing is cast silently)")


def _array_columns(name: str, arrays: list[np.ndarray]) -> list[tuple[pa.Field, pa.Array]]:
    flat = np.concatenate([a.reshape(-1) for a in arrays])
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([a.size for a in arrays])
    column = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat))
    return [(pa.field(name, column.type), column), _shape_column(name, arrays)]


def _shape_column(name: str, arrays: list[np.ndarray]) -> tuple[pa.Field, pa.Array]:
    return pa.field(f"{name}.shape", pa.list_(pa.int32())), pa.array([list(a.shape) for a in arrays],
                                                                     pa.list_(pa.int32()))


class ShapeGuard:
    """Checks, batch after batch in sample order, that a fixed-shape field keeps one shape.

    A field may vary in shape when its kind is not `fixed_shape` (graphs, EHR stays) or the
    builder lists it in `variable_shape`; otherwise a second shape is an error naming both
    shapes and a sample of each (e.g. train images of another size than val).
    """

    def __init__(self, encoder: SampleEncoder):
        builder = encoder.builder
        declared = set(getattr(builder, "variable_shape", ()))
        self.name = builder.name
        self.fields = [n for n, k in encoder.kinds.items() if k.value == "array" and k.fixed_shape
                       and n not in declared]
        self.first: dict[str, tuple[tuple[int, ...], str]] = {}

    def check(self, batch: pa.RecordBatch) -> None:
        for name in self.fields:
            shapes = batch.column(f"{name}.shape").to_pylist()
            if name not in self.first:
                self.first[name] = (tuple(shapes[0]), batch.column("sample_id")[0].as_py())
            shape, sample = self.first[name]
            for i, s in enumerate(shapes):
                if tuple(s) != shape:
                    other = batch.column("sample_id")[i].as_py()
                    raise PrepareError(self.name, f"field {name!r}: sample {other!r} has shape {tuple(s)} but "
                                       f"sample {sample!r} has {shape}; one store holds one shape per field "
                                       "(a builder whose field varies in shape lists it in `variable_shape`)")


__all__ = ["CODEC_KEY", "DTYPE_KEY", "ROWS_PER_BATCH", "SPLITS", "SampleEncoder", "ShapeGuard"]
