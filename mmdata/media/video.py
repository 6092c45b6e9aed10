"""Video frames sampled at a chosen rate with PyAV, segment-aware.

Sampling: within the segment `[start, end)` (default: the whole video) the k-th sample is taken at
`t_k = t_0 + k / fps` and shows the frame on screen at that instant (the last frame whose
presentation time is <= t_k). It stands for the interval `[t_k, min(t_k + 1/fps, end))`, so sampled
frames tile the segment; times are seconds of the media file. `t_0` is `start`, or the first frame's
presentation time when that comes later: a stream whose time line starts after 0 (MPEG-TS, a cut
file) has no frame on screen before its first one, so none is made up. The last frame stays on
screen for its own duration (variable frame rate files state it per frame), else for one frame at
the stream's average rate. A rate above the video's own frame rate repeats frames, which keeps the
table at the rate that was asked for.

Pixels are PyAV's `VideoFrame.to_ndarray(format="rgb24")` of each decoded frame: the frame's own
colour matrix and range (BT.601 when untagged, as FFmpeg assumes), 8 bits per channel (10-bit and
grey sources convert too). With `autorotate` (the default) a frame whose display matrix turns it by a
multiple of 90 degrees (phone videos) is turned upright, pixel for pixel as the `ffmpeg` command line
and torchcodec turn it; other angles and mirroring are not applied (a warning names the file). Without it
frames are seen as stored, as PyAV and `torchvision.io.read_video` return them. A sample aspect ratio is
not applied (an anamorphic frame keeps its stored width, as the command line and torchcodec give it).
Where chroma goes through FFmpeg's general scaler (odd sizes, high bit depth), PyAV's interpolation
(bilinear) can differ from the command line's and torchcodec's at sharp colour edges; flat areas agree.

A truncated file is a `MediaError`, not a shorter clip: when the stream decodes to its last frame
before the end it was asked for (the segment's end, else the end of the video) and the file states
where the video ends (the stream's duration; else its frame count at the average rate; else a
Matroska `DURATION` tag; else the container's duration when the video is its only stream), the
frames must reach that end to within one frame plus `TRUNCATION_TOLERANCE`. A file that states no
duration is read as it decodes. A segment end past the stated end of the video is measured against
that end here; how far past it may be is the extractor's rule
(`mmdata.features.audio_frames.check_segment_overrun`).

Torch-free on purpose: this runs in the decode worker processes.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import MediaError, MmdataError
from mmdata.media.files import check_media_file, is_regular_file

log = logging.getLogger(__name__)

_EPS = 1e-6
#: FFmpeg's `AV_DISPOSITION_DEFAULT` and `AV_DISPOSITION_ATTACHED_PIC` bits of a stream's disposition.
_DISPOSITION_DEFAULT = 0x1
_DISPOSITION_ATTACHED_PIC = 0x400
#: A seek that lands after a segment's start (MPEG-TS seeks to the next keyframe) is retried this
#: many seconds before the start, then from the beginning of the file.
_SEEK_RETRY_BACK = (1.0, 4.0, 16.0)
#: Decoded frames may stop this many seconds, plus one frame, before the end the file states
#: (timestamps rounded by a muxer, a last frame one frame before the duration with B-frames and edit
#: lists) without the file counting as truncated.
TRUNCATION_TOLERANCE = 0.05


@dataclass(frozen=True)
class VideoFrames:
    """Frames sampled from one video (or segment)."""

    frames: list[Any]  # each H x W x 3 uint8 RGB, or what `convert` made of it
    intervals: np.ndarray  # (T, 2) float64 seconds of the media file
    fps: float
    path: str
    #: Where the video's frames were followed to (seconds of the media file): the segment's end when
    #: the video reaches it, else where the last frame leaves the screen; with `max_frames` and no
    #: segment end, the end of the last sample's interval. None: not measured.
    video_end: float | None = None

    def __len__(self) -> int:
        return len(self.frames)


def read_video_frames(
    path: str | Path,
    *,
    fps: float,
    start: float | None = None,
    end: float | None = None,
    max_frames: int | None = None,
    convert: Callable[[np.ndarray, float], Any] | None = None,
    autorotate: bool = True,
) -> VideoFrames:
    """Sample RGB frames of `path` at `fps` frames per second within `[start, end)` seconds.

    Args:
        max_frames: stop after this many sampled frames (None = no limit).
        convert: called as `convert(rgb, time)` on each sampled frame as soon as it is decoded (`time`:
            its presentation time in seconds); only its result is kept, so a long video's frames are
            never all in memory. A frame sampled at several instants is converted once and its result
            repeated.
        autorotate: turn frames upright as their display matrix says (multiples of 90 degrees), as
            the `ffmpeg` command line does; False: the pixels as stored.

    Raises:
        MediaError: a path that is not a readable file (missing, a folder, a broken link, a FIFO,
            permission denied: `mmdata.media.files.check_media_file`), an empty or undecodable
            file, no video stream, no decodable frame, frames
            without timestamps, a segment outside the video, a truncated file (frames stop short of
            the duration the file states).

    Example:
        >>> clip = read_video_frames("clip.mp4", fps=2.0, start=1.0, end=3.0)
        >>> len(clip), clip.intervals[0]
        (4, array([1. , 1.5]))
    """
    import av

    path = Path(path)
    if not (math.isfinite(fps) and fps > 0):
        raise MediaError(f"{path}: frame sampling rate {fps} must be a finite number > 0 frames per second")
    if any(t is not None and not math.isfinite(t) for t in (start, end)):
        raise MediaError(f"{path}: segment [{start}, {end}] must have finite bounds (seconds)")
    check_media_file(path, "video")
    if start is not None and end is not None and end <= start:
        raise MediaError(f"{path}: segment end {end} <= start {start}; expected start < end (seconds)")
    if start is not None and start < 0:
        raise MediaError(f"{path}: segment start {start} is negative; expected seconds >= 0")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                kinds = ", ".join(f"{s.type} {s.codec_context.name}" for s in container.streams) or "none"
                raise MediaError(f"{path}: no video stream (streams: {kinds}); expected a file with a video track")
            stream = choose_video_stream(container, path)
            stream.thread_type = "AUTO"
            begin = float(start or 0.0)
            sampler = _Sampler(begin, end, fps, max_frames, convert, path if autorotate else None)
            sampler.run(_decode_from(container, stream, begin), stream, path)
            declared = _declared_end(container, stream) if sampler.exhausted else None
    except MmdataError:  # ours (a MediaError here, a ConfigError from `convert`): already says what is wrong
        raise
    except (av.FFmpegError, ValueError, OSError) as e:
        raise MediaError(
            f"{path}: cannot decode video ({type(e).__name__}: {e}); expected a readable video file "
            "(the file may be truncated or corrupt)"
        ) from e
    if sampler.first is None:
        raise MediaError(
            f"{path}: the video stream decoded to no frames; expected at least one frame (is the file truncated?)"
        )
    if declared is not None:
        _check_not_truncated(path, sampler, end, *declared)
    if not sampler.out:
        where = (f"video starts at {sampler.first:.3f}s" if end is not None and end <= sampler.first + _EPS
                 else f"video ends at {sampler.stop:.3f}s")
        raise MediaError(
            f"{path}: no frames in segment {_segment_text(float(start or 0.0), end)} ({where}); "
            "expected a segment inside the video"
        )
    starts = sampler.begin + np.arange(len(sampler.out)) / fps
    ends = np.minimum(starts + 1.0 / fps, sampler.stop)
    return VideoFrames(sampler.out, np.stack([starts, ends], axis=1), float(fps), str(path), sampler.stop)


def _segment_text(start: float | None, end: float | None) -> str:
    """A segment as messages print it: `[1.0, 3.0]`, or `[1.0 to the end of the video]` without an end."""
    return f"[{start}, {end}]" if end is not None else f"[{start} to the end of the video]"


#: Files whose several video streams were named in a warning already (`choose_video_stream`).
_WARNED_STREAMS: set[str] = set()


def choose_video_stream(container, path: str | Path):
    """The video stream to read, chosen as FFmpeg's `av_find_best_stream` does: a cover or thumbnail
    (attached-picture disposition, or a still image of one frame) only when nothing else is there;
    then the default-disposition stream; then the longest one (frame count, else stated duration),
    the first of equals. Several real video streams log a warning naming the file and the choice."""
    streams = list(container.streams.video)
    moving = [s for s in streams if not _is_cover(s)]
    candidates = moving or [s for s in streams if not _disposition(s) & _DISPOSITION_ATTACHED_PIC] or streams
    chosen = max(candidates, key=lambda s: (bool(_disposition(s) & _DISPOSITION_DEFAULT), _stated_length(s), -s.index))
    if len(moving) > 1 and str(path) not in _WARNED_STREAMS:  # once per file and process, not per sample
        _WARNED_STREAMS.add(str(path))
        log.warning(
            "%s: %d video streams (%s); reading stream %d (default disposition first, then the longest); "
            "remux the file to keep only the wanted one (`ffmpeg -i in -map 0:v:N -c copy out`) to choose another",
            path, len(moving), ", ".join(f"#{s.index} {s.codec_context.name} {_stated_length(s):.2f} s" for s in moving),
            chosen.index,
        )
    return chosen


def _disposition(stream) -> int:
    return int(getattr(stream, "disposition", 0) or 0)


def _is_cover(stream) -> bool:
    """A cover or thumbnail: an attached picture, or a still image (one frame stated)."""
    return bool(_disposition(stream) & _DISPOSITION_ATTACHED_PIC) or int(stream.frames or 0) == 1


def _stated_length(stream) -> float:
    """How long the stream says it is (seconds; 0 when it says nothing): its duration, else its frame
    count at the average rate, else a Matroska `DURATION` tag."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if stream.frames and stream.average_rate:
        return int(stream.frames) / float(stream.average_rate)
    return _duration_tag(stream.metadata)


