"""Files keyed by the label's segment ids (`vid[i]`, as the SDK writes after aligning to labels) are read
key by key: overlapping segments keep their own rows, and a round trip gives back the same tables."""
from __future__ import annotations

import numpy as np

from mmdata.corpora import load_corpus
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import (
    COVAREP_FILE, COVAREP_ROOT, LABELS_FILE, LABELS_ROOT, WORDS_FILE, WORDS_ROOT, frames, write_sdk_csd,
)

# v's segments overlap (1.0-3.0 overlaps both neighbours); w has one segment.
SEGMENTS = {"v": [(0.0, 2.0, 1.5), (2.0, 4.0, -0.5), (1.0, 3.0, 0.5)], "w": [(0.0, 2.0, 1.0)]}
WORDS = {"v": [("sp", 0.0, 0.5), ("i", 0.5, 1.0), ("loved", 1.0, 2.5), ("sp", 2.5, 3.0), ("it", 3.0, 4.0)],
         "w": [("ok", 0.0, 2.0)]}


def label_arrays(segments):
    return np.array([[s] for *_, s in segments], np.float32), np.array([[a, b] for a, b, _ in segments])


def word_arrays(words):
    return np.array([[w.encode()] for w, *_ in words], "S8"), np.array([[a, b] for _, a, b in words])


def write_videos(root):
    """Whole-video words and COVAREP (4 s and 2 s at 100 Hz) and the overlapping label segments."""
    write_sdk_csd(root / LABELS_FILE, LABELS_ROOT, {v: label_arrays(s) for v, s in SEGMENTS.items()})
    write_sdk_csd(root / WORDS_FILE, WORDS_ROOT, {v: word_arrays(w) for v, w in WORDS.items()})
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, {"v": frames(4.0, 100, 2, 0), "w": frames(2.0, 100, 2, 1)})


def test_overlapping_segments_round_trip_without_duplicated_rows(tmp_path):
    write_videos(tmp_path / "csd")
    extract("csd", tmp_path / "csd", tmp_path / "out", extractors=[], num_workers=0)
    export_csd(tmp_path / "out", tmp_path / "back")
    extract("csd", tmp_path / "back", tmp_path / "again", extractors=[], num_workers=0)
    first, second = open_dataset(tmp_path / "out"), open_dataset(tmp_path / "again")
    assert second.table_names == first.table_names
    for name in first.table_names:
        columns = ["sample_id", "feature", "intervals"] + (["words"] if name == "text.words" else [])
        assert first.table(name).to_table().select(columns).equals(second.table(name).to_table().select(columns)), name
    words = {r["sample_id"]: r["words"] for r in second.table("text.words").to_table().to_pylist()}
    assert words["v[2]"] == ["loved", "sp"]
    columns = ["sample_id", "start", "end", "label", "transcript", "extra"]
    assert first.samples_table(columns).equals(second.samples_table(columns))


def test_segment_keyed_rows_are_read_from_their_own_key(tmp_path):
    write_sdk_csd(tmp_path / LABELS_FILE, LABELS_ROOT, {v: label_arrays(s) for v, s in SEGMENTS.items()})
    keyed = {}
    for vid, segments in SEGMENTS.items():
        for i, (a, b, _) in enumerate(segments):
            starts = np.arange(a, b, 0.5)
            keyed[f"{vid}[{i}]"] = (np.full((len(starts), 2), 10 * i, np.float32), np.stack([starts, starts + 0.5], 1))
    write_sdk_csd(tmp_path / COVAREP_FILE, COVAREP_ROOT, keyed)
    result = load_corpus("csd", tmp_path)
    assert result.problems == []
    covarep = next(t for t in result.tables if t.name == "audio.covarep")
    rows = {r.sample_id: r for r in covarep.read(sorted(keyed))}
    for key, (features, intervals) in keyed.items():
        np.testing.assert_array_equal(rows[key].features, features)
        np.testing.assert_array_equal(rows[key].intervals, intervals)


def test_a_segment_the_keyed_file_lacks_gets_no_feature_and_its_reason(tmp_path):
    """The SDK's align writes no key for a segment nothing overlaps: no feature (null), as `mmdata segment`
    gives a segment no row of a table overlaps, with the reason for the errors table."""
    write_sdk_csd(tmp_path / LABELS_FILE, LABELS_ROOT, {v: label_arrays(s) for v, s in SEGMENTS.items()})
    keyed = {key: (np.ones((2, 2), np.float32), np.array([[a, (a + b) / 2], [(a + b) / 2, b]]))
             for vid, segments in SEGMENTS.items() for i, (a, b, _) in enumerate(segments)
             for key in [f"{vid}[{i}]"] if key != "v[0]"}
    write_sdk_csd(tmp_path / COVAREP_FILE, COVAREP_ROOT, keyed)
    result = load_corpus("csd", tmp_path)
    covarep = next(t for t in result.tables if t.name == "audio.covarep")
    rows = {r.sample_id: r for r in covarep.read(["v[0]", "v[1]", "v[2]", "w[0]"])}
    assert rows["v[0]"].features is None and rows["v[0]"].error_type == "DatasetError"
    assert "no row of 'audio.covarep' overlaps segment v[0] [0s, 2s]" in rows["v[0]"].error
    assert rows["v[1]"].intervals.tolist() == [[2.0, 3.0], [3.0, 4.0]]
    assert rows["v[2]"].intervals.tolist() == [[1.0, 2.0], [2.0, 3.0]]


def test_whole_video_keys_are_still_cut_by_the_segments(tmp_path):
    write_videos(tmp_path)
    result = load_corpus("csd", tmp_path)
    covarep = next(t for t in result.tables if t.name == "audio.covarep")
    rows = {r.sample_id: r for r in covarep.read(["v[0]", "v[1]", "v[2]", "w[0]"])}
    features, _ = frames(4.0, 100, 2, 0)
    np.testing.assert_array_equal(rows["v[2]"].features, features[100:300])
    assert {s.sample_id: s.transcript for s in result.samples}["v[2]"] == "loved"
