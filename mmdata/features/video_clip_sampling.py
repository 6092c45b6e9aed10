"""Which clips of a long video the clip models read, and reading only their frames (`max_clips`), or
refusing a sample whose frames would not fit the bound on memory (`max_decoded_frames`).

`max_clips=N`: when a segment holds more than N clips (as `step` and `tail` cut it), N of those clips
are kept, spread uniformly: with n clips, the k-th kept clip (k = 0 .. N-1) is clip
floor(k (n - 1) / (N - 1)), so the first and the last clip are always kept, and N=1 keeps the middle
clip, floor((n - 1) / 2). This is torchvision's `UniformClipSampler` (the reference scripts'
`clips_per_video`) and PySlowFast's test views with offsets, in whole numbers so that no rounding
decides a start. A kept clip is exactly the clip computed without the cap: same frames, same
interval. A segment of N clips or fewer is read as without the cap.

Only the kept clips' frames are decoded: one short read per clip (`read_video_frames` seeks to the
keyframe before the clip and decodes from there), plus two probes that find the sampled frames' first
instant (at the segment's start) and where they stop (the last second before the segment's end, or the
file's stated end), so that the clips are counted as a whole decode would count them. Measured on a
15-minute 320x240 H.264 file (25 fps, a keyframe every 10 s), r3d-18 at fps 15: decoding every sampled
frame takes 40-50 s and 1 GB of memory; 10 clips by seeking take 1.6 s and 40 MB (one pass that decodes
every frame and converts only the clips' would take over 6 s: FFmpeg's decoding alone). A file that states no
duration, or whose probes and clips disagree on where frames fall, is decoded whole, as without the cap.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import MediaError
from mmdata.media.video import read_video_frames, video_duration

log = logging.getLogger(__name__)

#: The tail probe decodes this many seconds before the segment's end (or the file's stated end) to
#: find where the sampled frames stop, as a decode of the whole segment would.
TAIL_PROBE_SECONDS = 1.0
#: Sampling instants this close to where frames stop do not count (as in `mmdata.media.video`).
_EPS = 1e-6
#: A sample is refused before decoding when the file's header puts its sampled frames over the bound
#: by more than this many seconds of them: the header's count may run over the decoded one by a time line
#: that starts late (MPEG-TS, near 1.4 s) or a last frame within the truncation tolerance. Closer
#: counts are decided by the frames themselves.
STATED_FRAMES_SLACK_SECONDS = 2.0


def uniform_clip_choice(num_clips: int, max_clips: int) -> np.ndarray:
    """Indices of the clips `max_clips` keeps of `num_clips`: all of them when they are no more than
    `max_clips`; else floor(k (num_clips - 1) / (max_clips - 1)) for k = 0 .. max_clips - 1 (first and
    last included), and the middle clip when max_clips is 1."""
    if num_clips <= max_clips:
        return np.arange(num_clips, dtype=np.int64)
    if max_clips == 1:
        return np.array([(num_clips - 1) // 2], dtype=np.int64)
    return np.arange(max_clips, dtype=np.int64) * (num_clips - 1) // (max_clips - 1)


@dataclass(frozen=True)
class SampledExtent:
    """Where a segment's sampled frames lie, found without decoding them all."""

    begin: float  # the first sampling instant (seconds of the media file)
    stop: float  # where the frames were followed to (the `video_end` of a whole decode)
    fps: float

    @property
    def count(self) -> int:
        """The sampled frames a whole decode gives: instants begin + k / fps before `stop`."""
        count = max(int(math.ceil((self.stop - self.begin) * self.fps)) + 1, 0)
        while count > 0 and not self.begin + (count - 1) / self.fps < self.stop - _EPS:
            count -= 1
        return count

    def intervals(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """(clips, 2) seconds from frame `first`'s start to frame `last`'s end, as `read_video_frames`
        computes each frame's interval (the same arithmetic, so the same bits)."""
        starts = self.begin + first.astype(np.float64) / self.fps
        ends = np.minimum(self.begin + last.astype(np.float64) / self.fps + 1.0 / self.fps, self.stop)
        return np.stack([starts, ends], axis=1)


def probe_extent(path: Path, *, fps: float, start: float | None, end: float | None,
                 autorotate: bool) -> SampledExtent | None:
    """The segment's first sampling instant and where its frames stop, from two short reads: one at
    the segment's start, one over the last `TAIL_PROBE_SECONDS` before its end (or the file's stated
    end). None when there is no end to probe before: no segment end and no duration stated.

    Raises:
        MediaError: as `read_video_frames` does (no frames in the segment, a truncated file, ...).
    """
    head = read_video_frames(path, fps=fps, start=start, max_frames=1, convert=_discard, autorotate=autorotate)
    begin = float(head.intervals[0, 0])
    if end is not None and begin >= end - _EPS:
        raise MediaError(f"{path}: no frames in segment [{start or 0.0}, {end}] (video starts at {begin:.3f}s); "
                         "expected a segment inside the video")
    reference = end if end is not None else video_duration(path)
    if reference is None:
        return None
    tail_start = max(begin, reference - TAIL_PROBE_SECONDS)
    tail = read_video_frames(path, fps=fps, start=tail_start, end=end, convert=_discard, autorotate=autorotate)
    return SampledExtent(begin, float(tail.video_end), fps)


def read_clip_frames(path: Path, extent: SampledExtent, starts: np.ndarray, clip_frames: int, *,
                     convert: Callable[[np.ndarray, float], Any], autorotate: bool) -> np.ndarray | None:
    """The frames of the clips starting at sampled frames `starts`, each read on its own (a seek to
    the keyframe before it), `clip_frames` per clip (a clip cut short by the end repeats its last
    frame): (len(starts) * clip_frames, ...) of what `convert` makes of each frame. None when a clip's
    read gives another number of frames than the extent says (timestamps the probes misjudged)."""
    count, clips = extent.count, []
    for first in (int(s) for s in starts):
        wanted = min(clip_frames, count - first)
        last_one = first + wanted == count
        until = extent.stop if last_one else extent.begin + (first + wanted) / extent.fps
        clip = read_video_frames(path, fps=extent.fps, start=extent.begin + first / extent.fps, end=until,
                                 convert=convert, autorotate=autorotate)
        if len(clip) != wanted:
            log.debug("%s: the clip at sampled frame %d gave %d frames, expected %d; decoding the whole segment",
                      path, first, len(clip), wanted)
            return None
        clips.extend(clip.frames[min(k, wanted - 1)] for k in range(clip_frames))
    return np.stack(clips)


def check_frame_budget(sample_id: str, path: Path, *, frames: int, counted: str, max_decoded_frames: int,
                       crop: tuple[int, int]) -> None:
    """Raise MediaError when `frames` sampled frames (`counted` says how they were counted) are more
    than one sample may hold at once; the message names the sample, the memory its `crop`-sized RGB
    crops would take, and the ways to cap it."""
    if not max_decoded_frames or frames <= max_decoded_frames:
        return
    raise MediaError(
        f"sample {sample_id!r} ({path}): {counted}, over max_decoded_frames={max_decoded_frames} "
        f"({frames * crop[0] * crop[1] * 3 / 1e9:.2f} GB of {crop[0]}x{crop[1]} crops held at once); set max_clips=N to read "
        "only N clips spread over the video, cut it into shorter segments (start/end), or raise max_decoded_frames "
        "(0: no bound)"
    )


def stated_frames(path: Path, *, fps: float, start: float | None, end: float | None) -> int | None:
    """At least how many frames sampling the segment gives, from the file's header, less
    `STATED_FRAMES_SLACK_SECONDS` of them (None: the file states no end and the segment has none):
    what lets a sample clearly over the bound be refused before anything is decoded."""
    ends = [t for t in (end, video_duration(path)) if t is not None]  # a segment may run past the video
    if not ends:
        return None
    stop = min(ends)
    return max(int(math.floor((stop - (start or 0.0) - STATED_FRAMES_SLACK_SECONDS) * fps)), 0)


def _discard(_rgb: np.ndarray, _time: float) -> None:
    """A probe keeps no pixels."""
    return None
