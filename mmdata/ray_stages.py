"""The Ray side of the Ray executor: the functions and the actor that run in Ray workers.

Decode tasks (`_decode_tasks`), decode-and-compute tasks of weight-free extractors
(`_decode_and_compute_tasks`) and the compute actors of model extractors (`_ComputeActor`) each read
their block's rows (a slice of a samples shard, or rows the driver handed over), run them through
`mmdata.ray_attempts` and return one block of pickled `ItemResult`s; an error that is no item's
fault goes back as a fatal block. The block shapes are in `mmdata.ray_executor`'s docstring; the
driver side, which builds the pipeline and reads these blocks, is `mmdata.ray_executor`. Ray sends
these functions to its workers by their qualified names, so they stay at module level here.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

from mmdata.batch_work import ItemResult, item_failure, media_path_of
from mmdata.errors import MmdataError
from mmdata.features.base import Extractor
from mmdata.ray_attempts import attempt, block_key, run_rows, task_key


#: Why a Ray worker may not find a samples shard the driver listed.
SHARED_STORAGE_HINT = ("Ray workers read the samples shards themselves: on a cluster, every node must see the "
                       "dataset directory at the same path (shared storage)")


def _task_rows(tasks: Any) -> list[dict[str, Any]]:
    """The samples-table rows of one block of task descriptors.

    Raises:
        ShardReadError: a samples shard cannot be read on this node (named, with the shared-storage hint).
    """
    from mmdata.errors import ShardReadError
    from mmdata.store.shards import read_shard

    rows: list[dict[str, Any]] = []
    for task in tasks.to_pylist():
        if task["rows"] is not None:
            rows += pickle.loads(task["rows"])
            continue
        try:
            shard = read_shard(Path(task["shard"]))
        except ShardReadError as e:
            raise ShardReadError(f"{e}; {SHARED_STORAGE_HINT}") from e
        rows += shard.slice(task["start"], task["length"]).to_pylist()
    return rows


def _result_block(rows: list[dict[str, Any]], results: list[ItemResult], extractor: Extractor, stage: str) -> Any:
    """The block a stage returns; a result that cannot be pickled (a decoded item with an open handle,
    say) fails its item at `stage`, as the local executor fails an item its worker cannot send back."""
    import pyarrow as pa

    payloads = []
    for row, result in zip(rows, results):
        try:
            payloads.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
            payloads.append(pickle.dumps(item_failure(row, extractor, stage, e), protocol=pickle.HIGHEST_PROTOCOL))
    return pa.table({
        "sample_id": pa.array([r.sample_id for r in results], pa.string()),
        "media_path": pa.array([media_path_of(row, extractor.modality) for row in rows], pa.string()),
        "result": pa.array(payloads, pa.large_binary()),
        "fatal": pa.array([False] * len(results), pa.bool_()),
    })


def _received(payload: bytes, row: dict[str, Any], extractor: Extractor) -> ItemResult:
    """A decode task's result as the actor unpickles it; one that cannot be rebuilt here fails its item."""
    try:
        return pickle.loads(payload)
    except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
        failure = item_failure(row, extractor, "decode", e)
        return replace(failure, reason=f"the decoded item cannot be received from the decode task: {failure.reason}")


def _fatal_block(error: MmdataError) -> Any:
    """An error that is no item's fault (missing weights, a bad option, a samples shard this node
    cannot read) stops the run: it goes to the driver as data, so that it is re-raised there as
    itself rather than wrapped by Ray."""
    import pyarrow as pa

    return pa.table({"sample_id": pa.array([None], pa.string()), "media_path": pa.array([None], pa.string()),
                     "result": pa.array([pickle.dumps(error)], pa.large_binary()), "fatal": [True]})


