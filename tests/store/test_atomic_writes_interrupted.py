"""A Ctrl-C the moment an atomic write has created its temporary file leaves no `.NAME.*.tmp` behind.

`write_text_atomic` created the file before its `try`, so a KeyboardInterrupt arriving then (before
the caller held the file's name) left `.mmdata.json.<random>.tmp` in the dataset for good. The
interrupt is raised here exactly there: by a profile hook, as the call that creates the file returns
(a signal at that instant cannot be timed from outside).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from mmdata.store.files import temporary_file, write_text_atomic
from mmdata.store.writer import write_table_atomic


def interrupted_as_the_temporary_file_is_made(write: Callable[[], object]) -> None:
    """Run `write` with a KeyboardInterrupt raised as its first `os.open` (the temporary file's) returns."""
    previous = sys.getprofile()

    def hook(frame, event, arg):
        if event == "c_return" and arg is os.open:
            sys.setprofile(previous)
            raise KeyboardInterrupt

    sys.setprofile(hook)
    try:
        with pytest.raises(KeyboardInterrupt):
            write()
    finally:
        sys.setprofile(previous)


def test_a_text_file_interrupted_as_its_temporary_is_made_leaves_nothing(tmp_path):
    target = tmp_path / "mmdata.json"
    target.write_text("old\n")
    interrupted_as_the_temporary_file_is_made(lambda: write_text_atomic(target, "new\n"))
    assert sorted(os.listdir(tmp_path)) == ["mmdata.json"]
    assert target.read_text() == "old\n"  # readers see the old file whole
    write_text_atomic(target, "new\n")
    assert sorted(os.listdir(tmp_path)) == ["mmdata.json"] and target.read_text() == "new\n"


def test_a_shard_interrupted_as_its_temporary_is_made_leaves_nothing(tmp_path):
    target = tmp_path / "samples" / "part-00000.parquet"
    table = pa.table({"sample_id": ["a", "b"]})
    interrupted_as_the_temporary_file_is_made(lambda: write_table_atomic(table, target))
    assert os.listdir(target.parent) == []
    write_table_atomic(table, target)
    assert os.listdir(target.parent) == ["part-00000.parquet"]


def test_a_temporary_file_goes_when_its_block_raises_and_stays_for_the_caller_otherwise(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(ValueError), temporary_file(target) as (fd, tmp):
        os.close(fd)
        assert tmp.is_file() and tmp.name.startswith(".out.txt.") and tmp.name.endswith(".tmp")
        raise ValueError("stopped")
    assert os.listdir(tmp_path) == []
    with temporary_file(target) as (fd, tmp):
        os.close(fd)
        os.replace(tmp, target)
    assert os.listdir(tmp_path) == ["out.txt"]
    assert Path(target).read_bytes() == b""
