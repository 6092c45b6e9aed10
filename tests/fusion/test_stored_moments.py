"""Per-split moments stored with each shard at extraction: what extract writes, and fuse using them
instead of its statistics pass, falling back to the pass whenever they could differ."""
from __future__ import annotations

import importlib
import shutil
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from mmdata.fusion import fuse, read_fused_metadata
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.shards import read_shard
from mmdata.store.writer import write_ipc
from mmdata.store.moments import MOMENTS_DIR, feature_moments, moments_path, read_table_moments, write_shard_moments
from tests.checks.builder import build_dataset, image_text_samples, pooled_table, with_value
from tests.sample_corpus import copy_sample_corpus

fuse_module = importlib.import_module("mmdata.fusion.fuse")  # the module (`mmdata.fusion.fuse` is the function)
S = image_text_samples()
IMAGE = replace(pooled_table("image.a", S, 4), table_format="arrow")
TEXT = replace(pooled_table("text.b", S, 3, seed=1), table_format="arrow")


def _with_moments(root):
    """Write every pooled shard's moments the way `extract` does."""
    data = open_dataset(root)
    fingerprint = data.manifest.samples["fingerprint"]
    samples = layout.shard_files(layout.samples_dir(root))
    for name in data.table_names:
        for samples_shard, shard in zip(samples, layout.shard_files(data.table_dir(name))):
            splits = pq.read_table(samples_shard, columns=["split"]).column("split").to_numpy(zero_copy_only=False)
            feature = read_shard(shard, ["feature"]).column("feature")
            write_shard_moments(shard, feature_moments(feature, splits), data.spec(name).dim, fingerprint)
    return root


def _dataset(tmp_path, name="ds", image=IMAGE, moments=True, table_format="arrow"):
    tables = [replace(image, table_format=table_format), replace(TEXT, table_format=table_format)]
    root = build_dataset(tmp_path / name, S, tables, shard_size=5)
    return _with_moments(root) if moments else root


def _export(out):
    files = [out / f for split_files in read_fused_metadata(out)["files"].values() for f in split_files]
    return pa.concat_tables([pq.read_table(f) for f in files]).sort_by("sample_id")


def _first_pass_runs(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = fuse_module.first_pass

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fuse_module, "first_pass", counting)
    return calls


