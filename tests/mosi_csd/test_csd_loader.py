"""The `csd` corpus kind: segments from labels, temporal tables, folds, and each kind of bad input."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError, ExtractionError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import (
    COVAREP_FILE,
    COVAREP_ROOT,
    FACET_FILE,
    LABELS_FILE,
    LABELS_ROOT,
    SDK_METADATA,
    SEGMENTS,
    WORDS,
    frames,
    write_mosi_csd,
    write_sdk_csd,
)

EPS = 1e-5


def overlapping_rows(intervals, start, end):
    """Brute force, SDK rules: rows overlapping [start, end], clipped, zero-length pieces dropped."""
    out = []
    for k, (s0, s1) in enumerate(intervals):
        if end - s0 > -EPS and s1 - start > -EPS:
            c0, c1 = max(s0, start), min(s1, end)
            if abs(c0 - c1) > EPS:
                out.append((k, [c0, c1]))
    return out


def test_label_segments_become_samples_with_folds_labels_and_transcripts(tmp_path):
    write_mosi_csd(tmp_path)
    (tmp_path / "folds.json").write_text(json.dumps({"train": ["abc", "x9Y_z-1"], "test": ["abcd"]}))
    result = load_corpus("csd", tmp_path, options={"folds": "folds.json"})
    assert result.problems == []
    got = {s.sample_id: (s.split, s.group_id, s.start, s.end, s.label, s.transcript) for s in result.samples}
    assert got == {
        "abc[0]": ("train", "abc", 0.0, 3.0, 2.5, "i loved it"),
        "abc[1]": ("train", "abc", 3.0, 6.0, 1.25, "really good"),
        "abcd[0]": ("test", "abcd", 0.5, 4.0, pytest.approx(-1.4), "not great"),
        "x9Y_z-1[0]": ("train", "x9Y_z-1", 0.0, 2.5, 0.0, "so so"),
        "x9Y_z-1[1]": ("train", "x9Y_z-1", 2.5, 5.0, -3.0, "bad"),
    }
    assert result.samples[0].extra == {"video_id": "abc", "segment": 0, "words": [
        ["sp", 0.0, 0.5], ["i", 0.5, 1.0], ["loved", 1.0, 2.0], ["it", 2.0, 3.0]]}
    tables = {t.name: t for t in result.tables}
    assert set(tables) == {"audio.covarep", "video.facet-41", "text.words"}
    assert (tables["audio.covarep"].spec.dim, tables["audio.covarep"].spec.frame_rate) == (4, 100.0)
    assert (tables["video.facet-41"].spec.dim, tables["video.facet-41"].spec.frame_rate) == (3, 30.0)
    assert (tables["text.words"].spec.dim, tables["text.words"].spec.item_axis) == (1, "word")
    assert tables["audio.covarep"].config["root_name"] == COVAREP_ROOT
    assert result.metadata["labels"]["root_name"] == "Opinion Segment Labels"


def test_sdk_folds_module_is_parsed_never_run_and_split_filters(tmp_path):
    write_mosi_csd(tmp_path)
    (tmp_path / "cmu_mosi_std_folds.py").write_text(
        "raise SystemExit('this file must not run')\n"
        "standard_train_fold=['abc']\nstandard_valid_fold=['abcd']\nstandard_test_fold=['x9Y_z-1']\n")
    result = load_corpus("csd", tmp_path, split="valid", options={"folds": "cmu_mosi_std_folds.py"})
    assert [(s.sample_id, s.split) for s in result.samples] == [("abcd[0]", "valid")]
    result = load_corpus("csd", tmp_path)  # no folds file: one split
    assert {s.split for s in result.samples} == {"all"} and len(result.samples) == 5


def test_extract_writes_segment_tables_row_aligned_with_clipped_rows(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    report = extract("csd", fake.root, tmp_path / "out", extractors=[], shard_size=2, num_workers=0)
    assert {t.name: (t.rows, t.errors) for t in report.tables} == {
        "audio.covarep": (5, 0), "video.facet-41": (5, 0), "text.words": (5, 0)}
    data = open_dataset(tmp_path / "out")
    samples = data.samples_table()
    for name in ("audio.covarep", "video.facet-41", "text.words"):
        assert data.entry(name).extractor == "precomputed" and data.entry(name).complete
        assert data.entry(name).source.endswith(")") and "root" in data.entry(name).source
        table = data.table(name).to_table()
        assert table.column("sample_id").to_pylist() == samples.column("sample_id").to_pylist()
        assert [pq.read_metadata(p).num_rows for p in sorted(data.table_dir(name).glob("part-*"))] == [2, 2, 1]
    for file, name in ((COVAREP_FILE, "audio.covarep"), (FACET_FILE, "video.facet-41")):
        rows = {r["sample_id"]: r for r in data.table(name).to_table().to_pylist()}
        for vid, segments in SEGMENTS.items():
            features, intervals = fake.data[file][vid]
            for i, (start, end, _) in enumerate(segments):
                expected = overlapping_rows(intervals, start, end)
                row = rows[f"{vid}[{i}]"]
                assert np.array_equal(np.array(row["feature"], np.float32), features[[k for k, _ in expected]])
                assert np.allclose(row["intervals"], [iv for _, iv in expected])
    words = {r["sample_id"]: r for r in data.table("text.words").to_table().to_pylist()}
    assert words["abc[1]"]["words"] == ["sp", "really", "good"]
    assert words["abc[1]"]["feature"] == [[1.0], [0.0], [0.0]]
    assert words["abc[1]"]["intervals"] == [[3.0, 3.25], [3.25, 4.5], [4.5, 6.0]]


def test_without_labels_samples_are_videos_with_all_rows(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    data = open_dataset(tmp_path / "out")
    samples = {s["sample_id"]: s for s in data.samples_table().to_pylist()}
    assert set(samples) == set(WORDS) and samples["abc"]["label"] is None and samples["abc"]["start"] is None
    covarep = {r["sample_id"]: r for r in data.table("audio.covarep").to_table().to_pylist()}
    features, intervals = fake.data[COVAREP_FILE]["abcd"]
    assert np.array_equal(np.array(covarep["abcd"]["feature"], np.float32), features)
    assert np.array_equal(np.array(covarep["abcd"]["intervals"]), intervals)


def test_video_missing_from_a_file_is_reported_with_file_and_id_and_dropped(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    data = dict(fake.data[COVAREP_FILE])
    data["zzz"] = data["abc"]
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, data)
    result = load_corpus("csd", fake.root)
    assert [(p.sample_id, p.path.endswith(LABELS_FILE)) for p in result.problems] == [("zzz", True)]
    reason = result.problems[0].reason
    assert f"video 'zzz' is missing from {LABELS_FILE}, CMU_MOSI_TimestampedWords.csd, {FACET_FILE}" in reason
    assert "expected every sequence to hold it" in result.problems[0].reason
    assert not any(s.group_id == "zzz" for s in result.samples) and len(result.samples) == 5
    with pytest.raises(CorpusFormatError, match=r"CMU_MOSI_Opinion_Labels\.csd: video 'zzz' is missing"):
        extract("csd", fake.root, tmp_path / "out", extractors=[], on_error="fail")
    report = extract("csd", fake.root, tmp_path / "out2", extractors=[], on_error="skip", num_workers=0)
    assert report.loader_errors == 1 and report.samples == 5
    errors = open_dataset(tmp_path / "out2").errors().to_pylist()
    assert [(e["sample_id"], e["stage"]) for e in errors] == [("zzz", "load")]


@pytest.mark.parametrize(("broken", "message"), [
    (np.array([[0.0, 1.0], [1.0, 0.5]]),
     r"\[COAVAREP/data/abc\]: interval row 1 ends before it starts \(1.0 -> 0.5\); expected end >= start \(1 such rows\); "
     r"video 'abc' is left out of every table$"),
    (np.array([[1.0, 2.0], [0.0, 1.0]]), r"\[COAVAREP/data/abc\]: intervals are not sorted by start time.*unsorted=sort"),
    (np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]), r"\[COAVAREP/data/abc\]: features have 2 rows but intervals have 3"),
])
def test_bad_intervals_are_reported_with_file_and_video_and_the_video_dropped(tmp_path, broken, message):
    fake = write_mosi_csd(tmp_path)
    data = dict(fake.data[COVAREP_FILE])
    data["abc"] = (np.zeros((2, 4), np.float32), broken)
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, data)
    result = load_corpus("csd", tmp_path)
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.sample_id == "abc" and problem.path.endswith(COVAREP_FILE)
    assert __import__("re").search(message, problem.reason), problem.reason
    assert sorted(s.sample_id for s in result.samples) == ["abcd[0]", "x9Y_z-1[0]", "x9Y_z-1[1]"]


def test_unsorted_rows_are_sorted_stably_on_request(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    features, intervals = fake.data[COVAREP_FILE]["abcd"]
    order = np.r_[np.arange(200, 400), np.arange(0, 200)]
    data = {**fake.data[COVAREP_FILE], "abcd": (features[order], intervals[order])}
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, data)
    assert len(load_corpus("csd", fake.root).problems) == 1
    extract("csd", fake.root, tmp_path / "out", corpus_options={"unsorted": "sort"}, extractors=[], num_workers=0)
    row = [r for r in open_dataset(tmp_path / "out").table("audio.covarep").to_table().to_pylist()
           if r["sample_id"] == "abcd[0]"][0]
    assert np.array_equal(np.array(row["feature"], np.float32), features[50:400])  # [0.5, 4.0] at 100 Hz


def test_nonfinite_policies_error_zero_keep_are_counted(tmp_path, caplog):
    fake = write_mosi_csd(tmp_path / "csd")
    features, intervals = fake.data[COVAREP_FILE]["abc"]
    features = features.copy()
    features[10, 1], features[20, 2], features[400, 0] = -np.inf, np.nan, -np.inf  # 2 in abc[0], 1 in abc[1]
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, {**fake.data[COVAREP_FILE], "abc": (features, intervals)})
    with caplog.at_level("WARNING", logger="mmdata.precomputed"):
        report = extract("csd", fake.root, tmp_path / "err", extractors=[], num_workers=0)
    assert {t.name: t.errors for t in report.tables}["audio.covarep"] == 2
    assert "3 non-finite values" in caplog.text and "-o nonfinite=zero sets them to 0" in caplog.text
    data = open_dataset(tmp_path / "err")
    errors = [e for e in data.errors().to_pylist() if e["table"] == "audio.covarep"]
    assert [e["sample_id"] for e in errors] == ["abc[0]", "abc[1]"]
    assert "2 non-finite values (-inf/NaN)" in errors[0]["reason"] and "[COAVAREP/data/abc]" in errors[0]["path"]
    assert "nonfinite=zero" in errors[0]["reason"]
    nulls = {r["sample_id"] for r in data.table("audio.covarep").to_table().to_pylist() if r["feature"] is None}
    assert nulls == {"abc[0]", "abc[1]"}
    assert data.manifest.extra["nonfinite_values"]["audio.covarep"] == 3
    with pytest.raises(ExtractionError, match=r"sample 'abc\[0\]'.*non-finite"):
        extract("csd", fake.root, tmp_path / "fail", extractors=[], on_error="fail")
    for policy, check in (("zero", lambda v: v == 0.0), ("keep", lambda v: not np.isfinite(v))):
        extract("csd", fake.root, tmp_path / policy, corpus_options={"nonfinite": policy}, extractors=[], num_workers=0)
        data = open_dataset(tmp_path / policy)
        assert data.manifest.extra["nonfinite_values"]["audio.covarep"] == 3
        row = [r for r in data.table("audio.covarep").to_table().to_pylist() if r["sample_id"] == "abc[0]"][0]
        assert check(row["feature"][10][1]) and check(row["feature"][20][2])


def test_multi_column_labels_go_to_extra_and_table_names_can_be_set(tmp_path):
    fake = write_mosi_csd(tmp_path, labels=False)
    labels = {v: (np.array([[s, 1.0, 2.0] for _, _, s in segs], np.float32), np.array([[a, b] for a, b, _ in segs]))
              for v, segs in SEGMENTS.items()}
    write_sdk_csd(tmp_path / "CMU_MOSEI_All_Labels.csd", "All Labels", labels)
    write_sdk_csd(tmp_path / "mystery.csd", "Mystery", fake.data[COVAREP_FILE])
    with pytest.raises(CorpusFormatError, match=r"cannot tell the modality of root 'Mystery'.*tables=mystery=audio"):
        load_corpus("csd", tmp_path)
    result = load_corpus("csd", tmp_path, options={"tables": "mystery=video.mystery+CMU_MOSI_COVAREP=audio.cov"})
    assert {t.name for t in result.tables} == {"video.mystery", "audio.cov", "video.facet-41", "text.words"}
    sample = next(s for s in result.samples if s.sample_id == "abc[1]")
    assert sample.label == 1.25 and sample.extra["labels"] == [1.25, 1.0, 2.0]
    with pytest.raises(ConfigError, match="modality"):
        load_corpus("csd", tmp_path, options={"tables": "mystery=sound.x"})
    with pytest.raises(ConfigError, match="names no .csd file"):
        load_corpus("csd", tmp_path, options={"labels": "nothing"})


def test_interrupted_precomputed_tables_are_finished_on_rerun(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)
    shard = out / "features" / "audio.covarep" / "part-00001.parquet"
    before = pq.read_table(shard)
    shard.unlink()
    manifest = json.loads((out / "mmdata.json").read_text())
    manifest["tables"]["audio.covarep"]["complete"] = False
    (out / "mmdata.json").write_text(json.dumps(manifest))
    report = extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)
    assert sorted((t.name, t.shards_written, t.shards_skipped) for t in report.tables) == [
        ("audio.covarep", 1, 2), ("text.words", 0, 3), ("video.facet-41", 0, 3)]
    assert pq.read_table(shard).equals(before)
    assert open_dataset(out).entry("audio.covarep").complete
    assert ds.dataset(str(out / "features" / "audio.covarep")).count_rows() == 5


def test_folds_files_with_a_video_in_two_folds_or_bad_json_are_refused(tmp_path):
    write_mosi_csd(tmp_path)
    (tmp_path / "twice.json").write_text(json.dumps({"train": ["abc"], "test": ["abc"]}))
    with pytest.raises(CorpusFormatError, match=r"twice\.json: video 'abc' is in both folds 'train' and 'test'"):
        load_corpus("csd", tmp_path, options={"folds": "twice.json"})
    (tmp_path / "bad.json").write_text('{"train": ["abc",]}')
    with pytest.raises(CorpusFormatError, match=r"bad\.json:1:\d+: invalid JSON"):
        load_corpus("csd", tmp_path, options={"folds": "bad.json"})
    (tmp_path / "folds.py").write_text("x = 1\nmodalities = ['audio', 'video']\n")
    with pytest.raises(CorpusFormatError, match=r"folds\.py: no `<split>_fold = \[video ids\]` assignments"):
        load_corpus("csd", tmp_path, options={"folds": str(tmp_path / "folds.py")})
    (tmp_path / "twice.py").write_text("train_ids = ['abc']\nother = 2\ntrain_extra_ids = ['abcd']\n")
    with pytest.raises(CorpusFormatError, match=r"twice\.py:3: train_extra_ids names split 'train', as train_ids does"):
        load_corpus("csd", tmp_path, options={"folds": str(tmp_path / "twice.py")})


def test_a_folds_module_s_tuple_assignments_count_and_other_lists_do_not(tmp_path):
    from mmdata.formats.folds import read_folds

    path = tmp_path / "folds.py"
    path.write_text("modalities = ['audio', 'video']\n"
                    "standard_train_fold, standard_dev_fold = ['a', 'b'], ['c']\n"
                    "standard_test_fold = ('d',)\n")
    assert read_folds(path) == {"a": "train", "b": "train", "c": "valid", "d": "test"}


def write_sdk_aligned_labels(root, indices):
    """Labels as the SDK's `align(labels)` leaves them: one key `v[i]` of one row per segment [i, i + 1]."""
    labels = {f"v[{i}]": (np.array([[i / 4]], np.float32), np.array([[float(i), i + 1.0]])) for i in indices}
    write_sdk_csd(root / LABELS_FILE, LABELS_ROOT, labels)
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, {"v": frames(14.0, 10, 2, seed=0)})


