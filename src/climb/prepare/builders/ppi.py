"""PPI (Zitnik & Leskovec 2017; GraphSAGE, Hamilton et al. 2017): protein function, 121 GO sets per node.

Layout of ``ppi.zip`` as PyTorch Geometric reads it (``torch_geometric.datasets.PPI``,
url ``https://data.dgl.ai/dataset/ppi.zip``: raw files ``{train,valid,test}_{graph.json,
feats.npy,labels.npy,graph_id.npy}``), possibly inside a ``ppi/`` folder::

    <split>_graph.json     networkx node-link JSON: "nodes" [{"id": 0}, ...], "links" [{"source", "target"}]
    <split>_feats.npy      (N, 50) float node features (positional, motif, immunological gene sets)
    <split>_labels.npy     (N, 121) 0/1 gene-ontology sets
    <split>_graph_id.npy   (N,) tissue graph of each node (20 train, 2 valid, 2 test graphs)

The GraphSAGE original (snap.stanford.edu/graphsage/ppi.zip, ``ppi-G.json`` with val/test
flags) carries the same data but no graph ids; it is not read.

The task is per node and climb stores one label per sample, so each node is one sample:
its ``hops``-hop ego network (``node_features`` (k, 50) with the node itself first,
``edge_index`` (2, E) of the induced subgraph, both directions, ``edge_weight`` ones), label
its 121-vector. Arrays are loaded with ``allow_pickle=False``. Official split: the
train / valid / test files; patient = the tissue graph, so no graph spans two splits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder

SPLIT_FILES = {"train": "train", "valid": "val", "test": "test"}
NUM_LABELS = 121
GO_SETS = [f"GO set {i:03d}" for i in range(1, NUM_LABELS + 1)]


def load_array(path: Path, ndim: int) -> np.ndarray:
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as e:  # object arrays need pickle: refused
        raise PrepareError(path, f"not a plain numeric .npy array ({e})") from None
    if arr.ndim != ndim:
        raise PrepareError(path, f"expected a {ndim}-D array, got shape {arr.shape}")
    return arr


def read_links(path: Path, n: int) -> np.ndarray:
    """(2, E) directed edges of a node-link JSON graph over nodes 0..n-1."""
    if not path.is_file():
        raise PrepareError(path, "file not found")
    try:
        graph = json.loads(path.read_text())
        ids = [int(node["id"]) for node in graph["nodes"]]
        edges = np.array([[int(e["source"]), int(e["target"])] for e in graph["links"]], dtype=np.int64).reshape(-1, 2)
    except (ValueError, KeyError, TypeError) as e:
        raise PrepareError(path, f"not a node-link graph ({type(e).__name__}: {e})") from None
    if ids != list(range(n)):
        raise PrepareError(path, f"node ids are not 0..{n - 1} in order (the feature rows are matched by position)")
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise PrepareError(path, f"links name nodes outside 0..{n - 1}")
    return edges.T


@register_builder("ppi")
class PPI(Builder):
    """PPI tissue graphs -> one ego-network sample per protein, 121 GO-set labels."""

    version = "1.0.0"
    catalog_id = "ppi"
    task = Task.multilabel
    label_names = GO_SETS
    fields = {"node_features": "node_features", "edge_index": "edge_index", "edge_weight": "edge_weight"}
    split_policy = "official PPI split files (train 20 / valid 2 / test 2 tissue graphs); patient = tissue graph"
    default_params: dict[str, Any] = {"hops": 1}

    def __init__(self, **params: Any):
        super().__init__(**params)
        if int(self.params["hops"]) < 1:
            raise ValueError(f"hops must be >= 1, not {self.params['hops']!r}")

    def _dir(self, raw: Path) -> Path:
        return raw / "ppi" if (raw / "ppi" / "train_graph.json").is_file() else raw

    def source_files(self, raw: Path) -> list[Path]:
        root = self._dir(raw)
        names = ("graph.json", "feats.npy", "labels.npy", "graph_id.npy")
        return [root / f"{s}_{n}" for s in SPLIT_FILES for n in names]

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"node_features": {"meaning": "50 gene-set features; row 0 is the labelled protein",
                                  "hops": int(self.params["hops"])},
                "edge_index": {"meaning": "induced subgraph of the ego network, both directions"}}

    def _split(self, root: Path, name: str) -> tuple[np.ndarray, ...]:
        feats = load_array(root / f"{name}_feats.npy", 2).astype(np.float32)
        labels = load_array(root / f"{name}_labels.npy", 2)
        graph_id = load_array(root / f"{name}_graph_id.npy", 1).astype(np.int64)
        n = len(feats)
        if len(labels) != n or len(graph_id) != n:
            raise PrepareError(root / f"{name}_labels.npy",
                               f"{len(labels)} label rows and {len(graph_id)} graph ids for {n} feature rows")
        if labels.shape[1] != NUM_LABELS or not np.isin(labels, (0, 1)).all():
            raise PrepareError(root / f"{name}_labels.npy",
                               f"expected (N, {NUM_LABELS}) 0/1 labels, got {labels.shape}")
        if not np.isfinite(feats).all():
            raise PrepareError(root / f"{name}_feats.npy", "NaN or inf features")
        edges = read_links(root / f"{name}_graph.json", n)
        if edges.size and np.any(graph_id[edges[0]] != graph_id[edges[1]]):
            raise PrepareError(root / f"{name}_graph.json", "a link joins proteins of two different tissue graphs")
        return feats, labels.astype(np.float32), graph_id, edges

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        from scipy.sparse import coo_matrix

        root, hops = self._dir(raw), int(self.params["hops"])
        for name, split in SPLIT_FILES.items():
            feats, labels, graph_id, edges = self._split(root, name)
            n = len(feats)
            adj = coo_matrix((np.ones(edges.shape[1]), (edges[0], edges[1])), shape=(n, n)).tocsr()
            adj = ((adj + adj.T) > 0).tocsr()
            adj.setdiag(False)
            adj.eliminate_zeros()
            for v in range(n):
                nodes = ego_nodes(adj, v, hops)
                sub = adj[nodes][:, nodes].tocoo()
                yield {"sample_id": f"{name}/{v}", "patient_id": f"{name}-graph{graph_id[v]}", "split": split,
                       "label": labels[v], "node_features": feats[nodes],
                       "edge_index": np.stack([sub.row, sub.col]).astype(np.int64),
                       "edge_weight": np.ones(sub.nnz, dtype=np.float32)}


def ego_nodes(adj: Any, v: int, hops: int) -> np.ndarray:
    """`v` followed by every node within `hops` links of it (sorted)."""
    seen = {v}
    frontier = np.array([v])
    for _ in range(hops):
        frontier = np.setdiff1d(adj[frontier].indices, np.fromiter(seen, dtype=np.int64))
        seen.update(frontier.tolist())
    others = sorted(seen - {v})
    return np.array([v, *others], dtype=np.int64)
