"""Starting and ending Ray: an unreachable --address fails in bounded time, a finished dataset does not
start Ray, and the Ray instance mmdata started does not outlive a killed run."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path


from mmdata.pipeline import extract
from mmdata.ray_executor import RayExecutor
from tests.reliability.fake_coco import write_fake_coco

REPO = Path(__file__).resolve().parents[2]
MMDATA = Path(sys.executable).with_name("mmdata")


def _extract_with_address(tmp_path: Path, address: str, timeout: float) -> subprocess.CompletedProcess:
    corpus = write_fake_coco(tmp_path / "corpus", 2)
    return subprocess.run(
        [str(MMDATA), "extract", "coco", str(corpus.root), str(tmp_path / "out"), "--image", "color-hist",
         "--executor", "ray", "--address", address, "-q"],
        capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})


def test_an_address_where_nothing_listens_is_a_config_error_at_once(tmp_path):
    with socket.socket() as reserved:  # bound, never listening: connections are refused
        reserved.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{reserved.getsockname()[1]}"
        started = time.monotonic()
        done = _extract_with_address(tmp_path, address, timeout=60)
    assert done.returncode != 0
    assert f"cannot connect to a Ray cluster at address '{address}'" in done.stderr, done.stderr
    assert "ray start --head" in done.stderr
    assert time.monotonic() - started < 30


def test_an_address_that_is_no_ray_cluster_fails_in_bounded_time(tmp_path):
    """A TCP server that is not Ray's GCS: Ray's own wait is bounded (about 16 s), not minutes."""
    listener = socket.create_server(("0.0.0.0", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                held.append(listener.accept()[0])
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    try:
        done = _extract_with_address(tmp_path, address, timeout=120)
    finally:
        listener.close()
        for connection in held:
            connection.close()
    assert done.returncode != 0
    assert f"cannot connect to a Ray cluster at address '{address}'" in done.stderr, done.stderr[-2000:]


def test_a_finished_dataset_is_rerun_without_starting_ray(ray_session, tmp_path, monkeypatch):
    corpus = write_fake_coco(tmp_path / "corpus", 6)
    args = dict(extractors=["color-hist"], executor="ray", num_workers=2, shard_size=3)
    extract("coco", corpus.root, tmp_path / "out", **args)

    def refuse(self):
        raise AssertionError("Ray was connected with nothing to compute")

    monkeypatch.setattr(RayExecutor, "_ensure_ray", refuse)
    report = extract("coco", corpus.root, tmp_path / "out", **args)
    assert report.tables[0].shards_written == 0


#: Starts Ray through mmdata, runs a task (so idle workers exist), prints the session folder, waits.
DRIVER = textwrap.dedent("""
    import time
    import ray
    from mmdata.ray_executor import RayExecutor

    runner = RayExecutor(num_workers=1)
    runner._ensure_ray()
    ray.get(ray.remote(num_cpus=0)(lambda: 1).remote())
    print(ray._private.worker._global_node.get_session_dir_path(), flush=True)
    time.sleep(600)
""")


def _processes_of(session_dir: str) -> list[str]:
    """Ray processes with a file open in the session folder, and the reaper watching it."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            command = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if session_dir in command:
                found.append(f"{name} {command[:80]}")
                continue
            if not (command.startswith("ray::") or "/ray/" in command):
                continue
            if any(os.readlink(f"/proc/{name}/fd/{fd}").startswith(session_dir) for fd in os.listdir(f"/proc/{name}/fd")):
                found.append(f"{name} {command[:80]}")
        except OSError:
            continue
    return found


def test_a_killed_run_leaves_no_ray_process_behind():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True,
                              env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
    try:
        session_dir = driver.stdout.readline().strip()
        assert session_dir.startswith("/"), "the driver did not start Ray"
        assert _processes_of(session_dir)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    deadline = time.monotonic() + 15
    while _processes_of(session_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_of(session_dir), "Ray processes outlived the killed run"
