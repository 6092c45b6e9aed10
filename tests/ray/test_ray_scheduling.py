"""How the Ray executor cuts a table into tasks and keeps the cluster's CPUs busy."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import ray.cloudpickle

from mmdata.features.base import create_extractor
from mmdata.pipeline import extract, make_executor
from mmdata.ray_executor import ROWS_PER_TASK, RayExecutor, _Plan, _rows_per_task, _tasks_in_flight
from mmdata.store import open_dataset
from tests.fakes.extractors import BatchProbe, PassThrough
from tests.reliability.fake_coco import write_fake_coco

# Ray workers cannot import this test module: ship its classes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@dataclass(frozen=True)
class SlowDecodeConfig:
    log: str = ""
    seconds: float = 0.025


class SlowDecode(PassThrough):
    """Weight-free; decode sleeps (no CPU use, so the machine's load does not matter) and appends
    `pid start end` to a log, from which the test reads how many items were in progress at once."""

    name: ClassVar[str] = "slow-decode"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = SlowDecodeConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        start = time.monotonic()
        time.sleep(self.config.seconds)
        with open(self.config.log, "a") as log:
            log.write(f"{os.getpid()} {start} {time.monotonic()}\n")
        return np.array([1.0], dtype=np.float32)


def test_tasks_in_flight_are_twice_the_cpus_unless_fewer_workers_than_cpus_are_asked_for():
    assert _tasks_in_flight(2, 2) == 4  # one running and one waiting per CPU
    assert _tasks_in_flight(8, 2) == 4  # more workers than CPUs: Ray runs 2 at once anyway
    assert _tasks_in_flight(None, 8) == 16  # num_workers=0: as many as the cluster runs
    assert _tasks_in_flight(3, 8) == 3  # extra submitted tasks would run at once: cap kept exact
    assert _tasks_in_flight(2, 0) == 2  # no CPUs reported: the cap as asked


def test_rows_per_task_are_whole_batches_capped_and_shared_out_over_a_small_table():
    weight_free, model = _Plan(2, 0, 0.0, 4), _Plan(2, 1, 0.0, 4)
    assert _rows_per_task(32, weight_free, 2000) == ROWS_PER_TASK == 256
    assert _rows_per_task(100, weight_free, 2000) == 200  # whole batches under the cap
    assert _rows_per_task(32, weight_free, 200) == 64  # 4 tasks for 4 slots, not one of 200
    assert _rows_per_task(32, weight_free, 10) == 32  # never less than a batch
    assert _rows_per_task(300, weight_free, 2000) == 300  # a batch larger than the cap stays whole
    assert _rows_per_task(32, model, 2000) == 128  # decoded images travel to the actor: 4 batches
    assert _rows_per_task(4, model, 2000) == 16


def test_plan_on_two_cpus_keeps_four_tasks_in_flight(ray_session):
    assert ray_session.cluster_resources()["CPU"] == 2
    plan = RayExecutor(num_workers=2)._plan(create_extractor("color-hist"))
    assert (plan.decode_tasks, plan.actors, plan.tasks_in_flight) == (2, 0, 4)


def test_weight_free_tasks_keep_both_cpus_busy_and_never_run_more_than_the_cpus(ray_session, tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 64)
    log = tmp_path / "decode.log"
    args = dict(executor="ray", num_workers=2, shard_size=8, batch_size=4)
    # Two tasks at once first, so that both Ray workers are up: a worker that boots (about a
    # second) during the measured run would idle a CPU for reasons other than scheduling.
    warm_up = SlowDecode(SlowDecodeConfig(log=str(tmp_path / "warm-up.log")))
    warm_up_corpus = write_fake_coco(tmp_path / "warm-up", 16)
    extract("coco", warm_up_corpus.root, tmp_path / "warm-up-out", extractors=[warm_up], **args)
    # 8 shards of 8 rows: 8 tasks of 0.2 s, twice the 4 in flight.
    extract("coco", corpus.root, tmp_path / "out", extractors=[SlowDecode(SlowDecodeConfig(log=str(log)))], **args)
    items = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    assert len(items) == 64
    events = sorted([(start, 1) for _, start, _ in items] + [(end, -1) for _, _, end in items])
    running, most = 0, 0
    for _, change in events:
        running += change
        most = max(most, running)
    assert most == 2  # Ray's CPU accounting holds the 4 submitted tasks to the 2 CPUs
    assert len({pid for pid, _, _ in items}) == 2
    span = max(end for *_, end in items) - min(start for _, start, _ in items)
    busy = sum(end - start for _, start, end in items)
    # With as many tasks in flight as CPUs this measured 1.1 (a CPU idles while Ray Data notices
    # that a task ended); with a task waiting per CPU, about 1.9.
    assert busy / span > 1.5


def test_ray_tasks_hand_compute_the_local_executors_batches(ray_session, tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 70)
    # 70 rows in shards of 30: 20-row tasks (5 batches), so tasks end mid-shard and shards end mid-task.
    args = dict(extractors=[BatchProbe()], shard_size=30, batch_size=4)
    extract("coco", corpus.root, tmp_path / "ray", executor="ray", num_workers=2, **args)
    extract("coco", corpus.root, tmp_path / "local", num_workers=0, **args)
    got = open_dataset(tmp_path / "ray").table("image.batch-probe").to_table()
    want = open_dataset(tmp_path / "local").table("image.batch-probe").to_table()
    assert got.equals(want, check_metadata=True)
    # Each shard of 30 is cut into batches of 4 from its start: 7 full batches and one of 2.
    sizes = [int(size) for size, _ in got.column("feature").to_pylist()]
    assert sizes[:30] == [4] * 28 + [2] * 2
    assert sizes[60:] == [4] * 8 + [2] * 2


def test_by_default_ray_runs_one_decode_task_per_cpu_of_the_cluster(ray_session, monkeypatch):
    monkeypatch.setattr(ray_session, "cluster_resources", lambda: {"CPU": 64.0})
    for runner in (RayExecutor(), RayExecutor(num_workers=0), make_executor("ray")):
        plan = runner._plan(create_extractor("color-hist"))
        assert (plan.decode_tasks, plan.tasks_in_flight) == (None, 128)  # all 64 CPUs busy, 64 more queued
    plan = make_executor("ray", num_workers=3)._plan(create_extractor("color-hist"))
    assert (plan.decode_tasks, plan.tasks_in_flight) == (3, 3)  # an explicit cap is kept
