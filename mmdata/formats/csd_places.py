"""Where each sample goes in SDK-keyed `.csd` files (`export_csd(..., keys="sdk")`).

Each sample is written under the SDK's key in its `extra.sdk_key` (the mosi-raw loader records
`vid[k-1]` for clip `vid_k`), its rows on the full video's time line: a clip's rows (clip-relative
times) are shifted by its segment start, taken from its start/end, else from `extra.video_start` /
`extra.video_end` (what the SDK's label file gives mosi-raw), else from consecutive spans of its
video's clip durations (`extra.duration`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from mmdata.errors import DatasetError
from mmdata.formats.csd import split_key
from mmdata.records import duration_keys, media_durations
from mmdata.store.reader import Dataset


@dataclass(frozen=True)
class Place:
    """Where a sample goes in SDK-keyed files."""

    key: str  # its `extra.sdk_key`, e.g. "Xy9[0]"
    video: str  # the label file's key of its video ("Xy9")
    index: int  # i of `vid[i]`: its position among the video's segments
    span: tuple[float, float]  # [start, end] in seconds of the full video
    shift: float  # added to its feature intervals: clip-relative -> full-video seconds


def sdk_places(dataset: Dataset) -> dict[str, Place]:
    """Every sample's SDK key and span in its video (see the module docstring for the sources)."""
    table = dataset.samples_table(columns=["sample_id", "start", "end", "extra"])
    rows = table.to_pylist()
    for row, duration in zip(rows, media_durations(table.column("extra"), duration_keys(None))):  # NaN: none given
        row["duration"] = None if math.isnan(duration) else float(duration)
    # video -> [(i of vid[i], key, samples-table row, its extra)]
    by_video: dict[str, list[tuple[int, str, dict[str, Any], dict[str, Any]]]] = {}
    owners: dict[str, str] = {}
    for row in rows:
        extra = json.loads(row["extra"]) if row["extra"] else {}
        key = extra.get("sdk_key")
        video, index = split_key(key) if isinstance(key, str) else (None, None)
        if index is None:
            raise DatasetError(
                f"sample {row['sample_id']!r} has no SDK key (extra.sdk_key = {key!r}); --keys sdk needs a key "
                "'vid[i]' on every sample (the mosi-raw loader records them for the CMU-MOSI raw layout); "
                "export with --keys sample")
        if key in owners:
            raise DatasetError(f"samples {owners[key]!r} and {row['sample_id']!r} both have the SDK key {key!r}; "
                               "expected one sample per key; export with keys='sample'")
        owners[key] = row["sample_id"]
        by_video.setdefault(video, []).append((index, key, row, extra))
    places: dict[str, Place] = {}
    for video, members in by_video.items():
        members.sort(key=lambda m: m[0])
        spans = [_known_span(row, extra) for _, _, row, extra in members]
        if all(span is None for span in spans):
            spans = _consecutive_spans(video, members)
        elif None in spans:  # laying these clips end to end would contradict the others' times
            _, key, row, _ = members[spans.index(None)]
            raise DatasetError(
                f"sample {row['sample_id']!r} (key {key!r}) has no segment times (start/end or extra.video_start/"
                f"video_end) while other clips of video {video!r} have them; expected times for every clip of a "
                "video (was its label row missing when the corpus was loaded?); export with keys='sample'")
        for (index, key, row, _), (span, shift) in zip(members, spans):
            places[row["sample_id"]] = Place(key, video, index, span, shift)
    return places


def _known_span(row: dict[str, Any], extra: dict[str, Any]) -> tuple[tuple[float, float], float] | None:
    """(span, shift) from a cut segment's start/end (rows already in video time) or a clip's video_start/end."""
    if row["start"] is not None and row["end"] is not None:
        return (row["start"], row["end"]), 0.0
    start, end = _seconds(extra.get("video_start")), _seconds(extra.get("video_end"))
    return ((start, end), start) if start is not None and end is not None else None


def _consecutive_spans(video: str, members: list[tuple[int, str, dict[str, Any], dict[str, Any]]]
                       ) -> list[tuple[tuple[float, float], float]]:
    """Clips laid end to end in key order, from their durations: the best time line without segment times."""
    out, offset = [], 0.0
    for _, key, row, extra in members:
        duration = row["duration"]
        if duration is None:
            raise DatasetError(
                f"sample {row['sample_id']!r} (key {key!r}) has no place in video {video!r}: no start/end, no "
                "extra.video_start/video_end and no extra.duration or media duration, and --keys sdk writes rows in "
                "video time; load the corpus with the SDK's label file (mosi-raw -o labels_file="
                "CMU_MOSI_Opinion_Labels.csd records the segment times), or export with --keys sample")
        out.append(((offset, offset + duration), offset))
        offset += duration
    return out


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
