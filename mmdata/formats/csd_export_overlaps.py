"""The warning `export-csd` gives when segments of a video overlap (`_warn_overlapping_segments`): each
segment's key holds all of its rows, and the SDK's align, which joins a video's `vid[i]` keys before
cutting, reads rows in an overlap once per segment they fall in.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from mmdata.alignment.core import EPSILON
from mmdata.formats.csd import split_key
from mmdata.formats.csd_places import Place
from mmdata.store.reader import Dataset

if TYPE_CHECKING:
    from mmdata.formats.csd_export import CsdExport


def _warn_overlapping_segments(dataset: Dataset, places: dict[str, Place] | None, names: list[str],
                               written: CsdExport) -> None:
    """Warn when tables keyed by segment (`vid[i]`) were written whose segments overlap: each segment
    holds all of its rows, so a row in an overlap is in the file once per segment it falls in."""
    if not any(places is not None or dataset.entry(name).extractor != "align" for name in names):
        return
    overlaps = _overlapping_segments(_segment_spans(dataset, places))
    if not overlaps:
        return
    (start, end, key), (later_start, later_end, later) = overlaps[0]
    written.warn(
        f"{len(overlaps)} segments overlap an earlier segment of their video (e.g. {later} [{later_start:g}s, "
        f"{later_end:g}s] and {key} [{start:g}s, {end:g}s]); each segment's key holds all of its rows, and the SDK's "
        "align joins a video's vid[i] keys into one sequence before cutting it, so it reads rows in an overlap once "
        "per segment they fall in: they come back duplicated; to give the SDK rows that read back as they are, export "
        "the whole-video dataset (the input of `mmdata segment`) and use it with the label file")


def _segment_spans(dataset: Dataset, places: dict[str, Place] | None) -> dict[str, list[tuple[float, float, str]]]:
    """Per video, the (start, end, key) of the samples written under SDK segment keys `vid[i]`."""
    by_video: dict[str, list[tuple[float, float, str]]] = {}
    if places is not None:
        for place in places.values():
            by_video.setdefault(place.video, []).append((place.span[0], place.span[1], place.key))
        return by_video
    table = dataset.samples_table(columns=["sample_id", "start", "end"])
    for sample_id, start, end in zip(*(table.column(c).to_pylist() for c in ("sample_id", "start", "end"))):
        video, index = split_key(sample_id)
        if index is not None and start is not None and end is not None:
            by_video.setdefault(video, []).append((start, end, sample_id))
    return by_video


def _overlapping_segments(by_video: dict[str, list[tuple[float, float, str]]]
                          ) -> list[tuple[tuple[float, float, str], tuple[float, float, str]]]:
    """(earlier segment, a later one of its video that starts more than EPSILON before it ends) pairs."""
    pairs = []
    for spans in by_video.values():
        furthest = None  # the segment so far that ends last
        for span in sorted(spans):
            if furthest is not None and span[0] < furthest[1] - EPSILON:
                pairs.append((furthest, span))
            if furthest is None or span[1] > furthest[1]:
                furthest = span
    return pairs
