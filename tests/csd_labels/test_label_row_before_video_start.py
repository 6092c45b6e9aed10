"""A label segment starting before the video does (a negative start) costs its own segment only, as a
feature row before 0 s is refused (`formats.csd.check_intervals`): the SDK's files count seconds from
the video's start, so no segment lies before it."""
from __future__ import annotations

from mmdata.alignment.segment import _read_labels
from mmdata.corpora import load_corpus
from tests.csd_labels.test_label_rows import write_labels
from tests.fakes.csd import LABELS_FILE, write_mosi_csd

BEFORE_START = [(-0.01, 3.0, 2.5), (3.0, 6.0, 1.25)]


def test_label_row_starting_before_the_video_skips_only_its_segment(tmp_path):
    fake = write_mosi_csd(tmp_path)
    write_labels(fake.files[LABELS_FILE], {"abc": BEFORE_START, "abcd": [(0.5, 4.0, -1.4)], "x9Y_z-1": [(0.0, 5.0, 0.0)]})
    result = load_corpus("csd", tmp_path)
    assert sorted(s.sample_id for s in result.samples) == ["abc[1]", "abcd[0]", "x9Y_z-1[0]"]
    [problem] = result.problems
    assert problem.sample_id == "abc[0]" and LABELS_FILE in problem.path
    assert "'abc[0]' starts at -0.01 s, before the start of the video; expected start >= 0" in problem.reason


def test_segment_command_skips_a_label_row_before_the_video_start(tmp_path):
    write_labels(tmp_path / "labels.csd", {"abc": BEFORE_START})
    _, segments, problems = _read_labels(tmp_path / "labels.csd", ["abc"])
    assert [(s[0], s[1], s[2]) for s in segments["abc"]] == [("abc[1]", 3.0, 6.0)]
    assert [p.sample_id for p in problems] == ["abc[0]"] and "expected start >= 0" in problems[0].reason
