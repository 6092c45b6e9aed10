"""`mmdata verify` names a flipped byte in any file; `mmdata checksum` names each file that changed since the
checksums file it replaces, and refuses, in one line, what it cannot record: a name that is not UTF-8, a
folder it cannot list or write, an empty folder, a dataset an extract is writing now."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.share.checksums import list_dataset_files, read_checksums
from mmdata.store.lock import writing
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The COCO sample corpus as a dataset (two tables of three shards each) with its checksums."""
    tmp = tmp_path_factory.mktemp("checksum")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "--text", "hashed-bow", "-j", "0", "-q", "--shard-size", "3"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["checksum", str(tmp / "ds")]).exit_code == 0
    return tmp / "ds"


@pytest.fixture
def dataset(pristine, tmp_path) -> Path:
    copy = tmp_path / "ds"
    shutil.copytree(pristine, copy)
    return copy


def _flip_a_byte(path: Path, where: int) -> None:
    data = bytearray(path.read_bytes())
    data[where % len(data)] ^= 0x40
    path.write_bytes(bytes(data))


def _as_a_user(*args: str) -> subprocess.CompletedProcess:
    """`python -m mmdata ARGS` as file permissions apply to it: as root, without the capabilities that let
    root read and write past them (`setpriv`), so that a folder chmod-ed 000 or 555 is refused as for anyone."""
    command = [sys.executable, "-m", "mmdata", *args]
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    return subprocess.run(command, capture_output=True, text=True)


def test_a_flipped_byte_in_any_file_is_named_by_verify_and_by_checksum(pristine, tmp_path):
    files = list_dataset_files(pristine)
    assert len(files) == 16  # manifest, 3 samples shards, 6 feature shards and their 6 moments
    for i, rel in enumerate(files):
        copy = tmp_path / f"flip-{i}"
        shutil.copytree(pristine, copy)
        _flip_a_byte(copy / rel, where=(i * 7919) + 40)
        result = runner.invoke(app, ["verify", str(copy)])
        assert (result.exit_code, result.stdout) == (1, f"altered: {rel}\n"), rel
        result = runner.invoke(app, ["checksum", str(copy)])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[1:] == [
            "changed since the checksums.sha256 it replaces (1 files; if the change was not yours, those files are "
            "damaged: get them again):", f"  altered: {rel}"], rel
        assert runner.invoke(app, ["verify", str(copy)]).exit_code == 0


def test_checksum_over_unchanged_files_names_nothing_and_names_a_damaged_old_list(dataset):
    result = runner.invoke(app, ["checksum", str(dataset)])
    assert result.stdout == f"wrote 16 checksums to {dataset / 'checksums.sha256'}\n"
    (dataset / "checksums.sha256").write_text("not a checksum\n")
    result = runner.invoke(app, ["checksum", str(dataset)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (f"replaced a damaged checksums.sha256 ({dataset / 'checksums.sha256'}:1: "
                                             "expected '<64 hex digits>  <relative path>', got 'not a checksum')")


def test_a_deleted_and_an_added_file_are_named_when_checksummed_again(dataset):
    (dataset / "features" / "text.hashed-bow" / "part-00002.parquet").unlink()
    (dataset / "notes.txt").write_text("mine\n")
    result = runner.invoke(app, ["checksum", str(dataset)])
    assert result.stdout.splitlines()[2:] == ["  missing: features/text.hashed-bow/part-00002.parquet",
                                              "  extra: notes.txt"]


def test_a_name_that_is_not_utf8_is_refused_by_checksum_and_shown_escaped_by_verify(dataset):
    odd = Path(os.fsdecode(bytes(dataset) + b"/features/\xff\xfe.bin"))
    odd.write_bytes(b"x")
    (dataset / "features" / "line\nbreak.txt").write_bytes(b"y")
    result = runner.invoke(app, ["verify", str(dataset)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stdout.splitlines() == ["extra: 'features/line\\nbreak.txt'", "extra: 'features/\\xff\\xfe.bin'"]
    line = one_line_error(runner.invoke(app, ["checksum", str(dataset)]))
    assert line == (f"error: '{dataset}/features/\\xff\\xfe.bin': the file name is not valid UTF-8, and checksums.sha256 "
                    "records UTF-8 names (as the Hub takes them); rename the file, or move it out of the folder")
    assert len(read_checksums(dataset / "checksums.sha256")) == 16  # the old list is kept


def test_a_folder_that_cannot_be_listed_is_an_error_not_missing_files(dataset):
    folder = dataset / "features" / "image.color-hist"
    folder.chmod(0)
    try:
        verify, checksum = _as_a_user("verify", str(dataset)), _as_a_user("checksum", str(dataset))
    finally:
        folder.chmod(0o755)
    for result in (verify, checksum):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr == (f"error: cannot list {folder} (Permission denied); every file of the folder is "
                                 "checksummed: make the folder readable, or move it out of the folder\n")
    assert len(read_checksums(dataset / "checksums.sha256")) == 16


def test_a_folder_that_cannot_be_written_names_the_checksums_file(dataset):
    dataset.chmod(0o555)
    try:
        result = _as_a_user("checksum", str(dataset))
    finally:
        dataset.chmod(0o755)
    assert result.returncode == 2
    assert result.stderr == (f"error: cannot write {dataset / 'checksums.sha256'} (Permission denied); `mmdata checksum` "
                             "writes the file into the folder it checksums: make the folder writable, or checksum a "
                             "copy\n")


def test_an_empty_folder_and_a_dataset_being_written_are_refused(dataset, tmp_path):
    (tmp_path / "empty").mkdir()
    assert one_line_error(runner.invoke(app, ["checksum", str(tmp_path / "empty")])) == (
        f"error: {tmp_path / 'empty'} holds no file to checksum; expected a dataset or share folder (the one "
        "`mmdata extract` or `mmdata share` wrote)")
    with writing(dataset, "extract"):
        line = one_line_error(runner.invoke(app, ["checksum", str(dataset)]))
    assert line == (f"error: {dataset} is being written by another mmdata process (an extract or align running now); "
                    "checksum it when that one has finished")


def test_a_file_given_for_the_folder_says_what_to_give(dataset, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    for command in ("verify", "checksum"):
        line = one_line_error(runner.invoke(app, [command, str(tmp_path / "notes.txt")]))
        assert line == (f"error: {tmp_path / 'notes.txt'} is a file; expected the dataset folder that holds "
                        "checksums.sha256 (a dataset or share folder: give the folder, not a file in it)")
        line = one_line_error(runner.invoke(app, [command, str(dataset / "mmdata.json")]))
        assert line.endswith(f"holds checksums.sha256 (e.g. {dataset})")
