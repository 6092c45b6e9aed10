"""With `--executor ray`, a CUDA device the Ray cluster lacks (no GPU at all, or a `cuda:N` past every node's
GPUs) is refused in one line once Ray is connected, before the run writes anything: no output directory, an
existing dataset left as it was. `auto` runs wherever it is, as it does with the local executor."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata import extract
from mmdata.cli import app
from mmdata.errors import ConfigError
from mmdata.features.base import create_extractor
from mmdata.pipeline import extract_features
from mmdata.ray_plan import GPU_INDEX_HINT, NO_GPU_HINT, cluster_lacks_device, resources_text
from mmdata.store import open_dataset

runner = CliRunner()
SPEC = "resnet18:weights=random"


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    from tests.features.conftest import write_fake_coco

    return write_fake_coco(tmp_path_factory.mktemp("corpora") / "coco").root


@pytest.fixture
def lacking(ray_session) -> tuple[str, str]:
    """(a CUDA device the test cluster lacks, the start of what the refusal says instead): `cuda` where
    the cluster has no GPU (as on a CPU machine), else the first index past its nodes' GPUs."""
    resources = ray_session.cluster_resources()
    gpus = int(max(n["Resources"].get("GPU", 0) for n in ray_session.nodes() if n["Alive"]))
    if not resources.get("GPU", 0):
        return "cuda", f"the Ray cluster has no GPU (resources: {resources_text(resources)}); {NO_GPU_HINT}"
    return f"cuda:{gpus}", f"the Ray cluster's nodes have at most {gpus} GPU"


def test_the_library_refuses_before_the_output_directory_is_made(coco, tmp_path, lacking):
    device, instead = lacking
    spec = f"{SPEC},device={device}"
    with pytest.raises(ConfigError) as refused:
        extract("coco", coco, tmp_path / "out", extractors=[spec], executor="ray")
    assert str(refused.value).startswith(f"extractor {spec!r}: device {device!r} is not available: {instead}")
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_the_command_line_refuses_in_one_line_with_exit_status_2(coco, tmp_path, lacking):
    device, instead = lacking
    spec = f"minilm:device={device}"
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "coco", str(coco), str(out), "--text", spec, "--executor", "ray", "-q"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: extractor {spec!r}: device {device!r} is not available: {instead}")
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_an_existing_dataset_is_left_as_it_was(coco, tmp_path, lacking):
    device, _ = lacking
    out = tmp_path / "out"
    assert runner.invoke(app, ["extract", "coco", str(coco), str(out), "--image", "color-hist", "-q"]).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    result = runner.invoke(app, ["extract", "coco", str(coco), str(out), "--image", f"{SPEC},device={device}",
                                 "--executor", "ray", "-q"])
    assert result.exit_code == 2 and "is not available: the Ray cluster" in result.stderr, result.output
    with pytest.raises(ConfigError, match="is not available: the Ray cluster"):
        extract_features(open_dataset(out), [create_extractor(f"{SPEC},device={device}")], executor="ray")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_auto_runs_on_the_cluster(coco, tmp_path, ray_session):
    out = tmp_path / "out"
    report = extract("coco", coco, out, extractors=[f"{SPEC},device=auto"], executor="ray")
    assert report.ok and report.tables[0].rows == report.samples > 0
    assert (out / "features" / "image.resnet18").is_dir()


@pytest.mark.parametrize(("device", "resources", "gpus_per_node", "expected"), [
    ("cuda", {"CPU": 2.0, "memory": 2 * 1024**3, "node:10.0.0.1": 1.0}, [0],
     f"the Ray cluster has no GPU (resources: CPU 2, memory 2.0 GiB); {NO_GPU_HINT}"),
    ("cuda:1", {"CPU": 8.0}, [0], f"the Ray cluster has no GPU (resources: CPU 8); {NO_GPU_HINT}"),
    ("cuda:2", {"CPU": 16.0, "GPU": 4.0}, [2, 2],
     f"the Ray cluster's nodes have at most 2 GPUs each (resources: CPU 16, GPU 4); {GPU_INDEX_HINT}"),
    ("cuda:1", {"CPU": 16.0, "GPU": 3.0}, [1, 2], None),
    ("cuda", {"CPU": 4.0, "GPU": 1.0}, [1], None),
    ("auto", {"CPU": 2.0}, [0], None),
    ("cpu", {"CPU": 2.0}, [0], None),
])
def test_what_a_cluster_lacks_is_read_from_its_resources(device, resources, gpus_per_node, expected):
    assert cluster_lacks_device(device, resources, gpus_per_node) == expected
