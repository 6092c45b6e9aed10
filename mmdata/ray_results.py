"""The driver's side of a running Ray Data execution: its results handed out in input order, a
batch of rows at a time (`_ResultStream`), and its end (`_end_iteration`), which waits for the
threads Ray Data started, so that shutting Ray down never pulls it from under them.
"""
from __future__ import annotations

import pickle
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from mmdata.batch_work import ItemResult


#: How long closing an execution waits for the threads Ray Data started for it to end (they end
#: within a tenth of a second once the iteration is closed; see `_end_iteration`).
THREADS_END_TIMEOUT_S = 10.0


def _end_iteration(iterator: Iterator[Any], before: set[threading.Thread], *, finished: bool) -> list[threading.Thread]:
    """Close a Ray Data iteration; one left mid-way waits for the threads it started to end.
    Returns those still running after `THREADS_END_TIMEOUT_S`.

    Closing the iterator shuts its streaming executor down, but an iteration left mid-way (an item
    failed with on_error='fail', Ctrl-C, SIGTERM) leaves its prefetching threads running a moment
    longer, holding object refs: were Ray shut down meanwhile, the first of them to touch it (if
    only to drop a ref) makes Ray's core worker end the whole process. Its block prefetcher's
    thread, which Ray Data stops only at the end of a finished iteration, is stopped here. A
    finished iteration has ended its threads already.
    """
    prefetcher = _prefetcher_of(iterator)  # found in the suspended generator, before closing it
    close = getattr(iterator, "close", None)
    if close is not None:
        close()
    if finished:
        return []
    if prefetcher is not None:
        prefetcher.stop()
    deadline = time.monotonic() + THREADS_END_TIMEOUT_S
    started = [t for t in threading.enumerate() if t not in before and t is not threading.current_thread()
               and _runs_ray_code(t) and _prefetcher_run_by(t) in (None, prefetcher)]
    for thread in started:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in started if t.is_alive()]


def _prefetcher_of(iterator: Iterator[Any]) -> Any:
    """The block prefetcher of a Ray Data `iter_batches` iteration (None where it cannot be found)."""
    frame = getattr(iterator, "gi_frame", None)
    batch_iterator = frame.f_locals.get("batch_iterator") if frame is not None else None
    prefetcher = getattr(batch_iterator, "_prefetcher", None)
    return prefetcher if callable(getattr(prefetcher, "stop", None)) else None


def _prefetcher_run_by(thread: threading.Thread) -> Any:
    """The block prefetcher whose loop the thread runs, if any: another iteration's is neither
    stopped nor waited for (it waits for blocks until its own iteration stops it)."""
    owner = getattr(getattr(thread, "_target", None), "__self__", None)
    return owner if callable(getattr(owner, "prefetch_blocks", None)) else None


def _runs_ray_code(thread: threading.Thread) -> bool:
    """The thread runs Ray's code (a target function or a Thread subclass from a `ray` module)."""
    target = getattr(thread, "_target", None)
    module = getattr(target, "__module__", None) if target is not None else type(thread).__module__
    return (module or "").split(".")[0] == "ray"



class _ResultStream:
    """Hands out results of an ordered Ray Data execution, a batch of rows at a time."""

    def __init__(self, table: str, blocks: Iterator[dict[str, Any]]):
        self.table = table
        self._blocks = blocks
        self._ready: deque[tuple[str, bytes]] = deque()

    def take(self, rows: list[dict[str, Any]]) -> list[ItemResult]:
        out = []
        for row in rows:
            while not self._ready:
                self._pull()
            sample_id, payload = self._ready.popleft()
            if sample_id != row["sample_id"]:
                raise RuntimeError(
                    f"ray executor returned sample {sample_id!r} where {row['sample_id']!r} was expected "
                    f"(table {self.table!r}); results must come back in input order"
                )
            out.append(pickle.loads(payload))
        return out

    def close(self) -> None:
        close = getattr(self._blocks, "close", None)
        if close is not None:
            close()

    def _pull(self) -> None:
        try:
            block = next(self._blocks)
        except StopIteration:
            raise RuntimeError(f"ray executor ended early for table {self.table!r}: fewer results than rows") from None
        for sample_id, payload, fatal in zip(block["sample_id"], block["result"], block["fatal"]):
            if fatal:
                raise pickle.loads(payload)
            self._ready.append((sample_id, payload))
