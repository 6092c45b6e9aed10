"""ActivityNet Captions' annotation JSON (train.json, val_1.json, val_2.json), for the `activitynet-captions` loader.

Each file maps a video id to its length and its timed sentences, one sentence per [start, end] pair:
    {"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], [17.37, 60.81], ...],
                       "sentences": ["A young woman is seen standing in a room ...", ...]}, ...}
JSON has no useful line numbers for such files (the release writes each on one line), so entries are named
`file:line:column: v_QOlSCBRmfWY.timestamps[1]`, located only when a problem names them (a video's later
entry in the same file, at `file:line:column` where that entry starts).

The timed-sentence rules (`duration_reason`, `check_segment`, a repeated video's problems, `fit_segments`,
`fit_to_file`, `find_video`, `segment_samples`) are shared with the `youcook2` loader, whose entries are the same kind.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import REPEATED_ENTRY, JsonLocator, LoadProblem, expect, expect_text, json_number, read_json, \
    short_repr
from mmdata.corpora.json_keys import REPEATED_KEY_HINT, RepeatedKey
from mmdata.corpora.media_captions import MediaFolders, first_media_path, fit_span, missing_names_problem
from mmdata.corpora.mosi_raw_segments import empty_segment_problem
from mmdata.errors import CorpusFormatError
from mmdata.records import MODALITY_DURATION_KEYS, Sample


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
    #: The JSON's duration in seconds; None where it gives none (`null`, or no key): the video file's header
    #: then bounds the segments (`fit_segments`), which are not yet checked against the video's end.
    duration: float | None
    #: The entry's location, or that of one of its members: `where()`, `where("duration")`.
    where: Callable[..., str]
    segments: list[Segment] = field(default_factory=list)


def read_annotation_file(path: Path, id_base: Callable[[str], str], problems: list[LoadProblem]) -> list[AnnotatedVideo]:
    """The videos of one annotation file with the segments that can be loaded; the others are recorded in
    `problems` (named `file:line:column: <video>.timestamps[i]`) and left out. `id_base` turns a video id
    into the part of its segments' sample ids before `[i]`.

    Left out: a blank sentence, a segment starting before 0 s (2D-TAN's loader clamps such a start to 0; here
    the annotation is not rewritten), one starting at or after the video's end, an empty or reversed one;
    every segment of a video whose timestamps and sentences differ in number (which sentence goes with which
    span is unknown) or whose duration is not a positive number (`0`, `-5`, `"82.7"`: named at
    `<video>.duration`); and a video with no timed sentence at all. A segment ending past the video's
    duration is cut there (ActivityNet has many that end a little after their video) and keeps its annotated
    end. A video without duration (`null`, no key) keeps its segments unchecked against its end: the caller
    fits them to its file's duration (`fit_segments`). A video the file lists again keeps its first entry;
    each segment of a later one is recorded as a `REPEATED_ENTRY` named `file:line:column` where that entry
    starts (`json.loads` would keep the last silently).

    Raises:
        CorpusFormatError: invalid JSON, not an object of videos, a key repeated inside an entry, or an entry
            without a timestamps or sentences list, a [start, end] pair of finite numbers or a string sentence.
    """
    repeats: list[RepeatedKey] = []
    data = read_json(path, repeats)
    expect(isinstance(data, dict), path, "expected an object mapping video ids to {duration, timestamps, sentences} "
           f"(ActivityNet Captions' train.json, val_1.json, val_2.json), got {type(data).__name__}")
    locate = JsonLocator(path, first_of_repeated=True)  # a repeated video's entry kept is its first
    problems += [problem for repeat in repeats for problem in repeated_video_problems(repeat, id_base(repeat.key))]
    return [_read_video(video_id, entry, locate, id_base(video_id), problems) for video_id, entry in data.items()]


def repeated_video_problems(repeat: RepeatedKey, base: str, segments_key: str = "timestamps",
                            label: str | None = None) -> list[LoadProblem]:
    """A problem per segment of a video's later entry in the same file (its first entry is loaded), named
    where the later entry starts (`file:line:column`, then `: <label>` where given, e.g. `database.<video>`
    for a loader whose other problems name the entry's path), `base[i]` for segment i of its `segments_key`
    list; one problem for the video when the entry has no such list."""
    timestamps = repeat.value.get(segments_key) if isinstance(repeat.value, dict) else None
    where = f"{repeat.where}: {label}" if label else repeat.where
    reason = (f"video {repeat.key!r} is listed again in this file (first at line {repeat.first}); its later "
              f"entry left out; {REPEATED_KEY_HINT}")
    if not isinstance(timestamps, list) or not timestamps:
        return [LoadProblem(repeat.key, where, reason, REPEATED_ENTRY)]
    return [LoadProblem(f"{base}[{i}]", where, f"segment {i} of {reason}", REPEATED_ENTRY)
            for i in range(len(timestamps))]


def duration_reason(video_id: str, duration: Any, segments: int) -> str | None:
    """Why a video's JSON `duration` leaves its `segments` out (`0`, `-5`, `"82.7"`: no positive number of
    seconds), else None (a positive number, or null/absent: the video file's own is used)."""
    if duration is None or (json_number(duration) and duration > 0):
        return None
    return (f"video {video_id!r} has duration {short_repr(duration)}; expected a positive number of seconds (or "
            f"null, for the video file's own); its {segments} segments left out")


def check_segment(sample_id: str, index: int, start: float, end: float, caption: str, where: Callable[[], str],
                  problems: list[LoadProblem]) -> Segment | None:
    """The segment of a parsed [start, end] pair and its stripped sentence (not yet held to the video's
    duration: `fit_segments`), or None with its problem recorded: a blank sentence, a start before 0 s (not
    clamped to 0, as 2D-TAN's loader does: the annotation is not rewritten), an empty or reversed span."""
    if not caption:
        problems.append(LoadProblem(sample_id, where(), "blank sentence; segment left out"))
    elif start < 0:
        problems.append(LoadProblem(sample_id, where(), (
            f"segment starts at {start!r} s, before the start of the video; expected start >= 0; segment left "
            "out (the video's other segments keep their ids)")))
    elif end <= start:
        problems.append(empty_segment_problem(sample_id, where(), start, end))
    else:
        return Segment(sample_id, index, start, end, caption, None, where)
    return None


def fit_segments(video: AnnotatedVideo, duration: float, problems: list[LoadProblem], *, source: str = "") -> None:
    """Hold `video`'s segments to its `duration` (seconds): one starting at or after it is left out (recorded
    in `problems`), one ending past it is cut there, keeping its annotated end. `source` says where the
    duration comes from when not from the JSON (`, from v_x.mp4's header`)."""
    kept = []
    for segment in video.segments:
        end = fit_span(segment.start, segment.end, duration, sample_id=segment.sample_id, where=segment.where,
                       source=source)
        if isinstance(end, LoadProblem):
            problems.append(end)
        elif end < segment.end:
            kept.append(dataclasses.replace(segment, end=end, annotated_end=segment.end))
        else:
            kept.append(segment)
    video.segments = kept


def fit_to_file(video: AnnotatedVideo, path: str, span: dict[str, float], problems: list[LoadProblem]) -> bool:
    """Hold the segments of a video the JSON gives no duration to its file's (`span`, from the header);
    False, with the video's problem recorded, where the header states none either."""
    duration = span.get(MODALITY_DURATION_KEYS["video"])
    if duration is None:
        problems.append(LoadProblem(video.video_id, video.where("duration"), (
            f"video {video.video_id!r} has no duration, and the header of {path} states none; its "
            f"{len(video.segments)} segments left out")))
        return False
    fit_segments(video, duration, problems, source=f", from {path}'s header")
    return True


def find_video(corpus_dir: Path, folders: MediaFolders, video: AnnotatedVideo, names: list[str],
               problems: list[LoadProblem], *, allow_outside: bool) -> str | None:
    """The checked path of `video`'s file, the first of `names` (first first) that `folders` hold; else None,
    with a problem per segment naming the folders and every name looked for."""
    path = first_media_path(corpus_dir, folders, names, where=video.where, allow_outside=allow_outside)
    if path is None:
        problems += [missing_names_problem(corpus_dir, folders, names, s.sample_id, s.where(), "video",
                                           left_out="segment") for s in video.segments]
    return path


def segment_samples(corpus: str, video: AnnotatedVideo, path: str, span: dict[str, float], split: str,
                    extra: dict[str, Any], problems: list[LoadProblem]) -> list[Sample]:
    """A sample per segment of `video`, whose file is `path` (`span`: its header's length, `extra.video_duration`):
    `extra` holds the JSON's duration, the loader's own `extra`, the span, the segment's index and, for a cut
    segment, its annotated end. [] where the JSON and the header give no duration (`fit_to_file`)."""
    if video.duration is None and not fit_to_file(video, path, span, problems):
        return []
    shared = {**({"duration": video.duration} if video.duration is not None else {}), **extra, **span}
    return [_segment_sample(corpus, segment, video.video_id, path, split, shared) for segment in video.segments]


def _segment_sample(corpus: str, segment: Segment, video_id: str, path: str, split: str, shared: dict) -> Sample:
    extra = {**shared, "segment": segment.index}
    if segment.annotated_end is not None:
        extra["annotated_end"] = segment.annotated_end
    return Sample(sample_id=segment.sample_id, corpus=corpus, split=split, group_id=video_id, video=path,
                  start=segment.start, end=segment.end, captions=(segment.caption,), extra=extra)


def _read_video(video_id: str, entry: Any, locate: JsonLocator, base: str,
                problems: list[LoadProblem]) -> AnnotatedVideo:
    where = lambda *steps: locate.where(video_id, *steps)  # noqa: E731 (located only on failure)
    if not isinstance(entry, dict):
        raise CorpusFormatError(f"{where()}: expected an object with duration, timestamps and sentences, "
                                f"got {short_repr(entry)}")
    timestamps, sentences = entry.get("timestamps"), entry.get("sentences")
    for key, value in (("timestamps", timestamps), ("sentences", sentences)):
        if not isinstance(value, list):
            raise CorpusFormatError(f"{where()}: expected a '{key}' list, got {short_repr(value)}")
    duration = entry.get("duration")
    video = AnnotatedVideo(video_id, float(duration) if json_number(duration) else None, where)
    unusable = _unusable_video_reason(video_id, duration, len(timestamps), len(sentences))
    if unusable is not None:
        problems.append(LoadProblem(video_id, where(*unusable[0]), unusable[1]))
        return video
    for i, (stamp, sentence) in enumerate(zip(timestamps, sentences)):
        segment = _read_segment(video, i, stamp, sentence, locate, f"{base}[{i}]", problems)
        if segment is not None:
            video.segments.append(segment)
    if video.duration is not None:
        fit_segments(video, video.duration, problems)
    return video


def _unusable_video_reason(video_id: str, duration: Any, timestamps: int,
                           sentences: int) -> tuple[tuple[str, ...], str] | None:
    """Why none of a video's segments can be loaded (with the steps to the entry's member it names), else
    None: a duration that is no positive number, timestamps and sentences of different counts, or none."""
    unusable_duration = duration_reason(video_id, duration, max(timestamps, sentences))
    if unusable_duration is not None:
        return ("duration",), unusable_duration
    if timestamps != sentences:
        return (), (f"video {video_id!r} has {timestamps} timestamps but {sentences} sentences; expected one "
                    f"sentence per [start, end] pair; its {max(timestamps, sentences)} segments left out (which "
                    "sentence goes with which span is unknown)")
    if timestamps == 0:
        return (), f"video {video_id!r} has no timed sentence (empty timestamps and sentences); left out"
    return None


def _read_segment(video: AnnotatedVideo, i: int, stamp: Any, sentence: Any, locate: JsonLocator, sample_id: str,
                  problems: list[LoadProblem]) -> Segment | None:
    """Segment i of `video` (not yet held to its duration: `fit_segments`), or None with its problem recorded
    (its index stays its own: the video's other segments keep their ids)."""
    where = lambda: locate.where(video.video_id, "timestamps", i)  # noqa: E731
    if not isinstance(stamp, list) or len(stamp) != 2 or not all(json_number(t) for t in stamp):
        raise CorpusFormatError(f"{where()}: expected [start, end] in seconds (finite numbers), got {short_repr(stamp)}")
    caption = expect_text(sentence, lambda: locate.where(video.video_id, "sentences", i), "a sentence",
                          allow_empty=True).strip()
    return check_segment(sample_id, i, float(stamp[0]), float(stamp[1]), caption, where, problems)
