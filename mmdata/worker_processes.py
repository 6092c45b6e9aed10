"""The local executor's decode worker processes: how they start and how they end.

Workers fork from a fork server that preloads the decoders with one BLAS/OpenMP thread per pool
(`_start_fork_server`), so each worker starts single-threaded at no cost (`limit_threads`); each
worker ends with the main process however that ends (`_exit_with_the_main_process`); and the
workers a broken pool leaves behind are terminated, so that neither the pool's clean-up nor the
interpreter's exit waits for them (`release_broken_pools`). The pool itself, and what is decoded
in it, is `mmdata.executors.LocalExecutor`'s.
"""
from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from mmdata.environment import environment


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
