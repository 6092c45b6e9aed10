"""Feature shards written chunk by chunk on a background thread: same files, atomic, errors surfaced."""
from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import mmdata.extract_tables as extract_tables
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.metadata import FeatureSpec, feature_schema
from mmdata.store.moments import moments_path, read_table_moments
from mmdata.store.shard_writer import BackgroundShardWriter
from mmdata.store.shards import read_shard
from mmdata.store.writer import FeatureBatchBuilder
from tests.sample_corpus import copy_sample_corpus

SPEC = FeatureSpec(dim=3, kind="sequence", intervals=True, frame_rate=100.0, item_axis="time")


def _chunk(first: int, count: int) -> pa.Table:
    builder = FeatureBatchBuilder(SPEC)
    for i in range(first, first + count):
        builder.add(f"s{i}", np.full((2, 3), i, np.float32), [[0.0, 0.01], [0.01, 0.02]])
    return builder.build()


def _hidden(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("suffix", ["parquet", "arrow"])
def test_chunks_become_one_shard_published_only_when_finished(tmp_path, suffix):
    path = tmp_path / f"part-00000.{suffix}"
    with BackgroundShardWriter(feature_schema(SPEC)) as writer:
        writer.add(path, _chunk(0, 2))
        writer.add(path, _chunk(2, 3))
    # closed without finish: nothing published, no temporary left
    assert not path.exists() and _hidden(tmp_path) == []
    with BackgroundShardWriter(feature_schema(SPEC)) as writer:
        writer.add(path, _chunk(0, 2))
        writer.add(path, _chunk(2, 3))
        writer.finish(path)
    table = read_shard(path)
    assert table.column("sample_id").to_pylist() == [f"s{i}" for i in range(5)]
    assert table.column("feature").to_pylist()[4] == [[4.0] * 3] * 2
    assert _hidden(tmp_path) == []
    if suffix == "parquet":
        assert pq.ParquetFile(path).metadata.num_row_groups == 2  # one per chunk, written as it came
    else:
        with pa.memory_map(str(path)) as source:
            assert pa.ipc.open_file(source).num_record_batches == 1  # stays zero-copy for check and fuse


def test_a_chunk_given_as_a_function_is_built_on_the_writer_thread(tmp_path):
    path, built_on = tmp_path / "part-00000.parquet", []

    def chunk(first: int, count: int):
        def build() -> pa.Table:
            built_on.append(threading.current_thread().name)
            return _chunk(first, count)
        return build

    with BackgroundShardWriter(feature_schema(SPEC)) as writer:
        writer.add(path, chunk(0, 2))
        writer.add(path, _chunk(2, 1))  # tables and functions mix
        writer.finish(path)
    assert built_on == ["mmdata-shard-writer"]
    assert read_shard(path).column("sample_id").to_pylist() == ["s0", "s1", "s2"]


def test_errors_table_goes_first_and_rows_reach_then(tmp_path):
    order, kept = [], []
    path = tmp_path / "part-00000.parquet"
    with BackgroundShardWriter(feature_schema(SPEC), keep_rows=True) as writer:
        writer.add(path, _chunk(0, 1))
        writer.add(path, _chunk(1, 1))
        writer.finish(path, before=lambda: order.append(path.exists()), then=lambda rows: kept.append(rows))
    assert order == [False]  # `before` runs while the shard is not yet published
    assert kept[0].column("sample_id").to_pylist() == ["s0", "s1"]


def test_a_writer_error_surfaces_in_the_caller_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "part-00000.parquet"
    wrong = pa.table({"sample_id": ["x"], "other": [1]})
    with pytest.raises(Exception, match="(?i)schema"):
        with BackgroundShardWriter(feature_schema(SPEC)) as writer:
            writer.add(path, _chunk(0, 1))
            writer.add(path, wrong)
            writer.finish(path)
    assert not path.exists() and _hidden(tmp_path) == []


def test_abort_keeps_finished_shards_and_drops_the_one_in_progress(tmp_path):
    done, partial = tmp_path / "part-00000.parquet", tmp_path / "part-00001.parquet"
    with pytest.raises(KeyboardInterrupt):
        with BackgroundShardWriter(feature_schema(SPEC)) as writer:
            writer.add(done, _chunk(0, 2))
            writer.finish(done)
            writer.add(partial, _chunk(2, 2))
            raise KeyboardInterrupt
    assert read_shard(done).num_rows == 2
    assert not partial.exists() and _hidden(tmp_path) == []


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_extraction_in_small_chunks_writes_the_same_tables_and_moments(tmp_path, monkeypatch, table_format):
    coco = copy_sample_corpus("coco", tmp_path)
    extract("coco", coco, tmp_path / "whole", extractors=["color-hist:bins=8"], num_workers=0, batch_size=2,
            shard_size=5, table_format=table_format)
    monkeypatch.setattr(extract_tables, "CHUNK_BYTES", 1)  # every batch of 2 rows is a chunk
    extract("coco", coco, tmp_path / "chunked", extractors=["color-hist:bins=8"], num_workers=0, batch_size=2,
            shard_size=5, table_format=table_format)
    tables = {name: ds.dataset(tmp_path / name / "features" / "image.color-hist", format=table_format
                               if table_format == "parquet" else "ipc").to_table() for name in ("whole", "chunked")}
    assert tables["whole"].equals(tables["chunked"])
    shards = sorted((tmp_path / "chunked" / "features" / "image.color-hist").glob("part-*"))
    assert len(shards) == 2 and all(moments_path(s).is_file() for s in shards)
    whole = sorted((tmp_path / "whole" / "features" / "image.color-hist").glob("part-*"))
    moments = [read_table_moments(files, 24, open_dataset(tmp_path / name).manifest.samples["fingerprint"])
               for name, files in (("whole", whole), ("chunked", shards))]
    assert moments[0] is not None and moments[1] is not None
    for a, b in zip(*moments):
        assert a.keys() == b.keys()
        for split in a:
            assert a[split][0] == b[split][0]
            np.testing.assert_array_equal(a[split][1], b[split][1])
            np.testing.assert_array_equal(a[split][2], b[split][2])
    if table_format == "parquet":
        assert pq.ParquetFile(shards[0]).metadata.num_row_groups == 3  # rows 2 + 2 + 1


def test_a_shard_s_last_batch_is_its_own_chunk_once_a_quarter_chunk_waits(tmp_path, monkeypatch):
    coco = copy_sample_corpus("coco", tmp_path)
    row_bytes = 24 * 4  # color-hist with 8 bins: 24 float32 per image
    monkeypatch.setattr(extract_tables, "CHUNK_BYTES", 4 * row_bytes * 4)  # a quarter chunk is 4 rows
    extract("coco", coco, tmp_path / "out", extractors=["color-hist:bins=8"], num_workers=0, batch_size=2,
            shard_size=5, table_format="parquet")
    shards = sorted((tmp_path / "out" / "features" / "image.color-hist").glob("part-*"))
    groups = [[meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
              for meta in (pq.ParquetFile(s).metadata for s in shards)]
    # 5 rows in batches of 2, 2, 1: after the second, 4 rows wait and one batch is left, so they go
    # first; 3 rows in batches of 2, 1: 2 rows are under a quarter chunk, so the shard is one chunk
    assert groups == [[4, 1], [3]]
