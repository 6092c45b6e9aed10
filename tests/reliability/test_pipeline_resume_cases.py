"""Resuming `extract` from the states an interruption leaves, made on purpose rather than by a kill
at a random time: Ctrl-C in the middle of the second table (with and without decode workers), a shard
whose errors were written but not the shard itself, and re-runs with another batch size or worker
count. Each resumed dataset equals an uninterrupted run's, and finished shards are never computed
again."""
from __future__ import annotations

import multiprocessing.forkserver
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.extractors import PassThrough
from tests.reliability.fake_coco import write_broken_coco

#: Sample ids whose computing raises KeyboardInterrupt, as Ctrl-C would (this process only: the
#: workers decode, this process computes).
INTERRUPT_ON: set[str] = set()


@dataclass(frozen=True)
class NoConfig:
    pass


class FileSize(PassThrough):
    """The image file's size as a 1-d feature (a missing file fails its item)."""

    name: ClassVar[str] = "test-file-size"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = NoConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> tuple[str, np.ndarray]:
        return row["sample_id"], np.array([(corpus_root / row["image"]).stat().st_size], dtype=np.float32)

    def compute(self, items: list[tuple[str, np.ndarray]]) -> list[np.ndarray]:
        if INTERRUPT_ON.intersection(sid for sid, _ in items):
            raise KeyboardInterrupt
        return [size for _, size in items]


EXTRACTORS = ("color-hist:bins=4", FileSize())
TABLES = ("image.color-hist", "image.test-file-size")
SHARD_SIZE = 8  # 40 images: 5 shards per table


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_broken_coco(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out"
    extract("coco", corpus.root, out, extractors=EXTRACTORS, shard_size=SHARD_SIZE, num_workers=0)
    return out


def run(corpus, out: Path, **kwargs: Any):
    kwargs = {"batch_size": 4, "num_workers": 0, **kwargs}
    return extract("coco", corpus.root, out, extractors=EXTRACTORS, shard_size=SHARD_SIZE, **kwargs)


def assert_same_dataset(got: Path, want: Path) -> None:
    a, b = open_dataset(got), open_dataset(want)
    for name in TABLES:
        assert a.table(name).to_table().equals(b.table(name).to_table(), check_metadata=True), name
    assert a.errors().equals(b.errors())
    assert {n: (e.rows, e.errors, e.complete) for n, e in a.manifest.tables.items()} == {
        n: (e.rows, e.errors, e.complete) for n, e in b.manifest.tables.items()}


def shard_files(out: Path, name: str) -> list[str]:
    return sorted(p.name for p in (out / "features" / name).glob("part-*"))


def live_children_of_the_fork_server() -> list[int]:
    """Processes (not zombies) whose parent is this process's fork server: the decode workers."""
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    if server is None:
        return []
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[1]) == server:
            children.append(int(stat.parent.name))
    return children


@pytest.mark.parametrize("num_workers", [0, 2])
def test_ctrl_c_in_the_second_table_resumes_without_computing_a_finished_shard_again(corpus, reference, tmp_path,
                                                                                     num_workers):
    out = tmp_path / "out"
    INTERRUPT_ON.add(corpus.ids[20])  # in shard 2 of the second table
    try:
        with pytest.raises(KeyboardInterrupt):
            run(corpus, out, num_workers=num_workers)
    finally:
        INTERRUPT_ON.clear()
    assert live_children_of_the_fork_server() == []  # the decode workers went with the run
    assert shard_files(out, TABLES[1]) == ["part-00000.parquet", "part-00001.parquet"]
    dataset = open_dataset(out)
    assert dataset.entry(TABLES[0]).complete and not dataset.entry(TABLES[1]).complete

    report = run(corpus, out, num_workers=num_workers)
    assert [(t.shards_written, t.shards_skipped, t.shards_redone) for t in report.tables] == [(0, 5, 0), (3, 2, 0)]
    assert_same_dataset(out, reference)


def test_a_shard_whose_errors_were_written_but_not_the_shard_is_computed_again(corpus, reference, tmp_path):
    """The errors table of a shard is written just before the shard: a kill between the two leaves
    its errors, and the shard's temporary file, behind."""
    out = tmp_path / "out"
    run(corpus, out)
    shard = out / "features" / TABLES[1] / "part-00002.parquet"
    assert (out / "errors" / TABLES[1] / "part-00002.parquet").is_file()
    shard.rename(shard.with_name(".part-00002.parquet.x1y2.tmp"))  # never renamed to its final name

    report = run(corpus, out)
    assert [(t.shards_written, t.shards_skipped) for t in report.tables] == [(0, 5), (1, 4)]
    assert not list((out / "features" / TABLES[1]).glob(".part-*.tmp"))
    assert_same_dataset(out, reference)


def test_a_rerun_with_another_batch_size_and_worker_count_keeps_every_finished_shard(corpus, reference, tmp_path):
    out = tmp_path / "out"
    run(corpus, out)
    report = run(corpus, out, batch_size=1, num_workers=1)
    assert [(t.shards_written, t.shards_skipped) for t in report.tables] == [(0, 5), (0, 5)]
    assert_same_dataset(out, reference)
