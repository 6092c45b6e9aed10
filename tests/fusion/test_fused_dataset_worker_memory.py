"""A DataLoader worker of a `FusedDataset` holds no per-row Python objects: ids, labels and auxiliary labels
stay Arrow arrays of the mapped export (npy: of its mapped index.arrow), so what a worker privately
holds after opening an export of 160,000 rows and serving items from all over it is a few MB, measured in
a real worker from the kernel's own count (/proc/self/smaps_rollup). A list of Python ids and (N, k) label
copies took 14 MB there for an arrow export (16 MB hf, 28 MB npy), and grew with the rows in every worker."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmdata.fusion import fuse
from tests.fusion.mapped_exports import labelled_dataset, large_dataset

ROWS = 200_000  # 160,000 in the train split
BATCHES, BATCH_ROWS = 20, 256
#: Anonymous memory a worker may gain from opening the large export, beyond what a small one cost it.
ALLOWED_BYTES = 4 << 20


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """format -> (an export of ROWS samples, an export of 24 samples), with two auxiliary labels."""
    root = tmp_path_factory.mktemp("worker-memory")
    large, small = large_dataset(root / "large", ROWS), labelled_dataset(root / "small")
    out = {}
    for fmt in ("arrow", "hf", "npy"):
        fuse(large, root / f"large-{fmt}", format=fmt, labels="all", normalize="none")
        fuse(small, root / f"small-{fmt}", format=fmt, labels="all", normalize="none", missing="zero")
        out[fmt] = (root / f"large-{fmt}", root / f"small-{fmt}")
    return out


def worker_growth(large_dir, small_dir) -> int:
    """Anonymous bytes one DataLoader worker gained from opening the large export and serving items of it,
    run from a fresh process (a worker forked from this one would count as its own the pages this process
    writes after the fork)."""
    script = WORKER_SCRIPT.format(large=str(large_dir), small=str(small_dir), batches=BATCHES, rows=BATCH_ROWS)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


#: The worker warms up on the small export (imports, code paths, a batch's buffers), reads its anonymous
#: memory (Pss_Anon: what it allocated, and pages it shares with the parent at half, copied ones whole; not
#: the mapped files, whose pages, freshly written, would count as dirty), serves batches from all over the
#: large export, reads it again; the parent prints the difference.
WORKER_SCRIPT = """
import gc

import numpy as np
from torch.utils.data import DataLoader
from mmdata.fusion import FusedDataset

def anonymous_bytes():
    with open("/proc/self/smaps_rollup") as stats:
        return next(int(line.split()[1]) * 1024 for line in stats if line.startswith("Pss_Anon:"))

class TwoExports:
    def __init__(self, **datasets):
        self.datasets = datasets
    def __len__(self):
        return len(self.datasets["large"])
    def __getitems__(self, batch):
        if batch[0] == "probe":
            return [anonymous_bytes()]
        self.datasets[batch[0]].__getitems__(batch[1:])
        return [None]

if __name__ == "__main__":
    large, small = FusedDataset({large!r}, "train"), FusedDataset({small!r}, "train")
    rng = np.random.default_rng(0)
    def batches(name, rows):
        return [[name, *rng.integers(0, rows, {rows}).tolist()] for _ in range({batches})]
    plan = [*batches("small", len(small)), ["probe"], *batches("large", len(large)), ["probe"]]
    gc.freeze()  # a collection would write to every object's header, copying the pages fork shares
    loader = DataLoader(TwoExports(large=large, small=small), batch_sampler=plan, num_workers=1,
                        collate_fn=lambda items: items[0])
    before, after = [value for value in loader if value is not None]
    print(after - before)
"""


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_a_worker_of_a_mapped_export_holds_a_few_mb_whatever_its_rows(exports, fmt):
    growth = worker_growth(*exports[fmt])
    assert growth < ALLOWED_BYTES, f"the worker gained {growth / 2**20:.1f} MB over 160,000 rows"


def test_a_worker_of_an_npy_export_without_index_arrow_decodes_index_parquet_once(exports, tmp_path):
    """An npy export written before index.arrow existed: its index.parquet cannot be mapped, so its columns
    are decoded once per worker (6.5 MB here, plus what the decoder leaves in Arrow's memory pool); Python
    ids and label copies took 27.6 MB."""
    import shutil

    large, small = exports["npy"]
    old = tmp_path / "large-npy-before-index-arrow"
    shutil.copytree(large, old)
    (old / "train" / "index.arrow").unlink()
    index = pq.read_table(old / "train" / "index.parquet", columns=["sample_id", "label", "label_happy", "label_sad"])
    growth = worker_growth(old, small)
    assert growth < 2 * index.nbytes, f"the worker gained {growth / 2**20:.1f} MB over 160,000 rows"
