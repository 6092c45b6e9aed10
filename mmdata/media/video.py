"""Video frames sampled at a chosen rate with PyAV, segment-aware.

Sampling: within the segment `[start, end)` (default: the whole video) the k-th sample is taken at
`t_k = t_0 + k / fps` and shows the frame on screen at that instant (the last frame whose
presentation time is <= t_k). It stands for the interval `[t_k, min(t_k + 1/fps, end))`, so sampled
frames tile the segment; times are seconds of the media file. `t_0` is `start`, or the first frame's
presentation time when that comes later: a stream whose time line starts after 0 (MPEG-TS, a cut
file) has no frame on screen before its first one, so none is made up. A rate above the video's own
frame rate repeats frames, which keeps the table at the rate that was asked for.

Torch-free on purpose: this runs in the decode worker processes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmdata.errors import MediaError

_EPS = 1e-6


@dataclass(frozen=True)
class VideoFrames:
    """Frames sampled from one video (or segment)."""

    frames: list[np.ndarray]  # each H x W x 3 uint8 RGB
    intervals: np.ndarray  # (T, 2) float64 seconds of the media file
    fps: float
    path: str

    def __len__(self) -> int:
        return len(self.frames)


def read_video_frames(
    path: str | Path,
    *,
    fps: float,
    start: float | None = None,
    end: float | None = None,
    max_frames: int | None = None,
) -> VideoFrames:
    """Sample RGB frames of `path` at `fps` frames per second within `[start, end)` seconds.

    Args:
        max_frames: stop after this many sampled frames (None = no limit).

    Raises:
        MediaError: missing, empty or undecodable file, no video stream, a segment outside the video.

    Example:
        >>> clip = read_video_frames("clip.mp4", fps=2.0, start=1.0, end=3.0)
        >>> len(clip), clip.intervals[0]
        (4, array([1. , 1.5]))
    """
    import av

    path = Path(path)
    if fps <= 0:
        raise MediaError(f"{path}: frame sampling rate {fps} must be > 0 frames per second")
    if not path.is_file():
        raise MediaError(f"video file not found: {path}")
    if path.stat().st_size == 0:
        raise MediaError(f"video file is empty (0 bytes): {path}")
    if start is not None and end is not None and end <= start:
        raise MediaError(f"{path}: segment end {end} <= start {start}; expected start < end (seconds)")
    begin = float(start or 0.0)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                kinds = ", ".join(f"{s.type} {s.codec_context.name}" for s in container.streams) or "none"
                raise MediaError(f"{path}: no video stream (streams: {kinds}); expected a file with a video track")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if begin > 0:
                container.seek(int(begin / stream.time_base), stream=stream, backward=True, any_frame=False)
            frames, stop, begin = _sample(container, stream, begin, end, fps, max_frames)
    except MediaError:
        raise
    except (av.FFmpegError, ValueError, OSError) as e:
        raise MediaError(f"{path}: cannot decode video ({type(e).__name__}: {e}); expected a readable video file") from e
    if not frames:
        raise MediaError(
            f"{path}: no frames in segment [{begin}, {end}] (video ends at {stop:.3f}s); "
            "expected a segment inside the video"
        )
    starts = begin + np.arange(len(frames)) / fps
    ends = np.minimum(starts + 1.0 / fps, stop)
    return VideoFrames(frames, np.stack([starts, ends], axis=1), float(fps), str(path))


def _sample(container, stream, begin: float, end: float | None, fps: float, max_frames: int | None):
    """Walk the decoded frames once, emitting the frame on screen at each sampling instant.

    Returns the sampled frames, where the sampled span stops (the segment end, or the end of the
    last frame's display time) and where it starts (`begin`, or the first frame's time if later).
    """
    limit = max_frames if max_frames is not None else math.inf
    rate = stream.average_rate or getattr(stream, "guessed_rate", None)  # MPEG-TS streams state no average rate
    frame_step = 1.0 / float(rate) if rate else 0.0
    out: list[np.ndarray] = []
    current = None  # (time, frame) on screen before the next decoded frame
    for frame in container.decode(stream):
        time = float(frame.time) if frame.time is not None else 0.0
        if current is None:
            if end is not None and time >= end - _EPS:
                return out, begin, begin  # the segment ends before the first frame: no frame in it
            begin = max(begin, time)  # nothing is on screen before the first frame: sampling starts with it
        while len(out) < limit and _instant(begin, len(out), fps) < min(time, _or_inf(end)) - _EPS:
            out.append(current[1].to_ndarray(format="rgb24"))  # current is set: the first frame is at or before begin
        if len(out) >= limit:
            return out, _or_inf(end), begin
        if end is not None and time >= end - _EPS:
            return out, end, begin
        current = (time, frame)
    if current is None:
        return out, begin, begin
    stop = min(current[0] + frame_step, _or_inf(end))
    if stop > current[0]:
        last = current[1].to_ndarray(format="rgb24")
        while len(out) < limit and _instant(begin, len(out), fps) < stop - _EPS:
            out.append(last)
    return out, stop, begin


def _instant(begin: float, k: int, fps: float) -> float:
    return begin + k / fps


def _or_inf(value: float | None) -> float:
    return math.inf if value is None else value
