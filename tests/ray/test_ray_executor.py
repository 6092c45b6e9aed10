"""The Ray Data executor writes exactly what the local executor writes, on the same corpus."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow.parquet as pq
import pytest
import ray.cloudpickle
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, ExtractionError, MissingWeightsError
from mmdata.executors import LocalExecutor
from mmdata.features.base import Extractor, create_extractor
from mmdata.media.image import load_rgb_array
from mmdata.pipeline import extract
from mmdata.ray_executor import RayExecutor
from mmdata.store import open_dataset
from mmdata.store.metadata import FeatureSpec
from mmdata.store.moments import MOMENTS_DIR
from tests.reliability.fake_coco import write_broken_coco, write_fake_coco

# Ray workers cannot import this test module: ship its classes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

TABLES = ("image.color-hist", "image.pixel-stats")


@dataclass(frozen=True)
class FakeModelConfig:
    device: str = "auto"


class FakeModel(Extractor):
    """Stands in for an embedding model: loaded lazily on first compute, once per process.

    Row = [mean red, pid of the computing process, model loads in that process, its
    OMP_NUM_THREADS]; decode sleeps a
    random few milliseconds so that Ray tasks finish out of order; compute fails for ids ending
    in 7 (an item-level failure the executor must isolate).
    """

    name: ClassVar[str] = "fake-model"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = FakeModelConfig
    loads: ClassVar[int] = 0

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=4)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> tuple[str, float]:
        time.sleep(np.random.default_rng().uniform(0, 0.004))
        return row["sample_id"], float(load_rgb_array(corpus_root / row["image"])[..., 0].mean())

    def compute(self, items: list[tuple[str, float]]) -> list[np.ndarray]:
        if getattr(self, "_model", None) is None:
            type(self).loads += 1
            self._model = object()
        if any(sample_id.endswith("7") for sample_id, _ in items):
            raise RuntimeError("model rejected the item")
        threads = float(os.environ.get("OMP_NUM_THREADS", 0))
        return [np.array([red, os.getpid(), type(self).loads, threads], dtype=np.float32) for _, red in items]


class NoWeights(FakeModel):
    name: ClassVar[str] = "no-weights"

    def compute(self, items: list[Any]) -> list[np.ndarray]:
        raise MissingWeightsError("weights not found: /nowhere/model.pt; put the file there or pass weights=PATH")


@dataclass(frozen=True)
class TextModelConfig:
    device: str = "cpu"


class CaptionLength(Extractor):
    """A 'text model' with trivial decode: decoded in the compute actor, not in decode tasks."""

    name: ClassVar[str] = "caption-length"
    modality: ClassVar = "text"
    config_type: ClassVar[type] = TextModelConfig
    decode_in_workers: ClassVar[bool] = False

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=2)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> list[str]:
        return list(row["captions"])

    def compute(self, items: list[list[str]]) -> list[np.ndarray]:
        return [np.array([len(c), sum(map(len, c))], dtype=np.float32) for c in items]


def read_all(out: Path, table: str):
    return open_dataset(out).table(table).to_table()


def test_ray_and_local_write_identical_tables_errors_and_manifest(ray_session, tmp_path):
    corpus = write_broken_coco(tmp_path / "corpus")
    args = dict(extractors=["color-hist:bins=8", "pixel-stats"], shard_size=7, batch_size=4)
    local = extract("coco", corpus.root, tmp_path / "local", num_workers=0, **args)
    remote = extract("coco", corpus.root, tmp_path / "ray", executor="ray", num_workers=2, **args)
    assert [(t.name, t.rows, t.errors, t.shards_written) for t in remote.tables] == [
        (t.name, t.rows, t.errors, t.shards_written) for t in local.tables
    ] == [(name, 40, 14, 6) for name in TABLES]
    for name in TABLES:
        want, got = read_all(tmp_path / "local", name), read_all(tmp_path / "ray", name)
        assert got.equals(want, check_metadata=True)
        assert got.column("feature").null_count == len(corpus.broken)
    assert open_dataset(tmp_path / "ray").errors().equals(open_dataset(tmp_path / "local").errors())
    assert open_dataset(tmp_path / "ray").manifest.tables == open_dataset(tmp_path / "local").manifest.tables


def test_model_loads_once_in_one_actor_for_all_shards_and_failures_match_local(ray_session, tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 30)
    args = dict(shard_size=6, batch_size=4)
    extract("coco", corpus.root, tmp_path / "ray", extractors=[FakeModel(), CaptionLength()], executor="ray",
            num_workers=2, **args)
    extract("coco", corpus.root, tmp_path / "local", extractors=[FakeModel(), CaptionLength()], num_workers=0, **args)
    got, want = read_all(tmp_path / "ray", "image.fake-model"), read_all(tmp_path / "local", "image.fake-model")
    assert got.column("sample_id").equals(want.column("sample_id"))
    rows = [r for r in got.column("feature").to_pylist() if r is not None]
    assert len(rows) == 27  # ids ...007, ...017, ...027 fail in compute
    assert {(pid, loads) for _, pid, loads, _ in rows} == {(rows[0][1], 1.0)}  # one actor, one load, 5 shards
    assert rows[0][1] != os.getpid()
    assert {threads for *_, threads in rows} == {len(os.sched_getaffinity(0))}  # all cores, not Ray's 1
    want_red = [r[0] for r in want.column("feature").to_pylist() if r is not None]
    assert [r[0] for r in rows] == want_red
    errors = open_dataset(tmp_path / "ray").errors().to_pylist()
    assert errors == open_dataset(tmp_path / "local").errors().to_pylist()
    assert [(e["sample_id"], e["stage"], e["error_type"]) for e in errors] == [
        (f"{i:012d}", "compute", "RuntimeError") for i in (7, 17, 27)
    ]
    assert all(e["path"].endswith(f"{e['sample_id']}.jpg") for e in errors)
    # The text extractor decodes in the actor (decode_in_workers=False) and gives the local table.
    text = read_all(tmp_path / "ray", "text.caption-length")
    assert text.equals(read_all(tmp_path / "local", "text.caption-length"))
    assert text.column("feature").to_pylist()[0] == [2.0, float(len("picture 1 caption 0") * 2)]


def test_cli_executor_ray_resumes_by_rewriting_only_the_missing_shard(ray_session, tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 20)
    extract("coco", corpus.root, tmp_path / "local", extractors=["color-hist"], shard_size=5, num_workers=0)
    out = tmp_path / "ray"
    args = ["extract", "coco", str(corpus.root), str(out), "--image", "color-hist", "--shard-size", "5",
            "--executor", "ray", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "table image.color-hist: 20 rows, 0 failed (4 shards written, 0 already done)" in result.output
    assert read_all(out, "image.color-hist").equals(read_all(tmp_path / "local", "image.color-hist"))
    (out / "features" / "image.color-hist" / "part-00002.parquet").unlink()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "table image.color-hist: 20 rows, 0 failed (1 shards written, 3 already done)" in result.output
    assert read_all(out, "image.color-hist").equals(read_all(tmp_path / "local", "image.color-hist"))


def test_on_error_fail_with_ray_names_the_file_and_keeps_only_whole_shards(ray_session, tmp_path):
    corpus = write_broken_coco(tmp_path / "corpus")
    first_bad = sorted(corpus.broken)[0]
    with pytest.raises(ExtractionError, match=rf"{first_bad}.*{first_bad}\.jpg"):
        extract("coco", corpus.root, tmp_path / "out", extractors=["color-hist"], shard_size=1,
                on_error="fail", executor="ray")
    shards = sorted(p for p in (tmp_path / "out" / "features" / "image.color-hist").iterdir() if p.name != MOMENTS_DIR)
    assert [p.name for p in shards] == [f"part-{i:05d}.parquet" for i in range(corpus.ids.index(first_bad))]
    assert all(pq.read_metadata(p).num_rows == 1 for p in shards)
    assert not open_dataset(tmp_path / "out").entry("image.color-hist").complete


def test_configuration_error_in_the_actor_reaches_the_caller_as_itself(ray_session, tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 6)
    with pytest.raises(MissingWeightsError, match="weights not found: /nowhere/model.pt"):
        extract("coco", corpus.root, tmp_path / "out", extractors=[NoWeights()], executor="ray")
    assert not (tmp_path / "out" / "features" / "image.no-weights").exists() or not any(
        (tmp_path / "out" / "features" / "image.no-weights").glob("part-*.parquet"))


def test_run_without_a_stream_matches_the_local_executor_batch_by_batch(ray_session, tmp_path):
    corpus = write_broken_coco(tmp_path / "corpus")
    rows = [{"sample_id": sid, "image": f"val2017/{sid}.jpg"} for sid in corpus.ids[:11]]
    batches = [rows[i : i + 3] for i in range(0, len(rows), 3)]
    extractor = create_extractor("pixel-stats")
    with RayExecutor(num_workers=2) as runner:
        got = list(runner.run(extractor, iter(batches), corpus.root))
    with LocalExecutor(num_workers=0) as runner:
        want = list(runner.run(extractor, iter(batches), corpus.root))
    assert [r for r, _ in got] == batches
    for (_, got_results), (_, want_results) in zip(got, want, strict=True):
        assert [(r.sample_id, r.ok, r.path, r.stage, r.error_type, r.reason) for r in got_results] == [
            (r.sample_id, r.ok, r.path, r.stage, r.error_type, r.reason) for r in want_results]
        for g, w in zip(got_results, want_results):
            assert (g.value is None and w.value is None) or np.array_equal(g.value, w.value)


def test_model_actors_take_one_gpu_each_when_the_cluster_has_gpus(ray_session, monkeypatch):
    monkeypatch.setattr(ray_session, "cluster_resources", lambda: {"CPU": 8.0, "GPU": 2.0})
    plan = RayExecutor(num_workers=6)._plan(FakeModel())
    assert (plan.decode_tasks, plan.actors, plan.gpus_per_actor) == (6, 2, 1.0)
    assert RayExecutor()._plan(FakeModel(FakeModelConfig(device="cpu"))).gpus_per_actor == 0.0
    assert RayExecutor()._plan(create_extractor("color-hist")).gpus_per_actor == 0.0  # no model, no GPU
    monkeypatch.setattr(ray_session, "cluster_resources", lambda: {"CPU": 8.0})
    plan = RayExecutor(num_workers=0)._plan(FakeModel())
    assert (plan.decode_tasks, plan.actors, plan.gpus_per_actor) == (None, 1, 0.0)
    plan = RayExecutor(num_workers=3)._plan(create_extractor("pixel-stats"))
    assert (plan.decode_tasks, plan.actors, plan.gpus_per_actor) == (3, 0, 0.0)  # computed in the decode tasks


def test_a_gpu_actor_runs_cuda_n_on_the_gpu_ray_assigned_it():
    # Ray shows a GPU actor only its own device, as cuda:0: cuda:1 chosen for the cluster must not
    # fail there as "not available".
    from mmdata.ray_executor import on_assigned_gpu

    assert on_assigned_gpu(FakeModel(FakeModelConfig(device="cuda:1"))).config.device == "cuda"
    for device in ("cuda", "auto", "cpu"):
        extractor = FakeModel(FakeModelConfig(device=device))
        assert on_assigned_gpu(extractor) is extractor
    weight_free = create_extractor("color-hist")
    assert on_assigned_gpu(weight_free) is weight_free


def test_an_unreachable_cluster_is_a_config_error_with_a_hint(ray_session, monkeypatch):
    def refuse(**kwargs):
        raise ConnectionError(f"could not connect to {kwargs['address']}")

    monkeypatch.setattr(ray_session, "is_initialized", lambda: False)
    monkeypatch.setattr(ray_session, "init", refuse)
    with pytest.raises(ConfigError, match=r"cannot connect to a Ray cluster at address 'head:6379' .*ray start"):
        RayExecutor(address="head:6379").__enter__()


def test_an_unknown_executor_is_a_clear_error_and_writes_no_feature(tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 2)
    result = CliRunner().invoke(app, ["extract", "coco", str(corpus.root), str(tmp_path / "out"), "--image",
                                      "color-hist", "--executor", "rya", "-q"])
    assert result.exit_code == 2
    assert "unknown executor 'rya'; expected 'local' (process pool) or 'ray' (Ray Data)" in result.stderr
    assert not list((tmp_path / "out").glob("features/*/*.parquet"))
