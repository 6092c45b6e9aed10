"""The Ray executor keeps the local executor's reliability contract against the real Ray: an item whose
decoder raises, or whose decoder or model kills its process, fails alone and is recorded; every sample
ends with a feature row or an error row; an interrupted run resumes without writing any row twice."""
from __future__ import annotations

import operator
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import ray.cloudpickle

from mmdata.pipeline import extract
from mmdata.ray_executor import RayExecutor
from mmdata.store import open_dataset
from tests.fakes.extractors import PassThrough
from tests.reliability.crashing_extractor import CrashingConfig, CrashingDecoder
from tests.sample_corpus import copy_sample_corpus

# Ray workers cannot import this test module: ship its classes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

#: Far more than any of these runs takes (a few seconds each); a run past it is taken as hung.
RUN_TIMEOUT_S = 120


@dataclass(frozen=True)
class FailingConfig:
    #: Samples whose decoding SIGKILLs its process, as a segfaulting C decoder would.
    crash_on: tuple[str, ...] = ()
    #: Samples whose decoding raises.
    raise_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailingModelConfig(FailingConfig):
    #: A `device` option makes the Ray executor compute in an actor pool, after decode tasks.
    device: str = "cpu"


class FailingDecoder(PassThrough):
    """Weight-free (decoded and computed in the same Ray task): the image file's size, failing as configured."""

    name: ClassVar[str] = "test-failing-decoder"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = FailingConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        if row["sample_id"] in self.config.crash_on:
            os.kill(os.getpid(), signal.SIGKILL)
        if row["sample_id"] in self.config.raise_on:
            raise RuntimeError(f"cannot decode {row['image']}")
        return np.array([(corpus_root / row["image"]).stat().st_size], dtype=np.float32)


class FailingModel(FailingDecoder):
    """The same, as a model extractor: decode tasks feed a compute actor."""

    name: ClassVar[str] = "test-failing-model"
    config_type: ClassVar[type] = FailingModelConfig


@dataclass(frozen=True)
class ComputeFailingConfig:
    #: Samples whose compute SIGKILLs its process (a segfault in a model's native code).
    crash_on: tuple[str, ...] = ()
    #: Samples whose decoded item cannot be pickled (it holds a lock).
    unpicklable: tuple[str, ...] = ()
    #: Samples whose decoded item pickles but cannot be unpickled.
    unloadable: tuple[str, ...] = ()
    device: str | None = None


class Unloadable:
    """Pickles, but unpickling it raises ZeroDivisionError (its pickle calls 1 / 0)."""

    def __reduce__(self) -> tuple[Any, tuple[int, int]]:
        return operator.truediv, (1, 0)


class ComputeFailing(PassThrough):
    """The image file's size; compute kills its process on the configured samples. With a `device`,
    the Ray executor computes in an actor pool."""

    name: ClassVar[str] = "test-compute-failing"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = ComputeFailingConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> tuple[str, np.ndarray, Any]:
        size = np.array([(corpus_root / row["image"]).stat().st_size], dtype=np.float32)
        if row["sample_id"] in self.config.unloadable:
            return row["sample_id"], size, Unloadable()
        return row["sample_id"], size, threading.Lock() if row["sample_id"] in self.config.unpicklable else None

    def compute(self, items: list[tuple[str, np.ndarray, Any]]) -> list[np.ndarray]:
        if any(sample_id in self.config.crash_on for sample_id, _, _ in items):
            os.kill(os.getpid(), signal.SIGKILL)
        return [size for _, size, _ in items]


class DecodingInTheActor(FailingModel):
    """A model extractor whose decoding runs in the compute actor (`decode_in_workers=False`)."""

    name: ClassVar[str] = "test-decoding-in-actor"
    decode_in_workers: ClassVar[bool] = False


PATHS = {
    "weight-free": lambda **failures: FailingDecoder(FailingConfig(**failures)),
    "model": lambda **failures: FailingModel(FailingModelConfig(**failures)),
}


