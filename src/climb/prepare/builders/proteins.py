"""PROTEINS (TUDataset, Borgwardt et al. 2005): protein graphs, enzyme vs non-enzyme.

TUDataset text format (the official `PROTEINS.zip`, extracted to `PROTEINS/`)::

    PROTEINS_A.txt                 "i, j" per line: an edge between 1-based node ids (both directions listed)
    PROTEINS_graph_indicator.txt   graph id (1-based) of each node
    PROTEINS_graph_labels.txt      class of each graph: 1 = enzyme, 2 = non-enzyme
    PROTEINS_node_labels.txt       secondary-structure element type of each node (0, 1, 2)
    PROTEINS_node_attributes.txt   one float per node (optional)

Each graph -> node_features (N, 3 + A): one-hot node label plus the node attributes;
edge_index (2, E) 0-based within the graph; edge_weight (E,) ones. No official split:
seeded 80/10/10 split stratified by class; patient id = graph id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.prepare.builder import Builder, PrepareError, register_builder

NODE_LABELS = 3
GRAPH_CLASSES = {1: "enzyme", 2: "non-enzyme"}  # PROTEINS_graph_labels.txt


def _load(path: Path, dtype: type, columns: int | None = None) -> np.ndarray:
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        arr = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=2)
    except ValueError as e:
        raise PrepareError(path, f"malformed numbers ({e})") from None
    if columns is not None and arr.shape[1] != columns:
        raise PrepareError(path, f"expected {columns} column(s), found {arr.shape[1]}")
    return arr


@register_builder("proteins")
class Proteins(Builder):
    """TUDataset PROTEINS text files -> one graph sample per protein."""

    version = "1.0.0"
    catalog_id = "proteins"
    fields = {"node_features": "node_features", "edge_index": "edge_index", "edge_weight": "edge_weight"}
    split_fractions = {"train": 0.8, "val": 0.1, "test": 0.1}
    split_seed = 0
    split_policy = "no official split: seeded (0) 80/10/10 split stratified by class (one graph per protein)"
    NAME = "PROTEINS"

    def _dir(self, raw: Path) -> Path:
        return raw / self.NAME if (raw / self.NAME).is_dir() else raw

    def _file(self, raw: Path, suffix: str) -> Path:
        return self._dir(raw) / f"{self.NAME}_{suffix}.txt"

    def source_files(self, raw: Path) -> list[Path]:
        names = ["A", "graph_indicator", "graph_labels", "node_labels"]
        if self._file(raw, "node_attributes").is_file():
            names.append("node_attributes")
        return [self._file(raw, n) for n in names]

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"node_features": {"feature_names": ["sse_helix", "sse_sheet", "sse_turn", "attribute"],
                                  "note": "one-hot node label (0, 1, 2) + node attributes"}}

    def _arrays(self, raw: Path) -> tuple[np.ndarray, ...]:
        edges = _load(self._file(raw, "A"), np.int64, 2) - 1
        graph_of = _load(self._file(raw, "graph_indicator"), np.int64, 1)[:, 0]
        labels = _load(self._file(raw, "graph_labels"), np.int64, 1)[:, 0]
        node_labels = _load(self._file(raw, "node_labels"), np.int64, 1)[:, 0]
        attr_path = self._file(raw, "node_attributes")
        attrs = _load(attr_path, np.float64) if attr_path.is_file() else np.zeros((len(graph_of), 0))
        n = len(graph_of)
        for name, arr in (("node_labels", node_labels), ("node_attributes", attrs)):
            if len(arr) != n:
                raise PrepareError(self._file(raw, name), f"{len(arr)} rows, but graph_indicator lists {n} nodes")
        if set(np.unique(graph_of)) != set(range(1, len(labels) + 1)):
            raise PrepareError(self._file(raw, "graph_labels"),
                               f"{len(labels)} graph labels do not match the graph ids 1..{graph_of.max()} "
                               f"in graph_indicator")
        if not set(np.unique(labels)) <= set(GRAPH_CLASSES):
            raise PrepareError(self._file(raw, "graph_labels"), f"labels {sorted(set(labels))} are not 1/2")
        if not set(np.unique(node_labels)) <= set(range(NODE_LABELS)):
            raise PrepareError(self._file(raw, "node_labels"), f"node labels outside 0..{NODE_LABELS - 1}")
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise PrepareError(self._file(raw, "A"), f"node ids outside 1..{n}")
        if edges.size and np.any(graph_of[edges[:, 0]] != graph_of[edges[:, 1]]):
            raise PrepareError(self._file(raw, "A"), "an edge joins nodes of two different graphs")
        if not np.isfinite(attrs).all():
            raise PrepareError(attr_path, "node attributes have NaN or inf values")
        return edges, graph_of, labels, node_labels, attrs

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        edges, graph_of, labels, node_labels, attrs = self._arrays(raw)
        order = np.argsort(graph_of, kind="stable")
        starts = np.searchsorted(graph_of[order], np.arange(1, len(labels) + 2))
        edge_graph = graph_of[edges[:, 0]] if edges.size else np.zeros(0, dtype=np.int64)
        edge_order = np.argsort(edge_graph, kind="stable")
        edge_starts = np.searchsorted(edge_graph[edge_order], np.arange(1, len(labels) + 2))
        for g in range(len(labels)):
            nodes = order[starts[g]:starts[g + 1]]
            local = np.full(len(graph_of), -1, dtype=np.int64)
            local[nodes] = np.arange(len(nodes))
            e = edges[edge_order[edge_starts[g]:edge_starts[g + 1]]]
            onehot = np.eye(NODE_LABELS, dtype=np.float32)[node_labels[nodes]]
            yield {
                "sample_id": str(g + 1), "patient_id": str(g + 1), "split": None,
                "label": self.label_names.index(GRAPH_CLASSES[int(labels[g])]),
                "node_features": np.concatenate([onehot, attrs[nodes].astype(np.float32)], axis=1),
                "edge_index": local[e].T.astype(np.int64).reshape(2, -1),
                "edge_weight": np.ones(len(e), dtype=np.float32),
            }
