"""`mmdata check` warns (`events-past-media`) about timed sound events (`extra.events`) that end past their audio's
end, for the `event-targets` table made from them: the table has no frame there. An overrun under half a frame,
events in a segment shorter than the file, a sample of unknown duration and a dataset without such a table pass."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from mmdata.checks import check_dataset
from mmdata.checks.events import check_events_within_media, last_event_ends
from tests.features.test_event_targets_end_to_end import ROWS, extract, write_corpus

OVERRUN = {
    "long-dog": {"events": [[0.0, 0.5, "Speech"], [1.5, 2.6, "Dog"]], "audio_duration": 2.0},  # 0.6 s past the end
    "a-hair-over": {"events": [[1.0, 2.04, "Music"]], "audio_duration": 2.0},  # under half a 10 Hz frame: fine
    "segment": {"start": 0.0, "end": 1.0, "events": [[0.5, 1.8, "Dog"]], "audio_duration": 2.0},  # within the file
    "late-start": {"events": [[1.0, 2.9, "Dog"]], "audio_duration": 2.0, "audio_media_start": 1.0},  # audio 1-3 s
}


def test_events_past_the_audio_end_are_a_warning_naming_the_samples(tmp_path):
    corpus, out = write_corpus(tmp_path / "corpus", {**ROWS, **OVERRUN}), tmp_path / "out"
    assert extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}").exit_code == 0
    report = check_dataset(out)
    found = [i for i in report.issues if i.code == "events-past-media"]
    assert len(found) == 1, report.issues
    issue = found[0]
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("warning", "audio.event-targets", "long-dog", 1)
    assert "ends at 2.600 s" in issue.message and "audio at 2.000 s" in issue.message and "0.600 s" in issue.message
    assert report.ok  # a warning: the table is as it should be


def test_a_dataset_whose_events_fit_their_audio_passes(tmp_path):
    corpus, out = write_corpus(tmp_path / "corpus", ROWS), tmp_path / "out"
    assert extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}").exit_code == 0
    assert not [i for i in check_dataset(out).issues if i.code == "events-past-media"]


def test_a_segment_running_past_its_audio_is_left_to_the_interval_check(tmp_path):
    """Frames follow a segment's end, past the audio too: the events are in the targets, and `intervals-outside`
    is the finding."""
    rows = {"past": {"start": 0.0, "end": 3.0, "events": [[0.0, 2.6, "Dog"]], "audio_duration": 2.0}}
    corpus, out = write_corpus(tmp_path / "corpus", rows), tmp_path / "out"
    assert extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}").exit_code == 0
    codes = {i.code for i in check_dataset(out).issues}
    assert "events-past-media" not in codes and "intervals-outside" in codes


def test_last_event_ends_reads_only_well_formed_events():
    extra = pa.chunked_array([[json.dumps({"events": [[0, 1.5, "a"], [0.2, 3, "b"]]}), None, json.dumps({"x": 1}),
                               json.dumps({"events": [[0, "2", "a"], "junk", [0, 1]]}), "not json {\"events\"",
                               json.dumps({"events": []}), '{"events": [[0, 1' + "0" * 400 + ', "a"]]}',
                               '{"events": ' + "[" * 100_000 + "]" * 100_000 + "}", json.dumps(["events"])]])
    np.testing.assert_array_equal(last_event_ends(extra), [3.0] + [np.nan] * 8)
    chosen = np.array([False] + [True] * 8)
    assert np.isnan(last_event_ends(extra, chosen)).all()  # rows not chosen are not read


def test_every_example_asked_for_is_listed():
    ids = pa.array([f"s{i}" for i in range(8)])
    issue, = check_events_within_media("t", ids, np.full(8, 11.0), np.full(8, 10.0), 0.05, max_examples=8)
    assert issue.count == 8 and list(issue.examples) == [f"s{i}" for i in range(8)]


def test_unknown_durations_are_not_judged():
    ids = pa.array(["a", "b", "c"])
    issues = check_events_within_media("t", ids, np.array([10.0, 10.0, np.nan]), np.array([np.nan, 10.0, 5.0]), 0.05)
    assert issues == []
