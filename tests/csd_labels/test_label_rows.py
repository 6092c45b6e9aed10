"""A bad label row costs only its own segment `vid[i]`, never the other segments of its video."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.alignment.segment import _read_labels
from mmdata.corpora import load_corpus
from tests.fakes.csd import LABELS_FILE, LABELS_ROOT, WORDS, write_mosi_csd, write_sdk_csd

# abc's label rows in file order: row 1 ends before it starts.
BAD_ROW = [(0.0, 3.0, 2.5), (3.5, 3.0, 1.0), (3.0, 6.0, 1.25)]


def write_labels(path, rows_by_video):
    write_sdk_csd(path, LABELS_ROOT, {
        vid: (np.array([[v] for *_, v in rows], np.float32), np.array([[a, b] for a, b, _ in rows], np.float64))
        for vid, rows in rows_by_video.items()})


def test_label_row_ending_before_it_starts_skips_only_its_segment(tmp_path):
    fake = write_mosi_csd(tmp_path)
    write_labels(fake.files[LABELS_FILE], {"abc": BAD_ROW, "abcd": [(0.5, 4.0, -1.4)], "x9Y_z-1": [(0.0, 5.0, 0.0)]})
    result = load_corpus("csd", tmp_path)
    assert sorted(s.sample_id for s in result.samples) == ["abc[0]", "abc[2]", "abcd[0]", "x9Y_z-1[0]"]
    assert {s.sample_id: (s.start, s.end, s.label) for s in result.samples}["abc[2]"] == (3.0, 6.0, 1.25)
    [problem] = result.problems
    assert problem.sample_id == "abc[1]" and LABELS_FILE in problem.path
    assert LABELS_FILE in problem.reason and "'abc[1]'" in problem.reason
    assert "ends before it starts (3.5 -> 3.0 s)" in problem.reason and "expected end > start" in problem.reason


def test_label_row_with_non_finite_interval_skips_only_its_segment(tmp_path):
    fake = write_mosi_csd(tmp_path)
    write_labels(fake.files[LABELS_FILE], {
        "abc": [(0.0, 3.0, 2.5), (np.nan, 4.0, 1.0), (3.0, 6.0, 1.25)],
        "abcd": [(0.5, 4.0, -1.4)], "x9Y_z-1": [(0.0, 5.0, 0.0)]})
    result = load_corpus("csd", tmp_path)
    assert sorted(s.sample_id for s in result.samples) == ["abc[0]", "abc[2]", "abcd[0]", "x9Y_z-1[0]"]
    [problem] = result.problems
    assert problem.sample_id == "abc[1]" and "expected finite seconds" in problem.reason


def test_sdk_aligned_label_key_ending_before_it_starts_skips_only_that_key(tmp_path):
    fake = write_mosi_csd(tmp_path)
    keys = {f"abc[{i}]": [row] for i, row in enumerate(BAD_ROW)}
    write_labels(fake.files[LABELS_FILE], {**keys, "abcd[0]": [(0.5, 4.0, -1.4)], "x9Y_z-1[0]": [(0.0, 5.0, 0.0)]})
    result = load_corpus("csd", tmp_path)
    assert sorted(s.sample_id for s in result.samples) == ["abc[0]", "abc[2]", "abcd[0]", "x9Y_z-1[0]"]
    assert [p.sample_id for p in result.problems] == ["abc[1]"]
    assert "[Opinion Segment Labels/data/abc[1]]" in result.problems[0].path


def test_segment_command_keeps_the_other_segments_of_a_video_with_a_bad_label_row(tmp_path):
    write_labels(tmp_path / "bad_labels.csd", {"abc": BAD_ROW})
    _, segments, problems = _read_labels(tmp_path / "bad_labels.csd", ["abc"])
    assert [(s[0], s[1], s[2]) for s in segments["abc"]] == [("abc[0]", 0.0, 3.0), ("abc[2]", 3.0, 6.0)]
    assert [p.sample_id for p in problems] == ["abc[1]"] and "expected end > start" in problems[0].reason


@pytest.mark.parametrize("bad", [(3.5, 3.0, 1.0), (1.0, 1.0, 1.0), (1.0, 2.0, float("nan"))],
                         ids=["end-before-start", "zero-length", "nan-label"])
def test_every_kind_of_bad_label_row_is_skipped_alone(tmp_path, bad):
    fake = write_mosi_csd(tmp_path)
    write_labels(fake.files[LABELS_FILE], {"abc": [(0.0, 3.0, 2.5), bad, (3.0, 6.0, 1.25)],
                                           "abcd": [(0.5, 4.0, -1.4)], "x9Y_z-1": [(0.0, 5.0, 0.0)]})
    result = load_corpus("csd", tmp_path)
    assert {s.sample_id for s in result.samples if s.group_id == "abc"} == {"abc[0]", "abc[2]"}
    assert [p.sample_id for p in result.problems] == ["abc[1]"]
    words = {s.sample_id: s.transcript for s in result.samples}
    assert words["abc[2]"] == " ".join(w for w, s, e in WORDS["abc"] if w != "sp" and s >= 3.0)