def video_duration(path: str | Path) -> float | None:
    """Where the file states its video ends, in seconds of the media file (`_declared_end`), read from
    the container's header without decoding; None when it states none or cannot be opened."""
    span = video_span(path)
    return None if span is None else span[1]


def video_span(path: str | Path) -> tuple[float, float] | None:
    """(start, end) of the file's video stream (`container_video_span`), read from the container's header in
    one open, without decoding; None when it states no end or cannot be opened."""
    import av

    if not is_regular_file(path):  # a folder, a broken link, a FIFO (av.open would wait on it forever)
        return None
    try:
        with av.open(str(path)) as container:
            return container_video_span(container, path)
    except (av.FFmpegError, ValueError, OSError):
        return None


def container_video_span(container, path: str | Path) -> tuple[float, float] | None:
    """(start, end) in seconds of the media file of the video stream extractors read (`choose_video_stream`),
    from a container already open (PyAV's, of the file at `path`, which warnings name): `start` where the stream
    starts (`video_stream_start`), `end` where the file states it ends (`_declared_end`). A caller reading the
    sound's header too opens the file once. None where the container holds no video stream or states no end.

    Raises:
        av.FFmpegError, ValueError, OSError: the header cannot be read (callers treat it as no span).
    """
    if not container.streams.video:
        return None
    stream = choose_video_stream(container, path)
    declared = _declared_end(container, stream)
    return None if declared is None else (video_stream_start(stream), declared[0])


