"""`records.media_span_of` reads a parsed `extra` dict by the rule `records.media_spans` applies to JSON text."""
from __future__ import annotations

import json
import math

import pyarrow as pa
import pytest

from mmdata.records import DURATION_KEYS, duration_keys, media_span_of, media_spans

EXTRAS = [
    {},
    {"duration": 12.5},
    {"duration": "12.5"},
    {"duration": " 3 "},
    {"duration": -1.0, "media_duration": 4.0},
    {"duration": "inf", "media_duration": "2e1"},
    {"duration": True, "media_duration": None},
    {"duration": [1, 2]},
    {"audio_duration": 9.75, "audio_media_start": 0.5},
    {"audio_duration": 9.75, "audio_media_start": "0.25"},
    {"audio_duration": 9.75, "audio_media_start": -0.1},
    {"audio_duration": 9.75, "audio_media_start": "late"},
    {"audio_duration": 0, "video_duration": 10.0, "video_media_start": 1.0},
    {"video_duration": 10.0, "video_media_start": 1.0, "duration": 8.0, "media_start": 0.4},
    {"duration": 1e400},
]


@pytest.mark.parametrize("keys", [DURATION_KEYS, duration_keys("audio"), duration_keys("video"), duration_keys("text")])
@pytest.mark.parametrize("extra", EXTRAS, ids=lambda e: json.dumps(e) if e.get("duration") != 1e400 else "1e400")
def test_the_span_of_a_dict_is_the_span_media_spans_reads_from_its_json(extra, keys):
    text = json.dumps(extra).replace("Infinity", "1e400")  # as a JSON writer spells a huge number
    starts, durations = media_spans(pa.array([text], pa.string()), keys)
    start, duration = media_span_of(extra, keys)
    expected = (float(starts[0]), float(durations[0]))
    assert [math.isnan(v) for v in (start, duration)] == [math.isnan(v) for v in expected]
    assert [v for v in (start, duration) if not math.isnan(v)] == [v for v in expected if not math.isnan(v)]
