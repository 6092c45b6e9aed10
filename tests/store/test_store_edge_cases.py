"""Edges of writing and reading tables: publishing a folder when a process dies between its renames,
folder names holding glob characters, columns a shard lacks, multi-chunk IPC shards, leftovers of
killed moments writes, exact round trips of sequence tables, moments on awkward data, and tables
read across several (and empty) shards."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

from mmdata.errors import CorpusNotFoundError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.arrays import sequence_rows, valid_mask
from mmdata.store.layout import shard_files
from mmdata.store.metadata import FeatureSpec
from mmdata.store.moments import MOMENTS_DIR, batch_moments
from mmdata.store.shards import open_shard, read_shard, shards_dataset
from mmdata.store.writer import FeatureBatchBuilder, staged_dir, staging_folders, write_table_atomic
from tests.sample_corpus import copy_sample_corpus

FORMATS = ("parquet", "arrow")


def _die_between_the_renames_of_publishing(output_dir):
    """Write a new `output_dir` through `staged_dir` in a child process that dies right after the old
    output was moved aside, before the new one was moved into place."""
    child = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from mmdata.store import writer

        rename = os.replace
        def rename_then_die_once_the_old_output_is_aside(src, dst):
            rename(src, dst)
            if ".old-" in str(dst):
                os._exit(9)
        writer.os.replace = rename_then_die_once_the_old_output_is_aside
        with writer.staged_dir(Path({str(output_dir)!r})) as tmp:
            (tmp / "data.txt").write_text("new")
    """)
    assert subprocess.run([sys.executable, "-c", child], timeout=60).returncode == 9


def test_a_write_dying_between_its_renames_leaves_the_old_output_to_the_next_write(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "data.txt").write_text("old")
    _die_between_the_renames_of_publishing(out)
    assert not out.exists() and staging_folders(out)  # what the killed process left

    with pytest.raises(RuntimeError), staged_dir(out):
        raise RuntimeError("the next write fails too")
    assert (out / "data.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]

    with staged_dir(out) as tmp:
        (tmp / "data.txt").write_text("newer")
    assert (out / "data.txt").read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def _pid_of_a_finished_process():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_staging_folders_of_a_name_with_glob_characters_are_found_and_cleaned(tmp_path):
    out = tmp_path / "run[1]"
    abandoned = tmp_path / f".run[1].tmp-{_pid_of_a_finished_process()}"
    abandoned.mkdir()
    assert staging_folders(out) == [abandoned]
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"writing it now into {abandoned} (or was killed there)")):
        open_dataset(out)
    with staged_dir(out) as tmp:
        (tmp / "data.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run[1]"]


def test_an_old_output_a_killed_write_was_removing_is_not_brought_back(tmp_path):
    """Once the new output was in place its predecessor was being removed (an `.old-<pid>` without its
    `.tmp-<pid>`, perhaps half gone): an output deleted since stays deleted."""
    out = tmp_path / "export"
    half_removed = tmp_path / f".export.old-{_pid_of_a_finished_process()}"
    half_removed.mkdir()
    (half_removed / "data.txt").write_text("old")
    with pytest.raises(RuntimeError), staged_dir(out):
        raise RuntimeError("the next write fails")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_column_the_shard_lacks_is_named_with_the_file_in_either_format(tmp_path, fmt):
    builder = FeatureBatchBuilder(FeatureSpec(dim=2))
    builder.add("a", [1, 2])
    path = tmp_path / f"part-00000.{fmt}"
    write_table_atomic(builder.build(), path)
    with pytest.raises(KeyError, match=rf"{path}: no column 'split' \(columns: \['sample_id', 'feature'\]\)"):
        open_shard(path, ["sample_id", "split"])


def test_an_arrow_shard_of_a_table_in_several_chunks_is_one_record_batch(tmp_path):
    table = pa.concat_tables([pa.table({"sample_id": ["a", "b"]}), pa.table({"sample_id": ["c"]})])
    path = tmp_path / "part-00000.arrow"
    write_table_atomic(table, path)
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        assert reader.num_record_batches == 1
        assert reader.read_all().equals(table)


