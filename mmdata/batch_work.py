"""The per-batch work both executors share: decode each row, run `compute` on the decoded items,
and record each item's outcome, so that one bad item never fails its batch.

Record shapes between stages:
    rows:     list[dict]                      samples-table rows of one batch
    decoded:  list[ItemResult]                per row: ok + decoded item, or the failure
    computed: list[ItemResult]                per row: ok + feature (array or (array, intervals))

The local executor (`mmdata.executors`) runs these in its worker processes and its main process;
the Ray executor runs them in Ray tasks and actors (`mmdata.ray_attempts`, `mmdata.ray_stages`).
A `compute` that crashes the process leaves a breadcrumb on stderr naming its table and samples
(`_breadcrumb_on_crash`).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.errors import (
    ConfigError, DatasetError, MissingWeightsError, MmdataError, UnknownNameError, WorkersCannotStartError,
)
from mmdata.features.base import Extractor

log = logging.getLogger(__name__)


@dataclass
class ItemResult:
    sample_id: str
    ok: bool
    value: Any = None
    path: str | None = None
    stage: str = ""
    error_type: str = ""
    reason: str = ""


def media_path_of(row: dict[str, Any], modality: str) -> str | None:
    """The file an item of `modality` is read from (audio without a file of its own: the video's track)."""
    if modality == "audio":
        return row.get("audio") or row.get("video")
    return row.get(modality) if modality in ("image", "video") else None


def decode_batch(extractor: Extractor, rows: list[dict[str, Any]], corpus_root: Path) -> list[ItemResult]:
    """Decode each row; a failure is captured per item so one bad file never kills a batch."""
    out = []
    for row in rows:
        try:
            out.append(ItemResult(row["sample_id"], True, extractor.decode(row, corpus_root)))
        except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
            out.append(item_failure(row, extractor, "decode", e))
    return out


#: Errors from `compute` that are no item's fault: the extractor cannot run at all (its weights are
#: missing, an option is wrong, a name is unknown, the workers or the dataset are unusable), so they
#: stop the run whatever `on_error` says. Any other error fails the item(s) it was raised for.
STOPS_THE_RUN: tuple[type[MmdataError], ...] = (
    ConfigError, MissingWeightsError, UnknownNameError, WorkersCannotStartError, DatasetError)


def compute_batch(extractor: Extractor, decoded: list[ItemResult], rows: list[dict[str, Any]]) -> list[ItemResult]:
    """Run `compute` on the decoded items; if the batch fails, retry item by item to isolate the culprit.

    Configuration errors (`STOPS_THE_RUN`: missing weights, bad options) stop the run; anything
    else, mmdata's other errors included (a `SchemaMismatchError` about one item's sidecar file),
    fails only the items it belongs to, recorded with its type.
    """
    good = [i for i, r in enumerate(decoded) if r.ok]
    out = list(decoded)
    if not good:
        return out
    try:
        with _breadcrumb_on_crash(extractor, [rows[i] for i in good]) as compute:
            values = compute([decoded[i].value for i in good])
        _check_count(extractor, values, len(good))
    except STOPS_THE_RUN:
        raise
    except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
        return _retry_one_by_one(extractor, out, rows, good, e)
    for i, value in zip(good, values):
        out[i] = ItemResult(out[i].sample_id, True, value)
    return out


def computing_what(extractor: Extractor, rows: list[dict[str, Any]]) -> str:
    """What a batch's `compute` is working on, in a few words: its table and first and last sample ids."""
    ids = [str(row.get("sample_id")) for row in rows]
    span = repr(ids[0]) if len(ids) == 1 else f"{ids[0]!r} .. {ids[-1]!r} ({len(ids)} samples)"
    return f"mmdata computing table {extractor.table_name!r}, samples {span}"


@contextlib.contextmanager
def _breadcrumb_on_crash(extractor: Extractor, rows: list[dict[str, Any]]) -> Iterator[Any]:
    """`extractor.compute`, wrapped so that a crash of this process inside it (a segfault in a native
    library) names the table and the batch's samples on stderr.

    A crash runs no Python code, so the breadcrumb is put where `faulthandler` (enabled to stderr while
    `compute` runs, then put back as it was) prints it: the name of the frame that calls `compute`,
    which faulthandler writes, from its signal-safe handler, in the traceback it dumps
    (`File ".../batch_work.py", line N in mmdata computing table 'image.x', samples 'a' .. 'b'`).
    Renaming costs a code object per batch (microseconds). An `os._exit` in `compute` prints nothing:
    no signal comes.
    """
    import faulthandler

    was_enabled = faulthandler.is_enabled()
    if not was_enabled:
        try:
            faulthandler.enable(file=sys.__stderr__ or 2)
        except (AttributeError, ValueError, OSError, RuntimeError):  # no usable stderr (a daemon, a GUI)
            faulthandler.enable(file=2)
    name = computing_what(extractor, rows)
    code = _call_compute.__code__.replace(co_name=name, co_qualname=name)
    named = type(_call_compute)(code, _call_compute.__globals__)
    try:
        yield functools.partial(named, extractor.compute)
    finally:
        if not was_enabled:
            faulthandler.disable()


def _call_compute(compute: Any, items: list[Any]) -> Any:
    """Calls `compute`; run under the name `_breadcrumb_on_crash` gives it, which a crash's traceback shows."""
    return compute(items)


def _retry_one_by_one(
    extractor: Extractor, out: list[ItemResult], rows: list[dict[str, Any]], good: list[int], error: Exception
) -> list[ItemResult]:
    if len(good) == 1:
        out[good[0]] = item_failure(rows[good[0]], extractor, "compute", error)
        return out
    log.debug("batch compute failed (%s); retrying item by item", error)
    for i in good:
        out[i] = compute_batch(extractor, [out[i]], [rows[i]])[0]
    return out


def _check_count(extractor: Extractor, values: Any, expected: int) -> None:
    if len(values) != expected:
        raise RuntimeError(f"extractor {extractor.name!r} returned {len(values)} features for {expected} items")


def item_failure(row: dict[str, Any], extractor: Extractor, stage: str, e: Exception) -> ItemResult:
    """The failure of `row`'s item at `stage`, recorded with the exception's type and message."""
    return ItemResult(
        row["sample_id"],
        False,
        path=media_path_of(row, extractor.modality),
        stage=stage,
        error_type=type(e).__name__,
        reason=str(e) or type(e).__name__,
    )


def worker_crash(row: dict[str, Any], extractor: Extractor, stage: str = "decode") -> ItemResult:
    """The failure of an item whose decoding (or, on Ray, computing) killed its process (logged as it
    is recorded)."""
    what = "decoding" if stage == "decode" else "computing"
    log.warning("sample %r killed its %s process", row["sample_id"], what)
    culprit = "the decoder" if stage == "decode" else "the extractor or its model"
    return ItemResult(row["sample_id"], False, path=media_path_of(row, extractor.modality), stage=stage,
                      error_type="WorkerCrash",
                      reason=f"the {what} process died on this item (a crash in {culprit}, or out of memory)")
