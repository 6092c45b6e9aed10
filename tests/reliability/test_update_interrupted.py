"""An `extract --update` stopped at any point resumes: the same command run again finishes it to the dataset a
one-shot extract of the grown corpus makes (old rows, then new ones; no row lost or twice), and a rerun without
--update refuses to go on from a half-appended samples table."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mmdata.samples_update as samples_update
from mmdata.checks import check_dataset
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.store.grown_corpus import first_rows, image_row, samples, table_by_id, write_corpus

EXTRACTORS = ["color-hist:bins=4", "hashed-bow"]
TABLES = ["image.color-hist", "text.hashed-bow"]
SHARD_SIZE = 2
ADDED = [image_row(f"{prefix}-{i}", 20 + i) for i, prefix in enumerate(["a", "m-01x", "n", "z", "b", "y"])]


def run(corpus: Path, out: Path, **options):
    return extract("manifest", corpus, out, extractors=EXTRACTORS, shard_size=SHARD_SIZE, num_workers=0, **options)


@pytest.fixture
def corpora(tmp_path):
    """(grown corpus, dataset of its first five samples, one-shot dataset of the grown corpus)."""
    rows = first_rows(5)
    corpus, out, one_shot = write_corpus(tmp_path / "corpus", rows), tmp_path / "ds", tmp_path / "one-shot"
    run(corpus, out)
    write_corpus(corpus, rows + ADDED)
    run(corpus, one_shot)
    return corpus, out, one_shot


def assert_equal_to_one_shot(out: Path, one_shot: Path) -> None:
    ids = samples(out).column("sample_id").to_pylist()
    assert ids == [f"m-{i:02d}" for i in range(5)] + sorted(r["id"] for r in ADDED)
    assert sorted(samples(out).to_pylist(), key=str) == sorted(samples(one_shot).to_pylist(), key=str)
    for table in TABLES:
        assert table_by_id(out, table) == table_by_id(one_shot, table), table
        assert open_dataset(out).read_table(table, ["sample_id"]).column(0).to_pylist() == ids
    assert open_dataset(out).manifest.samples["rows"] == len(ids)
    assert check_dataset(out).ok


#: The update's writes, in order: the manifest marking it, samples shards 2 to 5 (11 rows), the final manifest.
UPDATE_WRITES = 6


@pytest.mark.parametrize("stop_at", range(1, UPDATE_WRITES + 1))
def test_an_update_stopped_before_any_of_its_writes_is_finished_by_the_same_command(corpora, monkeypatch, stop_at):
    corpus, out, one_shot = corpora
    writes = []

    def stopping(write):
        def write_or_stop(*args, **kwargs):
            writes.append(write.__name__)
            if len(writes) == stop_at:
                raise KeyboardInterrupt  # as Ctrl-C or a kill there: the writes before it are done, this one is not
            return write(*args, **kwargs)
        return write_or_stop

    monkeypatch.setattr(samples_update, "write_table_atomic", stopping(samples_update.write_table_atomic))
    monkeypatch.setattr(samples_update, "write_manifest", stopping(samples_update.write_manifest))
    with pytest.raises(KeyboardInterrupt):
        run(corpus, out, update=True)
    monkeypatch.undo()
    assert writes[-1] == ("write_manifest" if stop_at in (1, UPDATE_WRITES) else "write_table_atomic")
    if stop_at > 1:  # the samples table is part old, part grown: only the update goes on from there
        with pytest.raises(DatasetError, match=r"an `mmdata extract --update` of this dataset was interrupted while it "
                                               "appended samples; run the same command with --update again"):
            run(corpus, out)
    report = run(corpus, out, update=True)
    assert report.samples_added == len(ADDED)
    assert_equal_to_one_shot(out, one_shot)


def test_an_update_killed_while_it_writes_resumes_to_the_one_shot_dataset(corpora):
    corpus, out, one_shot = corpora
    command = [sys.executable, "-m", "mmdata", "extract", "manifest", str(corpus), str(out), "--shard-size",
               str(SHARD_SIZE), "-j", "0", "-q", "--update", *[a for spec in EXTRACTORS for a in ("--image" if
                                                               spec.startswith("color") else "--text", spec)]]
    before = _inodes(out)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    while process.poll() is None and _inodes(out) == before:  # killed as its first write lands
        time.sleep(0.002)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode in (-signal.SIGKILL, 0)  # (0: it finished before the kill, on a machine idle enough)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert_equal_to_one_shot(out, one_shot)
    assert not [p for p in out.rglob(".*.tmp")]


def _inodes(folder: Path) -> dict[str, int]:
    """{file: inode} under `folder`: a file written atomically gets a new inode."""
    found = {}
    for path in folder.rglob("*"):
        try:
            found[str(path)] = path.stat().st_ino
        except FileNotFoundError:  # renamed or removed while listing
            pass
    return found

