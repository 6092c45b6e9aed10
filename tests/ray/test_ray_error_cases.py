"""Errors of the Ray executor that are no item's fault reach the caller as mmdata's own errors, naming
the file and what to do (not as a Ray traceback), on every path of the pipeline."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray.cloudpickle

from mmdata.errors import ShardReadError
from mmdata.features.base import create_extractor
from mmdata.pipeline import extract
from mmdata.ray_attempts import block_key, ledger_folder
from mmdata.ray_executor import RayExecutor
from mmdata.store import open_dataset
from tests.fakes.extractors import PassThrough
from tests.reliability.fake_coco import write_fake_coco

# Ray workers cannot import this test module: ship its classes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@dataclass(frozen=True)
class ModelConfig:
    #: A `device` option makes the Ray executor compute in an actor pool.
    device: str = "cpu"


class ConstantModel(PassThrough):
    """A model extractor (decode tasks feed a compute actor) that never opens a file."""

    name: ClassVar[str] = "test-constant-model"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = ModelConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        return np.array([1.0], dtype=np.float32)


class ConstantModelDecodingInTheActor(ConstantModel):
    name: ClassVar[str] = "test-constant-model-in-actor"
    decode_in_workers: ClassVar[bool] = False


PATHS = {
    "weight-free": lambda: create_extractor("color-hist"),
    "model": ConstantModel,
    "decoding-in-the-actor": ConstantModelDecodingInTheActor,
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_samples_shard_a_worker_cannot_read_is_named_with_the_shared_storage_hint(ray_session, tmp_path, path):
    """As on a cluster whose nodes do not see the dataset directory: the driver lists the shard, the
    worker that reads it finds nothing there."""
    rows = [{"sample_id": f"s{i}", "image": f"img/{i}.jpg"} for i in range(6)]
    shard = tmp_path / "samples" / "part-00000.parquet"
    shard.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), shard)
    extractor = PATHS[path]()
    with RayExecutor(num_workers=2) as runner:
        runner.stream_shards(extractor, [shard], tmp_path, batch_size=2)
        shard.unlink()
        with pytest.raises(ShardReadError, match=rf"{shard}: cannot open this shard .*every node must see the "
                                                 r"dataset directory at the same path \(shared storage\)"):
            list(runner.run(extractor, [rows[0:2], rows[2:4], rows[4:6]], tmp_path))


def test_ledgers_another_execution_left_in_the_ray_session_blame_no_item(ray_session, tmp_path):
    """An actor killed mid-call (an interrupted run, a concurrent one of the same table) leaves its
    attempt ledger in the Ray session; a later execution of the same blocks is not a retry of it."""
    corpus = write_fake_coco(tmp_path / "corpus", 6)
    extractor = ConstantModel()
    folder = ledger_folder()
    folder.mkdir(parents=True, exist_ok=True)
    left = [folder / block_key(extractor.table_name, corpus.ids[i : i + n]) for n in (1, 2, 3, 6)
            for i in range(0, 6, n)]
    for ledger in left:  # as an earlier execution, careful after a death, left them when it stopped on row 0
        ledger.write_text(json.dumps({"culprits": {}, "current": [0, "compute"]}))
    try:
        report = extract("coco", corpus.root, tmp_path / "out", extractors=[extractor], executor="ray",
                         num_workers=2, batch_size=2, shard_size=6)
    finally:
        for ledger in left:
            ledger.unlink(missing_ok=True)
    assert (report.tables[0].rows, report.tables[0].errors) == (6, 0)
    assert open_dataset(tmp_path / "out").errors().num_rows == 0


def test_block_keys_differ_between_executions_and_not_between_retries():
    ids = ["a", "b"]
    assert block_key("image.x", ids, "run-1") == block_key("image.x", list(ids), "run-1")
    assert block_key("image.x", ids, "run-1") != block_key("image.x", ids, "run-2")
