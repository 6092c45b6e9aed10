"""How the Ray executor cuts a table into Ray tasks and where each stage runs (`_Plan`): task sizes
in whole batches, and how many decode tasks Ray Data keeps submitted. Decided on the driver by
`mmdata.ray_executor.RayExecutor`.
"""
from __future__ import annotations

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