def test_sdk_aligned_label_keys_are_the_sample_ids_in_numeric_order(tmp_path):
    indices = [i for i in range(13) if i != 5]  # 12 keys; the SDK left out v[5] (a skipped interval)
    write_sdk_aligned_labels(tmp_path, indices)
    result = load_corpus("csd", tmp_path)
    assert result.problems == [] and result.metadata["labels"]["keys"] == "segments"
    got = [(s.sample_id, s.start, s.end, s.label, s.extra["segment"]) for s in result.samples]
    assert got == [(f"v[{i}]", float(i), i + 1.0, i / 4, i) for i in indices]  # v[2] before v[10], v[5] stays out
    covarep = next(t for t in result.tables if t.name == "audio.covarep")
    rows = {row.sample_id: row for row in covarep.read(["v[2]", "v[10]", "v[12]"])}
    for sample_id, start in (("v[2]", 2.0), ("v[10]", 10.0), ("v[12]", 12.0)):
        assert rows[sample_id].intervals[:, 0].min() == pytest.approx(start)
        assert rows[sample_id].intervals[:, 1].max() == pytest.approx(start + 1)


def test_sdk_aligned_label_key_with_several_rows_is_reported_and_skipped(tmp_path):
    write_sdk_aligned_labels(tmp_path, range(3))
    two_rows = (np.array([[0.5], [1.0]], np.float32), np.array([[3.0, 3.5], [3.5, 4.0]]))
    with h5py.File(tmp_path / LABELS_FILE, "a") as h5:
        group = h5[LABELS_ROOT]["data"].create_group("v[3]")
        group.create_dataset("features", data=two_rows[0])
        group.create_dataset("intervals", data=two_rows[1])
    result = load_corpus("csd", tmp_path)
    assert [s.sample_id for s in result.samples] == ["v[0]", "v[1]", "v[2]"]
    assert [(p.sample_id, p.path) for p in result.problems] == [("v[3]", f"{tmp_path / LABELS_FILE} [{LABELS_ROOT}/data/v[3]]")]
    assert "holds 2 rows; expected one row per SDK-aligned key" in result.problems[0].reason


