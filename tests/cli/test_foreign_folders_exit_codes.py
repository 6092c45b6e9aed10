"""`info`, `report`, `verify` and `checksum` on what is not a dataset (nothing, an empty folder, a file, a
corpus folder, a fused export) and on a share: one `error:` line and exit 2 for the first, exit 0 for a
share, the same across the four commands; never a traceback."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("foreign")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "--text", "hashed-bow", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["fuse", str(tmp / "ds"), str(tmp / "fused"), "--format", "arrow",
                                 "--stats-split", "val2017"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["share", str(tmp / "ds"), "--out", str(tmp / "share")]).exit_code == 0
    (tmp / "empty").mkdir()
    (tmp / "afile").write_text("x\n")
    return {"nothing": tmp / "nowhere", "empty": tmp / "empty", "file": tmp / "afile", "corpus": corpus,
            "fused": tmp / "fused", "share": tmp / "share"}


def _run(command: str, folder: Path, tmp_path: Path):
    extra = ["--out", str(tmp_path / "r.html")] if command == "report" else []
    return runner.invoke(app, [command, str(folder), *extra])


@pytest.mark.parametrize("command", ["info", "report", "verify", "checksum"])
@pytest.mark.parametrize(("kind", "expected"), [
    ("nothing", "error: dataset directory not found: {folder}"),
    ("file", "error: {folder} is a file"),
])
def test_a_missing_folder_or_a_file_is_one_line_and_exit_2_for_every_command(folders, tmp_path, command, kind, expected):
    line = one_line_error(_run(command, folders[kind], tmp_path))
    assert line.startswith(expected.format(folder=folders[kind]))


@pytest.mark.parametrize("command", ["info", "report"])
@pytest.mark.parametrize(("kind", "expected"), [
    ("empty", "is not an mmdata dataset: no mmdata.json found"),
    ("corpus", "is not an mmdata dataset: no mmdata.json found"),
    ("fused", "is not an mmdata dataset but a fused export"),
])
def test_a_folder_that_is_no_dataset_is_named_as_what_it_is(folders, tmp_path, command, kind, expected):
    line = one_line_error(_run(command, folders[kind], tmp_path))
    assert line.startswith(f"error: {folders[kind]} {expected}")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("kind", ["empty", "corpus", "fused"])
def test_verify_of_a_folder_without_checksums_says_how_to_make_them(folders, tmp_path, kind):
    line = one_line_error(_run("verify", folders[kind], tmp_path))
    assert line.startswith(f"error: {folders[kind]} has no checksums.sha256; write one with `mmdata checksum ")


def test_checksum_of_an_empty_folder_is_refused(folders, tmp_path):
    assert "holds no file to checksum" in one_line_error(_run("checksum", folders["empty"], tmp_path))


@pytest.mark.parametrize("command", ["info", "report", "verify", "checksum"])
def test_a_share_passes_every_command(folders, tmp_path, command):
    share = tmp_path / "share"
    shutil.copytree(folders["share"], share)
    result = _run(command, share, tmp_path)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "error" not in result.stderr
