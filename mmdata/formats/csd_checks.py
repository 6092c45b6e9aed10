"""The SDK's integrity rules for a `.csd` entry, shared by the reader (`formats.csd`), the writer
(`formats.csd_write`) and the `csd` loader: shapes (features (T, D...), intervals (T, 2), same T),
intervals (finite, from 0 s, end >= start, sorted), and the dtype kinds that hold words.

Each check raises `CorpusFormatError` naming where the entry lies (`CsdFile.where`).
"""
from __future__ import annotations

import numpy as np

from mmdata.errors import CorpusFormatError

# dtype kinds of features that hold words (a word or phone sequence), not numbers.
_TEXT_KINDS = ("S", "O", "U")


def check_shapes(where: str, features_shape: tuple[int, ...], intervals_shape: tuple[int, ...]) -> None:
    """The SDK's integrity rules: features (T, D...), intervals (T, 2), same T."""
    if len(intervals_shape) != 2 or intervals_shape[1] != 2:
        raise CorpusFormatError(f"{where}: intervals have shape {intervals_shape}, expected (T, 2) [start, end] rows")
    if len(features_shape) < 2:
        raise CorpusFormatError(f"{where}: features have shape {features_shape}, expected (T, D) with at least 2 dimensions")
    if features_shape[0] != intervals_shape[0]:
        raise CorpusFormatError(
            f"{where}: features have {features_shape[0]} rows but intervals have {intervals_shape[0]}; "
            "expected one [start, end] interval per feature row"
        )


def check_intervals(where: str, intervals: np.ndarray, *, require_sorted: bool = True, sort_hint: str = "") -> None:
    """Refuse non-finite intervals, starts before 0 s, end < start and (when `require_sorted`)
    decreasing start times; `sort_hint` (how to have rows sorted instead) ends the message about
    unsorted rows only.

    A start before 0 is refused however small: the SDK's files count seconds from the start of the
    video (the standard MOSI sequences and the words file start at 0), so a row before it is not one
    the video has; clipping it would store an interval the file does not hold, and `check` reports
    any start below 0 (`intervals-negative`) in what extract would write.
    """
    suffix = f"; {sort_hint}" if sort_hint else ""
    bad = np.flatnonzero(~np.isfinite(intervals).all(axis=1))
    if bad.size:
        i = int(bad[0])
        raise CorpusFormatError(f"{where}: interval row {i} is {intervals[i].tolist()}; expected finite seconds")
    bad = np.flatnonzero(intervals[:, 0] < 0)
    if bad.size:
        i = int(bad[0])
        raise CorpusFormatError(
            f"{where}: interval row {i} starts at {float(intervals[i, 0])!r} s, before the start of the video; "
            f"expected start >= 0 ({bad.size} such rows); intervals count seconds from the video's start, so fix "
            "those rows in the file (clip rounding noise to 0, shift an offset time line)"
        )
    bad = np.flatnonzero(intervals[:, 1] < intervals[:, 0])
    if bad.size:
        i = int(bad[0])
        raise CorpusFormatError(
            f"{where}: interval row {i} ends before it starts ({float(intervals[i, 0])!r} -> {float(intervals[i, 1])!r}); "
            f"expected end >= start ({bad.size} such rows)"
        )
    if require_sorted:
        bad = np.flatnonzero(np.diff(intervals[:, 0]) < 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise CorpusFormatError(
                f"{where}: intervals are not sorted by start time: row {i} starts at {float(intervals[i, 0])!r} s, "
                f"before row {i - 1} at {float(intervals[i - 1, 0])!r} s; expected non-decreasing starts{suffix}"
            )
