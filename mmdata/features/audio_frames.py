"""What every frame-level audio extractor shares: a sample's audio, and where its frames sit in time.

`load_sample_audio` decodes a samples-table row's audio (its `audio` file, else the audio track of
its `video`), refusing a segment that runs past the end of its audio, or starts before it (a late
audio track), by more than `SEGMENT_OVERRUN_TOLERANCE` of its length; `cell_intervals` and `stft_intervals` give each frame the
part of the segment closer to its centre than to any other frame's (see `mmdata.features.audio`);
`AudioFrameExtractor` is the base of the audio extractors (`audio_stft`, `audio_kaldi`,
`audio_opensmile`, `audio_prosody`).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.corpora.base import resolve_media
from mmdata.errors import MediaError
from mmdata.features.base import Extractor
from mmdata.media.audio import SOUNDFILE_SUFFIXES, AudioSegment, OnSilence, check_not_silent, load_audio

Feature = tuple[np.ndarray, np.ndarray]  # (T, dim) float32 frames, (T, 2) float64 intervals


#: A segment may run past the end of its media file by this fraction of its length (segment
#: times rounded in a transcript, a recording a few frames short): its features then stop at the
#: end of the media. A longer overrun fails the sample, as `mmdata check` would fail its frame count.
SEGMENT_OVERRUN_TOLERANCE = 0.1


def check_segment_overrun(row: dict[str, Any], path: Path | str, media_end: float, what: str) -> None:
    """Raise MediaError if the row's segment ends more than `SEGMENT_OVERRUN_TOLERANCE` of its
    length after `media_end` (seconds of the media file where the decoded `what` stops)."""
    start, end = row.get("start") or 0.0, row.get("end")
    if end is None or end <= start:
        return
    missing = end - max(media_end, start)
    if missing > SEGMENT_OVERRUN_TOLERANCE * (end - start):
        raise MediaError(
            f"{path}: segment [{start:g}s, {end:g}s] of sample {row['sample_id']!r} runs {missing:.3f}s past the end "
            f"of the {what} ({media_end:.3f}s), so only {1 - missing / (end - start):.0%} of it has {what}; expected a "
            "segment inside its media file (check the segment times against the recording)"
        )


def check_segment_underrun(row: dict[str, Any], path: Path | str, media_start: float, what: str, *,
                           begins: str | None = None, hint: str = "") -> None:
    """Raise MediaError if the row's segment starts more than `SEGMENT_OVERRUN_TOLERANCE` of its length
    before `media_start` (seconds of the media file where the decoded `what` begins: an audio track
    that starts late in its video, a video's first sampled frame): the rule of `check_segment_overrun`
    at the segment's start. `begins` names that point ("the audio does" by default); `hint` ends the
    message. A segment without an end is not judged."""
    start, end = row.get("start") or 0.0, row.get("end")
    if end is None or end <= start:
        return
    missing = min(media_start, end) - start
    if missing > SEGMENT_OVERRUN_TOLERANCE * (end - start):
        raise MediaError(
            f"{path}: segment [{start:g}s, {end:g}s] of sample {row['sample_id']!r} starts {missing:.3f}s before "
            f"{begins or f'the {what} does'} ({media_start:.3f}s), so only {1 - missing / (end - start):.0%} of it has "
            f"{what}; expected a segment inside its media file (check the segment times against the recording{hint})"
        )


def load_sample_audio(row: dict[str, Any], corpus_root: Path, *, sample_rate: int, on_silence: OnSilence) -> AudioSegment:
    """The audio of a samples-table row: its `audio` file, else the audio track of its `video`.

    A segment that starts before the audio or runs past its end (beyond `SEGMENT_OVERRUN_TOLERANCE`)
    is a MediaError saying so, checked before silence: the silent tail of a recording is not the reason.
    """
    relative = row.get("audio") or row.get("video")
    if not relative:
        raise MediaError(f"sample {row['sample_id']!r} has no audio or video file; expected an 'audio' or 'video' path")
    path = resolve_media(corpus_root, relative)
    segment = load_audio(path, sample_rate=sample_rate, start=row.get("start"), end=row.get("end"), on_silence="allow")
    check_segment_underrun(row, path, segment.offset, "audio")
    check_segment_overrun(row, path, segment.offset + segment.duration, "audio")
    if on_silence == "error":
        check_not_silent(segment)
    return segment


def cell_intervals(centres: np.ndarray, duration: float, offset: float) -> np.ndarray:
    """(T, 2) intervals: the part of `[0, duration]` closer to each (sorted) frame centre than to
    its neighbours' (seconds), shifted by `offset`. Frames tile the segment without overlap."""
    centres = np.clip(np.asarray(centres, dtype=np.float64), 0.0, duration)
    bounds = (centres[1:] + centres[:-1]) / 2
    starts = np.concatenate([[0.0], bounds])[: len(centres)]
    ends = np.concatenate([bounds, [duration]])[-len(centres) :] if len(centres) else starts
    return np.stack([starts, ends], axis=1) + offset


def stft_intervals(n_frames: int, hop_length: int, segment: AudioSegment) -> np.ndarray:
    """Intervals of the frames of a centred STFT over `segment` (frame i centred at i * hop):
    `cell_intervals` of those centres, with the midpoints between them taken from a cached table."""
    rate = segment.sample_rate
    if n_frames < 2 or (n_frames - 1) * hop_length / rate > segment.duration:  # a centre to clip: the general case
        return cell_intervals(np.arange(n_frames) * hop_length / rate, segment.duration, segment.offset)
    bounds = _centre_midpoints(hop_length, rate, 1 << (n_frames - 1).bit_length())[: n_frames - 1]
    out = np.empty((n_frames, 2))
    out[0, 0] = 0.0
    out[1:, 0] = bounds
    out[:-1, 1] = bounds
    out[-1, 1] = segment.duration
    out += segment.offset
    return out


@functools.lru_cache(maxsize=64)
def _centre_midpoints(hop_length: int, sample_rate: int, size: int) -> np.ndarray:
    """Midpoints between consecutive frame centres `i * hop / rate`, for i < size (read-only)."""
    centres = np.arange(size) * hop_length / sample_rate
    bounds = (centres[1:] + centres[:-1]) / 2
    bounds.flags.writeable = False
    return bounds


class AudioFrameExtractor(Extractor):
    """Base of the frame-level audio extractors: decode = load the sample's audio."""

    modality: ClassVar = "audio"

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        return load_sample_audio(row, corpus_root, sample_rate=self.config.sample_rate, on_silence=self.config.on_silence)

    def decodes_safely_here(self, rows: list[dict[str, Any]]) -> bool:
        """Audio files libsndfile (or mmdata's own WAV reader) decodes; not the audio of a video (FFmpeg)."""
        return all(row.get("audio") and Path(row["audio"]).suffix.lower() in SOUNDFILE_SUFFIXES for row in rows)