def test_extract_stores_per_split_moments_of_each_pooled_shard(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path / "coco")
    extract("coco", coco, tmp_path / "out", extractors=["color-hist:bins=4"], num_workers=0, shard_size=3,
            table_format="arrow")
    data = open_dataset(tmp_path / "out")
    table_dir = data.table_dir("image.color-hist")
    shards = layout.shard_files(table_dir)
    stored = read_table_moments(shards, 12, data.manifest.samples["fingerprint"])
    assert stored is not None and len(stored) == len(shards)
    samples = data.samples_table(columns=["split"]).column("split").to_numpy(zero_copy_only=False)
    features = np.stack(data.table("image.color-hist").to_table().column("feature").to_numpy(zero_copy_only=False))
    for index, moments in enumerate(stored):
        rows, splits = features[index * 3 : index * 3 + 3].astype(np.float32), samples[index * 3 : index * 3 + 3]
        assert set(moments) == set(splits.tolist())
        for split, (count, mean, m2) in moments.items():
            chosen = rows[splits == split].astype(np.float64)
            assert count == len(chosen)
            np.testing.assert_allclose(mean, chosen.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(m2, ((chosen - chosen.mean(axis=0)) ** 2).sum(axis=0), rtol=1e-6, atol=1e-9)
    # the moments folder is invisible to readers of the table
    assert ds.dataset(table_dir, format="ipc").count_rows() == len(features)
    assert [p.name for p in table_dir.iterdir() if p.name.startswith(".")] == [MOMENTS_DIR]


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_resumed_extraction_stores_the_moments_an_interruption_left_out_or_damaged(tmp_path, damage):
    coco = copy_sample_corpus("coco", tmp_path / "coco")
    run = dict(extractors=["color-hist:bins=4"], num_workers=0, shard_size=3, table_format="arrow")
    extract("coco", coco, tmp_path / "out", **run)
    data = open_dataset(tmp_path / "out")
    shards = layout.shard_files(data.table_dir("image.color-hist"))
    before = read_table_moments(shards, 12, data.manifest.samples["fingerprint"])
    if damage == "missing":
        moments_path(shards[1]).unlink()  # killed after writing the shard, before its moments
    else:
        moments_path(shards[1]).write_bytes(moments_path(shards[1]).read_bytes()[:100])
    assert read_table_moments(shards, 12, data.manifest.samples["fingerprint"]) is None
    extract("coco", coco, tmp_path / "out", **run)
    after = read_table_moments(shards, 12, data.manifest.samples["fingerprint"])
    assert after is not None and after[1].keys() == before[1].keys()
    for split, (count, mean, m2) in before[1].items():
        assert after[1][split][0] == count
        np.testing.assert_array_equal(after[1][split][1], mean)
        np.testing.assert_array_equal(after[1][split][2], m2)


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
def test_fuse_uses_stored_moments_and_writes_the_same_export(tmp_path, monkeypatch, table_format):
    calls = _first_pass_runs(monkeypatch)
    fuse(_dataset(tmp_path, "with", table_format=table_format), tmp_path / "a", tables=("image", "text"))
    assert calls == []  # no statistics pass: every table is read once (Parquet ones decoded once)
    fuse(_dataset(tmp_path, "without", moments=False, table_format=table_format), tmp_path / "b", tables=("image", "text"))
    assert calls == [1]
    a, b = _export(tmp_path / "a"), _export(tmp_path / "b")
    assert a.equals(b)  # bit-identical: the same per-shard moments, merged in the same order
    assert read_fused_metadata(tmp_path / "a")["normalization"] == read_fused_metadata(tmp_path / "b")["normalization"]


def test_statistics_from_two_splits_merge_per_split_moments(tmp_path, monkeypatch):
    calls = _first_pass_runs(monkeypatch)
    fuse(_dataset(tmp_path, "with"), tmp_path / "a", tables=("image", "text"), stats_splits=("train", "val"))
    fuse(_dataset(tmp_path, "without", moments=False), tmp_path / "b", tables=("image", "text"), stats_splits=("train", "val"))
    assert calls == [1]
    stats_a = read_fused_metadata(tmp_path / "a")["normalization"]["tables"]
    stats_b = read_fused_metadata(tmp_path / "b")["normalization"]["tables"]
    for name in stats_a:  # per split, then merged, vs both splits at once: squares are summed from
        # float32 deviations around each batch's own mean, so the last digits may differ (float32 data)
        np.testing.assert_allclose(stats_a[name]["mean"], stats_b[name]["mean"], rtol=1e-12)
        np.testing.assert_allclose(stats_a[name]["std"], stats_b[name]["std"], rtol=1e-7)


def test_moments_that_do_not_match_their_shard_are_ignored(tmp_path, monkeypatch):
    calls = _first_pass_runs(monkeypatch)
    root = _dataset(tmp_path, "stale")
    data = open_dataset(root)
    shard = layout.shard_files(data.table_dir("image.a"))[1]
    other = _dataset(tmp_path, "other", image=replace(pooled_table("image.a", S, 4, seed=7), table_format="arrow"))
    shutil.copy(layout.shard_files(open_dataset(other).table_dir("image.a"))[1], shard)  # rewritten after its moments
    fuse(root, tmp_path / "a", tables=("image", "text"))
    assert calls == [1]
    for name in data.table_names:  # no moments at all: the statistics pass, on the same data
        shutil.rmtree(data.table_dir(name) / MOMENTS_DIR)
    fuse(root, tmp_path / "b", tables=("image", "text"))
    assert calls == [1, 1]
    assert _export(tmp_path / "a").equals(_export(tmp_path / "b"))


def _rewrite_moments(shard, edit):
    """Rewrite the moments file of `shard` through `edit(table)` (the shard itself untouched: they still match it)."""
    path = moments_path(shard)
    table = pa.ipc.open_file(pa.py_buffer(path.read_bytes())).read_all()
    write_ipc(edit(table), path)


@pytest.mark.parametrize("damage", [
    lambda table: table.replace_schema_metadata({b"mmdata.moments": b'{"dim": 4, "shard_'}),  # metadata cut short
    lambda table: table.replace_schema_metadata({b"mmdata.moments": b"[4]"}),
    lambda table: table.drop_columns(["m2"]),
])
def test_damaged_moments_are_ignored_for_the_statistics_pass(tmp_path, monkeypatch, damage):
    calls = _first_pass_runs(monkeypatch)
    root = _dataset(tmp_path, "damaged")
    shard = layout.shard_files(open_dataset(root).table_dir("image.a"))[1]
    _rewrite_moments(shard, damage)
    fuse(root, tmp_path / "a", tables=("image", "text"))
    assert calls == [1]
    fuse(_dataset(tmp_path, "none", moments=False), tmp_path / "b", tables=("image", "text"))
    assert _export(tmp_path / "a").equals(_export(tmp_path / "b"))


def test_a_truncated_moments_file_is_ignored(tmp_path, monkeypatch):
    calls = _first_pass_runs(monkeypatch)
    root = _dataset(tmp_path)
    path = moments_path(layout.shard_files(open_dataset(root).table_dir("image.a"))[0])
    path.write_bytes(path.read_bytes()[:100])
    fuse(root, tmp_path / "a", tables=("image", "text"))
    assert calls == [1]


def test_dropping_samples_with_a_failed_feature_uses_the_statistics_pass(tmp_path, monkeypatch):
    calls = _first_pass_runs(monkeypatch)
    root = _dataset(tmp_path, image=with_value(IMAGE, 3, None))  # a failed sample, recorded in the errors table
    fuse(root, tmp_path / "zero", tables=("image", "text"), missing="zero")
    assert calls == []  # moments leave out the rows without a feature, as the zero policy does
    fuse(root, tmp_path / "drop", tables=("image", "text"), missing="drop")
    assert calls == [1]  # dropping the sample also removes its text row from the text statistics


@pytest.mark.parametrize("fmt", ["npy"])
def test_npy_export_still_counts_rows_in_a_first_pass(tmp_path, monkeypatch, fmt):
    calls = _first_pass_runs(monkeypatch)
    fuse(_dataset(tmp_path), tmp_path / "out", tables=("image", "text"), format=fmt)
    assert calls == [1]  # the .npy files are preallocated from the row counts


def test_dropping_a_sample_another_table_lacks_keeps_it_out_of_the_statistics(tmp_path, monkeypatch):
    """A null without an errors-table row (a table written elsewhere) still drops the sample from
    every table's statistics: the moments' row counts show it, and the statistics pass runs."""
    calls = _first_pass_runs(monkeypatch)
    text = replace(with_value(TEXT, 0, None), record_failures=False)
    exports = []
    for name, moments in (("with", True), ("without", False)):
        root = build_dataset(tmp_path / name, S, [IMAGE, text], shard_size=5)
        if moments:
            _with_moments(root)
        report = fuse(root, tmp_path / f"out-{name}", tables=("image", "text"), missing="drop")
        assert report.dropped == 1
        exports.append(tmp_path / f"out-{name}")
    assert calls == [1, 1]
    stats = read_fused_metadata(exports[0])["normalization"]["tables"]["image.a"]
    train = np.array([s.split == "train" for s in S]) & (np.arange(len(S)) != 0)
    np.testing.assert_allclose(stats["mean"], np.stack(IMAGE.values)[train].mean(axis=0), rtol=1e-6)
    assert stats["count"] == int(train.sum())
    assert _export(exports[0]).equals(_export(exports[1]))


def _with_nan(fake, index):
    row = np.array(fake.values[index], np.float32)
    row[0] = np.nan
    return with_value(fake, index, row)


def test_nan_in_a_train_row_sends_the_statistics_to_the_pass_that_leaves_it_out(tmp_path, monkeypatch):
    calls = _first_pass_runs(monkeypatch)
    fuse(_dataset(tmp_path, "with", image=_with_nan(IMAGE, 1)), tmp_path / "a", non_finite="missing", missing="zero")
    assert calls == [1]  # the stored moments of that shard are NaN
    fuse(_dataset(tmp_path, "without", image=_with_nan(IMAGE, 1), moments=False), tmp_path / "b",
         non_finite="missing", missing="zero")
    assert _export(tmp_path / "a").equals(_export(tmp_path / "b"))
    stats = read_fused_metadata(tmp_path / "a")["normalization"]["tables"]["image.a"]
    assert np.isfinite(stats["mean"]).all() and stats["count"] == 6


def test_nan_outside_the_statistics_splits_leaves_the_stored_statistics_usable(tmp_path, monkeypatch):
    calls = _first_pass_runs(monkeypatch)
    val = next(i for i, s in enumerate(S) if s.split == "val")
    fuse(_dataset(tmp_path, "with", image=_with_nan(IMAGE, val)), tmp_path / "a", non_finite="missing", missing="zero")
    assert calls == []
    fuse(_dataset(tmp_path, "without", image=_with_nan(IMAGE, val), moments=False), tmp_path / "b",
         non_finite="missing", missing="zero")
    assert _export(tmp_path / "a").equals(_export(tmp_path / "b"))
