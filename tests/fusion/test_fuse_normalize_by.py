"""`fuse --normalize-by KEY`: every z-scored table normalized per group of samples (a speaker, a video, a merged
corpus) with the statistics of that group's own rows in every split, equal to a NumPy computation per group, from
Arrow IPC and Parquet tables, pooled and kept sequences alike; missing and dropped rows stay out of their group's
statistics; fused.json and normalization_groups.parquet record the groups; a key no sample has, samples without a
group, a key grouping nothing, and no z-scored table are refused in one line with nothing written."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FoldSplits, FuseOptions, FusedDataset, fuse, read_fused_metadata
from mmdata.fusion.formats import GROUP_STATS_FILE
from mmdata.fusion.group_norm import GroupMoments, GroupStats
from mmdata.models.cross_validate import CrossValidateConfig
from tests.checks.builder import (
    aligned_table, build_dataset, frames_table, image_text_samples, mosi_samples, pooled_table, with_value,
)
from tests.cli_errors import one_line_error

runner = CliRunner()
SPEAKERS = ("ana", "bo", "cy")
#: 15 samples over train/val/test, 3 speakers each in every split, shards of 5 rows: groups span shards.
S = [replace(s, extra={"speaker": SPEAKERS[i % 3]}) for i, s in enumerate(image_text_samples(15))]
IMAGE = pooled_table("image.a", S, 4, seed=2)
TEXT = pooled_table("text.b", S, 3, seed=1)
BOTH_FORMATS = pytest.mark.parametrize("table_format", ["arrow", "parquet"])


def _dataset(tmp_path, image=IMAGE, text=TEXT, samples=S, table_format="arrow"):
    tables = [replace(image, table_format=table_format), replace(text, table_format=table_format)]
    return build_dataset(tmp_path / "ds", samples, tables, shard_size=5)


def _exported(out):
    """{sample id: fused feature (float64)} of an export, every split, read through FusedDataset."""
    rows = {}
    for split in read_fused_metadata(out)["rows"]:
        for item in FusedDataset(out, split=split):
            rows[item["sample_id"]] = np.asarray(item["feature"], np.float64)
    return rows


def _by_group(values, groups, valid=None):
    """NumPy's per-group z-score of (n, D) values: each group's own mean and std (std 0 -> 1) over its valid rows."""
    values = np.asarray(values, np.float64)
    valid = np.ones(len(values), bool) if valid is None else np.asarray(valid)
    out = np.zeros_like(values)
    for group in set(groups):
        rows = np.array([g == group for g in groups])
        mean, std = values[rows & valid].mean(axis=0), values[rows & valid].std(axis=0)
        out[rows] = (values[rows] - mean) / np.where(std > 0, std, 1)
    return out


def _speakers(samples=S):
    return [s.extra["speaker"] for s in samples]


@BOTH_FORMATS
@pytest.mark.parametrize("export_format", ["arrow", "npy"])
def test_each_speaker_is_z_scored_with_its_own_rows_in_every_split(tmp_path, table_format, export_format):
    report = fuse(_dataset(tmp_path, table_format=table_format), tmp_path / "out", format=export_format,
                  normalize_by="speaker")
    expected = np.concatenate([_by_group(np.stack(IMAGE.values), _speakers()),
                               _by_group(np.stack(TEXT.values), _speakers())], axis=1)
    got = _exported(tmp_path / "out")
    assert set(got) == {s.sample_id for s in S}
    for i, sample in enumerate(S):
        np.testing.assert_allclose(got[sample.sample_id], expected[i], rtol=1e-5, atol=1e-6)
    assert report.normalize_by == "speaker" and report.groups == 3
    assert report.normalization == {"image.a": "zscore", "text.b": "zscore"}
    assert "image.a [0:4] zscore by speaker" in repr(report)
    normalization = read_fused_metadata(tmp_path / "out")["normalization"]
    assert normalization["by"] == {"key": "speaker", "groups": 3, "file": GROUP_STATS_FILE,
                                   "statistics": "each group's own rows, every split"}
    assert normalization["tables"]["image.a"] == {"method": "zscore", "by": "speaker", "count": 15, "groups": 3}


def test_the_groups_file_holds_every_group_s_mean_and_std_per_table(tmp_path):
    fuse(_dataset(tmp_path), tmp_path / "out", format="arrow", normalize_by="speaker")
    table = pq.read_table(tmp_path / "out" / GROUP_STATS_FILE)
    assert table.schema.metadata[b"mmdata.normalize_by"] == b"speaker"
    assert table.column("group").to_pylist() == list(SPEAKERS) * 2
    assert table.column("table").to_pylist() == ["image.a"] * 3 + ["text.b"] * 3
    assert table.column("count").to_pylist() == [5] * 6
    for row in table.to_pylist():
        fake = IMAGE if row["table"] == "image.a" else TEXT
        values = np.stack([v for v, s in zip(fake.values, S) if s.extra["speaker"] == row["group"]]).astype(np.float64)
        # float32 sums of the deviations from a row of the group: the mean exact to ~1e-8 of a std
        np.testing.assert_allclose(row["mean"], values.mean(axis=0), rtol=1e-12, atol=1e-7 * values.std(axis=0).min())
        np.testing.assert_allclose(row["std"], values.std(axis=0), rtol=1e-7)


def test_test_rows_do_not_move_the_other_groups(tmp_path):
    """A speaker's rows normalize that speaker only: changing one speaker's test rows changes no other row."""
    first = fuse(_dataset(tmp_path), tmp_path / "a", format="arrow", normalize_by="speaker")
    test_row = next(i for i, s in enumerate(S) if s.split == "test" and s.extra["speaker"] == "ana")
    moved = with_value(IMAGE, test_row, np.full(4, 50.0, np.float32))
    fuse(build_dataset(tmp_path / "ds2", S, [moved, TEXT], shard_size=5), tmp_path / "b", format="arrow",
         normalize_by="speaker")
    a, b = _exported(tmp_path / "a"), _exported(tmp_path / "b")
    assert first.groups == 3
    for sample in S:
        same = np.allclose(a[sample.sample_id], b[sample.sample_id])
        assert same == (sample.extra["speaker"] != "ana"), sample.sample_id


def test_only_z_scored_tables_are_grouped_the_others_keep_their_method(tmp_path):
    report = fuse(_dataset(tmp_path), tmp_path / "out", format="arrow", normalize={"image": "zscore", "text": "l2"},
                  normalize_by="speaker")
    text = np.stack(TEXT.values).astype(np.float64)
    expected = np.concatenate([_by_group(np.stack(IMAGE.values), _speakers()),
                               text / np.linalg.norm(text, axis=1, keepdims=True)], axis=1)
    got = _exported(tmp_path / "out")
    for i, sample in enumerate(S):
        np.testing.assert_allclose(got[sample.sample_id], expected[i], rtol=1e-5, atol=1e-6)
    assert report.normalization == {"image.a": "zscore", "text.b": "l2"}
    tables = read_fused_metadata(tmp_path / "out")["normalization"]["tables"]
    assert tables["text.b"]["method"] == "l2" and "by" not in tables["text.b"]
    assert pq.read_table(tmp_path / "out" / GROUP_STATS_FILE).column("table").to_pylist() == ["image.a"] * 3


def test_features_far_from_zero_are_normalized_in_float64(tmp_path):
    """A mean of 1e4 and a spread of 0.01 per speaker: float32 arithmetic would leave z-scores off by ~0.1."""
    far = pooled_table("image.a", S, 4, seed=2, transform=lambda v: (v * 0.01 + 1e4).astype(np.float32))
    fuse(_dataset(tmp_path, image=far), tmp_path / "out", format="arrow", normalize={"image": "zscore", "text": "none"},
         normalize_by="speaker")
    expected = _by_group(np.stack(far.values), _speakers())
    got = _exported(tmp_path / "out")
    for i, sample in enumerate(S):
        np.testing.assert_allclose(got[sample.sample_id][:4], expected[i], atol=1e-4)


@BOTH_FORMATS
def test_missing_features_stay_out_of_their_group_s_statistics(tmp_path, table_format):
    report = fuse(_dataset(tmp_path, image=with_value(IMAGE, 4, None), table_format=table_format), tmp_path / "out",
                  format="arrow", missing="zero", normalize_by="speaker")
    valid = np.arange(len(S)) != 4
    values = np.stack([v if v is not None else np.zeros(4, np.float32) for v in with_value(IMAGE, 4, None).values])
    expected = _by_group(values, _speakers(), valid)
    rows = {}
    for split in report.rows:
        for item in FusedDataset(tmp_path / "out", split=split):
            rows[item["sample_id"]] = (np.asarray(item["feature"])[:4], np.asarray(item["present"]))
    for i, sample in enumerate(S):
        feature, present = rows[sample.sample_id]
        if i == 4:
            assert present.tolist() == [False, True] and not feature.any()
        else:
            np.testing.assert_allclose(feature, expected[i], rtol=1e-5, atol=1e-6)
    assert report.missing["image.a"] == 1
    assert read_fused_metadata(tmp_path / "out")["normalization"]["tables"]["image.a"]["count"] == 14


def test_dropped_samples_leave_their_group_s_statistics(tmp_path):
    report = fuse(_dataset(tmp_path, text=with_value(TEXT, 7, None)), tmp_path / "out", format="arrow",
                  missing="drop", normalize_by="speaker")
    kept = np.arange(len(S)) != 7
    expected = _by_group(np.stack(IMAGE.values), _speakers(), kept)
    got = _exported(tmp_path / "out")
    assert S[7].sample_id not in got and report.dropped == 1
    for i, sample in enumerate(S):
        if i != 7:
            np.testing.assert_allclose(got[sample.sample_id][:4], expected[i], rtol=1e-5, atol=1e-6)


M = mosi_samples(videos=4, segments=3)
WORDS = aligned_table("text.w", M, 2, 4)
VIDEO = aligned_table("video.v", M, 2, 4, seed=3)
FACE = pooled_table("image.p", M, 2, seed=4)


def test_group_id_groups_kept_sequences_over_their_time_steps(tmp_path):
    """MOSI-style segments normalized per video (group_id): the statistics of every step of the video's segments;
    a pooled table repeated at each step is normalized per video as a vector."""
    dataset = build_dataset(tmp_path / "mosi", M, [WORDS, VIDEO, FACE], corpus_kind="mosi-raw", shard_size=5)
    report = fuse(dataset, tmp_path / "out", tables=("text", "video", "image"), sequences="pad", max_length=4,
                  normalize_by="group_id", format="arrow")
    videos = [s.group_id for s in M]
    steps = [len(v) for v in WORDS.values]
    per_step = [v for v, n in zip(videos, steps) for _ in range(n)]
    words = _by_group(np.concatenate(WORDS.values), per_step)
    video = _by_group(np.concatenate(VIDEO.values), per_step)
    face = _by_group(np.stack(FACE.values), videos)
    got = {item["sample_id"]: np.asarray(item["feature"]) for split in report.rows
           for item in FusedDataset(tmp_path / "out", split=split)}
    start = 0
    for i, sample in enumerate(M):
        stop = start + steps[i]
        expected = np.concatenate([words[start:stop], video[start:stop], np.repeat(face[i][None], steps[i], 0)], 1)
        np.testing.assert_allclose(got[sample.sample_id][: steps[i]], expected, rtol=1e-5, atol=1e-6)
        start = stop
    assert report.groups == 4
    assert read_fused_metadata(tmp_path / "out")["normalization"]["tables"]["text.w"]["count"] == sum(steps)


#: The MOSI-style segments with a speaker each (videos 0 and 2 by s0, 1 and 3 by s1): 6 segments a speaker.
MS = [replace(s, extra={**s.extra, "speaker": f"s{int(s.group_id[3:]) % 2}"}) for s in M]
FRAMES = frames_table("audio.f", MS, 3, 10.0)


def _pooled_reference(values, valid=None):
    """Per speaker z-scores of per-sample vectors (a sequence's mean over its frames) of MS."""
    vectors = np.stack([np.asarray(v, np.float64).mean(axis=0) if np.ndim(v) == 2 else v for v in values])
    return _by_group(vectors, [s.extra["speaker"] for s in MS], valid)


def _rows(out, fmt):
    if fmt == "parquet":
        table = pa.concat_tables(pq.read_table(out / f) for files in read_fused_metadata(out)["files"].values()
                                 for f in files)
        return dict(zip(table.column("sample_id").to_pylist(), table.column("feature").to_pylist()))
    return {item["sample_id"]: item["feature"] for split in read_fused_metadata(out)["rows"]
            for item in FusedDataset(out, split=split)}


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
@pytest.mark.parametrize("fmt", ["arrow", "parquet", "npy", "hf"])
def test_sequences_pooled_and_every_export_format_normalize_each_row_once_by_its_group(tmp_path, table_format, fmt):
    tables = [replace(t, table_format=table_format) for t in (FRAMES, FACE)]
    dataset = build_dataset(tmp_path / "mosi", MS, tables, corpus_kind="mosi-raw", shard_size=5)
    fuse(dataset, tmp_path / "out", tables=("audio", "image"), normalize_by="speaker", format=fmt)
    expected = np.concatenate([_pooled_reference(FRAMES.values), _pooled_reference(FACE.values)], axis=1)
    got = _rows(tmp_path / "out", fmt)
    for i, sample in enumerate(MS):
        np.testing.assert_allclose(np.asarray(got[sample.sample_id], np.float64), expected[i], rtol=1e-5, atol=1e-6)


def test_kept_sequences_from_parquet_tables_are_normalized_per_group(tmp_path):
    tables = [replace(t, table_format="parquet") for t in (WORDS, VIDEO)]
    dataset = build_dataset(tmp_path / "mosi", MS, tables, corpus_kind="mosi-raw", shard_size=5)
    fuse(dataset, tmp_path / "out", tables=("text", "video"), sequences="ragged", normalize_by="speaker",
         format="arrow")
    per_step = [s.extra["speaker"] for s, v in zip(MS, WORDS.values) for _ in v]
    words, video = _by_group(np.concatenate(WORDS.values), per_step), _by_group(np.concatenate(VIDEO.values), per_step)
    got = _rows(tmp_path / "out", "arrow")
    start = 0
    for sample, steps in zip(MS, (len(v) for v in WORDS.values)):
        expected = np.concatenate([words[start : start + steps], video[start : start + steps]], axis=1)
        np.testing.assert_allclose(np.asarray(got[sample.sample_id])[:steps], expected, rtol=1e-5, atol=1e-6)
        start += steps


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
def test_a_non_finite_feature_treated_as_missing_stays_out_of_its_group(tmp_path, table_format):
    face = with_value(FACE, 2, np.array([np.nan, 1.0], np.float32))
    tables = [replace(t, table_format=table_format) for t in (FRAMES, face)]
    dataset = build_dataset(tmp_path / "mosi", MS, tables, corpus_kind="mosi-raw", shard_size=5)
    report = fuse(dataset, tmp_path / "out", tables=("audio", "image"), normalize_by="speaker", format="arrow",
                  non_finite="missing", missing="zero")
    valid = np.arange(len(MS)) != 2
    expected = _pooled_reference([v if i != 2 else np.zeros(2, np.float32) for i, v in enumerate(FACE.values)], valid)
    got = _rows(tmp_path / "out", "arrow")
    for i, sample in enumerate(MS):
        face_part = np.asarray(got[sample.sample_id])[3:]
        np.testing.assert_allclose(face_part, 0.0 if i == 2 else expected[i], rtol=1e-5, atol=1e-6)
    assert report.missing["image.p"] == 1


def test_dropped_samples_leave_their_group_through_the_parquet_copies(tmp_path):
    """Parquet tables, --missing drop, an npy export: pass 1 writes Arrow copies of the normalized rows, which
    pass 2 maps without normalizing them again."""
    face = with_value(FACE, 4, None)
    tables = [replace(t, table_format="parquet") for t in (FRAMES, face)]
    dataset = build_dataset(tmp_path / "mosi", MS, tables, corpus_kind="mosi-raw", shard_size=5)
    report = fuse(dataset, tmp_path / "out", tables=("audio", "image"), normalize_by="speaker", format="npy",
                  missing="drop")
    kept = np.arange(len(MS)) != 4
    expected = np.concatenate([_pooled_reference(FRAMES.values, kept),
                               _pooled_reference([v if v is not None else np.zeros(2) for v in face.values], kept)], 1)
    got = _rows(tmp_path / "out", "npy")
    assert report.dropped == 1 and MS[4].sample_id not in got
    for i, sample in enumerate(MS):
        if i != 4:
            np.testing.assert_allclose(np.asarray(got[sample.sample_id]), expected[i], rtol=1e-5, atol=1e-6)


def test_folds_and_groups_together_the_held_out_speaker_normalized_by_its_own_rows(tmp_path):
    dataset = build_dataset(tmp_path / "mosi", MS, [FACE], corpus_kind="mosi-raw", shard_size=5)
    report = fuse(dataset, tmp_path / "out", normalize_by="speaker", format="arrow",
                  folds=FoldSplits("speaker", "s1"))
    assert report.rows == {"test": 6, "train": 6}
    test = np.stack([item["feature"] for item in FusedDataset(tmp_path / "out", split="test")])
    np.testing.assert_allclose(test.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(test.std(axis=0), 1.0, rtol=1e-5)


@pytest.mark.parametrize("centre", [3.0, 1e4])
def test_group_moments_merged_update_by_update_equal_numpy_per_group(centre):
    """Shard by shard, groups seen in some updates only, one never: NumPy's mean and std per group (the mean to
    1e-7 of a std, the std to 1e-6 of itself), also for features far from zero."""
    rng = np.random.default_rng(0)
    rows = rng.normal(centre, 0.5, size=(500, 6)).astype(np.float32)
    codes = rng.integers(0, 7, 500)
    moments = GroupMoments.empty(8, 6)  # group 7 never seen
    for chunk in np.array_split(np.arange(500), [37, 38, 200, 451]):
        moments.update(rows[chunk], codes[chunk])
    stats = GroupStats.of(moments)
    for group in range(7):
        chosen = rows[codes == group].astype(np.float64)
        assert moments.count[group] == len(chosen)
        np.testing.assert_allclose(stats.mean[group], chosen.mean(axis=0), rtol=1e-12, atol=1e-7 * 0.5)
        np.testing.assert_allclose(stats.std[group], chosen.std(axis=0), rtol=1e-6)
    assert moments.count[7] == 0 and not stats.mean[7].any() and (stats.std[7] == 1).all()


def test_group_moments_of_long_groups_with_an_outlying_first_row_stay_accurate():
    """Groups of ~100k rows in one update (a long kept sequence), far from zero, each group's first row 50 std
    off: the statistics are NumPy's in float64 to 1e-7, though the rows are summed in float32 blocks."""
    rng = np.random.default_rng(1)
    rows = rng.normal(1e3, 2.0, size=(300_000, 4)).astype(np.float32)
    codes = np.sort(rng.integers(0, 3, len(rows)))
    for group in range(3):
        rows[np.argmax(codes == group)] += 100.0
    moments = GroupMoments.empty(3, 4)
    moments.update(rows[:1], codes[:1])  # the outlier alone first: a later block must not cancel against it
    moments.update(rows[1:], codes[1:])
    stats = GroupStats.of(moments)
    for group in range(3):
        chosen = rows[codes == group].astype(np.float64)
        np.testing.assert_allclose(stats.mean[group], chosen.mean(axis=0), rtol=1e-12, atol=1e-7 * 2.0)
        np.testing.assert_allclose(stats.std[group], chosen.std(axis=0), rtol=1e-7)


def test_a_group_of_one_sample_is_warned_about(tmp_path, caplog):
    samples = [replace(s, extra={"speaker": "solo" if i == 0 else SPEAKERS[i % 3]}) for i, s in enumerate(S)]
    with caplog.at_level(logging.WARNING, logger="mmdata"):
        fuse(_dataset(tmp_path, samples=samples), tmp_path / "out", format="arrow", normalize_by="speaker")
    assert "--normalize-by speaker: 1 group(s) have one row in a table (solo): their values there are all 0" in caplog.text
    assert not _exported(tmp_path / "out")[samples[0].sample_id].any()


def _refused(tmp_path, samples=S, **options):
    dataset = _dataset(tmp_path, samples=samples)
    return dataset, lambda: fuse(dataset, tmp_path / "out", format="arrow", **options)


@pytest.mark.parametrize("case", ["unknown-key", "samples-without", "a-list", "no-zscore", "one-per-sample"])
def test_bad_group_keys_are_refused_in_one_line_and_nothing_is_written(tmp_path, case):
    samples, options = S, {"normalize_by": "speaker"}
    if case == "unknown-key":
        options["normalize_by"], error = "speakr", (ConfigError, r"no sample of dataset .* has a group at "
                                                    r"extra\['speakr'\]; keys its samples' extra holds: \['speaker'\]"
                                                    r".*--normalize-by KEY")
    elif case == "samples-without":
        samples = [replace(s, extra={} if i in (3, 9) else s.extra) for i, s in enumerate(S)]
        error = (DatasetError, r"2 of 15 samples of dataset .* have no group at extra\['speaker'\] \(first: "
                               r"'000000000003', '000000000009'\); every sample needs one to be normalized with its "
                               r"group's statistics")
    elif case == "a-list":
        samples = [replace(s, extra={"speaker": ["a", "b"]} if i == 2 else s.extra) for i, s in enumerate(S)]
        error = (DatasetError, r"sample '000000000002': extra\['speaker'\] is \['a', 'b'\], expected a group")
    elif case == "no-zscore":
        options["normalize"], error = "l2", (ConfigError, r"--normalize-by speaker z-scores per group, and no fused "
                                                          r"table is z-scored \(--normalize l2\)")
    else:
        options["normalize_by"], error = "group_id", (ConfigError, r"has 15 groups for 15 samples \(fewer than 2 "
                                                                   r"samples a group on average\)")
    dataset, run = _refused(tmp_path, samples, **options)
    with pytest.raises(error[0], match=error[1]):
        run()
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_blank_group_id_is_no_group(tmp_path):
    samples = [replace(s, group_id=" " if i == 5 else f"g{i % 3}", extra={}) for i, s in enumerate(S)]
    with pytest.raises(DatasetError, match=r"1 of 15 samples of dataset .* have no group_id \(first: '000000000005'\)"):
        fuse(_dataset(tmp_path, samples=samples), tmp_path / "out", format="arrow", normalize_by="group_id",
             allow_split_leaks=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", ["", "  ", 3])
def test_an_empty_or_non_text_key_is_refused_before_any_read(key):
    with pytest.raises(ConfigError, match=r"normalize_by=.*expected 'group_id' or the key of the samples' extra"):
        FuseOptions(normalize_by=key)


def test_the_command_line_names_the_groups_and_refuses_an_unknown_key(tmp_path):
    dataset = _dataset(tmp_path)
    result = runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "out"), "--normalize-by", "speaker",
                                 "--format", "arrow"])
    assert result.exit_code == 0, result.output
    assert "z-scored by speaker (3 groups): image.a, text.b" in result.output
    refused = runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "other"), "--normalize-by", "speakr"])
    assert "has a group at extra['speakr']" in one_line_error(refused)
    assert not (tmp_path / "other").exists()


