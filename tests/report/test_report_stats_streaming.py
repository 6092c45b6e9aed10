"""The report's table statistics read a table shard by shard, in small batches, and still give the
numbers of the whole table: per-sample means and norms of a multi-shard sequence table, null
(failed) rows of Parquet and Arrow IPC tables."""
from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.errors import ShardReadError
from mmdata.pipeline import extract
from mmdata.report import stats
from mmdata.report.stats import read_sample_columns, summarize_tables, table_vectors
from mmdata.store.reader import open_dataset
from tests.fakes.csd import write_fake_csd_segments

SEQUENCES = ["audio.covarep", "video.facet-41", "text.words"]


@pytest.fixture(scope="module", params=["parquet", "arrow"])
def sharded(request, tmp_path_factory) -> Path:
    """The CSD segments fake in shards of two samples, FACET failing sample abc[0] (a NaN: a null row)."""
    root = tmp_path_factory.mktemp(f"mosi-{request.param}")
    fake = write_fake_csd_segments(root / "corpus")
    with h5py.File(root / "corpus" / "CMU_MOSI_Visual_Facet_41.csd", "r+") as f:
        features = f[next(iter(f))]["data"]["abc"]["features"]
        values = features[...]
        values[3, 1] = np.nan
        features[...] = values
    out = root / "ds"
    extract("csd", fake.root, out, corpus_options=fake.options, extractors=[], num_workers=0, shard_size=2,
            table_format=request.param)
    return out


def _reference(dataset, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Norms of each row's mean (NaN for null or empty rows), items (0 for null) and presence, from the
    whole table read at once."""
    feature = dataset.read_table(name, ["feature"]).column("feature").to_pylist()
    norms, items = [], []
    for rows in feature:
        values = np.asarray(rows if rows else np.zeros((0, 1)), np.float64)
        norms.append(np.linalg.norm(values.mean(axis=0)) if len(values) else np.nan)
        items.append(len(values))
    return np.array(norms), np.array(items), np.array([rows is not None for rows in feature])


def test_a_multi_shard_sequence_tables_stats_equal_numpy_over_the_whole_table(sharded):
    dataset = open_dataset(sharded)
    samples = read_sample_columns(dataset)
    for name in SEQUENCES:
        assert len(dataset.table_files(name)) > 1, name
        vectors = table_vectors(dataset, name, samples)
        norms, items, present = _reference(dataset, name)
        np.testing.assert_allclose(vectors.norms, norms, rtol=1e-12, err_msg=name)
        assert vectors.items.tolist() == items.tolist() and vectors.present.tolist() == present.tolist(), name
        means = {r["sample_id"]: np.asarray(r["feature"], np.float64).mean(axis=0)
                 for r in dataset.read_table(name, ["sample_id", "feature"]).to_pylist() if r["feature"]}
        assert len(vectors.points) == len(means)  # fewer rows than max_points: every row with items
        for point, position in zip(vectors.points, vectors.point_positions):
            np.testing.assert_allclose(point, means[samples.ids[position].as_py()], rtol=1e-12, err_msg=name)


def test_the_stats_do_not_depend_on_how_many_rows_a_batch_holds(sharded, monkeypatch):
    dataset = open_dataset(sharded)
    samples = read_sample_columns(dataset)
    whole = {name: table_vectors(dataset, name, samples) for name in SEQUENCES}
    monkeypatch.setattr(stats, "SCAN_BYTES", 1)  # one row per Parquet batch
    monkeypatch.setattr(stats, "SCAN_ROWS", 1)  # and per Arrow IPC batch
    files = dataset.table_files("audio.covarep")
    assert [b.num_rows for b in stats._table_batches(files, ["feature"])] == [1] * dataset.entry("audio.covarep").rows
    for name, expected in whole.items():
        found = table_vectors(dataset, name, samples)
        for field in ("norms", "items", "present", "points", "point_positions", "positions"):
            np.testing.assert_array_equal(getattr(found, field), getattr(expected, field), err_msg=f"{name} {field}")
        np.testing.assert_allclose(found.coverage, expected.coverage, rtol=1e-12, err_msg=name)


def test_null_rows_are_counted_in_parquet_and_arrow_tables(sharded):
    dataset = open_dataset(sharded)
    summaries = {s.name: s for s in summarize_tables(dataset)}
    assert (summaries["video.facet-41"].missing, summaries["video.facet-41"].failed) == (1, 1)
    for name, summary in summaries.items():
        feature = dataset.read_table(name, ["feature"]).column("feature")
        assert (summary.rows, summary.missing) == (len(feature), feature.null_count), name


def test_a_parquet_shard_counts_null_rows_not_empty_lists_or_null_items(tmp_path):
    # The column statistics of a list column's leaf count all three together: here 3, not 2.
    feature = pa.array([[[1.0, 2.0]], None, [], [[3.0, 4.0], None], None], pa.list_(pa.list_(pa.float32(), 2)))
    path = tmp_path / "part-00000.parquet"
    pq.write_table(pa.table({"sample_id": ["a", "b", "c", "d", "e"], "feature": feature}), path, write_statistics=True)
    assert pq.ParquetFile(path).metadata.row_group(0).column(1).statistics.null_count != 2
    assert stats._count_rows_and_nulls([path]) == (5, 2)


def test_a_table_is_read_one_shard_at_a_time(sharded, tmp_path):
    dataset = open_dataset(sharded)
    files = dataset.table_files("audio.covarep")
    batches = stats._table_batches(files, ["feature"])
    assert next(batches).num_rows == 2  # the whole first shard of two samples
    for later in files[1:]:  # not opened yet: gone before the scan reaches them
        later.rename(tmp_path / later.name)
    try:
        with pytest.raises(ShardReadError, match=re.escape(f"{files[1]}: cannot open this shard")):
            next(batches)
    finally:
        for later in files[1:]:
            (tmp_path / later.name).rename(later)
