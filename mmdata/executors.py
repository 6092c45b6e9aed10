"""The local executor: running an extractor over batches of samples-table rows on this machine.

The local executor decodes in a pool of worker processes (a bounded window of batches in
flight, so memory stays flat) while the main process runs `compute` on the previous batch.

Workers are not free: each decoded item is pickled, piped and unpickled, and the pool takes a few
tenths of a second of CPU to start. By default (`num_workers=None`) the executor measures: it
decodes the first batch of each extractor in this process, timing each item and what shipping the
decoded items back would cost, and starts the workers only when they save at least
`WORKER_GAIN_PER_ITEM_S` per item (`DecodeCost`). A 16 kHz WAV (~0.1 ms to read, ~0.3 ms to ship)
stays in this process; a JPEG decoded and resized (~1-5 ms) goes to the workers. Only decoders
that cannot crash the process are measured here (`Extractor.decodes_safely_here`: Pillow,
libsndfile, mmdata's WAV reader); the others (FFmpeg's, unknown ones) always decode in workers,
where a crash costs one item. A file judged safe by its name that needs FFmpeg after all (an M4A
renamed `.wav`) raises `FFmpegNeededElsewhere` here and is decoded in a worker
(`mmdata.media.decoder_place`).

Threads: the pool has one process per core it is given, so every worker runs one BLAS/OpenMP/torch
thread (default pools start one thread per core in every process; with more runnable threads than
cores, the idle ones spin for work on cores the others need). The main process keeps the caller's
torch threads: `compute` is where a model runs, and decoding workers mostly wait on it then.

This module holds `LocalExecutor` and what decides where it decodes; the rest lives in:
    mmdata.batch_work         the per-batch decode and compute work (shared with the Ray executor)
    mmdata.decode_cost        `DecodeCost`: what decoding an item here costs, measured on a batch
    mmdata.worker_processes   the worker processes' start (fork server, threads) and end
The names moved there stay importable from here.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import pickle
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any

from mmdata.batch_work import (  # noqa: F401 - also re-exported from here
    STOPS_THE_RUN, ItemResult, compute_batch, computing_what, decode_batch, item_failure, media_path_of, worker_crash,
)
from mmdata.decode_cost import (  # noqa: F401 - also re-exported from here
    RESULT_OVERHEAD_S, TRANSFER_SAMPLE, WORKER_GAIN_PER_ITEM_S, DecodeCost, measure_decode,
)
from mmdata.environment import usable_cpus
from mmdata.errors import ConfigError, WorkersCannotStartError
from mmdata.extractor_shipping import cannot_receive_message, check_state_reaches, receive_extractor
from mmdata.features.base import Extractor
from mmdata.media.decoder_place import FFmpegNeededElsewhere, ffmpeg_elsewhere
from mmdata.worker_processes import (  # noqa: F401 - also re-exported from here
    MAIN_PROCESS_GONE_EXIT, THREAD_VARIABLES, WORKER_PRELOAD, _ready, _start_fork_server, _start_worker,
    _terminate_workers, _track_pool, limit_threads, release_broken_pools,
)

log = logging.getLogger(__name__)


WORKERS_CANNOT_START = (
    "decode worker processes die as they start (the error each printed is above); if mmdata runs from a script, "
    "put its calls under `if __name__ == \"__main__\":`: workers start from a fork server, which first runs the "
    "script's main module, as multiprocessing's spawn does; or decode in this process (num_workers=0, `-j 0`)"
)


def workers_cannot_start_message() -> str:
    """Why decode workers die as they start, and the way out: a main module that is no file on disk
    (`python - <<EOF`, `<stdin>`) cannot be run by the fork server, guard or not."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main is not None and not Path(main).is_file():
        return (f"decode worker processes die as they start (the error each printed is above): they first run this "
                f"program's main module, and {main!r} is not a file on disk (a program read from standard input, "
                "`python - <<EOF`); save the program to a file and run that (its calls under `if __name__ == "
                "\"__main__\":`), run it with `python -c`, or decode in this process (num_workers=0, `-j 0`)")
    return WORKERS_CANNOT_START


def _decode_receivable(extractor: Extractor, row: dict[str, Any], corpus_root: Path) -> ItemResult:
    """Decode one row in a worker, failing it there if its decoded item could not be received: one
    that pickles but cannot be unpickled would otherwise break the pool, and pass for a crash."""
    [result] = decode_batch(extractor, [row], corpus_root)
    try:
        pickle.loads(pickle.dumps(result))
    except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
        return replace(item_failure(row, extractor, "decode", e),
                       reason=f"the decoded item cannot be received from the worker process: {e or type(e).__name__}")
    return result


