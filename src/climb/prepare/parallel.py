"""Parallel preparation within one dataset: a builder's records, sharded over processes or a Dask cluster.

A builder that declares `parallel_records(raw)` and `record_samples(raw, record)` is prepared
in chunks of records. A worker turns one chunk into one validated, encoded Arrow record batch
(`SampleEncoder`, the same code a serial build runs) plus the chunk's strata; the parent
collects the batches strictly in record order with a bounded number in flight. The store
writes its shards from those batches independently of how they were chunked, so the prepared
output, card and fingerprint are the same bytes for any number of workers and any backend.

Backends, all `concurrent.futures.Executor`s, so one loop drives them:

* in the calling process (`workers=1`);
* `ProcessPoolExecutor` (`workers=N`), started with the *spawn* method: the caller may hold
  threads (torch, a progress bar, a Dask client) that a forked child would inherit mid-state;
  the job (builder + raw directory + storage) is sent once per worker by the pool's initializer;
* a Dask cluster (`cluster="tcp://scheduler:8786"`, or a `distributed.Client`), through
  `Client.get_executor()`; the job is scattered once to every worker. Install the extra:
  `pip install "climb-bench[distributed]"`. The raw directory must be visible at the same path on
  every worker (a shared file system), as it is for any cluster job.

Why Dask rather than Ray: climb needs "run this picklable function on these items, in order,
on many machines", which is exactly `Client.get_executor()`: the same Executor interface as the
local pool, so there is no second code path. Dask's `distributed` is pure Python (it installs
wherever climb does, with no object store or raylet daemons to size: a Ray head reserves a
share of RAM for its object store, which a 2-core CI machine cannot spare), it starts a local
cluster in about a second for tests, and it connects to the schedulers HPC sites already run
(dask-jobqueue for SLURM/PBS, dask-kubernetes). Ray would serve equally for the task itself.
"""

from __future__ import annotations

import math
import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from climb.errors import ClimbUsageError
from climb.prepare.builder import Builder
from climb.prepare.encoding import SampleEncoder

MAX_RECORDS_PER_CHUNK = 256
CHUNKS_PER_WORKER = 8  # more, smaller chunks than workers: a slow record delays one chunk, not a share


@dataclass
class Chunk:
    """What a worker returns for a chunk of records: one record batch (None: no samples) and the strata."""

    batch: pa.RecordBatch | None
    strata: list[object]
    records: int


@dataclass
class PrepareJob:
    """Everything a worker needs besides its records (sent to each worker once)."""

    builder: Builder
    raw: Path
    encoder: SampleEncoder

    def run(self, records: Sequence[Any]) -> Chunk:
        rows: list[dict[str, Any]] = []
        strata: list[object] = []
        for record in records:
            for sample in self.builder.record_samples(self.raw, record):
                self.encoder.validate(sample, f"{record!r}[{len(rows)}]")
                strata.append(self.builder.stratum(sample))
                rows.append(sample)
        return Chunk(self.encoder.encode(rows) if rows else None, strata, len(records))


_WORKER_JOB: list[PrepareJob] = []  # the job of this worker process (set by the pool's initializer)


def _init_worker(job: PrepareJob) -> None:
    _WORKER_JOB[:] = [job]


def _run_in_worker(records: Sequence[Any]) -> Chunk:
    return _WORKER_JOB[0].run(records)


def _run_with(job: PrepareJob, records: Sequence[Any]) -> Chunk:
    return job.run(records)


class _Inline(Executor):
    """Runs each submitted call at once in this process (the `workers=1` backend)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(e)
        return future


class Backend:
    """Where chunks run: an executor, how many run at once, and how a chunk is submitted."""

    def __init__(self, job: PrepareJob, workers: int = 1, cluster: Any = None):
        if workers < 1:
            raise ClimbUsageError(f"workers must be >= 1, got {workers}")
        self.client = None
        if cluster is not None:
            self.client = _dask_client(cluster)
            self.executor: Executor = self.client.get_executor(pure=False)
            self.slots = max(1, sum(self.client.nthreads().values()))
            scattered = self.client.scatter(job, broadcast=True)
            self.submit = lambda records: self.executor.submit(_run_with, scattered, records)
        elif workers == 1:
            self.executor, self.slots = _Inline(), 1
            self.submit = lambda records: self.executor.submit(job.run, records)
        else:
            self.executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_init_worker, initargs=(job,))
            self.slots = workers
            self.submit = lambda records: self.executor.submit(_run_in_worker, records)
        self._owns_client = cluster is not None and not _is_client(cluster)

    def close(self) -> None:
        if self.client is not None:
            self.executor.shutdown(wait=True)  # Dask's executor: pending chunks were cancelled by run_chunks
        else:
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self.client is not None and self._owns_client:
            self.client.close()


def chunk_size(n_records: int, slots: int) -> int:
    """Records per chunk: about `CHUNKS_PER_WORKER` chunks per worker, at most `MAX_RECORDS_PER_CHUNK`."""
    return max(1, min(MAX_RECORDS_PER_CHUNK, math.ceil(n_records / (slots * CHUNKS_PER_WORKER))))


def run_chunks(backend: Backend, records: Sequence[Any]) -> Iterator[Chunk]:
    """The chunks of `records`, in order, with at most 2 x slots chunks in flight."""
    size = chunk_size(len(records), backend.slots)
    starts = iter(range(0, len(records), size))
    pending: deque[Future] = deque()
    try:
        for start in starts:
            pending.append(backend.submit(list(records[start:start + size])))
            if len(pending) >= 2 * backend.slots:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def _is_client(obj: Any) -> bool:
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


def _dask_client(cluster: Any):
    """A `distributed.Client` for `cluster` (a scheduler address, or a Client already made)."""
    if _is_client(cluster):
        return cluster
    from climb.extras import require

    return require("distributed", "preparing on a Dask cluster").Client(cluster)


__all__ = ["Backend", "Chunk", "PrepareJob", "chunk_size", "run_chunks"]
