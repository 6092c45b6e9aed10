"""MOSEI-style `.csd` inputs: 7-column `All Labels`, label segments in any order, SDK-aligned keys, missing videos."""
from __future__ import annotations

import numpy as np

from mmdata.alignment.segment import _read_labels
from mmdata.corpora import load_corpus
from tests.fakes.csd import frames, write_sdk_csd

VIDEOS = ("a_b-1", "Zx9")
# (start, end) per label row, in file order: unsorted and overlapping, as segment annotations may be
SEGMENTS = [(2.0, 4.0), (0.0, 2.5), (1.0, 3.0)]
MOSEI_METADATA = {"dataset name": "CMU-MOSEI", "computational sequence version": "1.0"}


def write_mosei(root, label_file="CMU_MOSEI_Labels.csd", videos=VIDEOS, facet_videos=VIDEOS):
    words = (np.array([b"sp", b"good", b"movie", b"sp"], "S5").reshape(-1, 1), np.array([[0, 1], [1, 2], [2, 3], [3, 4.0]]))
    write_sdk_csd(root / "CMU_MOSEI_TimestampedWords.csd", "words", {v: words for v in videos}, MOSEI_METADATA)
    write_sdk_csd(root / "CMU_MOSEI_COVAREP.csd", "COVAREP", {v: frames(4.0, 100, 74, 0) for v in videos}, MOSEI_METADATA)
    write_sdk_csd(root / "CMU_MOSEI_VisualFacet42.csd", "FACET 4.2",
                  {v: frames(4.0, 30, 35, 1) for v in facet_videos}, MOSEI_METADATA)
    values = np.array([[k - 1.0] + [k / 2] * 6 for k in range(len(SEGMENTS))], np.float32)  # sentiment, 6 emotions
    write_sdk_csd(root / label_file, "All Labels", {v: (values, np.array(SEGMENTS)) for v in videos}, MOSEI_METADATA)
    return values


def test_unsorted_overlapping_label_segments_keep_their_video_and_file_order(tmp_path):
    values = write_mosei(tmp_path)
    result = load_corpus("csd", tmp_path)
    assert result.problems == []
    got = {s.sample_id: (s.start, s.end, s.label, s.extra["labels"], s.transcript) for s in result.samples}
    assert got == {f"{v}[{i}]": (a, b, float(values[i, 0]), values[i].tolist(), text)
                   for v in VIDEOS for i, ((a, b), text) in enumerate(zip(SEGMENTS, ["movie", "good movie", "good movie"]))}
    assert result.metadata["dataset"] == "cmu-mosei"
    covarep = next(t for t in result.tables if t.name == "audio.covarep")
    rows = {r.sample_id: r for r in covarep.read([s.sample_id for s in result.samples])}
    for v in VIDEOS:
        for i, (a, b) in enumerate(SEGMENTS):
            assert rows[f"{v}[{i}]"].features.shape == (round((b - a) * 100), 74)
            assert rows[f"{v}[{i}]"].intervals[0, 0] == a and rows[f"{v}[{i}]"].intervals[-1, 1] == b


def test_label_file_chosen_by_option_need_not_be_sorted_either(tmp_path):
    write_mosei(tmp_path, label_file="CMU_MOSEI_Targets.csd")
    result = load_corpus("csd", tmp_path, options={"labels": "CMU_MOSEI_Targets"})
    assert result.problems == []
    assert sorted(s.sample_id for s in result.samples) == sorted(f"{v}[{i}]" for v in VIDEOS for i in range(3))


def test_feature_rows_out_of_order_are_still_refused(tmp_path):
    write_mosei(tmp_path)
    features, intervals = frames(4.0, 100, 74, 0)
    write_sdk_csd(tmp_path / "CMU_MOSEI_COVAREP.csd", "COVAREP",
                  {"a_b-1": (features[::-1], intervals[::-1]), "Zx9": (features, intervals)}, MOSEI_METADATA)
    result = load_corpus("csd", tmp_path)
    assert [p.sample_id for p in result.problems] == ["a_b-1"] and "not sorted" in result.problems[0].reason
    assert {s.group_id for s in result.samples} == {"Zx9"}


def test_segment_command_reads_unsorted_label_segments(tmp_path):
    write_mosei(tmp_path)
    _, segments, problems = _read_labels(tmp_path / "CMU_MOSEI_Labels.csd", list(VIDEOS))
    assert problems == []
    assert {v: [(s[0], s[1], s[2]) for s in segs] for v, segs in segments.items()} == {
        v: [(f"{v}[{i}]", a, b) for i, (a, b) in enumerate(SEGMENTS)] for v in VIDEOS}


def test_video_missing_from_one_feature_file_is_reported_not_silently_dropped(tmp_path):
    write_mosei(tmp_path, facet_videos=("Zx9",))
    result = load_corpus("csd", tmp_path)
    assert [(p.sample_id, p.path.endswith("CMU_MOSEI_VisualFacet42.csd")) for p in result.problems] == [("a_b-1", True)]
    assert "missing from CMU_MOSEI_VisualFacet42.csd" in result.problems[0].reason
    assert {s.group_id for s in result.samples} == {"Zx9"}


def test_sdk_aligned_label_and_feature_keys_with_gaps(tmp_path):
    """Labels the SDK aligned (`vid[i]`, one row each, gaps where it skipped) over features aligned to words."""
    write_mosei(tmp_path)
    keys = {"Zx9": [(0, (0.0, 1.0)), (2, (2.0, 3.0)), (10, (3.0, 4.0))]}
    write_sdk_csd(tmp_path / "CMU_MOSEI_Labels.csd", "All Labels", {
        f"Zx9[{i}]": (np.full((1, 7), i, np.float32), np.array([span])) for i, span in keys["Zx9"]}, MOSEI_METADATA)
    features, intervals = frames(4.0, 100, 74, 0)
    per_word = {f"{v}[{w}]": (features[w * 100:(w + 1) * 100], intervals[w * 100:(w + 1) * 100])
                for v in VIDEOS for w in (3, 0, 2, 1)}  # key order in the file is no time order
    write_sdk_csd(tmp_path / "CMU_MOSEI_COVAREP.csd", "COVAREP", per_word, MOSEI_METADATA)
    result = load_corpus("csd", tmp_path)
    assert [p.sample_id for p in result.problems] == ["a_b-1"]  # no labels: reported
    assert [(s.sample_id, s.start, s.label) for s in result.samples] == [
        ("Zx9[0]", 0.0, 0.0), ("Zx9[2]", 2.0, 2.0), ("Zx9[10]", 3.0, 10.0)]
    covarep = next(t for t in result.tables if t.name == "audio.covarep")
    rows = list(covarep.read([s.sample_id for s in result.samples]))
    for row, (_, (a, b)) in zip(rows, keys["Zx9"]):
        np.testing.assert_array_equal(row.features, features[int(a * 100):int(b * 100)])