def test_pause_tokens_are_matched_in_any_case(tmp_path):
    words = (np.array([[b"i"], [b"SP"], [b"go"], [b"<Sil>"]]), np.array([[0, 1.0], [1, 2], [2, 3], [3, 4]]))
    write_sdk_csd(tmp_path / "words.csd", "words", {"v": words})
    write_sdk_csd(tmp_path / "labels.csd", "labels", {"v": (np.array([[1.0]], np.float32), np.array([[0, 4.0]]))})
    result = load_corpus("csd", tmp_path)
    assert [s.transcript for s in result.samples] == ["i go"]
    row = next(next(t for t in result.tables if t.name == "text.words").read(["v[0]"]))
    assert row.features.ravel().tolist() == [0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize(("file", "dataset_name", "option", "expected"), [
    ("CMU_MOSI_Opinion_Labels.csd", "", None, "cmu-mosi"),  # the file name says it
    ("labels.csd", "CMU-MOSI", None, "cmu-mosi"),  # the metadata says it
    ("CMU_MOSEI_LabelsSentiment.csd", "CMU_MOSEI", None, "cmu-mosei"),
    ("labels.csd", "my corpus", None, None),  # nothing to tell
    ("CMU_MOSEI_Labels.csd", "CMU-MOSI", None, None),  # name and metadata disagree: no guess
    ("CMU_MOSI_Opinion_Labels.csd", "CMU-MOSI", "ch-sims", "ch-sims"),  # the option wins
])
def test_label_file_records_which_dataset_it_belongs_to(tmp_path, file, dataset_name, option, expected):
    labels = {v: (np.array([[s] for _, _, s in segs], np.float32), np.array([[a, b] for a, b, _ in segs]))
              for v, segs in SEGMENTS.items()}
    write_mosi_csd(tmp_path, labels=False)
    write_sdk_csd(tmp_path / file, LABELS_ROOT, labels, {**SDK_METADATA, "dataset name": dataset_name})
    result = load_corpus("csd", tmp_path, options={"dataset": option} if option else None)
    assert result.metadata.get("dataset") == expected


def test_check_enforces_the_label_range_of_a_recognised_dataset_without_the_option(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    labels = dict(fake.data[LABELS_FILE])
    labels["abc"] = (np.array([[4.5], [1.25]], np.float32), labels["abc"][1])  # outside MOSI's [-3, 3]
    write_sdk_csd(fake.files[LABELS_FILE], LABELS_ROOT, labels)
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    assert open_dataset(tmp_path / "out").manifest.extra["loader"]["dataset"] == "cmu-mosi"
    issues = [i for i in check_dataset(tmp_path / "out").issues if i.code == "label-range"]
    assert len(issues) == 1 and "label 4.5 is outside [-3, 3]" in issues[0].message and issues[0].count == 1
