"""One writer per dataset directory: a second extract or align on a directory being written is refused
at once (it would drop the first one's table from the manifest); the lock leaves no file behind and
goes with its process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from mmdata.errors import CorpusFormatError, DatasetBusyError, DatasetError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.lock import writing
from tests.fakes.csd import write_mosi_csd
from tests.sample_corpus import copy_sample_corpus


def test_a_second_writer_is_refused_while_the_first_writes(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    out = tmp_path / "out"
    with writing(out, "extraction"):
        with pytest.raises(DatasetBusyError, match=rf"{out} is being written by another mmdata process .*run this "
                                                   r"extraction when that one has finished"):
            extract("coco", coco, out, extractors=["color-hist:bins=4"], num_workers=0)
        result = CliRunner().invoke(app, ["extract", "coco", str(coco), str(out), "--image", "color-hist", "-q"])
        assert result.exit_code == 2 and "is being written by another mmdata process" in result.stderr
    report = extract("coco", coco, out, extractors=["color-hist:bins=4"], num_workers=0)
    assert report.tables[0].rows == 8
    assert not [p.name for p in out.iterdir() if p.name.startswith(".") or "lock" in p.name]  # no lock file


def test_align_takes_the_same_lock(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=[], num_workers=0)
    with writing(out, "extraction"), pytest.raises(DatasetBusyError):
        align_dataset(out, "text.words")
    assert align_dataset(out, "text.words").kept > 0
    assert "audio.covarep@text.words" in open_dataset(out).table_names


def test_a_killed_writer_holds_nothing(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from mmdata.store.lock import writing\n"
        f"with writing({str(out)!r}, 'extraction'):\n"
        "    print('locked', flush=True); time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DatasetBusyError), writing(out, "extraction"):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            with writing(out, "extraction"):
                break
        except DatasetBusyError:
            assert time.monotonic() < deadline, "the lock outlived its process"
            time.sleep(0.05)


def test_a_file_in_place_of_the_directory_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DatasetError, match="afile is a file; expected a dataset directory"), \
            writing(tmp_path / "afile", "extraction"):
        pass


def test_a_run_that_fails_before_writing_leaves_no_empty_directory(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    (coco / "annotations" / "captions_val2017.json").write_text("{}")
    with pytest.raises(CorpusFormatError, match="expected key 'images'"):
        extract("coco", coco, tmp_path / "new" / "out", extractors=["color-hist"], num_workers=0)
    assert not (tmp_path / "new" / "out").exists()



def test_writing_into_a_checksummed_dataset_warns_that_the_checksums_go_stale(tmp_path, caplog):
    (tmp_path / "checksums.sha256").write_text("")
    with caplog.at_level("WARNING", logger="mmdata.store.lock"), writing(tmp_path, "alignment"):
        pass
    assert "holds checksums.sha256" in caplog.text and f"`mmdata checksum {tmp_path}` afterwards" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="mmdata.store.lock"), writing(tmp_path / "fresh", "extraction"):
        pass
    assert caplog.text == ""
