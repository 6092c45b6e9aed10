"""The local executor's failure paths: every sample ends with a feature row or an error row that names
the right item, whatever fails (a worker killed, a decoder or compute raising, an item no worker can
send back), and the workers are gone once the run has ended."""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import mmdata.executors as executors
from mmdata.errors import ExtractionError, MediaError, MissingWeightsError, WorkersCannotStartError
from mmdata.executors import ItemResult, LocalExecutor
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.extractors import PassThrough
from tests.sample_corpus import copy_sample_corpus


@dataclass(frozen=True)
class EdgeConfig:
    #: Samples whose decoding SIGKILLs its process, as a segfaulting C decoder would.
    crash_on: tuple[str, ...] = ()
    #: Samples whose decoding raises an exception that cannot be pickled.
    unpicklable_error_on: tuple[str, ...] = ()
    #: Samples whose decoded item cannot be pickled.
    unpicklable_item_on: tuple[str, ...] = ()
    #: Samples whose decoded item pickles but cannot be unpickled.
    unloadable_item_on: tuple[str, ...] = ()
    #: Samples whose decoding raises MediaError.
    bad_on: tuple[str, ...] = ()
    #: Samples that make `compute` raise (for any batch holding them).
    compute_fails_on: tuple[str, ...] = ()
    #: `compute` raises MissingWeightsError (a configuration error: the run must stop).
    no_weights: bool = False
    #: Seconds each decode sleeps (keeps batches in flight while others fail).
    sleep_s: float = 0.0
    #: Samples whose decoding never ends (a decoder stuck on a broken stream).
    hang_on: tuple[str, ...] = ()
    #: Seconds each `compute` call sleeps (lets a worker die before the next batch is sent).
    compute_sleep_s: float = 0.0
    #: Seconds each decode keeps the CPU busy (makes auto mode choose workers).
    busy_s: float = 0.0
    #: A folder where each decoding process leaves a file named by its pid.
    pid_dir: str = ""
    #: Whether auto mode may decode here (rows with "unsafe" set are never).
    safe: bool = True


class NeedsArgs(Exception):
    """An exception that pickles but cannot be unpickled (its __init__ takes two arguments)."""

    def __init__(self, a: str, b: str):
        super().__init__(f"{a} {b}")


class Unloadable:
    """Pickles, but raises when it is unpickled (a value whose class changed between processes, say)."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _refuse_to_load, ("a handle only its own process can open",)


def _refuse_to_load(what: str) -> None:
    raise ValueError(f"cannot rebuild {what}")


class EdgeDecoder(PassThrough):
    """Feature: [the row's number, pid of the decoding process]; fails as its config says."""

    name: ClassVar[str] = "test-edge-decoder"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = EdgeConfig
    dim: ClassVar[int] = 2

    def decodes_safely_here(self, rows: list[dict[str, Any]]) -> bool:
        return self.config.safe and not any(row.get("unsafe") for row in rows)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        sid = row["sample_id"]
        if self.config.pid_dir:
            (Path(self.config.pid_dir) / str(os.getpid())).touch()
        if sid in self.config.crash_on:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.config.sleep_s)
        if sid in self.config.hang_on:
            time.sleep(3600)
        until = time.perf_counter() + self.config.busy_s
        while time.perf_counter() < until:
            pass
        if sid in self.config.bad_on:
            raise MediaError(f"{sid}: corrupt")
        if sid in self.config.unpicklable_error_on:
            raise NeedsArgs(sid, "cannot be unpickled")
        value = np.array([_number(row), os.getpid()], dtype=np.float64)
        if sid in self.config.unpicklable_item_on:
            return value, lambda: None
        if sid in self.config.unloadable_item_on:
            return value, Unloadable()
        return value, None

    def compute(self, items: list[Any]) -> list[np.ndarray]:
        if self.config.no_weights:
            raise MissingWeightsError("weights not found")
        time.sleep(self.config.compute_sleep_s)
        numbers = {int(value[0]) for value, _ in items}
        if any(_number({"sample_id": sid}) in numbers for sid in self.config.compute_fails_on):
            raise RuntimeError("compute failed")
        return [value for value, _ in items]


