"""checksums.sha256 and `mmdata verify`: every missing, extra or altered file is named, exit status 1."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.share import share_dataset, verify_checksums, write_checksums
from mmdata.share.checksums import read_checksums
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
SHARD = "features/image.pixel-stats/part-00000-val2017.parquet"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("verify")
    corpus = copy_sample_corpus("coco", tmp)
    extract("coco", corpus, tmp / "ds", extractors=["pixel-stats", "color-hist:bins=4"], num_workers=0)
    share_dataset(tmp / "ds", tmp / "hf")
    return tmp / "hf"


@pytest.fixture
def shared(pristine, tmp_path) -> Path:
    copy = tmp_path / "hf"
    shutil.copytree(pristine, copy)
    return copy


def verify(folder: Path):
    return runner.invoke(app, ["verify", str(folder)])


def test_a_fresh_share_verifies_and_lists_every_file(shared):
    result = verify(shared)
    assert result.exit_code == 0, result.output
    assert "ok: 5 files match" in result.stdout
    assert sorted(read_checksums(shared / "checksums.sha256")) == [
        "README.md", "features/image.color-hist/part-00000-val2017.parquet", SHARD, "mmdata.json",
        "samples/part-00000-val2017.parquet"]


def test_sha256sum_reads_the_checksums_file(shared):
    result = subprocess.run(["sha256sum", "--check", "--strict", "checksums.sha256"], cwd=shared, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{SHARD}: OK" in result.stdout


def test_one_flipped_byte_is_named_as_altered(shared):
    path = shared / SHARD
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(shared)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"altered: {SHARD}"]
    assert "error: 1 files differ" in result.stderr


def test_a_deleted_shard_is_named_as_missing(shared):
    (shared / SHARD).unlink()
    result = verify(shared)
    assert result.exit_code == 1 and result.stdout.splitlines() == [f"missing: {SHARD}"]


def test_a_stray_file_is_named_as_extra_even_a_hidden_one(shared):
    (shared / "features" / "notes.txt").write_text("hello")
    (shared / "samples" / ".part-00000-val2017.parquet.tmp").write_bytes(b"")
    result = verify(shared)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["extra: features/notes.txt", "extra: samples/.part-00000-val2017.parquet.tmp"]


def test_all_tamperings_at_once_are_each_named(shared):
    (shared / "mmdata.json").write_text((shared / "mmdata.json").read_text().replace('"rows": 8', '"rows": 9', 1))
    (shared / "samples" / "part-00000-val2017.parquet").unlink()
    (shared / "extra.parquet").write_bytes(b"PAR1")
    report = verify_checksums(shared)
    assert not report.ok
    assert report.problems() == ["missing: samples/part-00000-val2017.parquet", "altered: mmdata.json", "extra: extra.parquet"]


def test_tool_folders_of_a_download_are_not_part_of_the_dataset(shared):
    (shared / ".cache" / "huggingface").mkdir(parents=True)
    (shared / ".cache" / "huggingface" / "download.lock").write_text("")
    (shared / ".git").mkdir()
    (shared / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert verify_checksums(shared).ok


def test_checksum_records_an_edited_card(shared):
    card = shared / "README.md"
    card.write_text(card.read_text().replace("license: unknown", "license: cc-by-4.0"))
    assert verify(shared).stdout.splitlines() == ["altered: README.md"]
    result = runner.invoke(app, ["checksum", str(shared)])
    assert result.exit_code == 0 and "wrote 5 checksums" in result.stdout
    assert verify(shared).exit_code == 0


def test_checksums_of_a_plain_dataset_directory(pristine, tmp_path):
    dataset = tmp_path / "ds"
    shutil.copytree(pristine.parent / "ds", dataset)
    path = write_checksums(dataset)
    assert "mmdata.json" in read_checksums(path) and verify_checksums(dataset).ok


def test_missing_or_malformed_checksums_file_is_a_clear_error(shared, tmp_path):
    (shared / "checksums.sha256").unlink()
    result = verify(shared)
    assert result.exit_code == 2
    assert f"{shared} has no checksums.sha256; write one with `mmdata checksum {shared}`" in result.stderr
    (shared / "checksums.sha256").write_text("abc  README.md\n")
    with pytest.raises(DatasetError, match=r"checksums.sha256:1: expected '<64 hex digits>  <relative path>', got 'abc  README.md'"):
        verify_checksums(shared)
    result = verify(tmp_path / "nowhere")
    assert result.exit_code == 2 and "dataset directory not found" in result.stderr


def test_a_checksums_file_that_is_not_text_is_a_one_line_error_with_a_fix(shared):
    path = shared / "checksums.sha256"
    path.write_bytes(path.read_bytes()[:30] + b"\xff\xfe" + path.read_bytes()[30:])  # damaged in transfer
    result = verify(shared)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {path}: not UTF-8 text (byte 30)")
    assert "write a new one with `mmdata checksum DIR`" in result.stderr
