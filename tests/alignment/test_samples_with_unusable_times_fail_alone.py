"""A sample whose intervals cannot be aligned (a NaN time, an interval ending before it starts in any
table, reference rows not sorted by start) fails alone: null outputs and its reason in every output's
errors table, or, with on_error='fail', one error line naming the sample, the table, the row and a hint.
Before, NaN rows vanished (counted as words with no overlap, or zero-filled under a NaN interval) and a
reversed row counted as a piece of negative length. `segment` fails such a video's segments alike."""
from __future__ import annotations

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError
from tests.alignment.corpus import extract_videos, read_errors, read_rows, set_intervals, write_corpus
from tests.fakes.csd import LABELS_ROOT, write_sdk_csd

runner = CliRunner()
WORDS = {v: [("a", 0.0, 1.0), ("b", 1.0, 2.0), ("c", 2.0, 3.0)] for v in ("bad", "good")}
FRAMES = {v: (np.arange(6, dtype=np.float32).reshape(-1, 1), np.stack([np.arange(6) / 2, np.arange(1, 7) / 2], 1))
          for v in WORDS}
OUTPUTS = ("text.words@text.words", "audio.covarep@text.words")
WORD_TIMES = {
    "nan": [[0.0, 1.0], [np.nan, 2.0], [2.0, 3.0]],
    "reversed": [[0.0, 1.0], [2.0, 1.0], [2.0, 3.0]],
    "unsorted": [[1.0, 2.0], [0.0, 1.0], [2.0, 3.0]],
}
REASONS = {
    "nan": r"table 'text.words': interval row 1 is \[nan, 2.0\]; expected finite seconds; nothing aligned for this sample",
    "reversed": r"table 'text.words': interval row 1 ends before it starts \(2.0 -> 1.0 s\); expected end >= start",
    "unsorted": r"table 'text.words': intervals are not sorted by start: row 1 starts at 0.0 s, before row 0 at 1.0 s; "
                r"expected non-decreasing starts; .*-o unsorted=sort",
}


@pytest.fixture
def dataset(tmp_path):
    return extract_videos(write_corpus(tmp_path / "csd", WORDS, FRAMES), tmp_path / "out")


@pytest.mark.parametrize("case", sorted(WORD_TIMES))
def test_a_reference_with_unusable_times_fails_its_sample_and_records_why(dataset, case):
    set_intervals(dataset, "text.words", "bad", WORD_TIMES[case])
    report = align_dataset(dataset, "text.words")
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [(name, 2, 1) for name in OUTPUTS]
    assert (report.intervals, report.kept, report.dropped) == (3, 3, 0)  # the good sample's alone
    for name in OUTPUTS:
        rows = read_rows(dataset, name)
        assert rows["bad"]["feature"] is None and rows["bad"]["keys"] is None
        assert rows["good"]["keys"] == ["good[0]", "good[1]", "good[2]"]
        error = read_errors(dataset, name)["bad"]
        assert (error["stage"], error["error_type"]) == ("align", "DatasetError")
        assert re.match(REASONS[case], error["reason"]), error["reason"]


def test_nan_times_in_an_aligned_table_fail_the_sample_instead_of_losing_the_row(dataset):
    covarep_times = np.stack([np.arange(6) / 2, np.arange(1, 7) / 2], 1).tolist()
    covarep_times[2][1] = float("nan")
    set_intervals(dataset, "audio.covarep", "bad", covarep_times)
    result = runner.invoke(app, ["align", str(dataset), "-r", "text.words", "--on-error", "fail"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: sample 'bad': table 'audio.covarep': interval row 2 is [1.0, nan]; expected finite seconds; nothing "
        "aligned for this sample; fix the table's times, e.g. extract it again (`mmdata check` names such rows); "
        "`--on-error skip` (on_error='skip') gives it null outputs, recorded in the errors table"]
    assert not (dataset / "features" / "audio.covarep@text.words").exists()  # a stopped run leaves nothing
    align_dataset(dataset, "text.words")
    assert read_rows(dataset, "audio.covarep@text.words")["bad"]["feature"] is None
    assert "interval row 2 is [1.0, nan]" in read_errors(dataset, "audio.covarep@text.words")["bad"]["reason"]


def test_unsorted_rows_of_an_aligned_table_are_sorted_as_the_sdk_sorts_them(dataset):
    times = np.stack([np.arange(6) / 2, np.arange(1, 7) / 2], 1).tolist()
    set_intervals(dataset, "audio.covarep", "bad", [times[1], times[0], *times[2:]])  # rows 0 and 1 swap times
    report = align_dataset(dataset, "text.words", collapse="first")
    assert [t.errors for t in report.tables] == [0, 0]
    # word a [0, 1]: the first piece by start time is row 1 (now [0, 0.5]), not row 0
    assert read_rows(dataset, "audio.covarep@text.words")["bad"]["feature"] == [[1.0], [2.0], [4.0]]


def test_segment_fails_the_segments_of_a_video_whose_rows_have_unusable_times(dataset, tmp_path):
    labels = write_sdk_csd(tmp_path / "labels.csd", LABELS_ROOT, {
        v: (np.array([[1.0], [-1.0]], np.float32), np.array([[0.0, 1.5], [1.5, 3.0]])) for v in WORDS})
    set_intervals(dataset, "text.words", "bad", WORD_TIMES["nan"])
    report = segment_dataset(dataset, tmp_path / "segments", labels)
    assert report.bad_times == {"audio.covarep": 0, "text.words": 2}
    rows = read_rows(tmp_path / "segments", "text.words")
    assert rows["bad[0]"]["feature"] is None and rows["good[0]"]["words"] == ["a", "b"]
    reason = read_errors(tmp_path / "segments", "text.words")["bad[1]"]["reason"]
    assert reason.startswith("table 'text.words', video 'bad': interval row 1 is [nan, 2.0]; expected finite seconds; "
                             "no segment of this video cut from it")
    result = runner.invoke(app, ["segment", str(dataset), str(tmp_path / "again"), "-l", str(labels)])
    assert "table text.words: 4 rows, 2 failed (2 whose video's rows have NaN or reversed times; reasons in the " \
           "errors table)" in result.output


def test_a_stopped_run_names_the_sample_with_the_default_on_missing_error(dataset):
    set_intervals(dataset, "text.words", "bad", WORD_TIMES["reversed"])
    with pytest.raises(DatasetError, match=r"^sample 'bad': table 'text.words': interval row 1 ends before it starts"):
        align_dataset(dataset, "text.words", on_error="fail")