class OtherEdgeDecoder(EdgeDecoder):
    name: ClassVar[str] = "test-other-edge-decoder"


def _number(row: dict[str, Any]) -> int:
    return int(row["n"]) if "n" in row else int(row["sample_id"].lstrip("s"))


def _batches(count: int, size: int) -> list[list[dict[str, Any]]]:
    return [[{"sample_id": f"s{b * size + i}", "n": b * size + i} for i in range(size)] for b in range(count)]


def _results(executor: LocalExecutor, extractor, batches) -> list[ItemResult]:
    out = []
    for rows, results in executor.run(extractor, batches, Path(".")):
        assert [r.sample_id for r in results] == [row["sample_id"] for row in rows]
        out.extend(results)
    return out


def _failed(results: list[ItemResult]) -> dict[str, str]:
    return {r.sample_id: r.error_type for r in results if not r.ok}


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# --- worker crashes -------------------------------------------------------------------------------


def test_a_crash_in_a_batch_sent_after_another_crash_is_blamed_on_its_own_item_only():
    """s0 kills a worker: every batch then in flight is decoded again, one item per task, in a fresh
    pool, to which the next batch (with s16, which kills its worker too) is already sent; an item of
    the earlier batches decoded while s16 kills the pool is not the culprit and must not fail."""
    extractor = EdgeDecoder(EdgeConfig(crash_on=("s0", "s16"), sleep_s=0.02))
    with LocalExecutor(num_workers=2) as executor:
        results = _results(executor, extractor, _batches(8, 4))
    assert len(results) == 32
    assert _failed(results) == {"s0": "WorkerCrash", "s16": "WorkerCrash"}


def test_after_a_pool_found_broken_at_submit_an_item_decoded_again_is_not_blamed_for_the_next_crash():
    """s7 kills a worker while this process computes the first batch (one item): the next batch
    (s16, which kills its worker too) is sent to the fresh pool, where the rows of s7's batch are
    then decoded again; s4, decoded there when s16 kills it, is not the culprit."""
    batches = _batches(6, 4)
    batches[0] = batches[0][:1]  # decoded before s7's batch gets to s7
    extractor = EdgeDecoder(EdgeConfig(crash_on=("s7", "s16"), sleep_s=0.05, compute_sleep_s=0.5))
    with LocalExecutor(num_workers=2) as executor:
        results = _results(executor, extractor, batches)
    assert len(results) == 21
    assert _failed(results) == {"s7": "WorkerCrash", "s16": "WorkerCrash"}


def test_an_item_decoded_while_a_later_batch_kills_the_pool_is_not_recorded_as_failed(tmp_path):
    """The same through `extract`, batches of one image: the images in flight when the first one
    kills its worker are decoded again while the next batch sent (the fifth image) kills the fresh pool."""
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = sorted(p.stem for p in (corpus / "val2017").iterdir())
    extractor = EdgeDecoder(EdgeConfig(crash_on=(ids[0], ids[4]), sleep_s=0.02))
    report = extract("coco", corpus, tmp_path / "out", extractors=[extractor], batch_size=1, num_workers=2)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 2)
    errors = open_dataset(tmp_path / "out").errors().to_pylist()
    assert sorted((e["sample_id"], e["error_type"]) for e in errors) == [(ids[0], "WorkerCrash"), (ids[4], "WorkerCrash")]


def test_auto_mode_moving_to_workers_after_measuring_keeps_a_crash_to_its_item(two_cpus):
    batches = _batches(5, 4)
    for row in batches[2]:
        row["unsafe"] = True  # from here on the decoder could crash: workers
    extractor = EdgeDecoder(EdgeConfig(crash_on=("s9",), bad_on=("s1",)))
    with LocalExecutor() as executor:
        results = _results(executor, extractor, batches)
    assert _failed(results) == {"s1": "MediaError", "s9": "WorkerCrash"}
    values = {r.sample_id: r.value for r in results if r.ok}
    assert {values[f"s{i}"][1] for i in range(8) if i != 1} == {os.getpid()}
    assert os.getpid() not in {values[f"s{i}"][1] for i in range(8, 20) if i != 9}
    assert "then 2 worker processes" in executor.decisions[extractor.table_name]