def video_stream_start(stream) -> float:
    """Where a video stream starts, in seconds of the media file (an edit list, a TS offset); 0 when unstated
    or before 0."""
    if stream.start_time is None or not stream.time_base:
        return 0.0
    return max(float(stream.start_time * stream.time_base), 0.0)


def _check_not_truncated(path: Path, sampler: _Sampler, end: float | None, declared_end: float, frames: int) -> None:
    """Raise MediaError if the decoded frames (all of them: `sampler.exhausted`) stop more than one
    frame plus `TRUNCATION_TOLERANCE` before the end asked for: `end` or the stated end of the video,
    whichever comes first (an `end` past the video is the overrun rule's to judge, not this one's)."""
    target = declared_end if end is None else min(end, declared_end)
    if target - sampler.stop <= sampler.frame_step + TRUNCATION_TOLERANCE:
        return
    counted = f"{frames} frames / " if frames else ""
    asked = "" if end is None or end >= declared_end else f" (segment end {end:.2f} s)"
    raise MediaError(
        f"{path}: video truncated: the container declares {counted}{declared_end:.2f} s, decoding stopped at "
        f"{sampler.stop:.2f} s{asked}; re-encode or replace the file"
    )


def _declared_end(container, stream) -> tuple[float, int] | None:
    """Where the file states the video ends (seconds of the media file) and its frame count (0: not
    stated), or None when it states no duration. The container's duration counts only when the video
    is its only stream: an audio track may run longer than the video."""
    time_base, frames = stream.time_base, int(stream.frames or 0)
    start = float(stream.start_time * time_base) if stream.start_time is not None and time_base else 0.0
    if stream.duration and time_base:
        return start + float(stream.duration * time_base), frames
    if frames and stream.average_rate:
        return start + frames / float(stream.average_rate), frames
    tagged = _duration_tag(stream.metadata)
    if tagged:  # Matroska: the track's end, as FFmpeg's and mkvmerge's muxers write it
        return min(tagged, start + tagged), frames
    if container.duration and len(container.streams) == 1:
        begin = container.start_time / 1e6 if container.start_time is not None else 0.0
        return begin + container.duration / 1e6, frames
    return None


