"""`write_csd` writes a `.csd` as the store writes a shard (`store.writer.atomic_file`): a hidden file beside
it, fsynced and renamed over it, which goes whatever stops the write, a Ctrl-C the moment it is created
included; the file gets the mode `open()` gives, not a temporary file's 0600."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from mmdata.errors import CorpusFormatError
from mmdata.formats.csd import CsdFile, write_csd
from tests.store.test_atomic_writes_interrupted import interrupted_as_the_temporary_file_is_made

ENTRY = ("vid1", np.ones((3, 2), np.float32), np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]))


def test_a_csd_interrupted_as_its_temporary_is_made_leaves_nothing_and_the_old_file_whole(tmp_path):
    target = tmp_path / "out" / "seq.csd"
    write_csd(target, "seq", [ENTRY])
    before = target.read_bytes()
    interrupted_as_the_temporary_file_is_made(lambda: write_csd(target, "seq", [ENTRY]))
    assert os.listdir(target.parent) == ["seq.csd"] and target.read_bytes() == before


def test_a_refused_csd_leaves_no_temporary_file(tmp_path):
    with pytest.raises(CorpusFormatError, match="bad"):
        write_csd(tmp_path / "x.csd", "R", [("bad", np.zeros((3, 2)), np.zeros((2, 2)))])
    assert os.listdir(tmp_path) == []


def test_a_written_csd_has_the_mode_open_gives_and_reads_back(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = write_csd(tmp_path / "new" / "seq.csd", "seq", [ENTRY])
    assert os.listdir(path.parent) == ["seq.csd"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    with CsdFile(path) as csd:
        assert csd.video_ids == ["vid1"]
