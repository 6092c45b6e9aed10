"""ActivityNet Captions' annotation JSON (train.json, val_1.json, val_2.json), for the `activitynet-captions` loader.

Each file maps a video id to its length and its timed sentences, one sentence per [start, end] pair:
    {"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], [17.37, 60.81], ...],
                       "sentences": ["A young woman is seen standing in a room ...", ...]}, ...}
JSON has no useful line numbers for such files (the release writes each on one line), so entries are named
`file:line:column: v_QOlSCBRmfWY.timestamps[1]`, located only when a problem names them.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import JsonLocator, LoadProblem, expect, expect_text, read_json, short_repr
from mmdata.corpora.mosi_raw_segments import empty_segment_problem
from mmdata.errors import CorpusFormatError


@dataclass(frozen=True)
class Segment:
    """One timed sentence of a video: its sample id, its index in the video's lists and its span in seconds."""

    sample_id: str
    index: int
    start: float
    end: float
    caption: str
    #: The end as annotated where it ran past the video's duration (the span is cut there), else None.
    annotated_end: float | None
    where: Callable[[], str]


@dataclass
class AnnotatedVideo:
    """One entry of an annotation file: the video id (the JSON key), its duration and its usable segments."""

    video_id: str
    duration: float
    where: Callable[[], str]
    segments: list[Segment] = field(default_factory=list)


def read_annotation_file(path: Path, id_base: Callable[[str], str], problems: list[LoadProblem]) -> list[AnnotatedVideo]:
    """The videos of one annotation file with the segments that can be loaded; the others are recorded in
    `problems` (named `file:line:column: <video>.timestamps[i]`) and left out. `id_base` turns a video id
    into the part of its segments' sample ids before `[i]`.

    Left out: a blank sentence, a segment starting before 0 s, one starting at or after the video's end,
    an empty or reversed one, and every segment of a video whose timestamps and sentences differ in number
    (which sentence goes with which span is unknown). A segment ending past the video's duration is cut
    there (ActivityNet has many that end a little after their video) and keeps its annotated end.

    Raises:
        CorpusFormatError: invalid JSON, not an object of videos, or an entry without a positive duration,
            a timestamps or sentences list, a [start, end] pair of finite numbers or a string sentence.
    """
    data = read_json(path)
    expect(isinstance(data, dict), path, "expected an object mapping video ids to {duration, timestamps, sentences} "
           f"(ActivityNet Captions' train.json, val_1.json, val_2.json), got {type(data).__name__}")
    locate = JsonLocator(path)
    return [_read_video(video_id, entry, locate, id_base(video_id), problems) for video_id, entry in data.items()]


def _read_video(video_id: str, entry: Any, locate: JsonLocator, base: str,
                problems: list[LoadProblem]) -> AnnotatedVideo:
    where = lambda: locate.where(video_id)  # noqa: E731 (located only on failure)
    if not isinstance(entry, dict):
        raise CorpusFormatError(f"{where()}: expected an object with duration, timestamps and sentences, "
                                f"got {short_repr(entry)}")
    duration = entry.get("duration")
    if not _is_number(duration) or duration <= 0:
        raise CorpusFormatError(f"{where()}: expected a positive 'duration' in seconds, got {short_repr(duration)}")
    video = AnnotatedVideo(video_id, float(duration), where)
    timestamps, sentences = entry.get("timestamps"), entry.get("sentences")
    for key, value in (("timestamps", timestamps), ("sentences", sentences)):
        if not isinstance(value, list):
            raise CorpusFormatError(f"{where()}: expected a '{key}' list, got {short_repr(value)}")
    if len(timestamps) != len(sentences):
        problems.append(LoadProblem(video_id, where(), (
            f"video {video_id!r} has {len(timestamps)} timestamps but {len(sentences)} sentences; expected one "
            f"sentence per [start, end] pair; its {max(len(timestamps), len(sentences))} segments left out (which "
            "sentence goes with which span is unknown)")))
        return video
    for i, (stamp, sentence) in enumerate(zip(timestamps, sentences)):
        segment = _read_segment(video, i, stamp, sentence, locate, f"{base}[{i}]", problems)
        if segment is not None:
            video.segments.append(segment)
    return video


def _read_segment(video: AnnotatedVideo, i: int, stamp: Any, sentence: Any, locate: JsonLocator, sample_id: str,
                  problems: list[LoadProblem]) -> Segment | None:
    """Segment i of `video`, or None with its problem recorded (its index stays its own: the video's other
    segments keep their ids)."""
    where = lambda: locate.where(video.video_id, "timestamps", i)  # noqa: E731
    if not isinstance(stamp, list) or len(stamp) != 2 or not all(_is_number(t) for t in stamp):
        raise CorpusFormatError(f"{where()}: expected [start, end] in seconds (finite numbers), got {short_repr(stamp)}")
    caption = expect_text(sentence, lambda: locate.where(video.video_id, "sentences", i), "a sentence",
                          allow_empty=True).strip()
    start, end = float(stamp[0]), float(stamp[1])
    reason = None
    if not caption:
        reason = "blank sentence; segment left out"
    elif start < 0:
        reason = (f"segment starts at {start!r} s, before the start of the video; expected start >= 0; segment left "
                  "out (the video's other segments keep their ids)")
    elif start >= video.duration:
        reason = (f"segment starts at {start!r} s, at or after the end of the video (duration {video.duration!r} s); "
                  "segment left out (the video's other segments keep their ids)")
    elif end <= start:
        problems.append(empty_segment_problem(sample_id, where(), start, end))
        return None
    if reason is not None:
        problems.append(LoadProblem(sample_id, where(), reason))
        return None
    annotated_end = end if end > video.duration else None
    return Segment(sample_id, i, start, min(end, video.duration), caption, annotated_end, where)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
