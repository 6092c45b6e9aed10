"""`video-frames` over a model image extractor runs under `--executor ray` as that image extractor alone
does: its device is the image extractor's (`image_options=device=...`, `image_models.model_device`), so it
computes in model actors (the model built once per actor, not once per decode task), with one GPU each
when the cluster has GPUs; a nested CUDA device the cluster lacks is refused before anything is written,
naming the extractor; and the tables are the local executor's, bit for bit."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata import extract
from mmdata.cli import app
from mmdata.errors import ConfigError
from mmdata.extract_refusals import extractor_spec
from mmdata.features.base import create_extractor
from mmdata.features.image_models import model_device
from mmdata.ray_executor import RayExecutor
from mmdata.ray_plan import NO_GPU_HINT, resources_text
from mmdata.ray_stages import on_assigned_gpu
from mmdata.store import open_dataset
from tests.fakes.speech_video import write_speech_video_corpus
from tests.ray.counted_image_model import builds

#: video-frames over resnet18 with random weights; `{options}` go to the image extractor after them.
FRAMES = "video-frames:image_extractor=resnet18,image_options=weights=random;seed=1{options},fps=4"


def frames(options: str = "", *, image: str = "resnet18", pool: str = "none") -> str:
    spec = FRAMES.format(options=options).replace("resnet18", image)
    return spec if pool == "none" else f"{spec},pool={pool}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Seven samples of two short clips (one a 1 s segment), and one that fails to decode."""
    return write_speech_video_corpus(tmp_path_factory.mktemp("videos"), copies=2)


@pytest.fixture
def lacking(ray_session) -> tuple[str, str]:
    """(a CUDA device the test cluster lacks, the start of what the refusal says instead): `cuda` where
    the cluster has no GPU (as on a CPU machine), else the first index past its nodes' GPUs."""
    resources = ray_session.cluster_resources()
    gpus = int(max(n["Resources"].get("GPU", 0) for n in ray_session.nodes() if n["Alive"]))
    if not resources.get("GPU", 0):
        return "cuda", f"the Ray cluster has no GPU (resources: {resources_text(resources)}); {NO_GPU_HINT}"
    return f"cuda:{gpus}", f"the Ray cluster's nodes have at most {gpus} GPU"


def test_the_model_device_of_video_frames_is_its_image_extractors():
    assert model_device(create_extractor(frames(";device=cuda:1"))) == "cuda:1"
    assert model_device(create_extractor(frames())) == "cpu"  # resnet18's default
    assert model_device(create_extractor("resnet18:weights=random,device=auto")) == "auto"
    assert model_device(create_extractor("video-frames:image_extractor=color-hist")) is None  # no model
    assert model_device(create_extractor("color-hist")) is None


@pytest.mark.parametrize(("options", "resources", "expected"), [
    (";device=auto", {"CPU": 8.0, "GPU": 2.0}, (6, 2, 1.0)),  # one actor per GPU, one GPU each
    (";device=cuda", {"CPU": 8.0, "GPU": 2.0}, (6, 2, 1.0)),
    ("", {"CPU": 8.0, "GPU": 2.0}, (6, 1, 0.0)),  # device=cpu: one CPU actor
    (";device=auto", {"CPU": 8.0}, (6, 1, 0.0)),
])
def test_the_plan_runs_a_wrapped_model_in_actors_on_the_clusters_gpus(ray_session, monkeypatch, options, resources,
                                                                       expected):
    monkeypatch.setattr(ray_session, "cluster_resources", lambda: resources)
    plan = RayExecutor(num_workers=6)._plan(create_extractor(frames(options)))
    assert (plan.decode_tasks, plan.actors, plan.gpus_per_actor) == expected


def test_a_wrapped_weight_free_extractor_still_computes_in_the_decode_tasks(ray_session, monkeypatch):
    monkeypatch.setattr(ray_session, "cluster_resources", lambda: {"CPU": 8.0, "GPU": 2.0})
    plan = RayExecutor(num_workers=6)._plan(create_extractor("video-frames:image_extractor=color-hist"))
    assert (plan.decode_tasks, plan.actors, plan.gpus_per_actor) == (6, 0, 0.0)


def test_a_gpu_actor_runs_a_wrapped_cuda_n_on_the_gpu_ray_assigned_it():
    extractor = create_extractor(frames(";device=cuda:1"))
    on_gpu = on_assigned_gpu(extractor)
    assert on_gpu.image.config.device == "cuda" and on_gpu.image.config.seed == 1
    assert on_gpu.config == extractor.config and on_gpu.table_name == extractor.table_name
    assert extractor.image.config.device == "cuda:1"  # the driver's extractor is left as it was
    for device in ("cuda", "auto", "cpu"):
        kept = create_extractor(frames(f";device={device}"))
        assert on_assigned_gpu(kept) is kept


def test_a_wrapped_cuda_device_the_cluster_lacks_is_refused_before_anything_is_written(corpus, tmp_path, lacking):
    device, instead = lacking
    spec = frames(f";device={device}")
    with pytest.raises(ConfigError) as refused:
        extract("manifest", corpus, tmp_path / "out", extractors=[spec], executor="ray")
    named = extractor_spec(create_extractor(spec))
    assert str(refused.value).startswith(f"extractor {named!r}: device {device!r} is not available: {instead}")
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_the_command_line_refuses_a_wrapped_cuda_device_in_one_line(corpus, tmp_path, lacking):
    device, instead = lacking
    spec = frames(f";device={device}")
    result = CliRunner().invoke(app, ["extract", "manifest", str(corpus), str(tmp_path / "out"), "--video", spec,
                                      "--executor", "ray", "-q"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: extractor 'video-frames:image_extractor=resnet18,")
    assert f"device {device!r} is not available: {instead}" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_ray_writes_the_local_tables_of_video_frames_over_a_model(ray_session, corpus, tmp_path):
    args = dict(extractors=[frames(), frames(pool="mean")], shard_size=2, batch_size=2)
    local = extract("manifest", corpus, tmp_path / "local", num_workers=0, **args)
    remote = extract("manifest", corpus, tmp_path / "ray", executor="ray", num_workers=2, **args)
    summary = [(t.name, t.rows, t.errors, t.shards_written) for t in local.tables]
    assert summary == [("video.frames-resnet18", 7, 1, 4), ("video.frames-resnet18-mean", 7, 1, 4)]
    assert [(t.name, t.rows, t.errors, t.shards_written) for t in remote.tables] == summary
    want, got = open_dataset(tmp_path / "local"), open_dataset(tmp_path / "ray")
    for name, *_ in summary:  # features, intervals, order and the schema metadata
        assert got.table(name).to_table().equals(want.table(name).to_table(), check_metadata=True), name
    assert got.manifest.tables == want.manifest.tables
    assert got.errors().equals(want.errors())


def test_the_wrapped_model_is_built_once_per_actor_not_once_per_decode_task(ray_session, corpus, tmp_path):
    log = tmp_path / "builds.txt"
    spec = frames(f";builds_log={log}", image="counted-resnet18", pool="mean")
    report = extract("manifest", corpus, tmp_path / "out", extractors=[spec], executor="ray", num_workers=2,
                     shard_size=2, batch_size=2)
    assert [(t.rows, t.errors, t.shards_written) for t in report.tables] == [(7, 1, 4)]
    built = builds(log)
    assert len(built) == 1 and built[0] != os.getpid()  # one CPU actor for the table's four decode tasks
