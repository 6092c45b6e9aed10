"""Running an extractor on Ray Data: the same contract and the same output as the local executor.

    with RayExecutor(address="auto", num_workers=16) as runner:
        for rows, results in runner.run(extractor, batches, corpus_root): ...

Ray is the engine; this module only describes the pipeline. Record shapes between stages:
    tasks:    {"shard": str, "start": int, "length": int, "rows": bytes}
                                      one Ray Data block per task: a slice of a samples shard (path,
                                      read by the worker) or pickled rows handed over by `run`
    decoded:  {"sample_id": str, "media_path": str|None, "result": bytes, "fatal": bool}
                                      per row, a pickled ItemResult (value = the decoded item);
                                      decoding runs as Ray tasks on CPUs (map_batches over a function)
    computed: same columns, ItemResult.value = the feature (or, in a row with fatal=True, a
                                      pickled MmdataError that stops the run)
Extractors that run a model (those with a `device` option) compute in an actor pool (map_batches
over a class) that loads the model once per actor, with one GPU per actor when the cluster has
GPUs. Weight-free extractors compute in the decode tasks themselves: an actor would only add a
process and a hop. Either way `compute` sees the same batches as with the local executor.
Where `num_workers` asks for all the cluster's CPUs, Ray Data keeps twice as many tasks submitted as
there are CPUs (`_tasks_in_flight`), so that Ray starts the next task the moment one ends rather
than on Ray Data's next scheduling step.
A decoder or a model that kills its process costs only its item: Ray retries the task (or the
actor's call), and the retries run its rows one at a time until the row that kills the process is
known and recorded as `WorkerCrash` (`mmdata.ray_attempts`).
Order is preserved, so the driver streams results back shard by shard and the pipeline writes and
resumes shards exactly as with the local executor. `stream_shards` starts one Ray Data execution
over every pending samples shard, so actors load their model once per table, not once per shard.

On a multi-node cluster, every node needs mmdata installed and must see the corpus and the dataset
directory at the same paths (shared storage), as for any Ray job reading files.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mmdata.errors import ConfigError, MmdataError, WorkersCannotStartError
from mmdata.executors import ItemResult, item_failure, media_path_of
from mmdata.extractor_shipping import cannot_receive_message, check_state_reaches, receive_extractor
from mmdata.features.base import Extractor
from mmdata.ray_attempts import attempt, block_key, run_rows, task_key
from mmdata.ray_cluster import (
    Reaper, bounding_gcs_wait, cannot_connect, join_with_token, local_session_started_here, probe_address, require_ray,
)

log = logging.getLogger(__name__)

#: How long closing an execution waits for the threads Ray Data started for it to end (they end
#: within a tenth of a second once the iteration is closed; see `_end_iteration`).
THREADS_END_TIMEOUT_S = 10.0

#: Rows per weight-free Ray task, in whole batches of the pipeline's batch size (so that `compute`
#: sees the local executor's batches). Each task costs Ray Data scheduling steps in the driver,
#: so larger tasks run faster (Ray Data alone, color-hist, 2,000 images on 2 CPUs: 1.33 s in
#: 128-row tasks, 1.19 s in 256-row ones); larger still gained little and leaves a CPU idle at
#: the end of a table with an odd number of tasks. The task decodes and computes one batch at a
#: time and returns only features, so its size bounds nothing but its output block.
ROWS_PER_TASK = 256
#: Model pipelines hand decoded items to the actors through the object store: their tasks stay
#: small enough to keep blocks of decoded images well under Ray Data's 128 MiB target block size.
BATCHES_PER_MODEL_TASK = 4
MAX_ROWS_PER_MODEL_TASK = 256


@dataclass(frozen=True)
class _Plan:
    """Where a stage runs: decode tasks running at once (None = as many as the cluster's CPUs),
    compute actors (0 = compute in the decode tasks), GPUs per actor, and decode tasks kept
    submitted (running or waiting for a CPU; see `_tasks_in_flight`)."""

    decode_tasks: int | None
    actors: int
    gpus_per_actor: float
    tasks_in_flight: int | None = None


class RayExecutor:
    """Decode in Ray tasks, compute in a Ray actor pool; yields (rows, results) per batch in input order.

    Args:
        address: None starts (or reuses) a Ray instance on this machine; "auto" (or the head's
            "HOST:PORT") joins a running cluster from one of its nodes. Ray Client ("ray://") is refused:
            Ray Data does not run through it; submit mmdata as a Ray job instead.
        num_workers: at most this many decode tasks at once; None (the default) or 0: one per CPU of
            the cluster (Ray schedules them), so that a bigger cluster decodes faster.
        num_actors: compute actors for model extractors (default: one per GPU of the cluster, else 1).
        num_gpus: GPUs per actor (default: 1 when the cluster has GPUs and the extractor has a
            `device` option other than `cpu`, else 0).

    The Ray workers mmdata starts (or the job it joins a cluster with) get this process's sys.path
    folders that a fresh Python process lacks (a recipe's folder for its `modules`, a script's
    `sys.path.append`) on their PYTHONPATH, so that they import extractors' modules as this process
    does. Before a table runs, one small task checks that a worker can receive its extractor.

    Raises:
        ConfigError: Ray is not installed, or the cluster cannot be reached; an extractor holds state
            outside its config, which the workers would not get; or its module is in a folder on this
            process's sys.path only and Ray was started before mmdata, without it.
        WorkersCannotStartError: a Ray worker cannot import an extractor's module.
    """

    def __init__(
        self,
        address: str | None = None,
        num_workers: int | None = None,
        *,
        num_actors: int | None = None,
        num_gpus: float | None = None,
    ):
        self.address = address
        self.num_workers = num_workers
        self.num_actors = num_actors
        self.num_gpus = num_gpus
        self._started_ray = False
        self._stream: _ResultStream | None = None
        #: Extractor classes a Ray worker was seen to receive (`_check_workers_receive`).
        self._receivable: set[type] = set()
        #: Ray Data threads still running after an execution was closed: shutting Ray down under
        #: them would end the process (see `close`).
        self._lingering: list[threading.Thread] = []
        #: Ends the Ray instance this executor started should this process die without `close`.
        self._reaper = Reaper()

    def __enter__(self) -> RayExecutor:
        """Check the address (a Ray Client one is refused, a HOST:PORT must answer); Ray itself is
        connected (or started) only once a table has rows to compute, so that a re-run of a finished
        dataset does not pay Ray's start-up (seconds)."""
        self._check_address()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, extractors: Sequence[Extractor] | None = None) -> None:
        """Nothing to boot: Ray is connected when the first table has rows to compute."""

    def close(self) -> None:
        """Stop any running stream; shut Ray down only if this executor started it.

        A stream left mid-way (an item failed with on_error='fail', Ctrl-C, SIGTERM) is closed
        first, which waits for Ray Data's threads to end (`_end_iteration`): one still using Ray
        when `ray.shutdown` runs makes Ray's core worker end the whole process (exit 1, the error
        never reported). Should one outlive the wait, Ray is left for its exit hook to shut down.
        """
        try:
            self._close_stream()
        finally:
            if self._started_ray:
                import ray

                self._started_ray = False
                lingering = [t.name for t in self._lingering if t.is_alive()]
                if lingering:
                    log.warning("Ray Data threads still running %.0f s after the execution was closed (%s); "
                                "Ray is shut down when the process exits", THREADS_END_TIMEOUT_S,
                                ", ".join(lingering))
                else:
                    ray.shutdown()
                    self._reaper.release()

    def stream_shards(
        self, extractor: Extractor, shard_paths: Sequence[Path], corpus_root: Path, batch_size: int
    ) -> None:
        """Start one Ray Data execution over whole samples shards, read by the workers.

        Later `run` calls for this extractor take their results from it, in order, so the pipeline
        keeps its shard-by-shard loop while Ray keeps its actors (and their models) for the table.
        """
        from mmdata.store.shards import shard_rows

        self._close_stream()
        rows_per_shard = [shard_rows(path) for path in shard_paths]
        if not sum(rows_per_shard):  # nothing pending: no need for Ray
            return
        self._ensure_ray()
        self._check_workers_receive(extractor)
        plan = self._plan(extractor)
        step = _rows_per_task(batch_size, plan, sum(rows_per_shard))
        tasks = [{"shard": str(path), "start": s, "length": min(step, rows - s), "rows": None}
                 for path, rows in zip(shard_paths, rows_per_shard) for s in range(0, rows, step)]
        if tasks:
            self._stream = _ResultStream(extractor.table_name,
                                         self._execute(extractor, plan, tasks, corpus_root, batch_size))

    def run(
        self, extractor: Extractor, batches: Iterable[list[dict[str, Any]]], corpus_root: Path
    ) -> Iterator[tuple[list[dict[str, Any]], list[ItemResult]]]:
        """Yield (rows, results) per batch, in input order (the `LocalExecutor.run` contract)."""
        if self._stream is not None and self._stream.table == extractor.table_name:
            for rows in batches:
                yield rows, self._stream.take(rows)
            return
        # Rows handed over directly: one Ray Data execution over them.
        batches = [list(rows) for rows in batches]
        if not any(batches):  # nothing to compute: no need for Ray
            for rows in batches:
                yield rows, []
            return
        batch_size = max((len(rows) for rows in batches), default=1)
        self._ensure_ray()
        self._check_workers_receive(extractor)
        plan = self._plan(extractor)
        step = _rows_per_task(batch_size, plan, sum(len(rows) for rows in batches))
        tasks = [{"shard": None, "start": 0, "length": len(rows), "rows": pickle.dumps(rows)}
                 for rows in _whole_batch_tasks(batches, batch_size, step)]
        stream = _ResultStream(extractor.table_name, self._execute(extractor, plan, tasks, corpus_root, batch_size))
        try:
            for rows in batches:
                yield rows, stream.take(rows)
        finally:
            stream.close()

    # --- building the Ray Data pipeline ---------------------------------------------------------

    def _execute(
        self, extractor: Extractor, plan: _Plan, tasks: list[dict[str, Any]], corpus_root: Path, batch_size: int
    ) -> Iterator[dict[str, Any]]:
        """Build and run the Ray Data pipeline; yields result blocks (column dicts) in order."""
        import ray.data
        import ray.exceptions

        in_flight = plan.tasks_in_flight or plan.decode_tasks
        tasks_compute = ray.data.TaskPoolStrategy(size=min(in_flight, len(tasks))) if in_flight else None
        ds = ray.data.from_items(tasks, override_num_blocks=len(tasks))
        if not plan.actors:  # weight-free: decode and compute in the same CPU tasks
            ds = ds.map_batches(_decode_and_compute_tasks, fn_args=(extractor, str(corpus_root), batch_size),
                                batch_size=None, batch_format="pyarrow", compute=tasks_compute, num_cpus=1)
        else:
            if extractor.decode_in_workers:
                ds = ds.map_batches(_decode_tasks, fn_args=(extractor, str(corpus_root), batch_size), batch_size=None,
                                    batch_format="pyarrow", compute=tasks_compute, num_cpus=1)
            execution = uuid.uuid4().hex  # keys the actors' attempt ledgers to this execution
            ds = ds.map_batches(
                _ComputeActor,
                fn_constructor_args=(extractor, str(corpus_root), batch_size, not plan.gpus_per_actor, execution),
                batch_size=None, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=plan.actors),
                # On CPUs the actor shares them with the decode tasks, as the local executor's main
                # process does with its pool; on GPUs it holds one device.
                num_cpus=1 if plan.gpus_per_actor else 0, num_gpus=plan.gpus_per_actor or None,
            )
        ds.context.execution_options.preserve_order = True
        if not plan.actors:
            # Ray Data's per-operator resource reservation runs a lone task operator one task at
            # a time on small clusters (measured on 2 CPUs: 0.9 tasks busy on average, 1.6 without
            # it). Its outputs are feature vectors, and concurrency stays capped by `num_workers`;
            # a model pipeline keeps the reservation, which stops decoding from running ahead of
            # the actors with decoded images.
            ds.context.op_resource_reservation_enabled = False
        ds.context.enable_progress_bars = False
        ds.context.print_on_execution_start = False
        # Ray Data logs a warning when its bars are off; mmdata draws its own progress.
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
        before = set(threading.enumerate())
        iterator = iter(ds.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=2))
        finished = False
        try:
            for block in iterator:
                yield block.to_pydict()
            finished = True
        except ray.exceptions.RayError as e:
            failure = _import_failure(e)
            if failure is None:
                raise
            # A worker the check before the run did not cover (another node) could not import it.
            raise WorkersCannotStartError(
                cannot_receive_message(extractor, failure, "Ray workers", RAY_RECEIVE_HINT)) from None
        finally:
            self._lingering = _end_iteration(iterator, before, finished=finished)

    def _plan(self, extractor: Extractor) -> _Plan:
        import ray

        decode_tasks = self.num_workers or None
        resources = ray.cluster_resources()
        in_flight = _tasks_in_flight(decode_tasks, int(resources.get("CPU", 0)))
        # Extractors that run a model have a `device` option; weight-free ones need no actor, no GPU.
        device = getattr(extractor.config, "device", None)
        if device is None:
            return _Plan(decode_tasks, 0, 0.0, in_flight)
        gpus_in_cluster = int(resources.get("GPU", 0))
        wants_gpu = str(device).lower() != "cpu"
        gpus = self.num_gpus if self.num_gpus is not None else (1.0 if gpus_in_cluster and wants_gpu else 0.0)
        actors = self.num_actors or (max(1, int(gpus_in_cluster // gpus)) if gpus else 1)
        return _Plan(decode_tasks, actors, gpus, in_flight)

    def _check_address(self) -> None:
        """Refuse a Ray Client address, and a HOST:PORT where nothing answers (`probe_address`), before
        any work: ray.init would wait for such an address without end, deaf to Ctrl-C and SIGTERM.

        Raises:
            ConfigError: the address is a Ray Client one (ray://), or nothing accepts a connection at it.
        """
        self._refuse_ray_client()
        require_ray()
        if self.address is not None:
            probe_address(self.address)

    def _refuse_ray_client(self) -> None:
        if (self.address or "").startswith("ray://"):
            raise ConfigError(
                f"--address {self.address}: Ray Data does not run through Ray Client (ray://); run mmdata on a "
                "node of the cluster with --address auto (or the head's HOST:PORT), for instance as a Ray job: "
                "`ray job submit --address http://HEAD:8265 -- mmdata extract ... --executor ray --address auto`"
            )

    def _ensure_ray(self) -> None:
        """Connect to Ray (or start it), keeping the caller's SIGTERM and SIGINT handlers
        (`_keeping_signal_handlers`). Joining a cluster waits a bounded time for its GCS
        (`bounding_gcs_wait`); a Ray instance started here gets a reaper (`Reaper`)."""
        self._refuse_ray_client()
        join_with_token(self.address)
        with bounding_gcs_wait(self.address):
            require_ray()
            import ray

            if ray.is_initialized():
                return
            self._check_address()
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            try:
                with _keeping_signal_handlers():
                    ray.init(address=self.address, include_dashboard=False, logging_level=logging.WARNING,
                             log_to_driver=False, runtime_env=worker_runtime_env(joining=self.address is not None))
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise cannot_connect(self.address, f"{type(e).__name__}: {e}") from e
        self._started_ray = True
        session = local_session_started_here()
        if session is not None:
            self._reaper.watch(session)

    def _check_workers_receive(self, extractor: Extractor) -> None:
        """Raise, before any Ray task runs, what would stop Ray workers from running `extractor` as it
        is here: state outside its config (`check_state_reaches`), or a module they cannot import,
        probed once per class with one small task (inside Ray Data, that failure would end the run
        with a Ray traceback).

        Raises:
            ConfigError: the extractor holds state outside its config; or its module is in a folder on
                this process's sys.path only, and Ray was started before mmdata, without it.
            WorkersCannotStartError: a Ray worker cannot unpickle the extractor (importing its module fails).
        """
        from ray import cloudpickle

        payload = cloudpickle.dumps(extractor)  # as Ray sends it to its tasks and actors
        check_state_reaches(extractor, cloudpickle.loads(payload), "Ray workers", RAY_STATE_HINT)
        if type(extractor) in self._receivable:
            return
        error = _receive_on_a_worker(payload)
        if error is not None:
            raise self._cannot_receive(extractor, error)
        self._receivable.add(type(extractor))

    def _cannot_receive(self, extractor: Extractor, error: str) -> MmdataError:
        """The error for an extractor Ray workers cannot unpickle: when its module is in a folder this
        process added to sys.path and Ray was started by the caller, the way to pass that folder on."""
        module = type(extractor).__module__
        folder = import_folder(module)
        if self._started_ray or folder is None or folder not in paths_added_here():
            return WorkersCannotStartError(cannot_receive_message(extractor, error, "Ray workers", RAY_RECEIVE_HINT))
        return ConfigError(
            f"Ray workers cannot import module {module!r} of extractor {extractor.name!r} ({error}): it is in "
            f"{folder}, which is on this process's sys.path only, and Ray was started before mmdata (ray.init in "
            f"this program), so mmdata could not pass the folder to its workers; start Ray with "
            f"ray.init(runtime_env={{\"env_vars\": {{\"PYTHONPATH\": {json.dumps(folder)}}}}}), let mmdata start "
            f"it (no ray.init before extract), or install the module")

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


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


#: The signals whose handlers `ray.init` replaces: SIGTERM with one that exits with status 15 (or, on
#: the node it starts, 1) without the caller's clean-up.
_KEPT_SIGNALS = ("SIGTERM", "SIGINT")


@contextmanager
def _keeping_signal_handlers() -> Iterator[None]:
    """Put back the caller's own SIGTERM and SIGINT handlers (the CLI's `exit_on_sigterm`) after
    `ray.init` replaced them, so that SIGTERM goes through the caller's clean-up (this executor's
    `close`, which shuts Ray down) rather than exiting from inside Ray. A default disposition is
    left to Ray, whose handler stops the Ray processes it started."""
    if threading.current_thread() is not threading.main_thread():  # handlers are set from the main thread only
        yield
        return
    kept = {}
    for name in _KEPT_SIGNALS:
        number = getattr(signal, name, None)
        handler = signal.getsignal(number) if number is not None else None
        if handler is not None and handler is not signal.SIG_DFL:
            kept[number] = handler
    try:
        yield
    finally:
        for number, handler in kept.items():
            if signal.getsignal(number) is not handler:
                signal.signal(number, handler)


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


# --- what the workers need: the driver's sys.path, the extractor's module ----------------------

#: How to run an extractor whose state cannot reach Ray workers, besides moving it into its config.
RAY_STATE_HINT = "or run it in this process with the local executor (`--executor local -j 0`)"
#: Where an extractor's module must import for Ray workers (`cannot_receive_message`).
RAY_RECEIVE_HINT = ("on every node of the Ray cluster, at the same path (mmdata passes the folders of this "
                    "process's sys.path on to the Ray workers it starts); or use the local executor")
#: How long the check that a Ray worker can receive an extractor waits for one (a busy cluster may
#: have none free); past it, the run goes on unchecked.
RECEIVE_CHECK_TIMEOUT_S = 60.0


def worker_runtime_env(joining: bool) -> dict[str, Any] | None:
    """The runtime environment for Ray workers, when mmdata starts Ray (or joins a cluster, `joining`):
    `paths_added_here` first on their PYTHONPATH, the one they would have after. None when this process
    added no folder."""
    added = paths_added_here()
    if not added:
        return None
    # Ray expands ${PYTHONPATH} to the workers' own value; a value that is not set would leave an empty
    # entry, which Python reads as the current folder.
    inherited = ["${PYTHONPATH}"] if joining or os.environ.get("PYTHONPATH") else []
    return {"env_vars": {"PYTHONPATH": os.pathsep.join([*added, *inherited])}}


def paths_added_here() -> list[str]:
    """This process's sys.path folders that a fresh Python process started like it lacks: those added
    while it runs (by a recipe, for its `modules`; a script's `sys.path.append`; its own folder), as
    absolute paths, in sys.path order."""
    fresh = _fresh_sys_path()
    added: list[str] = []
    for entry in sys.path:
        path = os.path.abspath(entry) if entry else ""
        if path and path not in fresh and path not in added and os.path.exists(path):
            added.append(path)
    return added


def _fresh_sys_path() -> set[str]:
    """The sys.path of a fresh Python process of this interpreter and environment (~30 ms to start);
    where it cannot be started, this process's folders under its installation prefixes."""
    try:
        done = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"],
                              capture_output=True, text=True, timeout=60, check=True)
        return {os.path.abspath(entry) for entry in json.loads(done.stdout) if entry}
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        log.debug("cannot start a Python process to read its sys.path (%s); taking the installation's folders", e)
        prefixes = tuple(os.path.abspath(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
        return {os.path.abspath(entry) for entry in sys.path if entry and os.path.abspath(entry).startswith(prefixes)}


def import_folder(module: str) -> str | None:
    """The sys.path folder `module` (imported in this process) was found in; None for a module
    without a file (built in, or defined in `__main__` of an interactive session)."""
    top = sys.modules.get(module.partition(".")[0])
    location = getattr(top, "__file__", None)
    if not location:
        return None
    folder = Path(location).resolve().parent
    return str(folder.parent if hasattr(top, "__path__") else folder)


def _receive_on_a_worker(payload: bytes) -> str | None:
    """Unpickle a pickled extractor in a Ray task; the error that stops it there, as text, or None
    (also when no worker takes the task within `RECEIVE_CHECK_TIMEOUT_S`)."""
    import ray
    import ray.exceptions

    task = _receiver().remote(payload)
    try:
        return ray.get(task, timeout=RECEIVE_CHECK_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError:
        log.warning("no Ray worker took the check that it can import the extractor within %.0f s; going on "
                    "without it", RECEIVE_CHECK_TIMEOUT_S)
        ray.cancel(task, force=True)
        return None
    except ray.exceptions.RayError as e:  # the worker died unpickling it, or its runtime environment failed
        return _import_failure(e) or f"{type(e).__name__}: {_last_line(e)}"


@functools.cache
def _receiver() -> Any:
    """`mmdata.extractor_shipping.receive_extractor` as a Ray task: no CPU (it runs even on a busy cluster), no retry."""
    import ray

    return ray.remote(num_cpus=0, max_retries=0)(receive_extractor)


def _import_failure(error: BaseException) -> str | None:
    """The last `ImportError: ...` or `ModuleNotFoundError: ...` line in a Ray error's text (a worker
    that could not unpickle a task's function or arguments), or None."""
    lines = [line.strip() for line in str(error).splitlines()]
    found = [line for line in lines if line.startswith(("ModuleNotFoundError: ", "ImportError: "))]
    return found[-1] if found else None


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


# --- stage functions (run in Ray workers) -------------------------------------------------------


def _tasks_in_flight(running: int | None, cluster_cpus: int) -> int | None:
    """How many decode tasks Ray Data keeps submitted, for `running` at once on `cluster_cpus`.

    Ray Data's scheduling loop waits up to 0.1 s per step for its tasks and frees a finished
    task's slot a step or two later, so with as many tasks submitted as CPUs, a CPU idles for
    that long after every task: on 2 CPUs with 130 ms tasks, 1.1 tasks ran on average. With
    twice as many submitted, one waits in Ray's own scheduler, which starts it the moment a CPU
    frees. Ray's CPU accounting still caps how many run at once, so this holds only where that
    cap is the cluster's CPUs: with fewer workers than CPUs, the extra tasks would run at once,
    so there the window stays `running`.
    """
    if cluster_cpus <= 0 or (running is not None and running < cluster_cpus):
        return running
    return 2 * cluster_cpus


def _rows_per_task(batch_size: int, plan: _Plan, total_rows: int) -> int:
    """Rows per task: whole batches, at most the plan's task size, and few enough that a small
    table still gives every task slot a task (200 rows on 2 CPUs: 4 tasks, not one of 256)."""
    most = min(MAX_ROWS_PER_MODEL_TASK, BATCHES_PER_MODEL_TASK * batch_size) if plan.actors else ROWS_PER_TASK
    most = max(batch_size, most // batch_size * batch_size)
    share = -(-total_rows // (plan.tasks_in_flight or plan.decode_tasks or 1))
    return min(most, max(batch_size, -(-share // batch_size) * batch_size))


def _whole_batch_tasks(batches: list[list[dict[str, Any]]], batch_size: int, step: int) -> list[list[dict[str, Any]]]:
    """The rows of `batches`, cut into tasks of at most `step` rows in which only the
    last batch may be shorter than `batch_size`: a task cut into `batch_size` rows from its start
    then hands `compute` exactly the batches given, as the local executor does."""
    tasks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for rows in batches:
        if current and len(current) + len(rows) > step:
            tasks.append(current)
            current = []
        current += rows
        if current and len(rows) < batch_size:
            tasks.append(current)
            current = []
    if current:
        tasks.append(current)
    return tasks


#: Why a Ray worker may not find a samples shard the driver listed.
SHARED_STORAGE_HINT = ("Ray workers read the samples shards themselves: on a cluster, every node must see the "
                       "dataset directory at the same path (shared storage)")


def _task_rows(tasks: Any) -> list[dict[str, Any]]:
    """The samples-table rows of one block of task descriptors.

    Raises:
        ShardReadError: a samples shard cannot be read on this node (named, with the shared-storage hint).
    """
    from mmdata.errors import ShardReadError
    from mmdata.store.shards import read_shard

    rows: list[dict[str, Any]] = []
    for task in tasks.to_pylist():
        if task["rows"] is not None:
            rows += pickle.loads(task["rows"])
            continue
        try:
            shard = read_shard(Path(task["shard"]))
        except ShardReadError as e:
            raise ShardReadError(f"{e}; {SHARED_STORAGE_HINT}") from e
        rows += shard.slice(task["start"], task["length"]).to_pylist()
    return rows


def _result_block(rows: list[dict[str, Any]], results: list[ItemResult], extractor: Extractor, stage: str) -> Any:
    """The block a stage returns; a result that cannot be pickled (a decoded item with an open handle,
    say) fails its item at `stage`, as the local executor fails an item its worker cannot send back."""
    import pyarrow as pa

    payloads = []
    for row, result in zip(rows, results):
        try:
            payloads.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
            payloads.append(pickle.dumps(item_failure(row, extractor, stage, e), protocol=pickle.HIGHEST_PROTOCOL))
    return pa.table({
        "sample_id": pa.array([r.sample_id for r in results], pa.string()),
        "media_path": pa.array([media_path_of(row, extractor.modality) for row in rows], pa.string()),
        "result": pa.array(payloads, pa.large_binary()),
        "fatal": pa.array([False] * len(results), pa.bool_()),
    })


def _received(payload: bytes, row: dict[str, Any], extractor: Extractor) -> ItemResult:
    """A decode task's result as the actor unpickles it; one that cannot be rebuilt here fails its item."""
    try:
        return pickle.loads(payload)
    except Exception as e:  # noqa: BLE001 - recorded with its type in the errors table
        failure = item_failure(row, extractor, "decode", e)
        return replace(failure, reason=f"the decoded item cannot be received from the decode task: {failure.reason}")


def _fatal_block(error: MmdataError) -> Any:
    """An error that is no item's fault (missing weights, a bad option, a samples shard this node
    cannot read) stops the run: it goes to the driver as data, so that it is re-raised there as
    itself rather than wrapped by Ray."""
    import pyarrow as pa

    return pa.table({"sample_id": pa.array([None], pa.string()), "media_path": pa.array([None], pa.string()),
                     "result": pa.array([pickle.dumps(error)], pa.large_binary()), "fatal": [True]})


def _decode_tasks(tasks: Any, extractor: Extractor, corpus_root: str, batch_size: int) -> Any:
    try:
        rows = _task_rows(tasks)
    except MmdataError as e:
        return _fatal_block(e)
    with attempt(task_key()) as current:
        decoded = run_rows(current, extractor, rows, Path(corpus_root), batch_size, compute=False)
    return _result_block(rows, decoded, extractor, "decode")


def _decode_and_compute_tasks(tasks: Any, extractor: Extractor, corpus_root: str, batch_size: int) -> Any:
    """Decode and compute a batch at a time, so that a task holds one batch of decoded items."""
    try:
        rows = _task_rows(tasks)
        with attempt(task_key()) as current:
            results = run_rows(current, extractor, rows, Path(corpus_root), batch_size)
    except MmdataError as e:
        return _fatal_block(e)
    return _result_block(rows, results, extractor, "compute")


def on_assigned_gpu(extractor: Extractor) -> Extractor:
    """The extractor as a GPU actor runs it: Ray shows the actor only the GPU it assigned (as
    `cuda:0`), so a `cuda:N` chosen for the cluster means that GPU, whatever N is."""
    device = str(getattr(extractor.config, "device", ""))
    if not device.startswith("cuda:"):
        return extractor
    return type(extractor)(replace(extractor.config, device="cuda"))


class _ComputeActor:
    """Holds one extractor (and the model it loads) for the life of the actor; `execution` names the
    Ray Data execution it serves (its calls' attempt ledgers are keyed by it)."""

    def __init__(self, extractor: Extractor, corpus_root: str, batch_size: int, on_cpu: bool, execution: str):
        if on_cpu:
            # Ray gives a zero-CPU actor OMP_NUM_THREADS=1; inference on the CPU should use the
            # node's cores, as the local executor's main process does. The model is not loaded
            # yet (extractors import torch lazily), so the setting takes effect.
            os.environ["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                                else os.cpu_count() or 1)
        self.extractor = extractor if on_cpu else on_assigned_gpu(extractor)
        self.corpus_root = Path(corpus_root)
        self.batch_size = batch_size
        self.execution = execution

    def __call__(self, block: Any) -> Any:
        extractor = self.extractor
        if "result" in block.column_names:
            if any(block["fatal"].to_pylist()):  # the decode task's error, on its way to the driver
                return block
            rows = [{"sample_id": s, extractor.modality: p}
                    for s, p in zip(block["sample_id"].to_pylist(), block["media_path"].to_pylist())]
            decoded = [_received(b, row, extractor) for b, row in zip(block["result"].to_pylist(), rows)]
        else:  # decode_in_workers=False: decoding is trivial and happens here
            try:
                rows, decoded = _task_rows(block), None
            except MmdataError as e:
                return _fatal_block(e)
        key = block_key(extractor.table_name, [row["sample_id"] for row in rows], self.execution)
        with attempt(key) as current:
            try:
                results = run_rows(current, extractor, rows, self.corpus_root, self.batch_size, decoded=decoded)
            except MmdataError as e:
                return _fatal_block(e)
        return _result_block(rows, results, extractor, "compute")
