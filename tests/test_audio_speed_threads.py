"""Thread pools of the local executor: one thread per pool in every worker, the main process's torch
threads (where models run) left as the caller set them, the caller's environment untouched."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.executors import THREAD_VARIABLES, LocalExecutor
from mmdata.features.base import Extractor
from mmdata.store.metadata import FeatureSpec


@dataclass(frozen=True)
class ThreadReportConfig:
    pass


def _thread_counts() -> list[float]:
    """[largest BLAS/OpenMP pool, torch intra-op threads (0 if torch is not loaded), OMP_NUM_THREADS]."""
    from threadpoolctl import threadpool_info

    pools = max((info["num_threads"] for info in threadpool_info()), default=1)
    torch = sys.modules.get("torch")
    return [pools, torch.get_num_threads() if torch is not None else 0, float(os.environ.get("OMP_NUM_THREADS", -1))]


class ThreadReport(Extractor):
    """decode: the thread counts of the worker that decodes; compute: those of the main process."""

    name: ClassVar[str] = "test-thread-report"
    modality: ClassVar = "audio"
    config_type: ClassVar[type] = ThreadReportConfig

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=6)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> list[float]:
        import torch  # noqa: F401 - a worker that imports torch late still runs it on one thread

        return _thread_counts()

    def compute(self, items: list[list[float]]) -> list[np.ndarray]:
        main = _thread_counts()
        return [np.array(item + main, dtype=np.float32) for item in items]


def test_workers_run_one_thread_per_pool_and_main_torch_keeps_its_threads(tmp_path):
    import torch

    before = torch.get_num_threads()
    environment = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    rows = [[{"sample_id": f"s{b}{i}", "audio": None} for i in range(3)] for b in range(4)]
    with LocalExecutor(num_workers=2) as executor:
        results = [r for _, batch in executor.run(ThreadReport(), rows, tmp_path) for r in batch]
    assert all(r.ok for r in results) and len(results) == 12
    values = np.stack([r.value for r in results])
    np.testing.assert_array_equal(values[:, :3], 1)  # workers: BLAS/OpenMP pools, torch, OMP_NUM_THREADS
    assert set(values[:, 4]) == {before}  # the main process's torch, where models run, is not capped
    assert torch.get_num_threads() == before
    assert {name: os.environ.get(name) for name in THREAD_VARIABLES} == environment  # main environment untouched


def test_limit_threads_caps_libraries_loaded_before_it():
    # A fresh interpreter with the libraries' default pools (no thread variables): numpy and torch
    # are loaded first, then limit_threads caps what they started with.
    script = (
        "import numpy, torch\n"
        "from threadpoolctl import threadpool_info\n"
        "from mmdata.executors import limit_threads\n"
        "torch.ones(1000, 1000) @ torch.ones(1000, 1000)\n"
        "limit_threads()\n"
        "print(max(i['num_threads'] for i in threadpool_info()), torch.get_num_threads())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


class InProcessDecode(ThreadReport):
    """Decoding is trivial (like text): the executor keeps it in this process."""

    name: ClassVar[str] = "test-in-process-decode"
    decode_in_workers: ClassVar[bool] = False


def test_start_boots_workers_only_for_extractors_that_decode_in_them():
    with LocalExecutor(num_workers=2) as executor:
        executor.start([InProcessDecode()])
        assert executor._pool is None  # text-like extractors never pay for worker processes
        executor.start([InProcessDecode(), ThreadReport()])
        assert executor._pool is not None
    with LocalExecutor(num_workers=2) as executor:
        executor.start()  # extractors not known yet (picked after the corpus loads): boot them
        assert executor._pool is not None
