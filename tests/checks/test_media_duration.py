"""Media durations in `extra` bound the intervals of whole clips (start/end null); without one the
check says once per table what it could not verify."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest

from mmdata.checks import CheckOptions, check_dataset
from mmdata.records import media_durations
from tests.checks.builder import build_dataset, clip_table, mosi_samples, with_value

MOSI = {"corpus_kind": "mosi-raw", "corpus_options": {"dataset": "cmu-mosi"}}
#: Whole clips of 2 s each (as the CMU layout yields them), with no duration yet.
CLIPS = [replace(s, start=None, end=None, extra={}) for s in mosi_samples()]


def _clips(tmp_path, durations, audio=None, **kwargs):
    """Whole-clip dataset; `durations[sample_id]` is its extra.duration (absent: none)."""
    samples = [replace(s, extra={"duration": durations[s.sample_id]}) if s.sample_id in durations else s for s in CLIPS]
    tables = [audio or clip_table("audio.f", samples, 3, 10.0, 2.0), clip_table("video.g", samples, 2, 5.0, 2.0)]
    return build_dataset(tmp_path / "ds", samples, tables, **{**MOSI, **kwargs})


def _found(report, code):
    return [i for i in report.issues if i.code == code]


def test_durations_from_json_numbers_and_numeric_strings():
    extra = pa.chunked_array([
        ['{"duration": 2.5, "words": [["a", 0.1, 0.4]]}', '{"duration": "3.25"}', '{"duration": " 4 "}', None],
        ['{"media_duration": "1e1"}', '{"duration": "n/a", "media_duration": 6}', '{"duration": 0}', '{"id": 1}'],
        ['{"duration": -1}', '{"duration": "-2"}', '{"duration": "inf"}', '{"duration": NaN}', '{"duration": true}',
         '{"duration": "1,5"}', '{"duration": "2 s"}', '{"duration": 1e400}'],
    ])
    expected = [2.5, 3.25, 4.0, np.nan, 10.0, 6.0, 0.0, np.nan] + [np.nan] * 8  # negative, not finite, not a number
    np.testing.assert_array_equal(media_durations(extra), expected)


def test_duration_given_as_a_string_bounds_whole_clip_intervals(tmp_path):
    durations = {s.sample_id: "2.0" for s in CLIPS}  # a `duration` column of segments.csv arrives as text
    clean = check_dataset(_clips(tmp_path / "clean", durations))
    assert clean.ok and clean.codes() == {"split-counts"}
    audio = clip_table("audio.f", CLIPS, 3, 10.0, 2.0)
    index = [s.sample_id for s in CLIPS].index("vid2[1]")
    late = audio.intervals[index] + 0.5  # the last rows end past the clip's 2 s
    late_audio = with_value(audio, index, audio.values[index], late)
    report = check_dataset(_clips(tmp_path / "late", durations, audio=late_audio))
    issue = _found(report, "intervals-outside")[0]
    assert (issue.severity, issue.table, issue.sample_id) == ("error", "audio.f", "vid2[1]")
    assert "ends past the media's duration (2 s" in issue.message


def test_string_duration_measures_the_coverage_of_a_half_covered_clip(tmp_path):
    durations = {s.sample_id: "2.0" for s in CLIPS}
    report = check_dataset(_clips(tmp_path, durations, audio=clip_table("audio.f", CLIPS, 3, 10.0, 1.0)),
                           CheckOptions(min_coverage=0.9))
    assert report.tables["audio.f"]["coverage_min"] == pytest.approx(0.5)
    issue = _found(report, "coverage-low")[0]
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("warning", "audio.f", "vid0[0]", 12)


def test_whole_clips_without_a_duration_are_one_warning_per_table(tmp_path):
    report = check_dataset(_clips(tmp_path, {}))
    assert report.ok  # the data may be right; the bounds just could not be checked
    issues = _found(report, "duration-unknown")
    assert [(i.table, i.severity, i.sample_id, i.count) for i in issues] == [
        ("audio.f", "warning", "vid0[0]", 12), ("video.g", "warning", "vid0[0]", 12)]
    assert "12 of 12 samples with a feature have no end time and no known media duration" in issues[0].message
    assert "add a `duration` column (seconds) to the corpus's segment list" in issues[0].message


def test_stored_sequences_without_media_files_are_an_info_that_says_there_is_nothing_to_add(tmp_path):
    samples = [replace(s, audio=None, video=None) for s in CLIPS]  # as a .csd corpus's samples
    tables = [clip_table("audio.f", samples, 3, 10.0, 2.0)]
    (issue,) = _found(check_dataset(build_dataset(tmp_path / "ds", samples, tables, **MOSI)), "duration-unknown")
    assert issue.severity == "info"  # not a warning: no column the user could add would let it be checked
    assert "names no media files to measure them against (stored sequences), so there is nothing to add" in issue.message


def test_only_the_clips_without_a_duration_are_counted(tmp_path):
    durations = {s.sample_id: 2.0 for s in CLIPS if s.sample_id not in ("vid1[2]", "vid3[0]")}
    issues = _found(check_dataset(_clips(tmp_path, durations)), "duration-unknown")
    assert [(i.table, i.sample_id, i.count) for i in issues] == [("audio.f", "vid1[2]", 2), ("video.g", "vid1[2]", 2)]
    assert issues[0].message.startswith("2 of 12 samples") and "'vid1[2]', 'vid3[0]'" in issues[0].message


def test_a_segment_covered_exactly_at_the_threshold_is_not_low(tmp_path):
    durations = {s.sample_id: "2.0" for s in CLIPS}  # audio covers 1.0 s of 2.0: 0.4999... after summing
    report = check_dataset(_clips(tmp_path, durations, audio=clip_table("audio.f", CLIPS, 3, 10.0, 1.0)),
                           CheckOptions(min_coverage=0.5))
    assert report.tables["audio.f"]["coverage_min"] == pytest.approx(0.5)
    assert not _found(report, "coverage-low")


def test_frames_at_a_rate_without_intervals_say_their_count_was_not_checked(tmp_path):
    frames = clip_table("audio.f", CLIPS, 3, 10.0, 2.0)
    frames = replace(frames, spec=replace(frames.spec, intervals=False), intervals=None)
    issue = _found(check_dataset(_clips(tmp_path, {}, audio=frames)), "duration-unknown")[0]
    assert (issue.table, issue.severity, issue.count) == ("audio.f", "warning", 12)
    assert "frame counts could not be checked" in issue.message
