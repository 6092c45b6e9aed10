"""The segment record every layout of `mosi-raw` fills (`mmdata.corpora.mosi_raw`), and what the
layouts share: clip names `<vid>_<k>` and the load problems of a segment (empty, or missing its WAV).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import LoadProblem


@dataclass
class _Segment:
    video_id: str
    number: int | None = None
    audio: str | None = None
    video: str | None = None
    start: float | None = None
    end: float | None = None
    transcript: str | None = None
    label: float | None = None
    split: str | None = None
    group_id: str | None = None  # default: video_id
    transcript_from_words: bool = False  # a segments.csv without a text column: the words say what was said
    extra: dict[str, Any] = field(default_factory=dict)


def _parse_segment_name(stem: str) -> tuple[str, int] | None:
    video_id, sep, k = stem.rpartition("_")
    if not sep or not video_id or not _is_number(k) or int(k) < 1:
        return None
    return video_id, int(k)


def _is_number(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts '²', which `int` refuses)."""
    return text.isascii() and text.isdigit()


def _missing_wav(corpus_dir: Path, sample_id: str, seg: _Segment, why: str) -> LoadProblem:
    return LoadProblem(sample_id, str(corpus_dir / str(seg.audio)), (
        f"WAV file not found: {seg.audio} ({why}); sample kept with that audio path, so audio extractors "
        f"fail it instead of reading the audio track of {seg.video}; restore the WAV"))


def empty_segment_problem(sample_id: str, where: str, start: float, end: float) -> LoadProblem:
    """The load problem of a segment that is empty or reversed (end <= start): that segment is left
    out and the others load, as the csd loader leaves out one such interval."""
    kind = "zero-length" if end == start else "reversed"
    return LoadProblem(sample_id, where, f"segment end {end} <= start {start} ({kind}); expected start < end; "
                       "segment left out, fix its start/end (seconds)")
