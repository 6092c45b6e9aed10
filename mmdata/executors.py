"""Running an extractor over batches of samples-table rows.

Record shapes between stages:
    rows:     list[dict]                      samples-table rows of one batch
    decoded:  list[ItemResult]                per row: ok + decoded item, or the failure
    computed: list[ItemResult]                per row: ok + feature (array or (array, intervals))

The local executor decodes in a pool of worker processes (a bounded window of batches in
flight, so memory stays flat) while the main process runs `compute` on the previous batch.
"""
from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.errors import MediaError, MmdataError
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
    return row.get(modality) if modality in ("image", "audio", "video") else None


def decode_batch(extractor: Extractor, rows: list[dict[str, Any]], corpus_root: Path) -> list[ItemResult]:
    """Decode each row; a failure is captured per item so one bad file never kills a batch."""
    out = []
    for row in rows:
        try:
            out.append(ItemResult(row["sample_id"], True, extractor.decode(row, corpus_root)))
        except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
            out.append(_failure(row, extractor, "decode", e))
    return out


def compute_batch(extractor: Extractor, decoded: list[ItemResult], rows: list[dict[str, Any]]) -> list[ItemResult]:
    """Run `compute` on the decoded items; if the batch fails, retry item by item to isolate the culprit.

    Configuration errors (missing weights, bad options) stop the run; anything else fails only
    the items it belongs to.
    """
    good = [i for i, r in enumerate(decoded) if r.ok]
    out = list(decoded)
    if not good:
        return out
    try:
        values = extractor.compute([decoded[i].value for i in good])
        _check_count(extractor, values, len(good))
    except MmdataError as e:
        if not isinstance(e, MediaError):
            raise
        return _retry_one_by_one(extractor, out, rows, good, e)
    except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
        return _retry_one_by_one(extractor, out, rows, good, e)
    for i, value in zip(good, values):
        out[i] = ItemResult(out[i].sample_id, True, value)
    return out


def _retry_one_by_one(
    extractor: Extractor, out: list[ItemResult], rows: list[dict[str, Any]], good: list[int], error: Exception
) -> list[ItemResult]:
    if len(good) == 1:
        out[good[0]] = _failure(rows[good[0]], extractor, "compute", error)
        return out
    log.debug("batch compute failed (%s); retrying item by item", error)
    for i in good:
        out[i] = compute_batch(extractor, [out[i]], [rows[i]])[0]
    return out


def _check_count(extractor: Extractor, values: Any, expected: int) -> None:
    if len(values) != expected:
        raise RuntimeError(f"extractor {extractor.name!r} returned {len(values)} features for {expected} items")


def _failure(row: dict[str, Any], extractor: Extractor, stage: str, e: Exception) -> ItemResult:
    return ItemResult(
        row["sample_id"],
        False,
        path=media_path_of(row, extractor.modality),
        stage=stage,
        error_type=type(e).__name__,
        reason=str(e) or type(e).__name__,
    )


def _ready() -> bool:
    return True


class LocalExecutor:
    """Decode in `num_workers` processes (0 = in this process), compute in this process."""

    def __init__(self, num_workers: int = 2, max_in_flight: int | None = None):
        self.num_workers = num_workers
        self.max_in_flight = max_in_flight or max(2, 2 * num_workers)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Boot the worker processes in the background (returns at once)."""
        if self.num_workers > 0:
            pool = self._get_pool()
            for _ in range(self.num_workers):
                pool.submit(_ready)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(
        self, extractor: Extractor, batches: Iterable[list[dict[str, Any]]], corpus_root: Path
    ) -> Iterator[tuple[list[dict[str, Any]], list[ItemResult]]]:
        """Yield (rows, results) per batch, in input order."""
        if self.num_workers <= 0 or not extractor.decode_in_workers:
            for rows in batches:
                yield rows, compute_batch(extractor, decode_batch(extractor, rows, corpus_root), rows)
            return
        pool = self._get_pool()
        window: deque[tuple[list[dict[str, Any]], Future]] = deque()
        for rows in batches:
            window.append((rows, pool.submit(decode_batch, extractor, rows, corpus_root)))
            if len(window) >= self.max_in_flight:
                done_rows, future = window.popleft()
                yield done_rows, compute_batch(extractor, self._decoded(extractor, done_rows, future, corpus_root), done_rows)
        while window:
            done_rows, future = window.popleft()
            yield done_rows, compute_batch(extractor, self._decoded(extractor, done_rows, future, corpus_root), done_rows)

    def _decoded(self, extractor: Extractor, rows: list[dict[str, Any]], future: Future, corpus_root: Path) -> list[ItemResult]:
        """The batch's decode results; if a worker died (a decoder crash, the OOM killer), the pool is
        restarted and the rows are decoded one per task, so only the item that kills a worker fails."""
        try:
            return future.result()
        except BrokenProcessPool:
            self._restart()
            return [self._decode_alone(extractor, row, corpus_root) for row in rows]

    def _decode_alone(self, extractor: Extractor, row: dict[str, Any], corpus_root: Path) -> ItemResult:
        try:
            return self._get_pool().submit(decode_batch, extractor, [row], corpus_root).result()[0]
        except BrokenProcessPool:
            self._restart()
            log.warning("sample %r killed its decoding process", row["sample_id"])
            return ItemResult(row["sample_id"], False, path=media_path_of(row, extractor.modality), stage="decode",
                              error_type="WorkerCrash",
                              reason="the decoding process died on this item (a crash in the decoder, or out of memory)")

    def _restart(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers never inherit a parent that already runs torch threads.
            context = multiprocessing.get_context("forkserver")
            # Workers fork from a server that has imported the extractor modules once.
            context.set_forkserver_preload(["mmdata.features.builtin"])
            self._pool = ProcessPoolExecutor(max_workers=self.num_workers, mp_context=context)
        return self._pool
