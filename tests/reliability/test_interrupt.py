"""SIGKILL at random points, then resume: the output equals an uninterrupted run (extract and fuse).

While the killed runs write, a reader thread keeps opening every table with plain
`pyarrow.dataset` and parsing `mmdata.json` / `fused.json`: it must never meet a partial file.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.moments import has_moments, read_table_moments
from tests.reliability.fake_coco import write_fake_coco

SEED = 20261129
KILLS = 10
#: Runs started to get KILLS kills: a run that ends before its drawn kill time is retried (on a busy
#: machine runs and kill times drift apart, and 3x once proved too few).
MAX_ATTEMPTS = 6 * KILLS
SHARD_SIZE = 2
NUM_IMAGES = 16
EXTRACTORS = ("color-hist:bins=8", "pixel-stats")
EXTRACTOR_FLAGS = [flag for spec in EXTRACTORS for flag in ("--image", spec)]
TABLES = ("image.color-hist", "image.pixel-stats")


def extract_command(corpus: Path, out: Path, num_workers: int) -> list[str]:
    return [sys.executable, "-m", "mmdata", "extract", "coco", str(corpus), str(out), *EXTRACTOR_FLAGS,
            "--shard-size", str(SHARD_SIZE), "-j", str(num_workers), "-q"]


def launch(command: list[str], cwd: Path) -> subprocess.Popen:
    # A session of its own, so the kill takes the decode workers with it (a node going down).
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def wait_for_first_write(process: subprocess.Popen, watched: Path) -> None:
    """Wait until the run writes its first file or folder under `watched` (shards and manifests are
    replaced, so their inode changes), so that kill times fall in the work, not in the start-up."""
    before = entries_of(watched)
    while process.poll() is None and entries_of(watched) == before:
        time.sleep(0.01)


def wait_for_work_folder(process: subprocess.Popen, watched: Path, hidden: set[str]) -> None:
    """Wait until the run's hidden work folder appears under `watched` (a name not in `hidden`), so
    that kill times fall in the writing: its first change there may be removing an earlier run's
    abandoned folder, before it has planned anything."""
    while process.poll() is None and not ({p.name for p in watched.iterdir() if p.name.startswith(".")} - hidden):
        time.sleep(0.005)


def entries_of(folder: Path) -> dict[str, int]:
    try:
        return {str(p): p.stat().st_ino for p in folder.rglob("*")}
    except FileNotFoundError:  # a temporary file renamed while listing
        return {}


def run_to_completion(command: list[str], cwd: Path, out: Path) -> float:
    """Run without interruption; returns the seconds from the first write to the exit."""
    process = launch(command, cwd)
    wait_for_first_write(process, out)
    start = time.perf_counter()
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 0, stderr
    return time.perf_counter() - start


class Reader(threading.Thread):
    """Reads a dataset directory in a loop, as a trainer or `mmdata check` would, recording what fails."""

    def __init__(self, out: Path):
        super().__init__(daemon=True)
        self.out = out
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.reads = 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.read_once()
            time.sleep(0.05)

    def read_once(self) -> None:
        manifest = self.out / "mmdata.json"
        try:
            if manifest.is_file():
                json.loads(manifest.read_text())
            for table_dir in [self.out / "samples", *self.out.glob("features/*"), *self.out.glob("errors/*")]:
                if table_dir.is_dir():
                    ds.dataset(table_dir, format="parquet").to_table()
            self.reads += 1
        except FileNotFoundError:
            pass  # the output directory was removed between trials
        except Exception as e:  # noqa: BLE001 - any other failure is what this reader exists to catch
            self.failures.append(f"{type(e).__name__}: {e}")


def check_consistent(out: Path) -> int:
    """After a kill: the manifest parses and every visible feature shard is whole and row-aligned
    with its samples shard. Returns how many feature shards are finished."""
    if not (out / "mmdata.json").is_file():
        assert not (out / "features").exists()
        return 0
    dataset = open_dataset(out)  # parses and validates the manifest
    finished = 0
    for name in TABLES:
        for shard in sorted((out / "features" / name).glob("part-*.parquet")):
            samples = pq.read_table(out / "samples" / shard.name, columns=["sample_id"])
            assert pq.read_table(shard).column("sample_id").equals(samples.column("sample_id")), shard
            finished += 1
    assert dataset.manifest.samples["rows"] == sum(dataset.manifest.samples["shards"])
    return finished


def assert_same_dataset(got: Path, want: Path) -> None:
    a, b = open_dataset(got), open_dataset(want)
    assert a.samples_table().equals(b.samples_table())
    for name in TABLES:
        assert a.table(name).to_table().equals(b.table(name).to_table(), check_metadata=True)
    assert a.errors().equals(b.errors())
    assert a.manifest.to_json() == b.manifest.to_json()


def test_sigkill_at_random_points_then_resume_equals_an_uninterrupted_run(tmp_path):
    corpus = write_fake_coco(tmp_path / "corpus", NUM_IMAGES)
    for sid in corpus.ids[5::7]:  # a few unreadable images, so errors tables take part too
        (corpus.root / "val2017" / f"{sid}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    reference = tmp_path / "reference"
    start = time.perf_counter()
    extract("coco", corpus.root, reference, extractors=EXTRACTORS, shard_size=SHARD_SIZE, num_workers=0)
    work = time.perf_counter() - start
    total_shards = len(TABLES) * -(-NUM_IMAGES // SHARD_SIZE)

    out = tmp_path / "out"
    rng = random.Random(SEED)
    reader = Reader(out)
    reader.start()
    kills, midway, attempts, finished = 0, 0, 0, 0
    try:
        while kills < KILLS:
            attempts += 1
            assert attempts <= MAX_ATTEMPTS, "runs kept finishing before their kill time"
            num_workers = int(kills % 3 == 1)  # mostly in-process decoding; a worker pool killed with its parent
            process = launch(extract_command(corpus.root, out, num_workers), tmp_path)
            wait_for_first_write(process, out)
            try:
                # Kill somewhere in what is left of the work (finished shards are skipped quickly).
                stderr = process.communicate(timeout=rng.uniform(0, work * (1 - finished / total_shards) + 0.05))[1]
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                kills += 1
                finished = check_consistent(out)
                midway += 0 < finished < total_shards
                if finished < total_shards or kills == KILLS:
                    continue
            else:
                assert process.returncode == 0, stderr
            shutil.rmtree(out)  # nothing left to interrupt: start again so the next kill lands mid-run
            finished = 0
        run_to_completion(extract_command(corpus.root, out, 1), tmp_path, out)
    finally:
        reader.stop.set()
        reader.join()
    assert reader.failures == []
    assert reader.reads > 0
    assert midway > 0, "no kill landed between the first and the last shard"
    # Files a kill left half-written are hidden temporaries ('.part-*.tmp'), which readers ignore,
    # as they ignore the hidden folders of per-shard moments.
    visible = [p for p in out.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)]
    assert all(p.name == "mmdata.json" or re.fullmatch(r"part-\d{5}\.parquet", p.name) for p in visible), visible
    assert_same_dataset(out, reference)
    dataset = open_dataset(out)  # a shard finished before a kill got its moments when the run resumed
    for name in TABLES:
        if has_moments(dataset.spec(name)):
            shards = layout.shard_files(dataset.table_dir(name))
            assert read_table_moments(shards, dataset.spec(name).dim, dataset.manifest.samples["fingerprint"]), name


FUSE_TABLES = ("image.color-hist", "text.hashed-bow")


def fuse_command(dataset: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "mmdata", "fuse", str(dataset), str(out), "--tables", ",".join(FUSE_TABLES),
            "--stats-split", "val2017", *(["--force"] if out.exists() else [])]


class FusedReader(Reader):
    """Reads a fused export in a loop: `fused.json` and every data file, whenever the folder exists."""

    def read_once(self) -> None:
        try:
            if self.out.is_dir():
                json.loads((self.out / "fused.json").read_text())
                ds.dataset(self.out / "data", format="parquet").to_table()
                self.reads += 1
        except FileNotFoundError:
            pass  # no export yet, or the instant between moving the old one out and the new one in
        except Exception as e:  # noqa: BLE001 - any other failure is what this reader exists to catch
            self.failures.append(f"{type(e).__name__}: {e}")


def read_export(out: Path) -> tuple[dict, object]:
    return json.loads((out / "fused.json").read_text()), ds.dataset(out / "data", format="parquet").to_table()


def test_sigkill_during_fuse_never_leaves_a_partial_export(tmp_path):
    from mmdata.fusion import fuse

    corpus = write_fake_coco(tmp_path / "corpus", 60)
    dataset = tmp_path / "dataset"
    extract("coco", corpus.root, dataset, extractors=["color-hist", "hashed-bow"], shard_size=10, num_workers=0)
    exports = tmp_path / "exports"
    start = time.perf_counter()
    fuse(dataset, exports / "reference", tables=FUSE_TABLES, stats_splits=("val2017",))
    work = time.perf_counter() - start
    want_meta, want_rows = read_export(exports / "reference")

    out = exports / "fused"
    rng = random.Random(SEED + 1)
    reader = FusedReader(out)
    reader.start()
    kills = attempts = midway = 0
    try:
        while kills < KILLS:
            attempts += 1
            assert attempts <= MAX_ATTEMPTS, "runs kept finishing before their kill time"
            hidden = {p.name for p in exports.iterdir() if p.name.startswith(".")}
            process = launch(fuse_command(dataset, out), tmp_path)
            wait_for_work_folder(process, exports, hidden)
            try:
                stderr = process.communicate(timeout=rng.uniform(0, work + 0.05))[1]
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                kills += 1
                # A kill in the middle leaves the run's hidden work folder behind, never a visible one.
                midway += bool({p.name for p in exports.iterdir() if p.name.startswith(".")} - hidden)
            else:
                assert process.returncode == 0, stderr
            if out.exists():  # all or nothing: a visible export is always a whole one
                assert read_export(out) == (want_meta, want_rows)
        run_to_completion(fuse_command(dataset, out), tmp_path, exports)
    finally:
        reader.stop.set()
        reader.join()
    assert reader.failures == []
    assert midway > 0, "no kill landed while the export was being written"
    assert read_export(out) == (want_meta, want_rows)
    visible = sorted(p.name for p in exports.iterdir() if not p.name.startswith("."))
    assert visible == ["fused", "reference"]