def _decode_tasks(tasks: Any, extractor: Extractor, corpus_root: str, batch_size: int) -> Any:
    try:
        rows = _task_rows(tasks)
    except MmdataError as e:
        return _fatal_block(e)
    with attempt(task_key()) as current:
        decoded = run_rows(current, extractor, rows, Path(corpus_root), batch_size, compute=False)
    return _result_block(rows, decoded, extractor, "decode")


def _decode_and_compute_tasks(tasks: Any, extractor: Extractor, corpus_root: str, batch_size: int) -> Any:
    """Decode and compute a batch at a time, so that a task holds one batch of decoded items."""
    try:
        rows = _task_rows(tasks)
        with attempt(task_key()) as current:
            results = run_rows(current, extractor, rows, Path(corpus_root), batch_size)
    except MmdataError as e:
        return _fatal_block(e)
    return _result_block(rows, results, extractor, "compute")


def on_assigned_gpu(extractor: Extractor) -> Extractor:
    """The extractor as a GPU actor runs it: Ray shows the actor only the GPU it assigned (as
    `cuda:0`), so a `cuda:N` chosen for the cluster means that GPU, whatever N is; for `video-frames`,
    the `cuda:N` of its image extractor (`image_models.model_device`)."""
    inner = getattr(extractor, "image", None)
    if not hasattr(extractor.config, "device") and isinstance(inner, Extractor):
        inner_on_gpu = on_assigned_gpu(inner)
        if inner_on_gpu is inner:
            return extractor
        wrapper = _rebuilt(extractor, extractor.config)
        wrapper.image = inner_on_gpu
        return wrapper
    device = str(getattr(extractor.config, "device", ""))
    if not device.startswith("cuda:"):
        return extractor
    return _rebuilt(extractor, replace(extractor.config, device="cuda"))


def _rebuilt(extractor: Extractor, config: Any) -> Extractor:
    """A copy of `extractor` with `config`, rebuilt from its state, not its config alone: it keeps what
    the driver resolved (a weights file, a model directory, as absolute paths), which this worker's
    directory would resolve otherwise."""
    on_gpu = type(extractor).__new__(type(extractor))
    on_gpu.__setstate__({**extractor.__getstate__(), "config": config})
    return on_gpu


class _ComputeActor:
    """Holds one extractor (and the model it loads) for the life of the actor; `execution` names the
    Ray Data execution it serves (its calls' attempt ledgers are keyed by it)."""

    def __init__(self, extractor: Extractor, corpus_root: str, batch_size: int, on_cpu: bool, execution: str):
        if on_cpu:
            # Ray gives a zero-CPU actor OMP_NUM_THREADS=1; inference on the CPU should use the
            # node's cores, as the local executor's main process does. The model is not loaded
            # yet (extractors import torch lazily), so the setting takes effect.
            os.environ["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                                else os.cpu_count() or 1)
        self.extractor = extractor if on_cpu else on_assigned_gpu(extractor)
        self.corpus_root = Path(corpus_root)
        self.batch_size = batch_size
        self.execution = execution

    def __call__(self, block: Any) -> Any:
        extractor = self.extractor
        if "result" in block.column_names:
            if any(block["fatal"].to_pylist()):  # the decode task's error, on its way to the driver
                return block
            rows = [{"sample_id": s, extractor.modality: p}
                    for s, p in zip(block["sample_id"].to_pylist(), block["media_path"].to_pylist())]
            decoded = [_received(b, row, extractor) for b, row in zip(block["result"].to_pylist(), rows)]
        else:  # decode_in_workers=False: decoding is trivial and happens here
            try:
                rows, decoded = _task_rows(block), None
            except MmdataError as e:
                return _fatal_block(e)
        key = block_key(extractor.table_name, [row["sample_id"] for row in rows], self.execution)
        with attempt(key) as current:
            try:
                results = run_rows(current, extractor, rows, self.corpus_root, self.batch_size, decoded=decoded)
            except MmdataError as e:
                return _fatal_block(e)
        return _result_block(rows, results, extractor, "compute")
