"""A fuse that fails while writing its export closes every file it had open in the staged folder before that
folder is removed, in every format: its Parquet and Arrow IPC writers, an npy export's memory-mapped arrays
and its index files. Left to garbage collection, they stayed open as long as the error's traceback lived
(a caller keeping it, a debugger, a notebook), and the removed files' space with them: a fuse that failed
on a full disk kept it full. Each case fails as a full disk would make it fail, mid-way, with files open
(an npy export's: 5 files of each of two splits), and looks at the process's own file descriptors
(/proc/self/fd, Linux)."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mmdata.fusion import fuse
from mmdata.fusion.formats import ArrowSink, HfSink, ParquetSink
from mmdata.fusion.npy_sink import NpyIndexArrow, NpySink
from tests.fusion.mapped_exports import labelled_dataset

SINKS = {"parquet": ParquetSink, "arrow": ArrowSink, "hf": HfSink, "npy": NpySink}
#: Batches the sink writes before the disk is full: 2 rows each, the npy sink's a split's rows (from the
#: staged pass), so files of the first split or two are open then.
WRITES_BEFORE_FULL = 2


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return labelled_dataset(tmp_path_factory.mktemp("aborted-fuse") / "ds")


def open_files_under(folder: Path) -> list[str]:
    """The files under `folder` this process holds a descriptor of (a removed one reads '<path> (deleted)')."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
        if target.startswith(f"{folder}{os.sep}"):
            found.append(target)
    return found


def disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def fuse_failing(dataset: Path, exports: Path, fmt: str) -> None:
    """`fuse` into `exports`/out, which raises the full disk's OSError."""
    with pytest.raises(OSError, match="No space left on device"):
        fuse(dataset, exports / "out", format=fmt, labels="all", class_label="kind", missing="zero",
             normalize="none", stats_splits=("train", "valid", "test"))


@pytest.mark.parametrize("fmt", sorted(SINKS))
def test_a_fuse_failing_mid_way_leaves_no_descriptor_of_its_staged_files(dataset, tmp_path, monkeypatch, fmt):
    sink_class, exports = SINKS[fmt], tmp_path / "exports"
    monkeypatch.setattr(sink_class, "batch_bytes", 64)  # batches of a few rows
    write, written, open_when_full = sink_class._write, [], []

    def write_until_the_disk_is_full(self, split, batch):
        if len(written) == WRITES_BEFORE_FULL:
            open_when_full.extend(open_files_under(exports))
            raise disk_full()
        write(self, split, batch)
        written.append(split)

    monkeypatch.setattr(sink_class, "_write", write_until_the_disk_is_full)
    assert open_files_under(tmp_path) == []
    fuse_failing(dataset, exports, fmt)
    staged = [path for path in open_when_full if f"{os.sep}.out.tmp-" in path]
    assert staged, f"the disk was full before the sink opened a file, the case tests nothing: {open_when_full}"
    assert open_files_under(tmp_path) == [], f"open before the failure: {sorted(open_when_full)}"
    assert not exports.exists() or list(exports.iterdir()) == []  # the staged folder is gone


def test_an_npy_export_failing_to_finish_its_first_split_closes_every_split(dataset, tmp_path, monkeypatch):
    """index.arrow's rows (fewer than a record batch here) are written when the sink finishes: the first
    split's write fails there, and the files of every split are closed all the same."""
    flush, exports = NpyIndexArrow._flush, tmp_path / "exports"

    def flush_on_a_full_disk(self):
        if self._pending_rows:
            raise disk_full()
        flush(self)

    monkeypatch.setattr(NpyIndexArrow, "_flush", flush_on_a_full_disk)
    fuse_failing(dataset, exports, "npy")
    assert open_files_under(tmp_path) == []
