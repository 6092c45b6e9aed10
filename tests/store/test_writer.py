"""The feature-table builder and atomic writes."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from mmdata.errors import SchemaMismatchError
from mmdata.store.metadata import FeatureSpec, decode_metadata, feature_type, read_table_metadata
from mmdata.store.writer import FeatureBatchBuilder, write_table_atomic


def test_pooled_builder_writes_fixed_size_lists_and_nulls_for_failed_samples(tmp_path):
    builder = FeatureBatchBuilder(FeatureSpec(dim=3), {"extractor": "x"})
    builder.add("a", [1, 2, 3])
    builder.add("b", None)
    builder.add("c", np.array([4, 5, 6], dtype=np.float64))
    table = builder.build()
    assert table.schema.field("feature").type == pa.list_(pa.field("item", pa.float32(), nullable=False), 3)
    assert table.column("feature").to_pylist() == [[1, 2, 3], None, [4, 5, 6]]
    assert table.column("feature").null_count == 1
    write_table_atomic(table, tmp_path / "t" / "part-00000.parquet")
    back = ds.dataset(tmp_path / "t").to_table()
    assert back.equals(table)
    assert read_table_metadata(tmp_path / "t") == {"extractor": "x"}


def test_writer_rejects_wrong_dim_naming_the_sample():
    builder = FeatureBatchBuilder(FeatureSpec(dim=4))
    with pytest.raises(SchemaMismatchError, match=r"sample 'img-7'.*shape \(3,\), expected \(4,\)"):
        builder.add("img-7", [1.0, 2.0, 3.0])


def test_sequence_builder_with_intervals():
    spec = FeatureSpec(dim=2, kind="sequence", intervals=True, frame_rate=100.0, item_axis="time")
    builder = FeatureBatchBuilder(spec)
    builder.add("v[0]", np.ones((3, 2)), [[0, 0.01], [0.01, 0.02], [0.02, 0.03]])
    builder.add("v[1]", None)
    builder.add("v[2]", np.zeros((0, 2)), np.zeros((0, 2)))
    table = builder.build()
    assert table.schema.field("feature").type == feature_type(spec)
    assert table.column("feature").to_pylist() == [[[1, 1]] * 3, None, []]
    assert table.column("intervals").to_pylist()[0][2] == [0.02, 0.03]


def test_sequence_builder_rejects_interval_count_mismatch():
    builder = FeatureBatchBuilder(FeatureSpec(dim=2, kind="sequence", intervals=True))
    with pytest.raises(SchemaMismatchError, match=r"intervals have shape \(2, 2\), expected \(3, 2\)"):
        builder.add("v[0]", np.ones((3, 2)), np.zeros((2, 2)))


def test_variable_length_int_vectors_per_caption():
    builder = FeatureBatchBuilder(FeatureSpec(dim=None, dtype="int32", kind="sequence", item_axis="caption"))
    builder.add("a", [[101, 7, 102], [101, 102]])
    builder.add("b", None)
    table = builder.build()
    assert table.schema.field("feature").type == pa.list_(pa.list_(pa.field("item", pa.int32(), nullable=False)))
    assert table.column("feature").to_pylist() == [[[101, 7, 102], [101, 102]], None]


def test_atomic_write_leaves_no_temporary_file_on_failure(tmp_path):
    class Boom(Exception):
        pass

    class BadTable:
        def __getattr__(self, name):
            raise Boom

    with pytest.raises(Exception):
        write_table_atomic(BadTable(), tmp_path / "part-00000.parquet")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_metadata_lives_under_one_key():
    builder = FeatureBatchBuilder(FeatureSpec(dim=1), {"extractor": "color-hist", "dim": 1})
    table = builder.build()
    assert set(table.schema.metadata) == {b"mmdata"}
    assert decode_metadata(table.schema)["extractor"] == "color-hist"


def test_parquet_shards_keep_statistics_for_ids_not_for_vectors(tmp_path):
    import pyarrow.parquet as pq

    builder = FeatureBatchBuilder(FeatureSpec(dim=3, kind="sequence", intervals=True))
    builder.add("b", np.ones((2, 3)), [[0.0, 0.5], [0.5, 1.0]])
    builder.add("a", np.zeros((1, 3)), [[0.0, 0.2]])
    write_table_atomic(builder.build(), tmp_path / "part-00000.parquet")
    row_group = pq.ParquetFile(tmp_path / "part-00000.parquet").metadata.row_group(0)
    stats = {row_group.column(i).path_in_schema.split(".")[0]: row_group.column(i).statistics
             for i in range(row_group.num_columns)}
    assert (stats["sample_id"].min, stats["sample_id"].max) == ("a", "b")  # row groups can be skipped by id
    assert stats["feature"] is None and stats["intervals"] is None
