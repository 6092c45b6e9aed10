"""`fuse`: output equals a NumPy reference, train-only statistics, missing policies, sequences, bad input."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.errors import ConfigError, DatasetError, SchemaMismatchError
from mmdata.fusion import FuseOptions, fuse, read_fused_metadata
from mmdata.fusion.fuse import parse_normalization
from mmdata.fusion.normalize import RunningMoments, pool_sequences
from mmdata.store.metadata import FeatureSpec
from tests.checks.test_check_dataset import POOLED_DEFECTS
from tests.checks.builder import (
    aligned_table, build_dataset, frames_table, image_text_samples, mosi_samples, pooled_table, with_value,
)

S = image_text_samples()
IDS = [s.sample_id for s in S]
SPLIT = np.array([s.split for s in S])
IMAGE = pooled_table("image.a", S, 4)
TEXT = pooled_table("text.b", S, 3, seed=1)


def _dataset(tmp_path, image=IMAGE, text=TEXT, samples=S, name="ds", table_format="arrow"):
    """Pooled rows from Arrow IPC tables take the direct path, from Parquet tables the staged one."""
    tables = [replace(image, table_format=table_format), replace(text, table_format=table_format)]
    return build_dataset(tmp_path / name, samples, tables, shard_size=5)


#: Both input formats: the direct (memory-mapped) and the staged pass must write the same export.
BOTH_FORMATS = pytest.mark.parametrize("table_format", ["arrow", "parquet"])


def _read_parquet(out):
    table = pa.concat_tables([pq.read_table(out / f) for files in read_fused_metadata(out)["files"].values() for f in files])
    return table.sort_by("sample_id")


def _features(table):
    return np.stack(table.column("feature").to_numpy(zero_copy_only=False))


def _zscore(values, train):
    mean, std = values[train].mean(axis=0), values[train].std(axis=0)
    return (values - mean) / np.where(std > 0, std, 1)


@BOTH_FORMATS
def test_zscore_fusion_equals_a_numpy_reference(tmp_path, table_format):
    report = fuse(_dataset(tmp_path, table_format=table_format), tmp_path / "out", tables=("image", "text"))
    train = SPLIT == "train"
    expected = np.concatenate([_zscore(np.stack(IMAGE.values), train), _zscore(np.stack(TEXT.values), train)], axis=1)
    table = _read_parquet(tmp_path / "out")
    assert table.column("sample_id").to_pylist() == IDS
    np.testing.assert_allclose(_features(table), expected, rtol=1e-5, atol=1e-5)
    assert table.column("split").to_pylist() == SPLIT.tolist()
    assert report.rows == {"test": 2, "train": 7, "val": 3}
    assert report.slices == {"image.a": (0, 4), "text.b": (4, 7)}
    assert report.dim == 7 and report.dropped == 0
    # nothing of pass 1 (staged rows, Arrow copies of Parquet tables) is left in the export
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["data", "fused.json"]


def test_statistics_come_from_train_only_and_are_stored(tmp_path):
    fuse(_dataset(tmp_path), tmp_path / "out", tables=("image", "text"))
    huge = [v * 1000 + 500 if s.split != "train" else v for v, s in zip(IMAGE.values, S)]
    fuse(_dataset(tmp_path, image=replace(IMAGE, values=huge), name="ds2"), tmp_path / "out2", tables=("image", "text"))
    first, second = read_fused_metadata(tmp_path / "out"), read_fused_metadata(tmp_path / "out2")
    stats = first["normalization"]["tables"]["image.a"]
    assert stats == second["normalization"]["tables"]["image.a"]
    train_values = np.stack(IMAGE.values)[SPLIT == "train"]
    np.testing.assert_allclose(stats["mean"], train_values.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(stats["std"], train_values.std(axis=0), rtol=1e-6)
    assert stats["count"] == 7
    a, b = _features(_read_parquet(tmp_path / "out")), _features(_read_parquet(tmp_path / "out2"))
    np.testing.assert_array_equal(a[SPLIT == "train"], b[SPLIT == "train"])


def test_running_moments_merge_equals_numpy_over_all_rows():
    rows = np.random.default_rng(3).normal(5, 2, size=(1000, 6)).astype(np.float32)
    moments = RunningMoments(6)
    for part in np.array_split(rows, 7):
        moments.update(part)
    stats = moments.finish("zscore")
    np.testing.assert_allclose(stats.mean, rows.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(stats.std, rows.astype(np.float64).std(axis=0), rtol=1e-6)


def test_running_moments_of_one_large_badly_centred_update_stay_accurate():
    # More rows than one float32 block, values far from zero with a small spread (the hard case
    # for sums of squares): blocks are centred on their own means and merged in float64.
    rows = np.random.default_rng(4).normal(1000.0, 0.5, size=(10_000, 5)).astype(np.float32)
    moments = RunningMoments(5)
    moments.update(rows)
    stats = moments.finish("zscore")
    np.testing.assert_allclose(stats.mean, rows.astype(np.float64).mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(stats.std, rows.astype(np.float64).std(axis=0), rtol=1e-8)


@pytest.mark.parametrize(("mean", "std"), [(1e5, 0.1), (1e6, 1.0), (1e7, 10.0)])
def test_moments_of_features_far_from_zero_are_exact_to_float64(mean, std):
    """The rows are centred on their mean rounded to float32; what that rounding adds is taken out."""
    from mmdata.store.moments import batch_moments

    rows = np.random.default_rng(5).normal(mean, std, size=(1000, 3)).astype(np.float32)
    n, got_mean, m2 = batch_moments(rows)
    exact = rows.astype(np.float64)
    np.testing.assert_allclose(got_mean, exact.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(m2 / n), exact.std(axis=0), rtol=1e-9)


@BOTH_FORMATS
def test_per_table_l2_and_none_and_stats_from_two_splits(tmp_path, table_format):
    fuse(_dataset(tmp_path, table_format=table_format), tmp_path / "out", tables=("text", "image"),
         normalize={"text": "l2", "image.a": "none"}, stats_splits=("train", "val"))
    features = _features(_read_parquet(tmp_path / "out"))
    text = np.stack(TEXT.values)
    np.testing.assert_allclose(features[:, :3], text / np.linalg.norm(text, axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(features[:, 3:], np.stack(IMAGE.values), rtol=1e-6)
    meta = read_fused_metadata(tmp_path / "out")
    assert meta["tables"] == ["text.b", "image.a"] and meta["slices"] == {"text.b": [0, 3], "image.a": [3, 7]}
    assert meta["normalization"]["tables"]["text.b"]["method"] == "l2"


@BOTH_FORMATS
def test_zero_fill_adds_presence_mask_and_counts_missing(tmp_path, table_format):
    image = with_value(IMAGE, 3, None)
    report = fuse(_dataset(tmp_path, image=image, table_format=table_format), tmp_path / "out", missing="zero", normalize="none")
    table = _read_parquet(tmp_path / "out")
    present = np.stack(table.column("present").to_numpy(zero_copy_only=False))
    assert present.shape == (12, 2) and present[3].tolist() == [False, True] and present.sum() == 23
    np.testing.assert_array_equal(_features(table)[3, :4], np.zeros(4))
    assert report.missing == {"image.a": 1, "text.b": 0}
    assert read_fused_metadata(tmp_path / "out")["missing"] == {"policy": "zero", "non_finite": "error", "counts": report.missing,
                                                                 "dropped": 0, "dropped_samples": None, "emptied_splits": []}


@BOTH_FORMATS
def test_zero_fill_statistics_ignore_missing_rows(tmp_path, table_format):
    image = with_value(IMAGE, 0, None)
    fuse(_dataset(tmp_path, image=image, table_format=table_format), tmp_path / "out", missing="zero")
    train = (SPLIT == "train") & (np.arange(12) != 0)
    stats = read_fused_metadata(tmp_path / "out")["normalization"]["tables"]["image.a"]
    np.testing.assert_allclose(stats["mean"], np.stack(IMAGE.values)[train].mean(axis=0), rtol=1e-6)


@BOTH_FORMATS
def test_drop_leaves_the_sample_out_and_counts_it(tmp_path, table_format):
    report = fuse(_dataset(tmp_path, text=with_value(TEXT, 5, None), table_format=table_format), tmp_path / "out", missing="drop")
    table = _read_parquet(tmp_path / "out")
    assert "000000000005" not in table.column("sample_id").to_pylist() and table.num_rows == 11
    assert report.dropped == 1 and report.rows["train"] == 6
    assert "present" not in table.column_names


def test_drop_that_leaves_a_split_empty_says_so(tmp_path, caplog):
    lost = [i for i, s in enumerate(S) if s.split == "val"]
    text = TEXT
    for i in lost:
        text = with_value(text, i, None)
    with caplog.at_level("WARNING", logger="mmdata.fusion.fuse"):
        report = fuse(_dataset(tmp_path, text=text), tmp_path / "out", missing="drop")
    assert report.emptied_splits == ["val"] and "val" not in report.rows and report.dropped == len(lost)
    assert [r.getMessage() for r in caplog.records] == [
        f"--missing drop left no row of split(s) val: every sample there lacks a table (missing: text.b {len(lost)})"]


def test_missing_error_names_table_and_sample_and_writes_nothing(tmp_path):
    with pytest.raises(DatasetError, match=r"table 'text.b', sample '000000000005': no feature .*--missing zero"):
        fuse(_dataset(tmp_path, text=with_value(TEXT, 5, None)), tmp_path / "out", missing="error")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


M = mosi_samples()
AUDIO = frames_table("audio.f", M, 3, 10.0)
WORDS = aligned_table("text.w", M, 2, 4)
VIDEO = aligned_table("video.v", M, 2, 4, seed=3)
FACE = pooled_table("image.p", M, 2, seed=4)


def _mosi(tmp_path, tables=(AUDIO, WORDS, VIDEO, FACE)):
    return build_dataset(tmp_path / "mosi", M, list(tables), corpus_kind="mosi-raw", shard_size=5)


@pytest.mark.parametrize("how", ["mean", "max", "first", "last"])
def test_sequences_pool_to_one_vector(tmp_path, how):
    fuse(_mosi(tmp_path), tmp_path / "out", tables=("audio", "image"), normalize="none", pool=how)
    reduce = {"mean": lambda v: v.mean(axis=0), "max": lambda v: v.max(axis=0),
              "first": lambda v: v[0], "last": lambda v: v[-1]}[how]
    order = np.argsort([s.sample_id for s in M])
    expected = np.concatenate([np.stack([reduce(v) for v in AUDIO.values]), np.stack(FACE.values)], axis=1)[order]
    np.testing.assert_allclose(_features(_read_parquet(tmp_path / "out")), expected, rtol=1e-5)


def test_pool_sequences_handles_empty_sequences():
    rows = np.arange(10, dtype=np.float32).reshape(5, 2)
    pooled, nonempty = pool_sequences(np.array([0, 2, 2, 5]), rows, "mean")
    np.testing.assert_allclose(pooled, [[1, 2], [0, 0], [6, 7]])
    assert nonempty.tolist() == [True, False, True]


def _padded_reference(order, length):
    words, video = _zscore_seq(WORDS.values), _zscore_seq(VIDEO.values)
    face = _zscore(np.stack(FACE.values), np.array([s.split == "train" for s in M]))
    out = np.zeros((len(M), length, 6), np.float32)
    for i in range(len(M)):
        steps = min(len(words[i]), length)
        out[i, :steps] = np.concatenate([words[i], video[i], np.repeat(face[i][None], len(words[i]), 0)], 1)[:steps]
    return out[order]


def _zscore_seq(values):
    train = np.concatenate([v for v, s in zip(values, M) if s.split == "train"])
    mean, std = train.mean(axis=0), train.std(axis=0)
    return [(v - mean) / std for v in values]


def test_aligned_sequences_pad_with_lengths_and_masks_equal_reference(tmp_path):
    fuse(_mosi(tmp_path), tmp_path / "out", tables=("text", "video", "image"), sequences="pad", max_length=3)
    table = _read_parquet(tmp_path / "out")
    order = np.argsort([s.sample_id for s in M])
    feature = np.stack([np.stack(row) for row in table.column("feature").to_pylist()])
    np.testing.assert_allclose(feature, _padded_reference(order, 3), rtol=1e-4, atol=1e-5)
    assert table.column("length").to_pylist() == [3] * 12
    meta = read_fused_metadata(tmp_path / "out")
    assert meta["rows_kind"] == "padded" and meta["max_length"] == 3
    assert meta["normalization"]["tables"]["text.w"]["count"] == 6 * 4  # train frames, not samples


def test_aligned_sequences_ragged_keep_every_step(tmp_path):
    fuse(_mosi(tmp_path), tmp_path / "out", tables=("text", "video", "image"), sequences="ragged")
    table = _read_parquet(tmp_path / "out")
    order = np.argsort([s.sample_id for s in M])
    rows = table.column("feature").to_pylist()
    assert [len(r) for r in rows] == table.column("length").to_pylist() == [4] * 12
    np.testing.assert_allclose(np.array(rows, dtype=np.float32), _padded_reference(order, 4), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
def test_a_pooled_vector_with_no_time_step_to_carry_it_counts_as_missing(tmp_path, sequences):
    """Every sequence table lacks the sample: its row has no step, so its pooled vector is nowhere in
    the export; it must not be flagged present, nor enter the statistics."""
    lost = next(i for i, s in enumerate(M) if s.split == "train")
    tables = (with_value(WORDS, lost, None), with_value(VIDEO, lost, None), FACE)
    report = fuse(_mosi(tmp_path, tables), tmp_path / "out", tables=("text", "video", "image"), sequences=sequences,
                  missing="zero")
    assert report.missing == {"text.w": 1, "video.v": 1, "image.p": 1}
    table = _read_parquet(tmp_path / "out")
    row = table.column("sample_id").to_pylist().index(M[lost].sample_id)
    assert table.column("length")[row].as_py() == 0 and table.column("present")[row].as_py() == [False] * 3
    train = sum(s.split == "train" for s in M)
    assert read_fused_metadata(tmp_path / "out")["normalization"]["tables"]["image.p"]["count"] == train - 1


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
def test_a_kept_sequence_of_no_step_is_a_missing_feature_as_when_pooled(tmp_path, sequences):
    """A 0-step row (a segment with no word) is no feature: an error by default, present=False and counted
    with --missing zero (a trainer's pack_padded_sequence fails on a length of 0), left out with drop."""
    empty = next(i for i, s in enumerate(M) if s.split == "valid")
    no_steps = np.zeros((0, 2), np.float32), np.zeros((0, 2))
    tables = (with_value(WORDS, empty, *no_steps), with_value(VIDEO, empty, *no_steps), FACE)
    root = _mosi(tmp_path, tables)
    with pytest.raises(DatasetError, match=rf"table 'text.w', sample '{re.escape(M[empty].sample_id)}': no feature "
                                           r"\(.*, or the sequence is empty\)"):
        fuse(root, tmp_path / "err", tables=("text", "video", "image"), sequences=sequences)
    report = fuse(root, tmp_path / "zero", tables=("text", "video", "image"), sequences=sequences, missing="zero")
    assert report.missing == {"text.w": 1, "video.v": 1, "image.p": 1}
    table = _read_parquet(tmp_path / "zero")
    row = table.column("sample_id").to_pylist().index(M[empty].sample_id)
    assert table.column("length")[row].as_py() == 0 and table.column("present")[row].as_py() == [False] * 3
    fuse(root, tmp_path / "drop", tables=("text", "video", "image"), sequences=sequences, missing="drop")
    assert M[empty].sample_id not in _read_parquet(tmp_path / "drop").column("sample_id").to_pylist()


def test_unaligned_sequences_are_refused_naming_tables_and_sample(tmp_path):
    with pytest.raises(DatasetError, match=r"table 'audio.f', sample 'vid0\[0\]': 20 time steps, table 'text.w' has 4"):
        fuse(_mosi(tmp_path), tmp_path / "out", tables=("text", "audio"), sequences="pad")
    shifted = replace(VIDEO, intervals=[iv + 0.1 for iv in VIDEO.intervals])
    with pytest.raises(DatasetError, match=r"table 'video.v', sample 'vid0\[0\]': a step spans"):
        fuse(_mosi(tmp_path / "b", (WORDS, shifted)), tmp_path / "out", sequences="ragged")
    assert not (tmp_path / "out").exists()


def _other_dataset_table():
    other = [replace(s, sample_id="x" + s.sample_id) for s in S]
    return replace(IMAGE, ids=sorted(s.sample_id for s in other), metadata={"samples_fingerprint": "ffffffffffffffff"})


BAD_INPUT = {
    "other dataset": (dict(image=_other_dataset_table()), DatasetError, r"table 'image.a', sample 'x000000000000': .*another dataset"),
    "order": (dict(image=replace(IMAGE, ids=IDS[:2] + [IDS[3], IDS[2]] + IDS[4:])), DatasetError,
              r"table 'image.a', sample '000000000003': row 2 holds .*\[ids-order\]"),
    "dims changed": (dict(image=replace(IMAGE, shard_specs={2: FeatureSpec(dim=6)},
                                        values=[np.zeros(6, np.float32) if i >= 10 else v for i, v in enumerate(IMAGE.values)])),
                     SchemaMismatchError, r"table 'image.a', sample '000000000010': shard part-00002.arrow has feature type"),
    "NaN": (dict(image=with_value(IMAGE, 6, np.array([0, np.nan, 0, 0], np.float32))), DatasetError,
            r"table 'image.a', sample '000000000006': the feature holds NaN or Inf; 1 such samples in shard "
            r"part-00001.arrow; .*--non-finite missing"),
    "config changed": (dict(image=replace(IMAGE, shard_metadata={1: {"config": {"bins": 8}}})), DatasetError,
                       r"table 'image.a', sample '000000000005': shard part-00001.arrow was written with config "
                       r".*\[provenance-mismatch\]"),
    "-Inf in a val row": (dict(text=with_value(TEXT, 9, np.array([1, -np.inf, 0], np.float32))), DatasetError,
                          r"table 'text.b', sample '000000000009': the feature holds NaN or Inf"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_naming_table_and_sample_and_writes_nothing(tmp_path, case):
    tables, error, pattern = BAD_INPUT[case]
    root = _dataset(tmp_path, **tables)
    with pytest.raises(error, match=pattern) as info:
        fuse(root, tmp_path / "out")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    with pytest.raises(error, match=pattern):  # folders it would have created for the export go too
        fuse(root, tmp_path / "new" / "deeper" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def _with_non_finite(fake, index, value):
    row = np.array(fake.values[index], np.float32)
    row[1] = value
    return with_value(fake, index, row)


@BOTH_FORMATS
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_features_can_be_treated_as_missing(tmp_path, table_format, value):
    image = _with_non_finite(IMAGE, 1, value)  # a train row: it would make the z-score statistics NaN
    root = _dataset(tmp_path, image=image, table_format=table_format)
    with pytest.raises(DatasetError, match="sample '000000000001': the feature holds NaN or Inf"):
        fuse(root, tmp_path / "out")
    report = fuse(root, tmp_path / "zero", non_finite="missing", missing="zero")
    assert report.missing == {"image.a": 1, "text.b": 0}
    table = _read_parquet(tmp_path / "zero")
    features = _features(table)
    assert np.isfinite(features).all()
    np.testing.assert_array_equal(features[1, :4], np.zeros(4))
    assert table.column("present").to_pylist()[1] == [False, True]
    train = (SPLIT == "train") & (np.arange(len(S)) != 1)  # statistics without the row
    np.testing.assert_allclose(features[SPLIT != "train", :4], _zscore(np.stack(IMAGE.values), train)[SPLIT != "train"],
                               rtol=1e-5, atol=1e-5)
    report = fuse(root, tmp_path / "drop", non_finite="missing", missing="drop")
    assert report.dropped == 1 and IDS[1] not in _read_parquet(tmp_path / "drop").column("sample_id").to_pylist()
    assert read_fused_metadata(tmp_path / "drop")["missing"]["non_finite"] == "missing"
    with pytest.raises(DatasetError, match=r"sample '000000000001': no feature \(.*or the feature holds NaN or Inf"):
        fuse(root, tmp_path / "error", non_finite="missing")


def test_non_finite_steps_of_a_sequence_name_their_sample(tmp_path):
    steps = aligned_table("text.w", M, 2, 4)
    bad = np.array(steps.values[2], np.float32)
    bad[3, 0] = np.nan
    root = build_dataset(tmp_path / "mosi", M, [with_value(steps, 2, bad, steps.intervals[2]), pooled_table("image.p", M, 2)],
                         corpus_kind="mosi-raw", shard_size=5)
    for sequences in ("pool", "pad"):
        with pytest.raises(DatasetError, match=re.escape(f"table 'text.w', sample {M[2].sample_id!r}: the feature holds NaN")):
            fuse(root, tmp_path / sequences, sequences=sequences)
    report = fuse(root, tmp_path / "out", sequences="ragged", non_finite="missing", missing="drop", normalize="none")
    assert report.dropped == 1 and report.total_rows == len(M) - 1


def test_nan_in_the_slots_of_a_failed_feature_is_no_value(tmp_path):
    """A null row has no feature: NaN its producer left in the slots is neither missing twice nor an error."""
    image = replace(with_value(IMAGE, 3, None), table_format="arrow")
    root = _dataset(tmp_path, image=image)
    shard = sorted((root / "features" / "image.a").glob("part-*.arrow"))[0]
    table = pa.ipc.open_file(pa.py_buffer(shard.read_bytes())).read_all()  # not mapped: the file is rewritten
    feature = table.column("feature").combine_chunks()
    values = feature.values.to_numpy(zero_copy_only=False).copy()
    values[3 * 4 : 4 * 4] = np.nan
    poisoned = pa.FixedSizeListArray.from_arrays(pa.array(values), type=feature.type, mask=feature.is_null())
    table = table.set_column(table.schema.get_field_index("feature"), table.schema.field("feature"), [poisoned])
    with pa.OSFile(str(shard), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    report = fuse(root, tmp_path / "out", missing="zero")
    assert report.missing == {"image.a": 1, "text.b": 0}
    assert np.isfinite(_features(_read_parquet(tmp_path / "out"))).all()


def test_an_image_in_two_splits_stops_the_export_unless_allowed(tmp_path):
    samples = [replace(s, image="img/000000000001.jpg") if s.sample_id == "000000000008" else s for s in S]
    root = _dataset(tmp_path, samples=samples)
    with pytest.raises(DatasetError, match=r"sample '000000000008': 1 image values occur in more than one split, e\.g\. "
                                           r"image 'img/000000000001.jpg' in splits \['train', 'test'\].*"
                                           r"--allow-split-leaks .*\[split-leak\]"):
        fuse(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    report = fuse(root, tmp_path / "out", allow_split_leaks=True)
    assert report.total_rows == len(S)


def test_missing_table_for_requested_modality_and_unknown_stats_split(tmp_path):
    root = _dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"no feature table 'audio'.*tables: \['image.a', 'text.b'\]"):
        fuse(root, tmp_path / "out", tables=("image", "audio"))
    with pytest.raises(ConfigError, match=r"split 'training' named for normalization statistics does not exist; "
                                          r"splits: \['test', 'train', 'val'\]"):
        fuse(root, tmp_path / "out", stats_splits=("training",))
    assert not (tmp_path / "out").exists()


def test_a_table_named_twice_is_named_as_such(tmp_path):
    with pytest.raises(ConfigError, match=r"table 'image.a' is named 2 times in --tables; name each table once"):
        fuse(_dataset(tmp_path), tmp_path / "out", tables=("image.a", "image.a"))


def test_two_tables_of_one_modality_need_a_choice(tmp_path):
    root = build_dataset(tmp_path / "ds", S, [IMAGE, pooled_table("image.z", S, 2)])
    with pytest.raises(ConfigError, match="modality 'image' has 2 tables"):
        fuse(root, tmp_path / "out")
    with pytest.raises(ConfigError, match="both 'image'"):
        fuse(root, tmp_path / "out", tables=("image.a", "image.z"))
    assert fuse(root, tmp_path / "out", tables=("image.z",)).dim == 2


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    root = _dataset(tmp_path)
    fuse(root, tmp_path / "out", normalize="none")
    with pytest.raises(DatasetError, match="already exists"):
        fuse(root, tmp_path / "out")
    fuse(root, tmp_path / "out", normalize="l2", overwrite=True)
    assert read_fused_metadata(tmp_path / "out")["normalization"]["tables"]["image.a"]["method"] == "l2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "out"]


@pytest.mark.parametrize("where, words", [
    ("itself", r"is the input .*fuse writes a new directory beside it"),
    ("above", r"holds the input .*fuse writes a new directory beside it"),
    ("inside", r"lies inside the features/ folder of the input .*among its tables"),
    ("among the tables", r"lies inside the features/ folder of the input .*among its tables"),
])
def test_force_never_replaces_the_input_a_folder_holding_it_or_one_of_its_folders(tmp_path, where, words):
    root = _dataset(tmp_path)
    out = {"itself": root, "above": tmp_path, "inside": root / "features",
           "among the tables": root / "features" / "zz"}[where]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(DatasetError, match=words):
        fuse(root, out, overwrite=True)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    fuse(root, root / "fused", normalize="none")  # a new folder inside the dataset is fine
    assert read_fused_metadata(root / "fused")["tables"]


def test_force_replaces_an_earlier_export_only(tmp_path):
    root = _dataset(tmp_path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match=r"notes exists and is not an earlier fuse output \(no fused.json\)"):
        fuse(root, tmp_path / "notes", overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_a_killed_fuse_s_temporary_folder_is_removed_by_the_next_one(tmp_path):
    """SIGKILL (or SIGTERM outside the command line) skips clean-up: the next write of that output
    removes what a process that is gone left."""
    root = _dataset(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    leftover = tmp_path / f".out.tmp-{gone.pid}"
    (leftover / "data").mkdir(parents=True)
    running = tmp_path / f".out.tmp-{os.getppid()}"  # a live process's: left alone
    running.mkdir()
    fuse(root, tmp_path / "out", normalize="none")
    assert not leftover.exists() and running.exists()


def test_options_and_normalization_strings_are_validated():
    with pytest.raises(ConfigError, match=r"format='csv' is not one of"):
        FuseOptions(format="csv")  # type: ignore[arg-type]
    assert parse_normalization(["zscore"]) == "zscore"
    assert parse_normalization(["image=l2,text=none"]) == {"image": "l2", "text": "none"}
    with pytest.raises(ConfigError, match="normalize='minmax'"):
        parse_normalization("image=minmax")


def test_fused_metadata_describes_the_source(tmp_path):
    root = _dataset(tmp_path)
    fuse(root, tmp_path / "out", format="parquet")
    meta = read_fused_metadata(tmp_path / "out")
    manifest = json.loads((root / "mmdata.json").read_text())
    assert meta["source"]["samples_fingerprint"] == manifest["samples"]["fingerprint"]
    assert meta["source"]["tables"]["image.a"]["spec"]["dim"] == 4
    assert meta["missing"]["policy"] == "error" and meta["rows"] == {"test": 2, "train": 7, "val": 3}
    schema_meta = json.loads(pq.read_schema(tmp_path / "out" / meta["files"]["train"][0]).metadata[b"mmdata"])
    assert schema_meta["slices"] == meta["slices"] and schema_meta["normalization"] == meta["normalization"]


def test_a_failing_writer_surfaces_its_error_and_leaves_nothing(tmp_path, monkeypatch):
    from mmdata.fusion import formats

    def broken(self, split, batch):
        raise OSError("disk full")

    monkeypatch.setattr(formats.ParquetSink, "_write", broken)
    with pytest.raises(OSError, match="disk full"):
        fuse(_dataset(tmp_path), tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_direct_pass_cut_into_many_small_batches_writes_the_same_rows(tmp_path, monkeypatch):
    root = _dataset(tmp_path)
    fuse(root, tmp_path / "one", format="arrow")
    fuse(root, tmp_path / "one-pq", format="parquet")
    # Each format's sink says how large a batch it wants: two fused rows per batch here.
    monkeypatch.setattr("mmdata.fusion.formats.ArrowSink.batch_bytes", 2 * 7 * 4)
    monkeypatch.setattr("mmdata.fusion.formats.ParquetSink.batch_bytes", 2 * 7 * 4)
    fuse(root, tmp_path / "many", format="arrow")
    fuse(root, tmp_path / "many-pq", format="parquet")
    for split, rows in {"train": 7, "val": 3, "test": 2}.items():
        with pa.memory_map(str(tmp_path / "one" / "data" / f"{split}.arrow")) as a, \
                pa.memory_map(str(tmp_path / "many" / "data" / f"{split}.arrow")) as b:
            one, many = pa.ipc.open_file(a), pa.ipc.open_file(b)
            assert many.num_record_batches == (rows + 1) // 2 and one.num_record_batches == 1
            assert one.read_all().equals(many.read_all())
        name = f"data/{split}-00000-of-00001.parquet"
        one_pq, many_pq = pq.ParquetFile(tmp_path / "one-pq" / name), pq.ParquetFile(tmp_path / "many-pq" / name)
        assert many_pq.num_row_groups == (rows + 1) // 2 and one_pq.num_row_groups == 1
        assert one_pq.read().equals(many_pq.read())


def test_decoded_parquet_tables_are_fused_in_batches_of_at_most_the_decoded_input_size(tmp_path, monkeypatch):
    monkeypatch.setattr("mmdata.fusion.direct.DECODED_INPUT_BATCH_BYTES", 2 * 7 * 4)  # two fused rows
    for table_format in ("arrow", "parquet"):
        root = _dataset(tmp_path, name=table_format, table_format=table_format)
        fuse(root, tmp_path / f"out-{table_format}", format="parquet", normalize="none")  # no statistics: one pass
    train = "data/train-00000-of-00001.parquet"
    assert pq.ParquetFile(tmp_path / "out-arrow" / train).num_row_groups == 1  # mapped inputs: the sink's 4 MB
    assert pq.ParquetFile(tmp_path / "out-parquet" / train).num_row_groups == 4  # 7 rows, 2 per batch
    assert _read_parquet(tmp_path / "out-arrow").equals(_read_parquet(tmp_path / "out-parquet"))


def test_tables_of_both_formats_in_one_fusion_equal_the_reference(tmp_path):
    image, text = replace(IMAGE, table_format="arrow"), replace(TEXT, table_format="parquet")
    fuse(build_dataset(tmp_path / "mixed", S, [image, text], shard_size=5), tmp_path / "out", tables=("image", "text"))
    train = SPLIT == "train"
    expected = np.concatenate([_zscore(np.stack(IMAGE.values), train), _zscore(np.stack(TEXT.values), train)], axis=1)
    table = _read_parquet(tmp_path / "out")
    assert table.column("sample_id").to_pylist() == IDS
    np.testing.assert_allclose(_features(table), expected, rtol=1e-5, atol=1e-5)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["data", "fused.json"]


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
@pytest.mark.parametrize("code", sorted(POOLED_DEFECTS))
def test_fuse_refuses_every_table_defect_check_calls_an_error(tmp_path, code, table_format):
    """What `mmdata check` reports as an error of a table stops fuse before anything is written, in
    one line naming the table and the sample check names."""
    fake, sample_id = POOLED_DEFECTS[code]
    root = _dataset(tmp_path, image=replace(fake, table_format=table_format), table_format=table_format)
    with pytest.raises((DatasetError, SchemaMismatchError)) as info:
        fuse(root, tmp_path / "out")
    message = str(info.value)
    # a renamed row is also a sample the table lacks: fuse names the first problem it meets
    named = {sample_id, "000000000004"} if code == "ids-extra" else {sample_id}
    assert "\n" not in message and any(message.startswith(f"table 'image.a', sample {s!r}") for s in named)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_fuse_refuses_an_incomplete_table(tmp_path):
    root = _dataset(tmp_path, image=replace(IMAGE, complete=False))
    with pytest.raises(DatasetError, match=r"table 'image.a'.*\[table-incomplete\]"):
        fuse(root, tmp_path / "out")


@BOTH_FORMATS
def test_tables_written_with_nullable_values_still_check_and_fuse(tmp_path, table_format):
    """Earlier versions declared a vector's values nullable; such tables check clean and fuse the same."""
    from mmdata.checks import check_dataset
    from mmdata.store.metadata import feature_type

    root = _dataset(tmp_path, table_format=table_format)
    fuse(root, tmp_path / "now")
    legacy = feature_type(FeatureSpec(dim=4), nullable_values=True)
    for shard in sorted((root / "features" / "image.a").glob("part-*")):
        data = pq.read_table(shard) if table_format == "parquet" else pa.ipc.open_file(pa.py_buffer(shard.read_bytes())).read_all()
        position = data.schema.get_field_index("feature")
        data = data.set_column(position, data.schema.field("feature").with_type(legacy), data.column("feature").cast(legacy))
        assert data.schema.field("feature").type.value_field.nullable
        if table_format == "parquet":
            pq.write_table(data, shard)
        else:
            with pa.OSFile(str(shard), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
                writer.write_table(data)
    report = check_dataset(root)
    assert report.ok and not [i for i in report.issues if i.code == "dim-mismatch"]
    fuse(root, tmp_path / "legacy")
    assert _read_parquet(tmp_path / "legacy").equals(_read_parquet(tmp_path / "now"))


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_truncated_shard_fails_naming_the_file_and_writes_nothing(tmp_path, table_format):
    from mmdata.errors import ShardReadError
    from mmdata.store import layout

    root = _dataset(tmp_path, table_format=table_format)
    shard = layout.shard_files(layout.feature_dir(root, "text.b"))[-1]
    shard.write_bytes(shard.read_bytes()[:-64])  # its footer cut off
    with pytest.raises(ShardReadError, match=rf"{shard.name}: cannot read this shard .*truncated or corrupt"):
        fuse(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()
