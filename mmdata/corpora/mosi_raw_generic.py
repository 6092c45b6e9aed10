"""Layout "generic" of `mosi-raw`: one row per segment of `segments.csv`, parsed by header (see
`mmdata.corpora.mosi_raw` for the columns), whole recordings or segments cut from them by start/end.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mmdata.corpora.base import (
    LoadProblem, LoadResult, expect, parse_number, read_csv_rows, require_file, safe_relative_path,
)
from mmdata.corpora.mosi_raw_media import _record_media_spans
from mmdata.corpora.mosi_raw_segments import _Segment, empty_segment_problem
from mmdata.records import DURATION_KEYS

if TYPE_CHECKING:
    from mmdata.corpora.mosi_raw import MosiRawOptions

SEGMENTS_FILE = "segments.csv"
_GENERIC_COLUMNS = ("segment_id", "video_id", "audio", "video", "start", "end", "start_ms", "end_ms", "text", "transcript",
                    "label", "split")


def _read_generic(corpus_dir: Path, options: MosiRawOptions, result: LoadResult) -> dict[str, _Segment]:
    path = require_file(corpus_dir / SEGMENTS_FILE, "segment list", f"expected {SEGMENTS_FILE} with a header row")
    header, rows = read_csv_rows(path)
    expect("segment_id" in header and ("audio" in header or "video" in header), f"{path}:1",
           f"expected a header with segment_id and audio and/or video columns, got {','.join(header)!r}")
    both = [c for c in ("start", "end") if c in header and f"{c}_ms" in header]
    expect(not both, f"{path}:1", f"both {both[0] if both else ''} and {both[0] if both else ''}_ms columns; "
           "expected times in seconds (start,end) or in milliseconds (start_ms,end_ms), not both")
    from_words = "text" not in header and "transcript" not in header
    segments: dict[str, _Segment] = {}
    for line, row in rows:
        where = f"{path}:{line}"
        sample_id = row["segment_id"]
        expect(bool(sample_id), where, "empty segment_id")
        if sample_id in segments:
            result.problems.append(LoadProblem(sample_id, where, "duplicate segment_id; the later row is ignored"))
            continue
        media = {k: safe_relative_path(corpus_dir, row[k], where=where, allow_outside=options.allow_outside_root)
                 for k in ("audio", "video") if row.get(k)}
        expect(bool(media), where, "expected an audio or a video path")
        start, end = (_parse_time(row, c, where) for c in ("start", "end"))
        if start is not None and end is not None and end <= start:
            result.problems.append(empty_segment_problem(sample_id, where, start, end))
            continue
        segments[sample_id] = _Segment(
            video_id=row.get("video_id") or sample_id, audio=media.get("audio"), video=media.get("video"),
            # Without a video_id, segments cut from one recording share its group (no leakage across splits).
            group_id=row.get("video_id") or media.get("audio") or media.get("video"),
            start=start, end=end, transcript=row.get("text") or row.get("transcript") or None,
            label=parse_number(row.get("label", ""), where, "label"), split=row.get("split") or None,
            transcript_from_words=from_words,
            extra={k: v for k, v in row.items() if k not in _GENERIC_COLUMNS and v != ""},
        )
    _record_recording_durations(corpus_dir, segments)
    return segments


def _record_recording_durations(corpus_dir: Path, segments: dict[str, _Segment]) -> None:
    """The media lengths of each row that is a whole recording (no start/end), as the cmu layout
    records its clips' (`_record_media_spans`): without them `segment` takes a video's end to be
    where its rows end (a word table stops at the last word, before the trailing silence) and
    `check` cannot hold whole recordings' tables against their media. A row that gives a duration
    of its own (a `duration` or `media_duration` column) keeps it, and gets none from the headers:
    the column wins."""
    for seg in segments.values():
        if seg.start is not None or seg.end is not None:
            continue  # a segment cut from a recording: start/end bound its tables
        if any(key in seg.extra for key in DURATION_KEYS):
            continue
        _record_media_spans(corpus_dir, seg)


def _parse_time(row: dict[str, str], column: str, where: str) -> float | None:
    """Seconds from the `start`/`end` column, or from `start_ms`/`end_ms` (milliseconds)."""
    if f"{column}_ms" in row:
        ms = parse_number(row[f"{column}_ms"], where, f"{column}_ms")
        return None if ms is None else ms / 1000.0
    return parse_number(row.get(column, ""), where, column)
