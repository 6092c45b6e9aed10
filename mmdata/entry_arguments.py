"""Arguments of the Python API's entry points (`extract`, `check_dataset`, the readers of a dataset and of
a fused export), checked before anything is read or written: a wrong value is one error naming the
argument, the value and what it takes, not a failure from deep inside a run (`split=["val2017"]` was
looked for as the file `captions_['val2017'].json`; `progress="yes"` failed at the first table).

The checks every entry shares (paths, name lists, choices, counts, flags) are in `mmdata.options`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.errors import ArgumentTypeError, ConfigError
from mmdata.options import check_count, path_argument

if TYPE_CHECKING:
    from mmdata.checks.dataset import CheckOptions

#: What a progress sink has (`mmdata.progress.ProgressSink`).
_SINK_METHODS = ("start", "advance", "finish")


def check_split_name(split: Any, *, argument: str = "split", optional: bool = True) -> None:
    """Refuse a split that is not one name (or None, every split, where `optional`): a list, a number.

    Raises:
        ArgumentTypeError: naming the argument and the value.
    """
    if isinstance(split, str) or (split is None and optional):
        return
    expected = "one split name (a str) or None for every split" if optional else "one split name (a str)"
    several = "; give one split per call" if isinstance(split, (list, tuple, set, frozenset)) else ""
    raise ArgumentTypeError(f"{argument} is {expected}, got {type(split).__name__} {split!r}{several}")


def check_progress(progress: Any) -> None:
    """Refuse a `progress` that is not None, True, False or a sink (an object with start, advance and
    finish; `mmdata.progress.RichProgress()`): any other value reached the first table as a sink.

    Raises:
        ArgumentTypeError: naming the value.
    """
    if progress is None or isinstance(progress, bool):
        return
    missing = [name for name in _SINK_METHODS if not callable(getattr(progress, name, None))]
    if missing:
        raise ArgumentTypeError(f"progress: expected True (draw bars), False or None (none), or a progress sink "
                                f"(`mmdata.progress.RichProgress()`), got {progress!r} ({type(progress).__name__}), "
                                f"which has no {', '.join(missing)} method")


def extract_arguments(corpus_dir: Any, output_dir: Any, *, split: Any, progress: Any) -> tuple[Path, Path]:
    """`extract`'s corpus and output folders as Paths (`~` expanded), once its split and progress are
    known to be ones it takes.

    Raises:
        ArgumentTypeError: a folder that is not a str or Path, a split that is not one name, a progress
            that is not a flag or a sink.
    """
    check_split_name(split)
    check_progress(progress)
    return path_argument(corpus_dir, argument="corpus_dir"), path_argument(output_dir, argument="output_dir")


def checked_check_options(options: Any) -> CheckOptions:
    """`check_dataset`'s options, the defaults for None, with every field checked (a label range given
    as a list becomes a tuple of floats): a wrong one failed deep inside the checks, or passed every label.

    Raises:
        ConfigError: not a CheckOptions, a tolerance below 0, a coverage outside [0, 1], a label range
            that is not two numbers low <= high, fewer than one example (an ArgumentTypeError where a
            field holds no number at all).
    """
    from mmdata.checks.dataset import CheckOptions

    if options is None:
        return CheckOptions()
    if not isinstance(options, CheckOptions):
        raise ConfigError(f"options: expected a CheckOptions (or None for the defaults), got {options!r} "
                          f"({type(options).__name__}); pass tables=... by name")
    _check_number("interval_tolerance", options.interval_tolerance, "seconds, at least 0")
    _check_number("frame_tolerance", options.frame_tolerance, "a fraction, at least 0")
    _check_number("min_coverage", options.min_coverage, "a fraction from 0 to 1", high=1.0)
    check_count("CheckOptions.max_examples", options.max_examples)
    return replace(options, label_range=_label_range(options.label_range))


def _check_number(field: str, value: Any, expected: str, *, high: float = math.inf) -> None:
    """Refuse a CheckOptions field that is not a finite number from 0 to `high`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"CheckOptions.{field} is {expected}, got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and 0 <= value <= high):
        raise ConfigError(f"CheckOptions.{field} is {expected}, got {value!r}")


def _label_range(value: Any) -> tuple[float, float] | None:
    """A label range as (low, high) floats: None stays None (the corpus kind's range)."""
    if value is None:
        return None
    pair = list(value) if isinstance(value, (list, tuple)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in pair):
        raise ArgumentTypeError(f"CheckOptions.label_range is (low, high), two numbers (or None: the corpus kind's "
                                f"range), got {value!r} ({type(value).__name__})")
    low, high = (float(v) for v in pair)
    if math.isnan(low) or math.isnan(high) or low > high:  # NaN compares false: every label would pass
        raise ConfigError(f"CheckOptions.label_range is (low, high) with low <= high, got {value!r}")
    return low, high
