"""How the Ray executor cuts a table into Ray tasks and where each stage runs (`_Plan`): task sizes
in whole batches, and how many decode tasks Ray Data keeps submitted; and a CUDA device the cluster
cannot give (`cluster_lacks_device`). Decided on the driver by `mmdata.ray_executor.RayExecutor`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


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


#: What to do about a CUDA device the Ray cluster does not have.
NO_GPU_HINT = "use device=cpu, or device=auto (a GPU when the cluster has one), or add GPU nodes to the cluster"
GPU_INDEX_HINT = "use device=cuda (each GPU actor runs on the GPU Ray assigns it), or device=auto"


def cluster_lacks_device(device: str, resources: Mapping[str, float], gpus_per_node: Sequence[float]) -> str | None:
    """What a Ray cluster has instead of a CUDA `device` ("the Ray cluster has no GPU (resources: CPU 2,
    ...)"), with the hint, or None when it has it. Only CUDA devices are judged: 'cpu' and 'auto' run
    anywhere, and Ray counts no other accelerator as a GPU. A `cuda:N` is refused where no node has
    N + 1 GPUs (`gpus_per_node`: each live node's), though an actor sees its one GPU as cuda:0."""
    if not device.startswith("cuda"):
        return None
    if not resources.get("GPU", 0):
        return f"the Ray cluster has no GPU (resources: {resources_text(resources)}); {NO_GPU_HINT}"
    index = device.partition(":")[2]
    most = int(max(gpus_per_node, default=0))
    if index and most and int(index) >= most:
        return (f"the Ray cluster's nodes have at most {most} GPU{'' if most == 1 else 's'} each (resources: "
                f"{resources_text(resources)}); {GPU_INDEX_HINT}")
    return None


def resources_text(resources: Mapping[str, float]) -> str:
    """`ray.cluster_resources()` as a person reads it: "CPU 2, GPU 1, memory 12.5 GiB, ..." (CPU and
    GPU first; the per-node `node:...` markers left out)."""
    def amount(name: str, value: float) -> str:
        if name.endswith("memory"):
            return f"{value / 1024**3:.1f} GiB"
        return str(int(value)) if float(value).is_integer() else f"{value:g}"

    names = sorted((n for n in resources if not n.startswith("node:")), key=lambda n: (n not in ("CPU", "GPU"), n))
    return ", ".join(f"{name} {amount(name, resources[name])}" for name in names) or "none"
