"""One shard writer for extracted and precomputed tables: metadata known only at commit goes into the
file as if known from the start, and an unfinished shard leaves nothing behind."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from mmdata.store.metadata import FeatureSpec
from mmdata.store.shards import read_shard
from mmdata.store.writer import FeatureBatchBuilder, ShardWriter, write_table_atomic

SPEC = FeatureSpec(dim=3, kind="sequence", intervals=True, frame_rate=100.0, item_axis="time")


def _piece(first: int, count: int) -> pa.Table:
    builder = FeatureBatchBuilder(SPEC, {"source": "x.csd"})
    for i in range(first, first + count):
        builder.add(f"s{i}", np.full((2, 3), i, np.float32), [[0.0, 0.01], [0.01, 0.02]])
    return builder.build()


def _counted(schema: pa.Schema, count: int) -> pa.Schema:
    return schema.with_metadata({**schema.metadata, b"count": json.dumps(count).encode()})


@pytest.mark.parametrize("suffix", ["parquet", "arrow"])
@pytest.mark.parametrize("rows", [0, 4])
def test_metadata_set_at_commit_writes_the_file_write_table_atomic_writes(tmp_path, suffix, rows):
    whole = _piece(0, rows)
    write_table_atomic(whole.replace_schema_metadata(_counted(whole.schema, 7).metadata), tmp_path / f"whole.{suffix}")
    with ShardWriter(tmp_path / f"pieces.{suffix}") as shard:
        shard.write(whole)
        shard.set_metadata(_counted(shard.schema, 7))
    assert (tmp_path / f"pieces.{suffix}").read_bytes() == (tmp_path / f"whole.{suffix}").read_bytes()


@pytest.mark.parametrize("suffix", ["parquet", "arrow"])
def test_pieces_read_back_as_one_table_with_the_metadata_set_at_commit(tmp_path, suffix):
    path = tmp_path / f"part-00000.{suffix}"
    with ShardWriter(path) as shard:
        shard.write(_piece(0, 2))
        shard.write(_piece(2, 3))
        shard.set_metadata(_counted(shard.schema, 5))
    table = read_shard(path)
    assert table.column("sample_id").to_pylist() == [f"s{i}" for i in range(5)]
    assert table.schema.metadata[b"count"] == b"5"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("suffix", ["parquet", "arrow"])
def test_an_error_inside_the_block_publishes_nothing_and_leaves_no_hidden_file(tmp_path, suffix):
    path = tmp_path / f"part-00000.{suffix}"
    with pytest.raises(RuntimeError, match="reading the next piece"):
        with ShardWriter(path) as shard:
            shard.write(_piece(0, 2))
            raise RuntimeError("reading the next piece failed")
    assert list(tmp_path.iterdir()) == []