def _duration_tag(metadata) -> float:
    """Seconds of a `DURATION` tag "HH:MM:SS.nnnnnnnnn" (0 when absent or unreadable)."""
    text = next((str(value) for key, value in dict(metadata or {}).items() if key.upper() == "DURATION"), "")
    try:
        hours, minutes, seconds = text.strip().split(":")
        value = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def _decode_from(container, stream, begin: float) -> Iterator[Any]:
    """The decoded frames of `stream`, from a keyframe at or before `begin` on (from its start when
    `begin` is 0). A seek that lands after `begin` is retried from further back, then from the start."""
    if begin <= 0:
        yield from container.decode(stream)
        return
    for back in (0.0, *_SEEK_RETRY_BACK):
        target = begin - back
        if target <= 0:
            break
        container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        frames = container.decode(stream)
        first = next(frames, None)
        if first is not None and first.time is not None and first.time <= begin + _EPS:
            yield first
            yield from frames
            return
        frames.close()
    container.seek(0)
    yield from container.decode(stream)


class _Sampler:
    """Walks the decoded frames once, keeping the frame on screen at each sampling instant.

    After `run`: `out` holds the samples, `first` the first decoded frame's time (None: no frame),
    `begin` the first sampling instant (`start`, or the first frame's time if later), `stop` where
    the frames were followed to (the segment end, the end of the last frame's display time, or, with
    `max_frames` and no segment end, the end of the last sample's interval), `exhausted` whether the
    stream ran out of frames before that (so a `max_frames` limit is no shortcut past a truncated
    file or a segment past the video's end) and
    `frame_step` one frame's duration (the last frame's, or one at the average rate if longer).
    """

    def __init__(self, begin: float, end: float | None, fps: float, max_frames: int | None,
                 convert: Callable[[np.ndarray, float], Any] | None, rotate_for: Path | None = None):
        self.begin, self.end, self.fps, self.convert = begin, end, fps, convert
        #: The file whose frames are turned upright (named in the warning about angles left as they are);
        #: None: pixels as stored.
        self.rotate_for = rotate_for
        self._warned_angle = False
        self.limit = max_frames if max_frames is not None else math.inf
        self.out: list[Any] = []
        self.first: float | None = None
        self.stop = begin
        self.exhausted = False
        self.frame_step = 0.0

    def run(self, frames: Iterator[Any], stream, path: Path) -> None:
        rate = stream.average_rate or getattr(stream, "guessed_rate", None)  # MPEG-TS streams state no average rate
        step = 1.0 / float(rate) if rate else 0.0
        end = _or_inf(self.end)
        shown = None  # the frame on screen before the next decoded one: [time, frame, converted]
        for index, frame in enumerate(frames):
            if frame.time is None:
                raise MediaError(
                    f"{path}: decoded frame {index} has no presentation timestamp; expected a container "
                    "with timestamps (remux a raw stream first, e.g. `ffmpeg -i in.h264 -c copy out.mp4`)"
                )
            time = float(frame.time)
            if shown is None:
                self.first = time
                if time >= end - _EPS:
                    return  # the segment ends before the first frame: no frame in it
                self.begin = max(self.begin, time)  # nothing is on screen before the first frame
            if len(self.out) < self.limit:
                self._emit(shown, min(time, end))  # shown is set: the first frame is at or before begin
            if time >= min(end, self._horizon()) - _EPS:
                self.stop = min(end, self._horizon())
                return
            shown = [time, frame, None]
        self.exhausted = True
        if shown is not None:
            self.frame_step = max(_frame_duration(shown[1]), step)
            self.stop = min(shown[0] + (_frame_duration(shown[1]) or step), end)
            self._emit(shown, self.stop)

    def _horizon(self) -> float:
        """How far the frames must be followed: to the segment's end; once `max_frames` samples are
        taken and the segment has no end, to the end of the last sample's interval (so that it never
        ends past the video). Frames after the limit are decoded, not converted: the video's end
        decides the last interval and the extractor's overrun rule."""
        if len(self.out) < self.limit or self.end is not None:
            return math.inf
        return self.begin + len(self.out) / self.fps

    def _emit(self, shown: list[Any] | None, until: float) -> None:
        """Append `shown` for each sampling instant before `until`."""
        while len(self.out) < self.limit and self.begin + len(self.out) / self.fps < until - _EPS:
            if self.convert is None:
                self.out.append(self._pixels(shown[1]))
                continue
            if shown[2] is None:
                shown[2] = (self.convert(self._pixels(shown[1]), shown[0]),)
            self.out.append(shown[2][0])

    def _pixels(self, frame) -> np.ndarray:
        """The frame as H x W x 3 uint8 RGB, turned upright when asked (`upright_turns`)."""
        rgb = frame.to_ndarray(format="rgb24")
        if self.rotate_for is None:
            return rgb
        turns = upright_turns(frame.rotation)
        if turns is None:
            if not self._warned_angle:
                self._warned_angle = True
                log.warning("%s: the display matrix turns frames by %.1f degrees; only multiples of 90 are applied, "
                            "so frames are read as stored", self.rotate_for, frame.rotation)
            return rgb
        return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def upright_turns(rotation: float) -> int | None:
    """How many quarter turns counter-clockwise (`np.rot90`'s k) put a frame upright, from PyAV's
    `VideoFrame.rotation` (degrees counter-clockwise of its display matrix: 90 for a phone held upright
    that stored its frames lying); None for an angle that is not a multiple of 90 (to within a degree)."""
    turns = round(rotation / 90.0)
    if abs(rotation - 90.0 * turns) > 1.0:
        return None
    return turns % 4


def _frame_duration(frame) -> float:
    """How long the frame stays on screen as its container states it (seconds; 0 when unknown)."""
    duration, time_base = getattr(frame, "duration", None), frame.time_base
    return float(duration * time_base) if duration and time_base else 0.0


def _or_inf(value: float | None) -> float:
    return math.inf if value is None else value