def test_cross_validation_records_the_key_only_when_given(tmp_path):
    plain = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="class"))
    assert "normalize_by" not in plain.to_json()["fuse"]  # a run of the release before resumes unchanged
    grouped = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="class", normalize_by="speaker"))
    assert grouped.to_json()["fuse"]["normalize_by"] == "speaker"


def test_cross_validation_normalizes_every_fold_by_speaker(tmp_path):
    from mmdata.pipeline import extract
    from tests.fusion.test_fuse_folds import write_folded_corpus

    extract("manifest", write_folded_corpus(tmp_path / "corpus", folds=3, per_fold=8), tmp_path / "ds",
            extractors=["hashed-bow:dim=8"], num_workers=0)
    result = runner.invoke(app, ["train", "cross-validate", str(tmp_path / "ds"), str(tmp_path / "cv"), "--fold-by",
                                 "fold", "--class-label", "class", "--normalize-by", "speaker"])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "cv" / "cross-validate.json").read_text())
    assert saved["config"]["fuse"]["normalize_by"] == "speaker"
    for fold in ("1", "2", "3"):
        normalization = read_fused_metadata(tmp_path / "cv" / f"fold-{fold}")["normalization"]
        assert normalization["by"]["key"] == "speaker" and normalization["by"]["groups"] == 3
        # each speaker is one fold here: the held-out speaker is normalized with its own rows, so the export's
        # test rows have mean 0 per dimension (of the dimensions that vary)
        features = np.stack([item["feature"] for item in FusedDataset(tmp_path / "cv" / f"fold-{fold}", split="test")])
        assert len(features) == 8
        np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-5)