def extract_in_time(*args: Any, **kwargs: Any):
    """`extract(...)`, failing the test when it has not returned after `RUN_TIMEOUT_S` instead of hanging."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["report"] = extract(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(RUN_TIMEOUT_S)
    if thread.is_alive():
        pytest.fail(f"extraction with the ray executor still running after {RUN_TIMEOUT_S} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["report"]


def image_ids(corpus: Path) -> list[str]:
    return sorted(p.stem for p in (corpus / "val2017").iterdir())


def features_of(out: Path, table: str) -> dict[str, Any]:
    features = open_dataset(out).table(table).to_table()
    ids = features.column("sample_id").to_pylist()
    assert len(ids) == len(set(ids)), "a sample has two feature rows"
    return dict(zip(ids, features.column("feature").to_pylist()))


def errors_of(out: Path) -> list[tuple[str, str, str, str, str]]:
    return [(e["sample_id"], e["path"], e["stage"], e["error_type"], e["reason"])
            for e in open_dataset(out).errors().to_pylist()]


def assert_file_sizes(corpus: Path, features: dict[str, Any], failed: set[str]) -> None:
    for sample_id, value in features.items():
        if sample_id in failed:
            assert value is None, sample_id
        else:
            assert value == [(corpus / "val2017" / f"{sample_id}.jpg").stat().st_size], sample_id


def the_one_failure(tmp_path: Path, make_extractor: Callable[[str], Any], index: int) -> tuple[str, tuple]:
    """Extract the sample corpus on Ray with `make_extractor(victim)`, the victim being the `index`-th
    image; check that the victim alone failed and everyone else has their feature: (victim, its error)."""
    corpus = copy_sample_corpus("coco", tmp_path)
    victim = image_ids(corpus)[index]
    extractor = make_extractor(victim)
    report = extract_in_time("coco", corpus, tmp_path / "out", extractors=[extractor], executor="ray",
                             num_workers=2, batch_size=3)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    [error] = errors_of(tmp_path / "out")
    assert error[:2] == (victim, f"val2017/{victim}.jpg")
    assert_file_sizes(corpus, features_of(tmp_path / "out", extractor.table_name), {victim})
    return victim, error[2:]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_decoder_that_raises_on_one_item_records_it_and_the_run_goes_on(ray_session, tmp_path, path):
    corpus = copy_sample_corpus("coco", tmp_path)
    victim = image_ids(corpus)[2]
    extractor = PATHS[path](raise_on=(victim,))
    report = extract_in_time("coco", corpus, tmp_path / "ray", extractors=[extractor], executor="ray",
                             num_workers=2, batch_size=3)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    assert errors_of(tmp_path / "ray") == [
        (victim, f"val2017/{victim}.jpg", "decode", "RuntimeError", f"cannot decode val2017/{victim}.jpg")]
    assert_file_sizes(corpus, features_of(tmp_path / "ray", extractor.table_name), {victim})
    # What the local executor writes for the same failure, row for row.
    extract("coco", corpus, tmp_path / "local", extractors=[extractor], num_workers=0, batch_size=3)
    local = open_dataset(tmp_path / "local")
    assert open_dataset(tmp_path / "ray").table(extractor.table_name).to_table().equals(
        local.table(extractor.table_name).to_table(), check_metadata=True)
    assert open_dataset(tmp_path / "ray").errors().equals(local.errors())


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_decoder_that_kills_its_worker_costs_only_that_item(ray_session, tmp_path, path):
    """Ray retries a task whose worker died; the retry must not die on the same item again and again."""
    def make(victim: str) -> Any:
        return CrashingDecoder(CrashingConfig(crash_on=victim)) if path == "weight-free" else PATHS[path](crash_on=(victim,))

    _, (stage, error_type, reason) = the_one_failure(tmp_path, make, 3)
    assert (stage, error_type) == ("decode", "WorkerCrash")
    assert "died" in reason


def test_every_sample_ends_with_a_feature_row_or_an_error_row(ray_session, tmp_path):
    """Raising and crashing items in several shards and tasks: nothing is dropped, nothing is doubled."""
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = image_ids(corpus)
    raised, crashed = (ids[0], ids[5]), (ids[6],)
    extractor = FailingDecoder(FailingConfig(crash_on=crashed, raise_on=raised))
    report = extract_in_time("coco", corpus, tmp_path / "out", extractors=[extractor], executor="ray",
                             num_workers=2, batch_size=2, shard_size=3)
    dataset = open_dataset(tmp_path / "out")
    samples = dataset.samples_table().column("sample_id").to_pylist()
    assert sorted(samples) == ids
    features = dataset.table(extractor.table_name).to_table()
    assert features.column("sample_id").to_pylist() == samples  # one row per sample, in the samples' order
    errors = {e[0]: e[3] for e in errors_of(tmp_path / "out")}
    assert errors == {ids[0]: "RuntimeError", ids[5]: "RuntimeError", ids[6]: "WorkerCrash"}
    assert_file_sizes(corpus, features_of(tmp_path / "out", extractor.table_name), set(errors))
    entry = dataset.entry(extractor.table_name)
    assert (entry.rows, entry.errors, entry.complete) == (8, 3, True)
    assert (report.tables[0].rows, report.tables[0].errors, report.tables[0].shards_written) == (8, 3, 3)


def test_run_without_a_stream_returns_one_result_per_row_past_a_crash(ray_session, tmp_path):
    """`RayExecutor.run` over rows handed to it (no `stream_shards`): each row gets its result, in order."""
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = image_ids(corpus)
    rows = [{"sample_id": sid, "image": f"val2017/{sid}.jpg"} for sid in ids]
    batches = [rows[i : i + 3] for i in range(0, len(rows), 3)]
    extractor = FailingDecoder(FailingConfig(crash_on=(ids[4],), raise_on=(ids[1],)))
    outcome: dict[str, Any] = {}

    def target() -> None:
        with RayExecutor(num_workers=2) as runner:
            outcome["results"] = list(runner.run(extractor, iter(batches), corpus))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(RUN_TIMEOUT_S)
    assert not thread.is_alive(), f"RayExecutor.run still running after {RUN_TIMEOUT_S} s"
    got = outcome["results"]
    assert [batch for batch, _ in got] == batches
    results = [r for _, batch_results in got for r in batch_results]
    assert [r.sample_id for r in results] == ids
    assert {r.sample_id: r.error_type for r in results if not r.ok} == {ids[1]: "RuntimeError", ids[4]: "WorkerCrash"}


class InterruptAfter:
    """A progress sink that raises KeyboardInterrupt (Ctrl-C) once `rows` rows are done."""

    def __init__(self, rows: int):
        self.rows, self.done = rows, 0

    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        self.done += count
        if self.done >= self.rows:
            raise KeyboardInterrupt

    def finish(self) -> None:
        pass


def test_an_interrupted_run_resumes_without_duplicated_rows(ray_session, tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = image_ids(corpus)
    extractor = FailingDecoder(FailingConfig(raise_on=(ids[1], ids[6])))  # one failure each side of the interruption
    out = tmp_path / "out"
    args = dict(extractors=[extractor], executor="ray", num_workers=2, batch_size=2, shard_size=2)
    with pytest.raises(KeyboardInterrupt):
        extract_in_time("coco", corpus, out, progress=InterruptAfter(4), **args)
    table_dir = out / "features" / extractor.table_name
    finished = sorted(p.name for p in table_dir.glob("part-*.parquet"))
    assert 0 < len(finished) < 4, finished
    assert not open_dataset(out).entry(extractor.table_name).complete

    report = extract_in_time("coco", corpus, out, **args)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 2)
    assert report.tables[0].shards_written == 4 - len(finished)
    dataset = open_dataset(out)
    samples = dataset.samples_table().column("sample_id").to_pylist()
    assert dataset.table(extractor.table_name).to_table().column("sample_id").to_pylist() == samples
    assert sorted(e[0] for e in errors_of(out)) == [ids[1], ids[6]]  # each recorded once
    # Exactly what one uninterrupted run writes.
    extract_in_time("coco", corpus, tmp_path / "whole", **args)
    whole = open_dataset(tmp_path / "whole")
    assert dataset.table(extractor.table_name).to_table().equals(whole.table(extractor.table_name).to_table(),
                                                                 check_metadata=True)
    assert dataset.errors().equals(whole.errors())
    assert dataset.manifest.tables == whole.manifest.tables


@pytest.mark.parametrize("device", [None, "cpu"], ids=["weight-free", "model"])
def test_a_compute_step_that_kills_its_process_costs_only_that_item(ray_session, tmp_path, device):
    """Weight-free extractors compute in the decode tasks, model ones in actors; Ray retries both
    without end, so the retries must find the item and record it instead of dying on it again."""
    corpus = copy_sample_corpus("coco", tmp_path)
    ids = image_ids(corpus)
    victims = (ids[2], ids[5])
    extractor = ComputeFailing(ComputeFailingConfig(crash_on=victims, device=device))
    report = extract_in_time("coco", corpus, tmp_path / "out", extractors=[extractor], executor="ray",
                             num_workers=2, batch_size=3)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 2)
    errors = errors_of(tmp_path / "out")
    assert [(sid, media, stage, error_type) for sid, media, stage, error_type, _ in errors] == [
        (v, f"val2017/{v}.jpg", "compute", "WorkerCrash") for v in victims]
    assert all("computing process died" in reason for *_, reason in errors)
    assert_file_sizes(corpus, features_of(tmp_path / "out", extractor.table_name), set(victims))


def test_a_decoder_that_kills_the_compute_actor_it_runs_in_costs_only_that_item(ray_session, tmp_path):
    _, (stage, error_type, _) = the_one_failure(
        tmp_path, lambda victim: DecodingInTheActor(FailingModelConfig(crash_on=(victim,))), 4)
    assert (stage, error_type) == ("decode", "WorkerCrash")


def test_a_decoded_item_that_cannot_reach_the_actor_fails_alone(ray_session, tmp_path):
    """Decode tasks pickle their items for the compute actors; one that cannot be pickled fails its
    item at decoding, as with the local executor's workers, and the run goes on."""
    _, (stage, error_type, reason) = the_one_failure(
        tmp_path, lambda victim: ComputeFailing(ComputeFailingConfig(unpicklable=(victim,), device="cpu")), 1)
    assert (stage, error_type) == ("decode", "TypeError")
    assert "lock" in reason


def test_a_decoded_item_that_the_actor_cannot_unpickle_fails_alone(ray_session, tmp_path):
    _, (stage, error_type, reason) = the_one_failure(
        tmp_path, lambda victim: ComputeFailing(ComputeFailingConfig(unloadable=(victim,), device="cpu")), 6)
    assert (stage, error_type) == ("decode", "ZeroDivisionError")
    assert reason.startswith("the decoded item cannot be received from the decode task")