def _run_here(
    extractor: Extractor, batches: Iterable[list[dict[str, Any]]], corpus_root: Path
) -> Iterator[tuple[list[dict[str, Any]], list[ItemResult]]]:
    for rows in batches:
        yield rows, compute_batch(extractor, decode_batch(extractor, rows, corpus_root), rows)


#: The most worker processes auto mode starts: each holds its own decoders (and their memory), and
#: a main process computing one batch at a time is rarely fed faster by more.
MAX_AUTO_WORKERS = 8


def auto_workers(cpus: int) -> int:
    """Worker processes in auto mode on `cpus` usable CPUs: one per CPU but the main process's, at
    least 2 (on 2 CPUs the main process mostly waits on the workers), at most `MAX_AUTO_WORKERS`, never
    more than the CPUs. On a single CPU only decoders that could crash the process use (one): there
    they isolate the crash, they cannot add speed."""
    return min(cpus, max(2, min(MAX_AUTO_WORKERS, cpus - 1)))


def _why_not_sendable(extractor: Extractor) -> str | None:
    """Why no worker process can receive `extractor` as it is here (its class defined in a notebook's
    `__main__` or in a function: `mmdata.features.base`; state outside its config:
    `lost_in_workers`), or None when it can."""
    try:
        check_sendable(extractor)
    except WorkersCannotStartError as e:
        return f"its class cannot be sent to worker processes: {e}"
    except ConfigError as e:
        return f"its state cannot be sent to worker processes: {e}"
    return None


def check_sendable(extractor: Extractor) -> None:
    """Raise what stops `extractor` from reaching decode worker processes as it is here.

    Raises:
        WorkersCannotStartError: its class is defined where no worker can import it.
        ConfigError: it holds state outside its config, which the workers would not get.
    """
    # An extractor no worker can receive (a class defined in a function) is no item's fault: its
    # pickling error stops the run here, before a batch is sent (a batch that cannot be sent can
    # leave the pool's shutdown waiting).
    payload = pickle.dumps(extractor)
    check_state_reaches(extractor, pickle.loads(payload), "decode worker processes", LOCAL_STATE_HINT)


#: How to run an extractor whose state cannot reach the decode workers, besides moving it into its config.
LOCAL_STATE_HINT = "or decode in this process (num_workers=0, `-j 0`)"
#: How to run an extractor whose module the decode workers cannot import, besides making it importable.
LOCAL_RECEIVE_HINT = ("without depending on what this process set up before (environment variables, a "
                      "sys.path entry added after the workers started); or decode in this process (num_workers=0, "
                      "`-j 0`)")


