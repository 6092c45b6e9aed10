"""The attempt ledger that ends Ray's retries of work whose process dies (`mmdata.ray_attempts`), driven
here without Ray: each attempt runs in a fresh process, and the test retries it, as Ray would, until
one attempt finishes."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from mmdata.executors import ItemResult
from mmdata.ray_attempts import Attempt, attempt, block_key, run_rows
from tests.fakes.extractors import PassThrough


@dataclass(frozen=True)
class DeadlyConfig:
    #: Samples whose decoding SIGKILLs its process.
    kill_in_decode: tuple[str, ...] = ()
    #: Samples whose compute SIGKILLs its process.
    kill_in_compute: tuple[str, ...] = ()
    #: Samples whose decoding raises.
    raise_in_decode: tuple[str, ...] = ()


class DeadlyExtractor(PassThrough):
    """The row's number as a 1-d feature (doubled by compute), killing its process as configured."""

    name: ClassVar[str] = "test-deadly"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = DeadlyConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> dict[str, Any]:
        if row["sample_id"] in self.config.kill_in_decode:
            os.kill(os.getpid(), signal.SIGKILL)
        if row["sample_id"] in self.config.raise_in_decode:
            raise ValueError(f"cannot decode {row['image']}")
        return {"sample_id": row["sample_id"], "value": float(row["sample_id"][1:])}

    def compute(self, items: list[dict[str, Any]]) -> list[np.ndarray]:
        for item in items:
            if item["sample_id"] in self.config.kill_in_compute:
                os.kill(os.getpid(), signal.SIGKILL)
        return [np.array([2 * item["value"]], dtype=np.float32) for item in items]


ROWS = [{"sample_id": f"s{i}", "image": f"img/{i}.jpg"} for i in range(10)]


def _one_attempt(folder: str, key: str, config: DeadlyConfig, batch_size: int, out: str) -> None:
    with attempt(key, Path(folder)) as current:
        results = run_rows(current, DeadlyExtractor(config), ROWS, Path("/corpus"), batch_size)
        careful = current.careful
    Path(out).write_text(json.dumps({"careful": careful, "results": [
        [r.sample_id, r.ok, None if r.value is None else float(r.value[0]), r.stage, r.error_type, r.reason]
        for r in results]}))


def run_until_done(tmp_path: Path, config: DeadlyConfig, batch_size: int = 4, most: int = 20) -> tuple[int, dict]:
    """Run attempts of one unit in fresh processes until one finishes: (attempts, its output)."""
    context = multiprocessing.get_context("fork")  # the child only runs this module's code
    out = tmp_path / "out.json"
    for attempts in range(1, most + 1):
        process = context.Process(target=_one_attempt, args=(str(tmp_path / "ledgers"), "task-1", config, batch_size,
                                                              str(out)))
        process.start()
        process.join(60)
        if process.exitcode == 0:
            return attempts, json.loads(out.read_text())
        assert process.exitcode == -signal.SIGKILL, process.exitcode
    pytest.fail(f"still dying after {most} attempts")


def test_without_a_death_one_attempt_runs_in_batches_and_leaves_no_ledger(tmp_path):
    attempts, out = run_until_done(tmp_path, DeadlyConfig())
    assert attempts == 1 and out["careful"] is False
    assert [(sid, ok, value) for sid, ok, value, *_ in out["results"]] == [(f"s{i}", True, 2.0 * i) for i in range(10)]
    assert list((tmp_path / "ledgers").iterdir()) == []


@pytest.mark.parametrize("stage", ["decode", "compute"])
def test_the_row_that_kills_its_process_is_recorded_at_its_stage_and_the_others_are_computed(tmp_path, stage):
    config = DeadlyConfig(kill_in_decode=("s6",)) if stage == "decode" else DeadlyConfig(kill_in_compute=("s6",))
    attempts, out = run_until_done(tmp_path, config)
    assert attempts == 3  # batches (dies), one at a time (dies on s6), one at a time past s6
    assert out["careful"] is True
    by_id = {sid: rest for sid, *rest in out["results"]}
    assert [sid for sid, *_ in out["results"]] == [row["sample_id"] for row in ROWS]
    assert by_id["s6"][:4] == [False, None, stage, "WorkerCrash"]
    assert "died on this item" in by_id["s6"][4]
    assert {sid: value for sid, (ok, value, *_) in by_id.items() if ok} == {f"s{i}": 2.0 * i for i in range(10) if i != 6}
    assert list((tmp_path / "ledgers").iterdir()) == []


def test_several_deadly_rows_cost_one_attempt_each_and_other_failures_keep_their_own_error(tmp_path):
    config = DeadlyConfig(kill_in_decode=("s1",), kill_in_compute=("s4", "s9"), raise_in_decode=("s7",))
    attempts, out = run_until_done(tmp_path, config, batch_size=3)
    assert attempts == 2 + 3
    failed = {sid: (stage, error_type) for sid, ok, _, stage, error_type, _ in out["results"] if not ok}
    assert failed == {"s1": ("decode", "WorkerCrash"), "s4": ("compute", "WorkerCrash"),
                      "s9": ("compute", "WorkerCrash"), "s7": ("decode", "ValueError")}
    assert sum(ok for _, ok, *_ in out["results"]) == 6


def test_a_careful_attempt_takes_given_decoded_items_and_names_the_row_it_runs(tmp_path):
    """An actor's call gets decoded items; a careful attempt notes each row and stage before it runs it."""
    folder = tmp_path / "ledgers"
    folder.mkdir()
    (folder / "k").write_text(json.dumps({"culprits": {}, "current": None}))  # an earlier attempt died
    extractor = DeadlyExtractor(DeadlyConfig())
    decoded = [ItemResult(row["sample_id"], True, extractor.decode(row, Path("/corpus"))) for row in ROWS[:3]]
    seen = []

    class Watching(Attempt):
        def begin(self, index: int, stage: str) -> None:
            seen.append((index, stage))
            super().begin(index, stage)

    with attempt("k", folder) as current:
        current.__class__ = Watching
        results = run_rows(current, extractor, ROWS[:3], Path("/corpus"), 64, decoded=decoded)
    assert seen == [(0, "compute"), (1, "compute"), (2, "compute")]
    assert [float(r.value[0]) for r in results] == [0.0, 2.0, 4.0]


def test_a_ledger_cut_short_by_the_death_counts_as_a_death_before_any_row(tmp_path):
    folder = tmp_path / "ledgers"
    folder.mkdir()
    (folder / "k").write_text('{"culprits": {"2": "dec')  # the process died while writing it
    with attempt("k", folder) as current:
        assert (current.careful, current.culprits) == (True, {})


def test_block_keys_name_the_table_and_every_sample_id():
    ids = ["a", "b", "c"]
    assert block_key("image.x", ids) == block_key("image.x", list(ids))
    assert block_key("image.x", ids) != block_key("image.y", ids)
    assert block_key("image.x", ids) != block_key("image.x", ["a", "b", "d"])
    assert block_key("image.x", ["ab", "c"]) != block_key("image.x", ["a", "bc"])
