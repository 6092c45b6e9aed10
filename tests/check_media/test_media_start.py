"""`check` measures a whole clip from where its medium starts (a stream may start after 0), not from 0."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from mmdata.checks import temporal
from mmdata.records import duration_keys, media_ends, media_spans


def test_media_spans_pair_the_start_with_the_duration_key_it_goes_with():
    extra = pa.array(['{"video_duration": 5.0, "video_media_start": 1.0}', '{"video_duration": 5.0}',
                      '{"duration": 4, "media_start": "1.4"}', None])
    starts, durations = media_spans(extra, duration_keys("video"))
    assert np.allclose(starts[:3], [1.0, 0.0, 1.4]) and np.allclose(durations[:3], [5.0, 5.0, 4.0])
    assert np.isnan(starts[3]) and np.isnan(durations[3])


def test_a_dataset_written_before_start_keys_checks_from_zero():
    starts, durations = media_spans(pa.array(['{"video_duration": 6.0}']), duration_keys("video"))
    assert (starts[0], durations[0]) == (0.0, 6.0)


def test_frames_of_a_stream_starting_at_one_second_match_its_span():
    # 25 frames at 5 Hz of a video stream spanning [1, 6] in its file: no frame-count error
    intervals = np.stack([1.0 + np.arange(25) / 5, 1.2 + np.arange(25) / 5], axis=1)
    offsets = np.array([0, 25])
    lo, hi = np.array([1.0]), np.array([6.0])
    width = temporal.span_width(offsets, intervals, lo, hi)
    assert temporal.check_frame_count("v", pa.array(["vidD_1"]), np.array([25]), width, 5.0, 0.1) == []
    assert temporal.check_interval_span("v", pa.array(["vidD_1"]), offsets, intervals, lo, hi, hi, 0.0) == []


def test_a_whole_clip_of_unknown_span_is_measured_from_its_first_interval():
    intervals = np.stack([1.4667 + np.arange(25) / 5, 1.6667 + np.arange(25) / 5], axis=1)
    offsets = np.array([0, 25])
    width = temporal.span_width(offsets, intervals, np.array([np.nan]), np.array([np.nan]))
    assert np.isclose(width[0], 5.0)
    coverage = temporal.segment_coverage(offsets, intervals, np.array([np.nan]), np.array([np.nan]))
    assert np.isclose(coverage[0], 1.0)


def test_duration_unknown_hint_names_the_place_of_each_corpus_kind():
    hint = {kind: temporal.check_known_span("v", pa.array(["a"]), np.array([np.nan]), corpus_kind=kind)[0].message
            for kind in ("manifest", "mosi-raw", "mmsa-raw")}
    assert "to the manifest" in hint["manifest"] and "segments.csv" not in hint["manifest"]
    assert "segments.csv" in hint["mosi-raw"]
    assert "mmsa-raw loader cannot record media durations" in hint["mmsa-raw"] and "segments.csv" not in hint["mmsa-raw"]


def test_media_ends_add_the_start_to_the_duration():
    extra = pa.array(['{"video_duration": 5.0, "video_media_start": 1.0}', '{"video_duration": 6.0}', "{}"])
    ends = media_ends(extra, duration_keys("video"))
    np.testing.assert_array_equal(ends[:2], [6.0, 6.0])  # a stream from 1 s to 6 s; one from 0 s to 6 s
    assert np.isnan(ends[2])
