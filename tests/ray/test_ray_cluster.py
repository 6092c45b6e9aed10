"""`--address HOST:PORT`: extraction joining a separately started Ray cluster (`ray start --head`).

The cluster is a real `ray start --head --block` process with its own temporary directory, so the
session's in-process Ray instance (`ray_session`) never sees it; the CLI runs in a subprocess.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.processes import stop_process
from tests.reliability.fake_coco import write_fake_coco


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited with {process.returncode}: {process.stdout.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the Ray Client server did not listen on port {port} within {timeout} s")


@pytest.fixture
def ray_head():
    """A one-CPU Ray head started with `ray start`; yields its address (HOST:PORT)."""
    temp_dir = Path("/tmp") / f"mmdata-ray-head-{os.getpid()}"  # Ray's socket paths must stay short
    port = _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=1", "--include-dashboard=false", f"--temp-dir={temp_dir}", "--disable-usage-stats"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        _wait_for_port(port, head)
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(head, timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_extract_joining_a_started_cluster_equals_the_local_executor(ray_head, tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", 12)
    extract("coco", corpus.root, tmp_path / "local", extractors=["color-hist:bins=4"], num_workers=0, shard_size=5)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    result = subprocess.run(
        [sys.executable, "-m", "mmdata", "extract", "coco", str(corpus.root), str(tmp_path / "remote"),
         "--image", "color-hist:bins=4", "--shard-size", "5", "--executor", "ray", "--address", ray_head, "-q"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "table image.color-hist: 12 rows, 0 failed" in result.stdout
    remote, local = open_dataset(tmp_path / "remote"), open_dataset(tmp_path / "local")
    assert remote.table("image.color-hist").to_table().equals(local.table("image.color-hist").to_table())


def test_ray_client_addresses_are_refused_with_the_way_to_run_on_a_cluster(tmp_path):
    from mmdata.errors import ConfigError

    corpus = write_fake_coco(tmp_path / "corpus", 4)
    with pytest.raises(ConfigError, match=r"Ray Data does not run through Ray Client.*ray job submit"):
        extract("coco", corpus.root, tmp_path / "out", extractors=["color-hist"], executor="ray",
                ray_address="ray://127.0.0.1:10001")
