"""A temporal corpus big enough that `align`, `segment` and `export-csd` run for a few seconds, for the
tests that interrupt them: whole videos in the SDK's `.csd` layout (words, COVAREP at 100 Hz, FACET at
30 Hz), a label file of segments, and the dataset `extract csd -o labels=none` makes of them.

    csd/CMU_MOSI_TimestampedWords.csd   words every 0.25 s, `sp` pauses among them
    csd/CMU_MOSI_COVAREP.csd            (T, 4) float32 frames of 10 ms
    csd/CMU_MOSI_Visual_Facet_41.csd    (T, 3) float32 frames of 1/30 s
    labels/CMU_MOSI_Opinion_Labels.csd  one row per segment of 5 s, keys `vid`
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import (
    COVAREP_DIM, COVAREP_FILE, COVAREP_ROOT, FACET_DIM, FACET_FILE, FACET_ROOT, LABELS_FILE, LABELS_ROOT, SDK_METADATA,
    WORDS_FILE, WORDS_ROOT, frames, write_sdk_csd,
)

WORD_SECONDS = 0.25
SEGMENT_SECONDS = 5.0
REFERENCE = "text.words"


@dataclass(frozen=True)
class LongCorpus:
    """Where the corpus and its dataset lie."""

    csd: Path  # the whole videos' `.csd` files
    labels: Path  # the label file, outside `csd`
    dataset: Path  # `extract csd -o labels=none` of `csd`


def word_arrays(duration: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Words of WORD_SECONDS back to back over [0, duration), every seventh a pause (`sp`)."""
    count = int(duration / WORD_SECONDS)
    rng = np.random.default_rng(seed)
    words = [b"sp" if k % 7 == 0 else b"w%d" % rng.integers(1000) for k in range(count)]
    starts = np.arange(count) * WORD_SECONDS
    return np.array(words, dtype="S8").reshape(-1, 1), np.stack([starts, starts + WORD_SECONDS], 1)


def write_long_corpus(root: Path, *, videos: int, seconds: float, shard_size: int,
                      extracted: bool = True) -> LongCorpus:
    """`videos` whole videos of `seconds` each, and their dataset with `shard_size` samples per shard
    (not made when `extracted` is False)."""
    ids = [f"video{i:03d}" for i in range(videos)]
    csd = root / "csd"
    metadata = {**SDK_METADATA, "dataset name": "CMU-MOSI"}
    write_sdk_csd(csd / WORDS_FILE, WORDS_ROOT, {v: word_arrays(seconds, i) for i, v in enumerate(ids)}, metadata)
    write_sdk_csd(csd / COVAREP_FILE, COVAREP_ROOT,
                  {v: frames(seconds, 100, COVAREP_DIM, i) for i, v in enumerate(ids)}, metadata)
    write_sdk_csd(csd / FACET_FILE, FACET_ROOT,
                  {v: frames(seconds, 30, FACET_DIM, 100 + i) for i, v in enumerate(ids)}, metadata)
    starts = np.arange(0, seconds, SEGMENT_SECONDS)
    segments = np.stack([starts, np.minimum(starts + SEGMENT_SECONDS, seconds)], 1)
    labels = write_sdk_csd(root / "labels" / LABELS_FILE, LABELS_ROOT, {
        v: (np.linspace(-3, 3, len(segments), dtype=np.float32).reshape(-1, 1), segments) for v in ids}, metadata)
    dataset = root / "videos"
    if extracted:
        extract("csd", csd, dataset, extractors=[], corpus_options={"labels": "none"}, shard_size=shard_size,
                num_workers=0)
    return LongCorpus(csd, labels, dataset)


# --- runs killed at a chosen write -------------------------------------------------------------------

#: `python -c KILL_DRIVER TARGET NTH LOG ARGS...` runs `mmdata ARGS` and SIGKILLs it just before its NTH
#: rename onto a file or folder named TARGET (every file a command commits is renamed into place: shards,
#: manifests, `.csd` files, published folders), or never with NTH 0; LOG, when not empty, gets the name
#: of every rename's target, in order (the points a run can be killed at).
KILL_DRIVER = """
import os, signal, sys
target, nth, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen, real_replace = [0], os.replace
def replace(src, dst, *args, **kwargs):
    name = os.path.basename(os.fspath(dst))
    if log:
        with open(log, "a") as f:
            f.write(name + "\\n")
    if name == target:
        seen[0] += 1
        if seen[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *args, **kwargs)
os.replace = replace
sys.argv = ["mmdata", *sys.argv[4:]]
from mmdata.cli import main
main()
"""


def mmdata_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mmdata", *args]


def run_killed_at(target: str, nth: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`mmdata ARGS`, killed (SIGKILL) just before its `nth` rename onto a file named `target`."""
    return subprocess.run([sys.executable, "-c", KILL_DRIVER, target, str(nth), "", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def renames_of(*args: str, cwd: Path, log: Path) -> list[str]:
    """Run `mmdata ARGS` to the end; the names of the files its renames put in place, in order."""
    done = subprocess.run([sys.executable, "-c", KILL_DRIVER, "", "0", str(log), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return log.read_text().split()


def nth_of(renames: list[str], index: int) -> tuple[str, int]:
    """(target, n): the rename at `index` as the n-th rename onto its name, for `run_killed_at`."""
    name = renames[index]
    return name, renames[:index + 1].count(name)


def hidden_files(folder: Path) -> list[str]:
    """Every path under `folder` that has a hidden part (a temporary file, a staging or lock file)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if any(part.startswith(".") for part in p.relative_to(folder).parts))


def dataset_contents(root: Path) -> tuple[dict, dict, object]:
    """(manifest, {table: its rows with their schema metadata}, errors) of a dataset, to compare two."""
    dataset = open_dataset(root)
    tables = {name: dataset.table(name).to_table() for name in dataset.table_names}
    return dataset.manifest.to_json(), tables, dataset.errors()


def assert_same_dataset(got: Path, want: Path) -> None:
    manifest, tables, errors = dataset_contents(got)
    want_manifest, want_tables, want_errors = dataset_contents(want)
    assert manifest == want_manifest
    assert tables.keys() == want_tables.keys()
    for name, table in tables.items():
        assert table.equals(want_tables[name], check_metadata=True), name
    assert errors.equals(want_errors)
