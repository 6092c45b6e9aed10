"""Why a label segment gets no feature in a table: the two rules `mmdata segment` and the `csd` loader share.

    overrun_reason(table, segment, start, end, labels, video, video_end, known_by)  -> why, or None
    no_row_reason(table, segment, start, end, labels, video, span)                  -> why

Cutting whole videos into label segments (`mmdata segment`) and cutting while loading with the label
file (`extract csd` with a label sequence) must give the same samples and tables, so both leave a
segment without a feature (null, with an errors-table row of this reason and error type) when

  - it runs past the end of its video by more than SEGMENT_OVERRUN_TOLERANCE of its length (the
    media rule of docs/corpora.md, as in audio/video extraction; error type OVERRUN_ERROR), in every table; a
    shorter overrun keeps the rows up to the video's end. The video's end is the media duration the
    samples record, else where the video's rows end over all its temporal tables (or sequence files);
  - no row of the table overlaps it (error type NO_ROW_ERROR): the SDK's align gives it no key there.

The past-the-end rule is checked first: such a segment fails in every table for that reason alone.
"""
from __future__ import annotations

import math

from mmdata.features.audio import SEGMENT_OVERRUN_TOLERANCE

#: The errors table's `error_type` of a segment past the end of its video (as audio/video extraction names it).
OVERRUN_ERROR = "MediaError"
#: The errors table's `error_type` of a segment no row of a table overlaps.
NO_ROW_ERROR = "DatasetError"


def overrun_reason(table: str, segment: str, start: float, end: float, labels: str, video: str,
                   video_end: float, known_by: str) -> str | None:
    """Why `segment` [start, end] (of label file `labels`) has no feature in `table`: it runs past
    `video_end` (NaN: unknown, never past it; `known_by` says where that end comes from) by more than
    SEGMENT_OVERRUN_TOLERANCE of its length. None when it does not, a shorter overrun included."""
    missing, length = end - max(video_end, start), end - start
    if math.isnan(video_end) or missing <= SEGMENT_OVERRUN_TOLERANCE * length:
        return None
    return (f"segment {segment} [{start:g}s, {end:g}s] of {labels} runs {missing:.3f}s past the end of "
            f"video {video!r} ({video_end:.3f}s, {known_by}), so only {max(1 - missing / length, 0):.0%} of it has "
            f"rows (at most {SEGMENT_OVERRUN_TOLERANCE:.0%} may be missing); no feature in {table!r}; expected a "
            "segment inside its video (check the label file's segment times against the video)")


def no_row_reason(table: str, segment: str, start: float, end: float, labels: str, video: str,
                  span: tuple[float, float] | None) -> str:
    """Why `segment` [start, end] (of label file `labels`) has no feature in `table`: no row of it
    overlaps the segment; `span` is (first start, last end) of the video's rows in the table, None
    when it has none."""
    rows = (f"its rows of video {video!r} span {span[0]:g}..{span[1]:g}s" if span is not None
            else f"it has no row of video {video!r}")
    return (f"no row of {table!r} overlaps segment {segment} [{start:g}s, {end:g}s] of {labels} ({rows}); no "
            "feature in this table, as the SDK's align gives the segment no key in this sequence; expected rows "
            "inside every segment (a word table has none in a pause)")
