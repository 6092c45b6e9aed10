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
Extractors that run a model (those with a `device` option, or wrapping an extractor with one, as
`video-frames` does its image extractor: `image_models.model_device`) compute in an actor pool
(map_batches over a class) that loads the model once per actor, with one GPU per actor when the
cluster has GPUs. Weight-free extractors compute in the decode tasks themselves: an actor would only
add a process and a hop. Either way `compute` sees the same batches as with the local executor.
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

This module is the driver side: `RayExecutor`, which connects to Ray and builds the pipeline.
The rest lives in:
    mmdata.ray_stages           what runs in Ray workers: the decode and compute tasks, the compute actor
    mmdata.ray_plan             how a table is cut into tasks and where each stage runs (`_Plan`)
    mmdata.ray_results          the execution's results, read back in order, and its end
    mmdata.ray_worker_imports   the driver's sys.path passed on to the workers, and the check that they
                                can receive an extractor
The names moved there stay importable from here. Reaching Ray is `mmdata.ray_cluster`'s; the
retries that isolate an item that kills its process are `mmdata.ray_attempts`'s.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mmdata.batch_work import ItemResult
from mmdata.errors import ConfigError, MmdataError, WorkersCannotStartError
from mmdata.extractor_shipping import cannot_receive_message, check_state_reaches
from mmdata.extract_refusals import extractor_spec
from mmdata.features.base import Extractor
from mmdata.features.image_models import model_device
from mmdata.ray_cluster import (
    Reaper, bounding_gcs_wait, cannot_connect, join_with_token, local_session_started_here, probe_address, require_ray,
)
from mmdata.ray_plan import (  # noqa: F401 - also re-exported from here
    BATCHES_PER_MODEL_TASK, MAX_ROWS_PER_MODEL_TASK, ROWS_PER_TASK, _Plan, _rows_per_task, _tasks_in_flight,
    _whole_batch_tasks, cluster_lacks_device,
)
from mmdata.ray_results import THREADS_END_TIMEOUT_S, _ResultStream, _end_iteration
from mmdata.ray_stages import (  # noqa: F401 - also re-exported from here
    SHARED_STORAGE_HINT, _ComputeActor, _decode_and_compute_tasks, _decode_tasks, on_assigned_gpu,
)
from mmdata.ray_worker_imports import (  # noqa: F401 - also re-exported from here
    RAY_RECEIVE_HINT, RAY_STATE_HINT, RECEIVE_CHECK_TIMEOUT_S, _import_failure, _receive_on_a_worker, import_folder,
    paths_added_here, worker_runtime_env,
)

log = logging.getLogger(__name__)


class RayExecutor:
    """Decode in Ray tasks, compute in a Ray actor pool; yields (rows, results) per batch in input order.

    Args:
        address: None starts (or reuses) a Ray instance on this machine; "auto" (or the head's
            "HOST:PORT") joins a running cluster from one of its nodes. Ray Client ("ray://") is refused:
            Ray Data does not run through it; submit mmdata as a Ray job instead.
        num_workers: at most this many decode tasks at once; None (the default) or 0: one per CPU of
            the cluster (Ray schedules them), so that a bigger cluster decodes faster.
        num_actors: compute actors for model extractors (default: one per GPU of the cluster, else 1).
        num_gpus: GPUs per actor (default: 1 when the cluster has GPUs and the extractor's model device
            (`image_models.model_device`: its `device` option, or its wrapped image extractor's) is not
            `cpu`, else 0).

    The Ray workers mmdata starts (or the job it joins a cluster with) get this process's sys.path
    folders that a fresh Python process lacks (a recipe's folder for its `modules`, a script's
    `sys.path.append`) on their PYTHONPATH, so that they import extractors' modules as this process
    does. Before a table runs, one small task checks that a worker can receive its extractor.

    Raises:
        ConfigError: Ray is not installed, or the cluster cannot be reached; an extractor holds state
            outside its config, which the workers would not get; or its module is in a folder on this
            process's sys.path only and Ray was started before mmdata, without it.
        WorkersCannotStartError: a Ray worker cannot import an extractor's module.
        ConfigError: an extractor's model device is a CUDA device the cluster lacks (`start`, before the
            run writes anything).
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
        """Connect to Ray now where an extractor's model asks for a CUDA device, to refuse one the cluster lacks
        before the run writes anything (`refuse_devices_cluster_lacks`); otherwise there is nothing to
        boot: Ray is connected when the first table has rows to compute.

        Raises:
            ConfigError: an extractor's `device` is a CUDA device the cluster does not have.
        """
        if any(_device(e).startswith("cuda") for e in extractors or ()):
            self._ensure_ray()
            self.refuse_devices_cluster_lacks(extractors or ())

    def refuse_devices_cluster_lacks(self, extractors: Sequence[Extractor]) -> None:
        """Refuse an extractor whose model device (`image_models.model_device`: its `device`, or that of
        the image extractor `video-frames` wraps) is a CUDA device the connected cluster cannot give
        (`ray_plan.cluster_lacks_device`: no GPU at all, or a `cuda:N` past every node's GPUs), rather
        than an actor failing at its first batch on a CPU.

        Raises:
            ConfigError: naming the extractor as the command line takes it, the device, the cluster's
                resources and the hint.
        """
        wanting = [e for e in extractors if _device(e).startswith("cuda")]
        if not wanting:
            return
        import ray

        resources = ray.cluster_resources()
        gpus_per_node = [node.get("Resources", {}).get("GPU", 0) for node in ray.nodes() if node.get("Alive")]
        for extractor in wanting:
            device = _device(extractor)
            missing = cluster_lacks_device(device, resources, gpus_per_node)
            if missing:
                raise ConfigError(f"extractor {extractor_spec(extractor)!r}: device {device!r} is not available: "
                                  f"{missing}")

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
        # Absolute: a Ray worker opens the shard in its own working directory (where Ray was started).
        tasks = [{"shard": os.path.abspath(path), "start": s, "length": min(step, rows - s), "rows": None}
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
        """Build and run the Ray Data pipeline; yields result blocks (column dicts) in order.

        Ray workers run in the directory Ray was started in, not this process's: they get the corpus
        root as an absolute path, so that a relative one means what it means here."""
        import ray.data
        import ray.exceptions

        corpus_root = Path(os.path.abspath(corpus_root))
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
        # Extractors that run a model have a model device (theirs, or a wrapped image extractor's);
        # weight-free ones need no actor, no GPU.
        device = model_device(extractor)
        if device is None:
            return _Plan(decode_tasks, 0, 0.0, in_flight)
        self.refuse_devices_cluster_lacks([extractor])  # `run` called without `start`
        gpus_in_cluster = int(resources.get("GPU", 0))
        wants_gpu = device.lower() != "cpu"
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


def _device(extractor: Extractor) -> str:
    """The extractor's model device (`image_models.model_device`; '' for one that runs no model)."""
    return model_device(extractor) or ""


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