def test_resuming_a_table_removes_what_a_killed_moments_write_left(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    out = tmp_path / "out"
    extract("coco", coco, out, extractors=["color-hist:bins=4"], num_workers=0)
    moments_dir = out / "features" / "image.color-hist" / MOMENTS_DIR
    leftover = moments_dir / ".part-00000.arrow.0badf00d.tmp"
    leftover.write_bytes(b"half a file")
    report = extract("coco", coco, out, extractors=["color-hist:bins=4"], num_workers=0)
    assert report.tables[0].rows == 8
    assert not leftover.exists()
    assert [p.name for p in moments_dir.iterdir()] == ["part-00000.arrow"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_sequence_tables_round_trip_exactly(tmp_path, fmt, dtype):
    """Empty sequences, failed samples, NaN, infinities and -0.0 come back as written, from float64 or
    float16 inputs, with the intervals."""
    spec = FeatureSpec(dim=2, dtype=dtype, kind="sequence", intervals=True, frame_rate=25.0, item_axis="time")
    samples = {
        "nan": (np.array([[1.0, np.nan], [np.inf, -0.0]]), [[0.0, 0.04], [0.04, 0.08]]),
        "empty": (np.zeros((0, 2), np.float16), np.zeros((0, 2))),
        "failed": (None, None),
        "float16": (np.array([[65504, -1e-3]], np.float16), [[0.08, 0.12]]),
    }
    builder = FeatureBatchBuilder(spec, {"extractor": "x"})
    for sample_id, (values, intervals) in samples.items():
        builder.add(sample_id, values, intervals)
    path = tmp_path / f"part-00000.{fmt}"
    write_table_atomic(builder.build(), path)

    back = read_shard(path)
    offsets, rows = sequence_rows(back.column("feature"))
    _, interval_rows = sequence_rows(back.column("intervals"))
    assert back.column("sample_id").to_pylist() == list(samples)
    assert valid_mask(back.column("feature")).tolist() == [True, True, False, True]
    assert offsets.tolist() == [0, 2, 2, 2, 3]
    assert rows.dtype == np.dtype(dtype)
    expected = np.concatenate([v for v, _ in samples.values() if v is not None]).astype(dtype)
    assert rows.tobytes() == expected.tobytes()  # bit for bit: NaN, inf and -0.0 included
    assert interval_rows.tolist() == [[0.0, 0.04], [0.04, 0.08], [0.08, 0.12]]


def _numpy_moments(rows):
    rows = np.asarray(rows, np.float64)
    return len(rows), rows.mean(axis=0), ((rows - rows.mean(axis=0)) ** 2).sum(axis=0)


@pytest.mark.parametrize("rows", [
    1e6 + np.random.default_rng(0).standard_normal((500, 3)),
    1e4 + 1e-2 * np.random.default_rng(1).standard_normal((500, 3)),
    np.full((7, 3), 0.1),
    np.array([[1.5, -2e30, 7.0]]),
    np.array([[3e38, 1.0], [3e38, 2.0]]),
], ids=["large-offset", "offset-and-tiny-spread", "constant", "single-row", "near-float32-max"])
def test_moments_match_numpy_in_float64(rows):
    rows = rows.astype(np.float32)
    count, mean, m2 = batch_moments(rows.copy())
    want_count, want_mean, want_m2 = _numpy_moments(rows)
    assert count == want_count
    np.testing.assert_array_equal(mean, want_mean)
    np.testing.assert_allclose(m2, want_m2, rtol=1e-6, atol=0)
    assert (m2 >= 0).all()


def test_moments_of_a_column_with_nan_are_nan_there_only():
    count, mean, m2 = batch_moments(np.array([[1.0, np.nan], [2.0, 3.0]], np.float32))
    assert count == 2 and mean[0] == 1.5 and m2[0] == 0.5
    assert np.isnan(mean[1]) and np.isnan(m2[1])


def _pooled_shard(sample_ids):
    builder = FeatureBatchBuilder(FeatureSpec(dim=3), {"extractor": "x"})
    for sample_id in sample_ids:
        builder.add(sample_id, None if sample_id.startswith("failed") else np.arange(3) + len(sample_id))
    return builder.build()


def test_parquet_and_arrow_tables_of_several_shards_one_empty_read_the_same(tmp_path):
    shards = [["a", "failed-b"], [], ["ccc"]]
    tables = {}
    for fmt in FORMATS:
        for index, ids in enumerate(shards):
            write_table_atomic(_pooled_shard(ids), tmp_path / fmt / f"part-{index:05d}.{fmt}")
        data = shards_dataset(shard_files(tmp_path / fmt))
        tables[fmt] = data.to_table()
        assert data.to_table(columns=["sample_id"]).column_names == ["sample_id"]
        assert data.count_rows() == 3
    assert tables["parquet"].equals(tables["arrow"])
    assert tables["arrow"].column("feature").to_pylist() == [[1.0, 2.0, 3.0], None, [3.0, 4.0, 5.0]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_table_of_only_empty_shards_reads_as_no_rows_with_its_schema(tmp_path, fmt):
    write_table_atomic(_pooled_shard([]), tmp_path / f"part-00000.{fmt}")
    table = shards_dataset(shard_files(tmp_path)).to_table()
    assert table.num_rows == 0
    assert table.schema.equals(_pooled_shard([]).schema)


def test_open_dataset_reads_every_shard_in_either_format(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    read = {}
    for fmt in FORMATS:
        extract("coco", coco, tmp_path / fmt, extractors=["color-hist:bins=4"], num_workers=0, shard_size=3,
                table_format=fmt)
        data = open_dataset(tmp_path / fmt)
        assert len(data.table_files("image.color-hist")) == 3
        read[fmt] = data.read_table("image.color-hist")
        assert data.entry("image.color-hist").rows == read[fmt].num_rows == data.manifest.samples["rows"] == 8
    assert read["parquet"].equals(read["arrow"])


def test_shards_past_part_99999_are_listed_in_number_order(tmp_path):
    names = ["part-09999.parquet", "part-10000.parquet", "part-10001.parquet", "part-99999.parquet",
             "part-100000.parquet", "part-100001.parquet"]
    for name in names:
        (tmp_path / name).touch()
    assert [p.name for p in shard_files(tmp_path)] == names


@pytest.mark.parametrize(("spec", "bad"), [
    (FeatureSpec(dim=3), ([1.0, 2.0], None)),  # another dim
    (FeatureSpec(dim=3), (["a", "b", "c"], None)),  # not numbers
    (FeatureSpec(kind="sequence", dim=2, intervals=True), (np.ones((2, 2)), np.ones((3, 2)))),  # intervals of other rows
])
def test_a_feature_the_spec_cannot_hold_adds_nothing_to_the_rows(spec, bad):
    builder = FeatureBatchBuilder(spec)
    good = (np.ones((1, 2)), [[0.0, 1.0]]) if spec.intervals else (np.ones(3), None)
    builder.add("a", *good)
    with pytest.raises((ValueError, TypeError)):
        builder.add("b", *bad)
    builder.add("c", None)
    table = builder.build()
    assert table.column("sample_id").to_pylist() == ["a", "c"] and len(builder) == 2
    assert builder.nbytes == np.asarray(good[0], dtype=np.float32).nbytes


def test_moments_of_values_whose_squares_underflow_float32_are_not_negative():
    """Squares of subnormal float32 values are 0 while the centring term (float64) is not: m2 came
    out -7e-79, and the z-score std of such a column NaN (with numpy's 'invalid value' warning)."""
    rows = np.array([[0.0, 1.0], [0.0, 2.0], [1e-39, 3.0]], np.float32)
    _, _, m2 = batch_moments(rows)
    assert m2[0] >= 0.0 and m2[1] == pytest.approx(2.0)


def test_moments_of_a_column_holding_inf_are_nan_without_a_numpy_warning():
    import warnings

    rows = np.array([[np.inf, 1.0], [0.0, 2.0], [-np.inf, 3.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the extract of such a shard printed 'invalid value encountered'
        _, mean, m2 = batch_moments(rows)
    assert np.isnan(mean[0]) and np.isnan(m2[0]) and m2[1] == pytest.approx(2.0)


def test_a_killed_writer_whose_pid_this_process_reuses_still_gets_its_old_output_back(tmp_path):
    import os

    out = tmp_path / "export"
    old = tmp_path / f".export.old-{os.getpid()}"  # as a writer with this pid left it, killed between its renames
    old.mkdir()
    (old / "kept.txt").write_text("the earlier output")
    (tmp_path / f".export.tmp-{os.getpid()}").mkdir()
    with pytest.raises(RuntimeError), staged_dir(out) as staging:
        (staging / "new.txt").write_text("half")
        raise RuntimeError("this write fails too")
    assert (out / "kept.txt").read_text() == "the earlier output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