def test_auto_mode_with_costly_decoding_and_a_bad_item_in_the_measured_batch(two_cpus):
    extractor = EdgeDecoder(EdgeConfig(bad_on=("s2",), crash_on=("s13",), busy_s=0.002))
    with LocalExecutor() as executor:
        results = _results(executor, extractor, _batches(4, 8))
    assert _failed(results) == {"s2": "MediaError", "s13": "WorkerCrash"}
    assert executor.decisions[extractor.table_name].startswith("2 worker processes (decode ")


def test_two_tables_share_the_pool_and_the_second_decodes_in_workers_after_a_crash_in_the_first(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = sorted(p.stem for p in (corpus / "val2017").iterdir())
    first = EdgeDecoder(EdgeConfig(crash_on=(ids[1],), safe=False))
    second = OtherEdgeDecoder(EdgeConfig(safe=False))
    report = extract("coco", corpus, tmp_path / "out", extractors=[first, second], batch_size=2, num_workers=None)
    assert [(t.rows, t.errors) for t in report.tables] == [(8, 1), (8, 0)]
    dataset = open_dataset(tmp_path / "out")
    errors = dataset.errors().to_pylist()
    assert [(e["table"], e["sample_id"], e["error_type"]) for e in errors] == [(first.table_name, ids[1], "WorkerCrash")]
    table = dataset.table(second.table_name).to_table()
    pids = {value[1] for value in table.column("feature").to_pylist()}
    assert len(table) == 8 and os.getpid() not in pids
    assert report.tables[1].decoded_in.startswith("2 worker processes")


# --- what a worker cannot send back ---------------------------------------------------------------


def test_a_decoder_error_that_cannot_be_pickled_fails_its_item_only():
    extractor = EdgeDecoder(EdgeConfig(unpicklable_error_on=("s3",)))
    with LocalExecutor(num_workers=2) as executor:
        results = _results(executor, extractor, _batches(3, 4))
    assert _failed(results) == {"s3": "NeedsArgs"}
    assert next(r for r in results if not r.ok).reason == "s3 cannot be unpickled"


def test_a_decoded_item_that_cannot_be_pickled_back_fails_its_item_only():
    extractor = EdgeDecoder(EdgeConfig(unpicklable_item_on=("s5",)))
    with LocalExecutor(num_workers=2) as executor:
        results = _results(executor, extractor, _batches(3, 4))
    assert len(results) == 12
    assert set(_failed(results)) == {"s5"}
    failure = next(r for r in results if not r.ok)
    assert failure.stage == "decode" and "pickle" in failure.reason.lower()


def test_a_decoded_item_that_cannot_be_unpickled_here_fails_its_item_with_its_own_error():
    """Not as a worker crash: the worker lives, only its item cannot be rebuilt in the main process."""
    extractor = EdgeDecoder(EdgeConfig(unloadable_item_on=("s6",)))
    with LocalExecutor(num_workers=2) as executor:
        results = _results(executor, extractor, _batches(3, 4))
    assert [r.sample_id for r in results] == [f"s{i}" for i in range(12)]
    assert _failed(results) == {"s6": "ValueError"}
    failure = next(r for r in results if not r.ok)
    assert failure.stage == "decode"
    assert "cannot rebuild a handle only its own process can open" in failure.reason
    assert "received" in failure.reason


def test_in_auto_mode_an_unsafe_decoder_s_item_that_cannot_be_pickled_fails_its_item_only(two_cpus):
    extractor = EdgeDecoder(EdgeConfig(unpicklable_item_on=("s1", "s6"), safe=False))
    with LocalExecutor() as executor:
        results = _results(executor, extractor, _batches(3, 4))
        assert executor._pool is not None
    assert set(_failed(results)) == {"s1", "s6"}
    assert os.getpid() not in {r.value[1] for r in results if r.ok}


def _local_extractor() -> EdgeDecoder:
    class Local(EdgeDecoder):  # no worker can import it
        name: ClassVar[str] = "test-local-edge-decoder"

    return Local()


def test_an_extractor_that_cannot_be_sent_to_the_workers_stops_the_run_instead_of_failing_every_item():
    """An extractor no worker can receive (a class defined in a function) is a programming error: the
    run stops saying where the class is and what to do, rather than recording every item as failed."""
    with LocalExecutor(num_workers=2) as executor, pytest.raises(
            WorkersCannotStartError, match=r"defined inside a function .*top level of a module file.*num_workers=0"):
        _results(executor, _local_extractor(), _batches(2, 2))


# --- compute failures and on_error ----------------------------------------------------------------


@pytest.mark.parametrize("num_workers", [0, 2])
def test_compute_failing_for_one_item_fails_only_that_item(tmp_path, num_workers):
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = sorted(p.stem for p in (corpus / "val2017").iterdir())
    extractor = EdgeDecoder(EdgeConfig(compute_fails_on=(f"s{ids[2]}",)))
    report = extract("coco", corpus, tmp_path / "out", extractors=[extractor], batch_size=4, num_workers=num_workers)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    errors = open_dataset(tmp_path / "out").errors().to_pylist()
    assert [(e["sample_id"], e["stage"], e["error_type"], e["reason"]) for e in errors] == [
        (ids[2], "compute", "RuntimeError", "compute failed")
    ]


def test_compute_failing_for_every_item_records_every_item(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = sorted(p.stem for p in (corpus / "val2017").iterdir())
    extractor = EdgeDecoder(EdgeConfig(compute_fails_on=tuple(f"s{i}" for i in ids)))
    report = extract("coco", corpus, tmp_path / "out", extractors=[extractor], batch_size=3, num_workers=2)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 8)
    errors = open_dataset(tmp_path / "out").errors().to_pylist()
    assert sorted(e["sample_id"] for e in errors) == ids and {e["stage"] for e in errors} == {"compute"}


def test_a_configuration_error_in_compute_stops_the_run_and_records_nothing(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    extractor = EdgeDecoder(EdgeConfig(no_weights=True))
    with pytest.raises(MissingWeightsError):
        extract("coco", corpus, tmp_path / "out", extractors=[extractor], batch_size=3, num_workers=2)
    assert not list((tmp_path / "out").glob("features/*/part-*"))
    assert not list((tmp_path / "out").glob("errors/*/part-*"))


def test_on_error_fail_names_the_crashed_item_and_the_workers_are_gone(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = sorted(p.stem for p in (corpus / "val2017").iterdir())
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    extractor = EdgeDecoder(EdgeConfig(crash_on=(ids[2],), sleep_s=0.05, pid_dir=str(pid_dir)))
    started = time.monotonic()
    with pytest.raises(ExtractionError, match=f"sample '{ids[2]}'.*decode failed.*WorkerCrash"):
        extract("coco", corpus, tmp_path / "out", extractors=[extractor], batch_size=1, num_workers=2,
                on_error="fail")
    assert time.monotonic() - started < 60
    pids = [int(p.name) for p in pid_dir.iterdir()]
    assert pids and os.getpid() not in pids
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)]


def test_a_run_stopped_while_a_decoder_hangs_stops_its_workers_at_once(tmp_path):
    """An error (or Ctrl-C) in the main process must not wait for a batch that never ends."""
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    extractor = EdgeDecoder(EdgeConfig(hang_on=("s5",), pid_dir=str(pid_dir)))
    outcome: dict[str, BaseException] = {}

    def stop_while_s5_decodes() -> None:
        try:
            with LocalExecutor(num_workers=2) as executor:
                for rows, _ in executor.run(extractor, _batches(3, 4), Path(".")):
                    if rows[0]["sample_id"] == "s0":
                        time.sleep(0.5)  # the batch with s5 is decoding by now
                        raise RuntimeError("stopped by the caller")
        except BaseException as e:  # noqa: BLE001 - checked below
            outcome["error"] = e

    thread = threading.Thread(target=stop_while_s5_decodes, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the executor still waits for the hung batch after 30 s"
    assert str(outcome.get("error")) == "stopped by the caller"
    pids = [int(p.name) for p in pid_dir.iterdir()]
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids and not [pid for pid in pids if _alive(pid)]


def test_workers_leave_ctrl_c_to_the_main_process(tmp_path):
    """The terminal sends Ctrl-C's SIGINT to every process of the run; workers ignore it (the main
    process stops them), so they print no traceback and a batch in flight is not lost."""
    extractor = EdgeDecoder(EdgeConfig())
    with LocalExecutor(num_workers=1) as executor:
        [(_, [first])] = list(executor.run(extractor, _batches(1, 1), Path(".")))
        worker = int(first.value[1])
        os.kill(worker, signal.SIGINT)
        time.sleep(0.3)
        assert _alive(worker)
        [(_, [second])] = list(executor.run(extractor, _batches(1, 1), Path(".")))
    assert int(second.value[1]) == worker


def test_every_sample_ends_with_a_feature_or_an_error_row(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = sorted(p.stem for p in (corpus / "val2017").iterdir())
    extractor = EdgeDecoder(EdgeConfig(crash_on=(ids[0], ids[5]), bad_on=(ids[3],), unpicklable_error_on=(ids[6],),
                                       compute_fails_on=(f"s{ids[7]}",), safe=False))
    report = extract("coco", corpus, tmp_path / "out", extractors=[extractor], batch_size=2, shard_size=3,
                     num_workers=None)
    dataset = open_dataset(tmp_path / "out")
    table = dataset.table(extractor.table_name).to_table()
    errors = {e["sample_id"]: e["error_type"] for e in dataset.errors().to_pylist()}
    assert sorted(table.column("sample_id").to_pylist()) == ids
    assert errors == {ids[0]: "WorkerCrash", ids[5]: "WorkerCrash", ids[3]: "MediaError", ids[6]: "NeedsArgs",
                      ids[7]: "RuntimeError"}
    features = dict(zip(table.column("sample_id").to_pylist(), table.column("feature").to_pylist()))
    assert {sid for sid, value in features.items() if value is None} == set(errors)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 5)


def _exit_now() -> None:
    os._exit(3)  # a worker that dies: the pool breaks


def test_a_worker_left_in_a_broken_pools_table_is_terminated_before_the_exit_joins_it():
    """The end state of the race that once hung a test run at exit: a broken pool whose worker table
    holds a live worker its manager thread did not terminate. The exit hook terminates it."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("forkserver")
    pool = executors._track_pool(ProcessPoolExecutor(max_workers=1, mp_context=context))
    with pytest.raises(BrokenProcessPool):
        pool.submit(_exit_now).result(timeout=60)
    manager = pool._executor_manager_thread
    if manager is not None:
        manager.join(timeout=60)  # the pool's own clean-up is done
    straggler = context.Process(target=time.sleep, args=(120,))
    straggler.start()
    pool._processes[straggler.pid] = straggler  # as a worker started while the pool was breaking lands
    executors.release_broken_pools()
    straggler.join(timeout=30)
    assert straggler.exitcode == -signal.SIGTERM
    healthy = executors._track_pool(ProcessPoolExecutor(max_workers=1, mp_context=context))
    assert healthy.submit(abs, -2).result(timeout=60) == 2
    executors.release_broken_pools()  # a working pool is left to its own shutdown
    assert all(p.is_alive() for p in healthy._processes.values())
    healthy.shutdown(wait=True)


def test_in_auto_mode_an_extractor_no_worker_can_receive_decodes_here_and_says_why(caplog):
    extractor = _local_extractor()
    with caplog.at_level("WARNING", logger="mmdata.executors"), LocalExecutor() as executor:
        results = _results(executor, extractor, _batches(2, 2))
        assert executor._pool is None
    assert all(r.ok for r in results) and {r.value[1] for r in results} == {os.getpid()}
    decision = executor.decisions[extractor.table_name]
    assert decision.startswith("this process (its class cannot be sent to worker processes: ") and "inside a function" in decision
    assert "decoding in this process" in caplog.text
