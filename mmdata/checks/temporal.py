"""Checks of temporal (sequence) tables, vectorized over a batch of samples (pure functions).

Shapes shared by every function (n samples in the batch, M interval rows in all):

    offsets    (n+1,) int64   rows of sample i are intervals[offsets[i]:offsets[i+1]]
    intervals  (M, 2) float64 [start, end] seconds of the media file
    lo, hi     (n,)   float64 the sample's segment span; hi is NaN when unknown
    duration   (n,)   float64 where the medium ends in its file's time line (its start + duration;
                              the duration for one starting at 0); NaN when unknown

The segment span is the sample's start/end in the samples table (start null = where the medium
starts, 0 unless the loader recorded a later start; end null = where it ends), so a whole-file
sample and a MOSI segment are checked alike.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from mmdata.checks.issues import Issue, make_issue
from mmdata.store.arrays import interval_bounds

#: Frames within this many of duration x frame rate always pass the frame-count check.
FRAME_SLACK = 2
#: Slack for float rounding at the tolerances' edges, in seconds and in frames: a bound computed as
#: `end + tolerance` or `tolerance * duration * rate` lands an ulp on either side of the value
#: it is compared with (an interval stored to the millisecond, 220 frames for 2 s at 100 Hz).
ROUNDING_SECONDS = 1e-9
ROUNDING_FRAMES = 1e-6


def owner_index(offsets: np.ndarray) -> np.ndarray:
    """For each row, the index of the sample it belongs to."""
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


def check_interval_counts(table: str, sample_ids: pa.Array, feature_offsets: np.ndarray,
                          interval_offsets: np.ndarray, valid: np.ndarray) -> list[Issue]:
    """Each sample has one (start, end) pair per feature row."""
    bad = (np.diff(feature_offsets) != np.diff(interval_offsets)) & valid
    if not bad.any():
        return []
    first = int(np.argmax(bad))
    return [make_issue(
        "intervals-length", "error",
        f"sample has {int(np.diff(feature_offsets)[first])} feature rows but "
        f"{int(np.diff(interval_offsets)[first])} intervals; every row needs its (start, end)",
        table=table, offenders=sample_ids.filter(pa.array(bad)).to_pylist(), count=int(bad.sum()),
    )]


def check_interval_order(table: str, sample_ids: pa.Array, offsets: np.ndarray, intervals: np.ndarray) -> list[Issue]:
    """Intervals are sorted by start within each sample, start >= 0 and end >= start."""
    issues = []
    owner = owner_index(offsets)
    starts, ends = intervals[:, 0], intervals[:, 1]
    negative = (starts < 0) | (ends < starts) | ~np.isfinite(intervals).all(axis=1)
    if negative.any():
        row = int(np.argmax(negative))
        bad_samples = np.unique(owner[negative])
        issues.append(make_issue(
            "intervals-negative", "error",
            f"interval [{starts[row]:.6g}, {ends[row]:.6g}] (row {row - int(offsets[owner[row]])} of the sample) "
            "starts before 0 s, ends before it starts or is not finite; expected 0 <= start <= end",
            table=table, offenders=sample_ids.take(pa.array(bad_samples)).to_pylist(), count=len(bad_samples),
        ))
    if len(starts) > 1:
        same_sample = owner[1:] == owner[:-1]
        unsorted = same_sample & (starts[1:] < starts[:-1])
        if unsorted.any():
            row = int(np.argmax(unsorted)) + 1
            bad_samples = np.unique(owner[1:][unsorted])
            issues.append(make_issue(
                "intervals-unsorted", "error",
                f"interval starting at {starts[row]:.6g} s follows one starting at {starts[row - 1]:.6g} s; "
                "expected intervals sorted by start",
                table=table, offenders=sample_ids.take(pa.array(bad_samples)).to_pylist(), count=len(bad_samples),
            ))
    return issues


#: Seconds by which one word may run into the next before `intervals-overlap` reports it (times
#: rounded to milliseconds by aligners and transcription tools).
WORD_OVERLAP_TOLERANCE = 1e-3


def check_word_overlap(table: str, sample_ids: pa.Array, offsets: np.ndarray, intervals: np.ndarray) -> list[Issue]:
    """Words of a sample follow one another: a word that ends after the next one starts is a fault of
    the word timings (a forced aligner's words never overlap). A warning: alignment still works, but
    frames in the overlap count for both words."""
    if len(intervals) < 2:
        return []
    owner = owner_index(offsets)
    same_sample = owner[1:] == owner[:-1]
    overlap = same_sample & (intervals[:-1, 1] > intervals[1:, 0] + WORD_OVERLAP_TOLERANCE)
    if not overlap.any():
        return []
    row = int(np.argmax(overlap))
    bad_samples = np.unique(owner[:-1][overlap])
    return [make_issue(
        "intervals-overlap", "warning",
        f"word [{intervals[row, 0]:.6g}, {intervals[row, 1]:.6g}] s (row {row - int(offsets[owner[row]])} of the "
        f"sample) runs into the next, [{intervals[row + 1, 0]:.6g}, {intervals[row + 1, 1]:.6g}] s "
        f"({int(overlap.sum())} such words); expected words that follow one another: check the word timings "
        "(a words.csv, the .csd word sequence)",
        table=table, offenders=sample_ids.take(pa.array(bad_samples)).to_pylist(), count=len(bad_samples),
    )]


def check_interval_span(table: str, sample_ids: pa.Array, offsets: np.ndarray, intervals: np.ndarray,
                        lo: np.ndarray, hi: np.ndarray, duration: np.ndarray, tolerance: float) -> list[Issue]:
    """No interval lies wholly outside the sample's segment, nor extends past the media's duration.

    Rows that only overlap the segment's edge are fine (a word or frame window straddling a
    segment boundary); `tolerance` seconds of slack absorb rounding (an interval exactly
    `tolerance` out passes).
    """
    owner = owner_index(offsets)
    starts, ends = intervals[:, 0], intervals[:, 1]
    tolerance = tolerance + ROUNDING_SECONDS
    seg_lo, seg_hi, dur = lo[owner], hi[owner], duration[owner]
    with np.errstate(invalid="ignore"):
        past_media = ends > dur + tolerance
        outside = (ends < seg_lo - tolerance) | (starts > seg_hi + tolerance) | past_media
    if not outside.any():
        return []
    row = int(np.argmax(outside))
    sample = int(owner[row])
    bad_samples = np.unique(owner[outside])
    span = f"[{lo[sample]:.6g}, {hi[sample]:.6g}]" if np.isfinite(hi[sample]) else f"[{lo[sample]:.6g}, ...)"
    media = f", media ends at {duration[sample]:.6g} s" if np.isfinite(duration[sample]) else ""
    if past_media[row] and not (ends[row] < seg_lo[row] - tolerance or starts[row] > seg_hi[row] + tolerance):
        what = (f"interval [{starts[row]:.6g}, {ends[row]:.6g}] ends past the media's duration "
                f"({duration[sample]:.6g} s; the sample's segment {span}); rows must end within the media")
    else:
        what = (f"interval [{starts[row]:.6g}, {ends[row]:.6g}] lies outside the sample's segment {span}{media}; "
                "rows must overlap the segment they belong to")
    return [make_issue(
        "intervals-outside", "error", what,
        table=table, offenders=sample_ids.take(pa.array(bad_samples)).to_pylist(), count=len(bad_samples),
    )]


Spans = tuple[np.ndarray, np.ndarray, np.ndarray]


def union_spans(own: Spans, reference: Spans) -> Spans:
    """(lo, hi, duration) that bound an aligned table (`X@REF`): the union of its own medium's spans
    and its reference's.

    Its rows carry REF's intervals (cut from REF's medium: video frames, words) over features of its
    own medium, so an interval is in bounds when it lies within either: a video frame [1.5, 1.6] s of
    a clip whose MP4 runs a frame past its 1.54 s WAV holds the audio of [1.5, 1.54] and is not outside
    the audio's media. An unknown bound (NaN) of one side takes the other's; an interval past both
    media ends is still reported.
    """
    (own_lo, own_hi, own_end), (ref_lo, ref_hi, ref_end) = own, reference
    return np.fmin(own_lo, ref_lo), np.fmax(own_hi, ref_hi), np.fmax(own_end, ref_end)


def segment_coverage(offsets: np.ndarray, intervals: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Fraction of each sample's segment [lo, hi] covered by the union of its intervals.

    Where `hi` is unknown (NaN) the end of the last interval is used, so the fraction then
    measures gaps between rows. NaN for empty spans.
    """
    n = len(offsets) - 1
    owner = owner_index(offsets)
    lo, hi = _known_span(offsets, intervals, lo, hi)
    width = hi - lo
    if len(owner) == 0:
        return np.where(width > 0, 0.0, np.nan)
    starts = np.clip(intervals[:, 0], lo[owner], hi[owner])
    ends = np.clip(intervals[:, 1], lo[owner], hi[owner])
    order = np.lexsort((starts, owner))
    starts, ends, owner = starts[order], ends[order], owner[order]
    # Shift each sample onto its own stretch of one time line, so a single running maximum of
    # the ends (the union's right edge so far) never carries over from one sample to the next.
    safe_width = np.nan_to_num(width, nan=0.0)
    base = np.concatenate([[0.0], np.cumsum(safe_width + 1.0)[:-1]])
    shift = base[owner] - lo[owner]
    starts, ends = starts + shift, ends + shift
    reach = np.maximum.accumulate(ends)
    previous = np.concatenate([[-np.inf], reach[:-1]])
    covered = np.clip(ends - np.maximum(starts, previous), 0.0, None)
    total = np.bincount(owner, weights=covered, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(width > 0, total / np.where(width > 0, width, 1.0), np.nan)


#: Coverage below the threshold by less than this is rounding, not a gap.
COVERAGE_ROUNDING = 1e-9


def check_coverage(table: str, sample_ids: pa.Array, coverage: np.ndarray, min_coverage: float) -> list[Issue]:
    """Warn about samples whose segment the modality covers less than `min_coverage` of (by more
    than float rounding: summed interval lengths of a half-covered segment come out at 0.4999...)."""
    with np.errstate(invalid="ignore"):
        low = coverage < min_coverage - COVERAGE_ROUNDING
    if not low.any():
        return []
    first = int(np.argmax(low))
    return [make_issue(
        "coverage-low", "warning",
        f"the table covers {coverage[first]:.0%} of the sample's segment, below {min_coverage:.0%}; "
        "the modality is missing for part of the segment",
        table=table, offenders=sample_ids.filter(pa.array(low)).to_pylist(), count=int(low.sum()),
    )]


#: Where a corpus kind's users give a sample's media duration, for the duration-unknown hint.
DURATION_PLACES = {
    "manifest": "add a `duration` column (seconds) to the manifest (kept in `extra`)",
    "mosi-raw": "add a `duration` column (seconds) to the corpus's segment list (segments.csv, generic layout; kept in `extra`)",
}


def duration_hint(corpus_kind: str | None) -> str:
    """How to let `check` measure samples against their media, for the corpus kind that loaded them."""
    place = DURATION_PLACES.get(corpus_kind or "")
    if place is None:
        return (f"the {corpus_kind or 'corpus'} loader cannot record media durations, so this cannot be added "
                "from the corpus; cut segments with start/end to have them checked")
    return f"{place} to check them against the media"


def check_known_span(table: str, sample_ids: pa.Array, hi: np.ndarray, *, intervals: bool = True,
                     max_examples: int = 5, media: bool = True, corpus_kind: str | None = "mosi-raw",
                     has_feature: np.ndarray | None = None) -> list[Issue]:
    """One warning for the table when samples have neither an end time nor a media duration (an
    `info` when the corpus names no media files: nothing can be added then, and a `.csd` dataset of
    nine sequences would otherwise repeat one warning nine times).

    Whole clips (start/end null) of a corpus whose `extra` gives no `duration` have no known end:
    their intervals are then only checked up to their own last one, so an interval past the end
    of the media or a clip covered for half its length passes unseen; a table of frames at a frame
    rate without intervals cannot have its frame count checked at all. Not an error: the data may
    be fine, it just cannot be verified (as `provenance-missing`). `media`: the samples name media
    files (else, as for `.csd` sequences, there is nothing to measure and the hint says so).
    `has_feature`: which samples the table holds a feature for; only those are counted (a sample whose
    extraction failed has nothing to check, and the errors table says why); None counts every sample.
    """
    with_feature = np.ones(len(hi), bool) if has_feature is None else np.asarray(has_feature, bool)
    unknown = ~np.isfinite(hi) & with_feature
    if not unknown.any():
        return []
    count = int(unknown.sum())
    first = sample_ids.take(pa.array(np.flatnonzero(unknown)[:max_examples]))
    unchecked = ("interval bounds and coverage were only checked up to each sample's last interval" if intervals
                 else "their frame counts could not be checked against duration x frame rate")
    return [make_issue(
        "duration-unknown", "warning" if media else "info",
        f"{count} of {int(with_feature.sum())} samples {'' if has_feature is None else 'with a feature '}have no end "
        f"time and no known media duration, so {unchecked}; "
        + (duration_hint(corpus_kind) if media else
           "the corpus names no media files to measure them against (stored sequences), so there is nothing to add"),
        table=table, offenders=first.to_pylist(), count=count, max_examples=max_examples,
    )]


def check_frame_count(table: str, sample_ids: pa.Array, lengths: np.ndarray, width: np.ndarray,
                      frame_rate: float, tolerance: float, max_frames: int | None = None, *,
                      frame_window: float | None = None) -> list[Issue]:
    """Frames per sample match the frames the extractor gives for the sample's duration within
    `tolerance` (a fraction) or 2 frames (inclusive: 220 frames for 2 s at 100 Hz pass a 10%
    tolerance); at most `max_frames` when the table was capped (video-frames' `max_frames`).

    `frame_window` (the spec's, seconds): with it, `expected_frames` counts the frames an extractor
    that drops the edge frames its window does not fit gives (openSMILE, Kaldi's snip_edges: 26 for
    a clip of 0.3 s at 100 Hz, which a tolerance of 2 frames or 10% of 30 would fail); without it
    (tables written before it was recorded), duration x frame rate."""
    expected = expected_frames(width, frame_rate, frame_window)
    if max_frames:
        expected = np.minimum(expected, max_frames)
    with np.errstate(invalid="ignore"):
        bad = np.abs(lengths - expected) > np.maximum(FRAME_SLACK, tolerance * expected) + ROUNDING_FRAMES
    bad &= np.isfinite(expected)
    if not bad.any():
        return []
    first = int(np.argmax(bad))
    cause = ("the media may end before the segment does (check the segment's start/end against its file), or the "
             "declared frame rate does not match the data") if lengths[first] < expected[first] else \
        "the declared frame rate does not match the data"
    return [make_issue(
        "frame-count", "error",
        f"sample has {int(lengths[first])} frames over {width[first]:.6g} s, expected about "
        f"{expected[first]:.1f} at the declared {frame_rate:g} Hz{_window_note(frame_window)} "
        f"(tolerance {tolerance:.0%} or {FRAME_SLACK} frames); "
        f"{cause}",
        table=table, offenders=sample_ids.filter(pa.array(bad)).to_pylist(), count=int(bad.sum()),
    )]


def expected_frames(width: np.ndarray, frame_rate: float, frame_window: float | None) -> np.ndarray:
    """Frames an extractor gives for segments of `width` seconds: `1 + (width - frame_window) x rate`
    when the spec records its frame window (frames that need `frame_window` seconds inside the segment;
    0 for centred frames), else `width x rate` (the rule for tables that do not record it)."""
    if frame_window is None:
        return width * frame_rate
    with np.errstate(invalid="ignore"):
        return 1.0 + np.maximum(width - frame_window, 0.0) * frame_rate


def _window_note(frame_window: float | None) -> str:
    """How the expected count was reached, for the frame-count message of a table that records its window."""
    if not frame_window:
        return ""
    return f" less the edge frames of its {frame_window * 1000:g} ms analysis window"


def span_width(offsets: np.ndarray, intervals: np.ndarray | None, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Each sample's segment length: hi - lo when known, else up to its last interval's end (NaN without)."""
    if intervals is None:
        return hi - lo
    lo, hi = _known_span(offsets, intervals, lo, hi)
    return hi - lo


def _known_span(offsets: np.ndarray, intervals: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The span with an unknown end (NaN) taken as the last interval's end, and an unknown start (NaN:
    a whole clip whose media neither start nor end is known) as the first interval's start."""
    unknown, unknown_lo = ~np.isfinite(hi), ~np.isfinite(lo)
    if not (unknown.any() or unknown_lo.any()):
        return lo, hi
    hi, lo = hi.copy(), lo.copy()
    first_start, last_end = interval_bounds(offsets, intervals)
    hi[unknown] = last_end[unknown]
    lo[unknown_lo] = first_start[unknown_lo]
    return lo, hi
