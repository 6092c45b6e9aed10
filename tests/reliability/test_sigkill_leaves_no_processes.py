"""A run SIGKILLed while its decode workers are busy leaves no process behind: the workers, the fork
server and the resource tracker all exit within seconds (they were once re-parented to PID 1 and ran
for ever: a worker holds both ends of the pool's pipes, so it never reads EOF or gets EPIPE).

The two workers are caught in the states that kept them alive: one blocked writing into a pipe no one
reads (as a worker writing a large result after the main process is gone), one stuck in C code that
holds the GIL (a hung decoder: no thread of its process can run)."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from tests.fakes.extractors import PassThrough
from tests.sample_corpus import copy_sample_corpus

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads processes from /proc")

REPO = Path(__file__).resolve().parents[2]
#: Seconds the killed run's processes get to exit.
EXIT_WITHIN_S = 10.0
#: Seconds the run gets to start its workers and hand each a batch (a busy 2-core machine included).
START_WITHIN_S = 120.0


@dataclass(frozen=True)
class StuckConfig:
    marker_dir: str = ""


class StuckDecoder(PassThrough):
    """Never returns: the first worker to decode blocks writing into a full pipe, the others sleep in
    C holding the GIL. Each first leaves a file named `<role>-<pid>` in `marker_dir`."""

    name: ClassVar[str] = "test-stuck-decoder"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = StuckConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        markers = Path(self.config.marker_dir)
        try:
            os.close(os.open(markers / "writer.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            role = "writer"
        except FileExistsError:
            role = "gil"
        (markers / f"{role}-{os.getpid()}").touch()
        if role == "writer":
            _, write_end = os.pipe()  # this process holds the read end too, as a worker holds the result pipe's
            os.write(write_end, bytes(1 << 20))  # blocks: the pipe holds 64 KiB and no one reads it
        else:
            ctypes.PyDLL(None).sleep(600)  # libc's sleep, called without releasing the GIL
        raise AssertionError("unreachable")


RUN = """
import sys
from mmdata.pipeline import extract
from tests.reliability.test_sigkill_leaves_no_processes import StuckConfig, StuckDecoder

if __name__ == "__main__":
    extract("coco", sys.argv[1], sys.argv[2], extractors=[StuckDecoder(StuckConfig(marker_dir=sys.argv[3]))],
            num_workers=2, batch_size=1)
"""


def process_table() -> dict[int, tuple[str, int, str]]:
    """pid -> (state, parent pid, start time) of every process."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        table[int(stat.parent.name)] = (fields[0], int(fields[1]), fields[19])
    return table


def descendants(root: int) -> dict[int, str]:
    """pid -> start time of every live descendant of `root`."""
    table = process_table()
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (state, ppid, started) in table.items():
            if ppid == parent and pid not in found and state != "Z":
                found[pid] = started
                frontier.append(pid)
    return found


def alive(processes: dict[int, str]) -> dict[int, str]:
    """Those of `processes` (pid -> start time) still running: not zombies, pid not reused since."""
    table = process_table()
    return {pid: started for pid, started in processes.items()
            if pid in table and table[pid][0] != "Z" and table[pid][2] == started}


def describe(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = "?"
    return f"{pid} ({command[:120]})"


def test_a_sigkilled_run_leaves_no_worker_fork_server_or_resource_tracker_behind(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    markers = tmp_path / "markers"
    markers.mkdir()
    stderr = tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    watched: dict[int, str] = {}
    with stderr.open("wb") as errors:
        run = subprocess.Popen([sys.executable, "-c", RUN, str(corpus), str(tmp_path / "out"), str(markers)],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    try:
        deadline = time.monotonic() + START_WITHIN_S
        while len(list(markers.glob("*-*"))) < 2:
            assert run.poll() is None, f"the run ended (exit {run.returncode}): {stderr.read_text()}"
            assert time.monotonic() < deadline, "the workers did not start decoding"
            time.sleep(0.05)
        watched = descendants(run.pid)
        workers = {int(p.name.split("-")[1]) for p in markers.glob("*-*")}
        assert workers <= set(watched), (workers, watched)
        assert len(watched) >= 4  # the resource tracker, the fork server and the two workers

        run.kill()
        run.wait()
        deadline = time.monotonic() + EXIT_WITHIN_S
        while alive(watched) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = alive(watched)
        assert not left, f"still running {EXIT_WITHIN_S:.0f} s after the SIGKILL: " + ", ".join(map(describe, left))
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in alive(watched):  # a failed run's leftovers
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