class LocalExecutor:
    """Decode in worker processes, compute in this process.

    Args:
        num_workers: decode processes; 0 decodes in this process; None (auto) measures each
            extractor's decoding on its first batch and uses `auto_workers(usable CPUs)` processes
            only when they pay for themselves (`DecodeCost`) or when the decoder could crash the
            process (`Extractor.decodes_safely_here`).
        max_in_flight: batches submitted to the workers and not yet computed (memory bound);
            default: one per worker and 2 more, so that every worker has a batch while this process
            computes one (4 with 2 workers, 10 with 8).
    """

    def __init__(self, num_workers: int | None = None, max_in_flight: int | None = None):
        self.auto = num_workers is None
        self.cpus = usable_cpus()
        self.num_workers = auto_workers(self.cpus) if num_workers is None else num_workers
        self.max_in_flight = max_in_flight or self.num_workers + 2
        self._pool: ProcessPoolExecutor | None = None
        #: The pool while no batch has been sent to it since `_replace` started it, only single items
        #: (`_decode_alone`), one at a time: a worker that dies there was killed by that item.
        self._isolated: ProcessPoolExecutor | None = None
        #: Per table: where its items were decoded ("this process" or "N worker processes") and why.
        self.decisions: dict[str, str] = {}

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(abort=exc_type is not None)

    def start(self, extractors: Sequence[Extractor] | None = None) -> None:
        """Boot the worker processes in the background (returns at once), unless none of
        `extractors` (when known) decodes in workers. In auto mode the pool boots only once an
        extractor's measured decoding asks for it."""
        if self.auto or (extractors is not None and not any(e.decode_in_workers for e in extractors)):
            return
        if self.num_workers > 0:
            pool = self._get_pool()
            for _ in range(self.num_workers):
                pool.submit(_ready)

    def close(self, abort: bool = False) -> None:
        """Stop the workers: once their running batches end, or at once when `abort` (an error or
        Ctrl-C stopped the run: nothing waits for a batch then, which a hung decoder never ends)."""
        if self._pool is None:
            return
        if abort:
            _terminate_workers(self._pool)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def run(
        self, extractor: Extractor, batches: Iterable[list[dict[str, Any]]], corpus_root: Path
    ) -> Iterator[tuple[list[dict[str, Any]], list[ItemResult]]]:
        """Yield (rows, results) per batch, in input order."""
        if self.num_workers <= 0 or not extractor.decode_in_workers:
            self._decide(extractor, "this process")
            yield from _run_here(extractor, batches, corpus_root)
            return
        if not self.auto:
            check_sendable(extractor)
            self._decide(extractor, self._workers())
            yield from self._run_in_pool(extractor, batches, corpus_root)
            return
        unsendable = _why_not_sendable(extractor)
        if unsendable is not None:  # auto mode: decode here rather than stop (an explicit count stops)
            self._decide(extractor, f"this process ({unsendable})")
            log.warning("%s: decoding in this process: %s", extractor.table_name, unsendable)
            yield from _run_here(extractor, batches, corpus_root)
            return
        batches = iter(batches)
        first = next(batches, None)
        if first is None:
            return
        if not extractor.decodes_safely_here(first):
            self._decide(extractor, f"{self._workers()} (a crash of its decoder must cost one item)")
            yield from self._run_in_pool(extractor, itertools.chain([first], batches), corpus_root)
            return
        if self.cpus < 2:  # workers would only take turns with this process
            self._decide(extractor, "this process (one CPU)")
            yield from self._run_checked_here(extractor, itertools.chain([first], batches), corpus_root)
            return
        with ffmpeg_elsewhere():
            decoded, cost = measure_decode(extractor, first, corpus_root)
        yield first, compute_batch(extractor, self._needing_ffmpeg_in_workers(extractor, first, decoded, corpus_root), first)
        following = next(batches, None)
        if following is None:  # one batch in all: decoded here
            self._decide(extractor, f"this process ({cost.describe()}: one batch)")
            return
        batches = itertools.chain([following], batches)
        if cost.pays_for_workers():
            self._decide(extractor, f"{self._workers()} ({cost.describe()})")
            yield from self._run_in_pool(extractor, batches, corpus_root)
            return
        self._decide(extractor, f"this process ({cost.describe()}: workers would not pay)")
        yield from self._run_checked_here(extractor, batches, corpus_root)

    def _run_checked_here(
        self, extractor: Extractor, batches: Iterator[list[dict[str, Any]]], corpus_root: Path
    ) -> Iterator[tuple[list[dict[str, Any]], list[ItemResult]]]:
        """Decode here while the decoder is safe on the batch's files; from a batch it is not, in workers."""
        for rows in batches:
            if not extractor.decodes_safely_here(rows):
                self._decide(extractor, f"{self.decisions[extractor.table_name]}, then {self._workers()} from a "
                                        "batch whose files need a decoder that could crash")
                yield from self._run_in_pool(extractor, itertools.chain([rows], batches), corpus_root)
                return
            with ffmpeg_elsewhere():
                decoded = decode_batch(extractor, rows, corpus_root)
            yield rows, compute_batch(extractor, self._needing_ffmpeg_in_workers(extractor, rows, decoded, corpus_root), rows)

    def _needing_ffmpeg_in_workers(self, extractor: Extractor, rows: list[dict[str, Any]], decoded: list[ItemResult],
                                   corpus_root: Path) -> list[ItemResult]:
        """`decoded` with each item that turned out to need FFmpeg here (`FFmpegNeededElsewhere`: a file
        its name said libsndfile reads) decoded again in a worker process, in a task of its own."""
        return [self._decode_alone(extractor, row, corpus_root) if result.error_type == FFmpegNeededElsewhere.__name__
                else result for row, result in zip(rows, decoded)]

    def _workers(self) -> str:
        return f"{self.num_workers} worker process" + ("es" if self.num_workers != 1 else "")

    def _decide(self, extractor: Extractor, decision: str) -> None:
        self.decisions[extractor.table_name] = decision
        log.info("%s: decoding in %s", extractor.table_name, decision)

    def _run_in_pool(
        self, extractor: Extractor, batches: Iterable[list[dict[str, Any]]], corpus_root: Path
    ) -> Iterator[tuple[list[dict[str, Any]], list[ItemResult]]]:
        window: deque[tuple[list[dict[str, Any]], Future, ProcessPoolExecutor]] = deque()
        for rows in batches:
            window.append((rows, *self._submit(extractor, rows, corpus_root)))
            if len(window) >= self.max_in_flight:
                done_rows, future, pool = window.popleft()
                decoded = self._decoded(extractor, done_rows, future, pool, corpus_root)
                yield done_rows, compute_batch(extractor, decoded, done_rows)
        while window:
            done_rows, future, pool = window.popleft()
            decoded = self._decoded(extractor, done_rows, future, pool, corpus_root)
            yield done_rows, compute_batch(extractor, decoded, done_rows)

    def _submit(self, extractor: Extractor, rows: list[dict[str, Any]], corpus_root: Path) -> tuple[Future, ProcessPoolExecutor]:
        """(the batch's decode future, the pool it runs in); a pool that a worker's death broke since
        the last batch is replaced first (the batches still in it are decoded again by `_decoded`)."""
        pool = self._get_pool()
        try:
            future = pool.submit(decode_batch, extractor, rows, corpus_root)
        except BrokenProcessPool:
            self._replace(pool, extractor)
            pool = self._get_pool()
            future = pool.submit(decode_batch, extractor, rows, corpus_root)
        self._isolated = None
        return future, pool

    def _decoded(self, extractor: Extractor, rows: list[dict[str, Any]], future: Future, pool: ProcessPoolExecutor,
                 corpus_root: Path) -> list[ItemResult]:
        """The batch's decode results; if a worker died (a decoder crash, the OOM killer), the pool is
        replaced and the rows are decoded one per task, so only the item that kills a worker fails.
        So are they when the worker could not send the results back (a decoded item that cannot be
        pickled): the pool is intact, and only such items fail."""
        try:
            return future.result()
        except BrokenProcessPool:
            self._replace(pool, extractor)
        except Exception:  # noqa: BLE001 - the item that could not be sent back is found and recorded below
            pass
        return [self._decode_alone(extractor, row, corpus_root) for row in rows]

    def _decode_alone(self, extractor: Extractor, row: dict[str, Any], corpus_root: Path) -> ItemResult:
        """Decode `row` in a task of its own. A worker's death is blamed on it only in an isolated pool
        (`_isolated`): batches sent since to the current one may be what killed it, so there the row is
        decoded again in a fresh pool first."""
        for _ in range(2):
            pool = self._get_pool()
            try:
                return pool.submit(_decode_receivable, extractor, row, corpus_root).result()
            except BrokenProcessPool:
                isolated = pool is self._isolated
                self._replace(pool, extractor)
                if isolated:
                    break
            except Exception as e:  # noqa: BLE001 - its decoded item could not be sent back from the worker
                return item_failure(row, extractor, "decode", e)
        return worker_crash(row, extractor)

    def _replace(self, broken: ProcessPoolExecutor, extractor: Extractor) -> None:
        """Replace the `broken` pool by a fresh one (unless an earlier batch of it did already) and
        make sure a fresh worker starts at all and can receive `extractor`: when it cannot, no item
        is to blame.

        Raises:
            WorkersCannotStartError: a worker dies before it runs anything (typically a script
                without an `if __name__ == "__main__":` guard, which every worker runs first), or
                cannot unpickle the extractor (its module fails to import there).
        """
        if self._pool is not broken:
            return
        self._restart()
        try:
            error = self._get_pool().submit(receive_extractor, pickle.dumps(extractor)).result()
        except BrokenProcessPool:
            self._restart()
            raise WorkersCannotStartError(workers_cannot_start_message()) from None
        if error is not None:
            raise WorkersCannotStartError(cannot_receive_message(extractor, error, "decode worker processes",
                                                                 LOCAL_RECEIVE_HINT))
        self._isolated = self._pool

    def _restart(self) -> None:
        """Drop the current (broken) pool for a fresh one at the next `_get_pool`. Its workers are
        terminated: a worker the pool started for a batch submitted while another was dying is
        missed by the pool's own clean-up, and its manager thread would wait for it for ever (at
        interpreter exit too)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            _terminate_workers(self._pool)
            self._pool = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers never inherit a parent that already runs torch threads; they fork
            # from a server that has imported the extractor modules once.
            _start_fork_server()
            self._pool = _track_pool(ProcessPoolExecutor(
                max_workers=self.num_workers, mp_context=multiprocessing.get_context("forkserver"),
                initializer=_start_worker))
        return self._pool
