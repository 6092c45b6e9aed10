"""Running an extractor over batches of samples-table rows.

Record shapes between stages:
    rows:     list[dict]                      samples-table rows of one batch
    decoded:  list[ItemResult]                per row: ok + decoded item, or the failure
    computed: list[ItemResult]                per row: ok + feature (array or (array, intervals))

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
where a crash costs one item.

Threads: the pool has one process per core it is given, so every worker runs one BLAS/OpenMP/torch
thread (default pools start one thread per core in every process; with more runnable threads than
cores, the idle ones spin for work on cores the others need). The main process keeps the caller's
torch threads: `compute` is where a model runs, and decoding workers mostly wait on it then.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import signal
import statistics
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mmdata.environment import environment, usable_cpus
from mmdata.errors import (
    ConfigError, DatasetError, MissingWeightsError, MmdataError, UnknownNameError, WorkersCannotStartError,
)
from mmdata.extractor_shipping import cannot_receive_message, check_state_reaches, receive_extractor
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


@dataclass(frozen=True)
class DecodeCost:
    """What decoding one item costs this process, measured on a batch (seconds per item)."""

    #: Median time to decode an item (the median leaves out a first call's warm-up).
    decode_s: float
    #: Time to pickle and unpickle a decoded item: what a worker's result costs to ship back.
    transfer_s: float

    def worker_gain_s(self) -> float:
        """Seconds per item the main process saves when workers decode (it still receives the items)."""
        return self.decode_s - self.transfer_s - RESULT_OVERHEAD_S

    def pays_for_workers(self) -> bool:
        return self.worker_gain_s() >= WORKER_GAIN_PER_ITEM_S

    def describe(self) -> str:
        shipping = "cannot be pickled" if math.isinf(self.transfer_s) else f"{self.transfer_s * 1e3:.2f} ms"
        return f"decode {self.decode_s * 1e3:.2f} ms/item, shipping a decoded item {shipping}"


#: Besides the pickling, each item received from a worker costs the main process about this much:
#: its share of the task's future, the pipe and the result queue. Measured on 2 cores, batches of
#: 64: ~0.015 ms per item for a decoder returning 16 bytes; for 128 KB items the workers cost the
#: main process 0.23-0.30 ms per item, and their pickle round trip alone measures 0.28 ms.
RESULT_OVERHEAD_S = 0.02e-3
#: Workers are started when they save the main process at least this much per item: on a few
#: thousand items, more than the ~0.3 s of CPU the pool takes to start and import the decoders.
WORKER_GAIN_PER_ITEM_S = 0.25e-3


#: Items whose pickle round trip is timed (a few suffice; all of a batch of audio would take ~20 ms).
TRANSFER_SAMPLE = 8


def measure_decode(extractor: Extractor, rows: list[dict[str, Any]], corpus_root: Path) -> tuple[list[ItemResult], DecodeCost]:
    """`decode_batch` in this process, timing each item and the pickle round trip of the results."""
    out, seconds = [], []
    for row in rows:
        started = time.perf_counter()
        out.extend(decode_batch(extractor, [row], corpus_root))
        seconds.append(time.perf_counter() - started)
    decode = statistics.median(seconds) if seconds else 0.0
    shipped = out[:TRANSFER_SAMPLE]
    started = time.perf_counter()
    try:
        pickle.loads(pickle.dumps(shipped))
    except Exception:  # noqa: BLE001 - items a worker could not send back are decoded here
        return out, DecodeCost(decode, math.inf)
    return out, DecodeCost(decode, (time.perf_counter() - started) / max(len(shipped), 1))


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
    (`File ".../executors.py", line N in mmdata computing table 'image.x', samples 'a' .. 'b'`).
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


#: The variables BLAS and OpenMP libraries (and torch) read their thread counts from when loaded.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS")
#: Modules the fork server imports once, so that every worker starts with them loaded.
WORKER_PRELOAD = ("mmdata.features.builtin", "soundfile")


def limit_threads(num_threads: int = 1) -> None:
    """Cap this process's BLAS, OpenMP and torch thread pools at `num_threads`.

    Runs first in every worker. Workers fork from a server started with the thread variables set
    (`_start_fork_server`), so the libraries it loaded already run one thread and only torch is
    checked; in a server started otherwise, threadpoolctl caps the pools of loaded libraries
    (~25 ms) and the variables cover libraries imported later.
    """
    value = str(num_threads)
    inherited = all(os.environ.get(name) == value for name in THREAD_VARIABLES)
    for name in THREAD_VARIABLES:
        os.environ[name] = value
    if not inherited:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=num_threads)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)


def _start_worker() -> None:
    """Runs first in every worker: the worker goes with the main process (`_exit_with_the_main_process`),
    one thread per library pool, and Ctrl-C left to the main process, which stops the workers itself
    (a worker interrupted mid-batch only printed a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_the_main_process()
    limit_threads()


#: A worker's exit status when it ends itself because the main process is gone (no one reads it).
MAIN_PROCESS_GONE_EXIT = 70


def _exit_with_the_main_process() -> None:
    """Make this worker end when the main process does, however that ends (SIGKILL, the OOM killer).

    Nothing else ends it then: a worker holds both ends of the pool's task and result pipes, so it
    never reads EOF or gets EPIPE; it waits for a task, or blocks writing a result no one reads, for
    ever. It holds the fork server's "alive" pipe too (so the server, which exits at that pipe's
    EOF, stays) and the resource tracker's pipe (so does the tracker). Three guards:

    - a daemon thread waits on the main process's sentinel (the read end of a pipe whose write end
      only the main process holds: EOF when it is gone) and exits the process with `os._exit`; it
      runs whatever the worker's main thread is blocked in (a pipe write, a sleep, a decoder that
      releases the GIL);
    - the inherited write end of the fork server's "alive" pipe is closed, so the server exits as
      soon as the main process is gone, not once every worker is;
    - on Linux the kernel SIGKILLs the worker when its parent, the fork server, exits: this covers a
      worker stuck in C code that holds the GIL, where the thread cannot run.

    The resource tracker exits by itself once no process holds its pipe, i.e. once the workers are gone.
    """
    if multiprocessing.forkserver.get_inherited_fds() is not None:  # started by the fork server
        # Armed first: the server cannot exit before this worker closes its "alive" pipe below. Only
        # here: the kernel signals the death of the forking *thread*, and the server forks from its
        # main thread (a pool started by another context may start workers from any thread).
        _die_with_the_fork_server()
        server = multiprocessing.forkserver._forkserver
        alive = getattr(server, "_forkserver_alive_fd", None)
        if alive is not None and getattr(server, "_forkserver_pid", None) is None:
            with contextlib.suppress(OSError):
                os.close(alive)
            server._forkserver_alive_fd = None  # a server this worker would need is its own (`ensure_running`)
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    threading.Thread(target=_exit_when_gone, args=(parent.sentinel,), name="mmdata-main-process-watch",
                     daemon=True).start()


def _exit_when_gone(sentinel: int) -> None:
    """Wait until the main process's `sentinel` reads EOF (it is gone), then end this process at once:
    no exit handlers, no flushing of queues no one will read."""
    from multiprocessing.connection import wait

    try:
        while not wait([sentinel]):
            pass
    except OSError:  # the sentinel is unusable: the worker is not ended for it (the fork server guard stays)
        return
    os._exit(MAIN_PROCESS_GONE_EXIT)


#: prctl(2) option: the signal the kernel sends this process when its parent exits.
_PR_SET_PDEATHSIG = 1


def _die_with_the_fork_server() -> None:
    """On Linux, have the kernel SIGKILL this worker when its parent (the fork server) exits; a no-op
    elsewhere or where prctl is unavailable. If the parent is already gone, exit now."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent exited before the signal was armed
        os._exit(MAIN_PROCESS_GONE_EXIT)


def _start_fork_server() -> None:
    """Start this process's fork server (once; later calls return at once) with one thread per
    BLAS/OpenMP pool in its environment, so that the libraries it preloads, and every worker
    forked from it, start single-threaded at no cost per worker. The variables are set in this
    process only while the server is launched."""
    multiprocessing.forkserver.set_forkserver_preload(list(WORKER_PRELOAD))
    with environment({name: "1" for name in THREAD_VARIABLES}):
        multiprocessing.forkserver.ensure_running()


def _ready() -> bool:
    return True


def worker_crash(row: dict[str, Any], extractor: Extractor, stage: str = "decode") -> ItemResult:
    """The failure of an item whose decoding (or, on Ray, computing) killed its process (logged as it
    is recorded)."""
    what = "decoding" if stage == "decode" else "computing"
    log.warning("sample %r killed its %s process", row["sample_id"], what)
    culprit = "the decoder" if stage == "decode" else "the extractor or its model"
    return ItemResult(row["sample_id"], False, path=media_path_of(row, extractor.modality), stage=stage,
                      error_type="WorkerCrash",
                      reason=f"the {what} process died on this item (a crash in {culprit}, or out of memory)")


WORKERS_CANNOT_START = (
    "decode worker processes die as they start (the error each printed is above); if mmdata runs from a script, "
    "put its calls under `if __name__ == \"__main__\":`: workers start from a fork server, which first runs the "
    "script's main module, as multiprocessing's spawn does; or decode in this process (num_workers=0, `-j 0`)"
)


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM every worker process `pool` started (its private process table; none if that changes)."""
    _terminate_processes(getattr(pool, "_processes", None) or {})


def _terminate_processes(table: dict[int, Any]) -> None:
    for process in list(table.values()):
        with contextlib.suppress(Exception):  # already gone
            process.terminate()


#: (the pool, its worker table) of every decode pool started here. A broken pool's manager thread
#: terminates the workers it knows of and then joins every one in the table; a worker the pool
#: started for a batch submitted while it was breaking can land there after that, and waits for
#: work for ever, so the join (and the interpreter's exit, which joins the manager threads) hangs.
_POOL_TABLES: list[tuple[weakref.ref, dict[int, Any]]] = []


def _track_pool(pool: ProcessPoolExecutor) -> ProcessPoolExecutor:
    _POOL_TABLES[:] = [(ref, table) for ref, table in _POOL_TABLES if ref() is not None or _any_alive(table)]
    table = getattr(pool, "_processes", None)  # the pool's own dict (empty now): not `or {}`, a new one
    _POOL_TABLES.append((weakref.ref(pool), table if table is not None else {}))
    return pool


def _any_alive(table: dict[int, Any]) -> bool:
    return any(process.is_alive() for process in list(table.values()))


def release_broken_pools() -> None:
    """SIGTERM the workers left in the tables of broken (or dropped) decode pools, so that their
    manager threads' joins end; run at interpreter exit before concurrent.futures joins those
    threads (a test run once hung there after its last test)."""
    for ref, table in list(_POOL_TABLES):
        pool = ref()
        if pool is None or getattr(pool, "_broken", False):
            _terminate_processes(table)


# Hooks registered here run before concurrent.futures' own exit hook, which joins the manager threads.
getattr(threading, "_register_atexit", atexit.register)(release_broken_pools)


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
        decoded, cost = measure_decode(extractor, first, corpus_root)
        yield first, compute_batch(extractor, decoded, first)
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
            yield rows, compute_batch(extractor, decode_batch(extractor, rows, corpus_root), rows)

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
            raise WorkersCannotStartError(WORKERS_CANNOT_START) from None
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
