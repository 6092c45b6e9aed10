"""Output paths on the command line that cannot be written: one-line errors, exit 2, before any work."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The COCO sample corpus with 4-bin colour histograms."""
    tmp = tmp_path_factory.mktemp("paths")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


def test_check_json_naming_a_directory_is_a_usage_error_not_exit_1(dataset, tmp_path):
    result = runner.invoke(app, ["check", str(dataset), "--json", str(tmp_path)])
    line = one_line_error(result)
    assert line == f"error: --json {tmp_path} is a directory; expected a file path, e.g. {tmp_path / 'check.json'}"
    assert result.stdout == ""  # refused before the check ran


def test_report_out_naming_a_directory_is_a_one_line_error(dataset, tmp_path):
    line = one_line_error(runner.invoke(app, ["report", str(dataset), "--out", str(tmp_path)]))
    assert line == f"error: --out {tmp_path} is a directory; expected a file path, e.g. {tmp_path / 'report.html'}"


@pytest.mark.parametrize(("args", "option", "named"), [
    (["check", "{ds}", "--json", "{file}/check.json"], "--json", "{file}/check.json"),
    (["report", "{ds}", "--out", "{file}/r.html", "--gallery", "0"], "--out", "{file}/r.html"),
    (["share", "{ds}", "--out", "{file}/shared"], "--out", "{file}/shared"),
    (["fuse", "{ds}", "{file}/fused", "--stats-split", "val2017"], "OUTPUT_DIR", "{file}/fused"),
    (["fuse", "{ds}", "--out", "{file}/fused", "--stats-split", "val2017"], "--out", "{file}/fused"),
    (["export-csd", "{ds}", "{file}/csd"], "CSD_DIR", "{file}/csd"),
    (["demo", "{file}/demo", "-q"], "OUTPUT_DIR", "{file}/demo"),
])
def test_an_output_under_a_file_names_the_file(dataset, tmp_path, args, option, named):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder\n")
    argv = [a.format(ds=dataset, file=blocker) for a in args]
    line = one_line_error(runner.invoke(app, argv))
    assert line.startswith(f"error: {option} {named.format(file=blocker)} lies under the file {blocker}; "
                           "expected a path inside a directory, e.g. ")
    assert blocker.read_text() == "a file, not a folder\n"


@pytest.mark.parametrize(("args", "option"), [
    (["fuse", "{ds}", "{file}", "--stats-split", "val2017", "--force"], "OUTPUT_DIR"),
    (["share", "{ds}", "--out", "{file}", "--force"], "--out"),
    (["export-csd", "{ds}", "{file}"], "CSD_DIR"),
    (["demo", "{file}", "-q"], "OUTPUT_DIR"),
    (["train", "demo", "{file}"], "WORK_DIR"),
])
def test_an_output_directory_that_is_a_file_is_refused_and_kept(dataset, tmp_path, args, option):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me\n")
    line = one_line_error(runner.invoke(app, [a.format(ds=dataset, file=blocker) for a in args]))
    assert line == (f"error: {option} {blocker} is a file; expected a directory (a new one, or one written earlier); "
                    "choose another path or remove the file")
    assert blocker.read_text() == "keep me\n"  # --force does not replace a file with an export


@pytest.mark.parametrize(("command", "example"), [("sentiment", "sentiment-metrics.json"),
                                                  ("retrieval", "retrieval-metrics.json")])
def test_train_output_naming_a_directory_is_a_one_line_error(dataset, tmp_path, command, example):
    line = one_line_error(runner.invoke(app, ["train", command, str(dataset), "--out", str(tmp_path)]))
    assert line == f"error: --out {tmp_path} is a directory; expected a file path, e.g. {tmp_path / example}"


def test_checksum_over_a_directory_named_like_the_checksums_file(tmp_path):
    (tmp_path / "data.txt").write_text("x\n")
    (tmp_path / "checksums.sha256").mkdir()
    line = one_line_error(runner.invoke(app, ["checksum", str(tmp_path)]))
    assert line == (f"error: {tmp_path / 'checksums.sha256'} is a directory; expected the file `mmdata verify` reads "
                    "there; remove or rename that directory")


def test_a_writable_json_path_in_a_new_folder_still_works(dataset, tmp_path):
    result = runner.invoke(app, ["check", str(dataset), "--json", str(tmp_path / "new" / "check.json")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "check.json").is_file()


def test_extract_and_segment_into_a_file_are_one_line_errors(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("hi\n")
    line = one_line_error(runner.invoke(app, ["extract", "coco", str(corpus), str(afile), "--image", "color-hist", "-q"]))
    assert line.startswith(f"error: OUTPUT_DIR {afile} is a file; expected a directory")
    line = one_line_error(runner.invoke(app, ["extract", "coco", str(corpus), str(afile / "ds"), "-q"]))
    assert line.startswith(f"error: OUTPUT_DIR {afile / 'ds'} lies under the file {afile}")
    line = one_line_error(runner.invoke(app, ["segment", str(tmp_path), str(afile), "--labels", "labels.csd"]))
    assert line.startswith(f"error: OUTPUT_DIR {afile} is a file")


@pytest.mark.parametrize("args", [["report", "{ds}", "--out", "{long}.html", "--gallery", "0"],
                                  ["fuse", "{ds}", "{long}", "--stats-split", "val2017"]])
def test_an_output_name_the_system_refuses_is_a_one_line_error(dataset, tmp_path, args):
    long = tmp_path / ("x" * 300)  # over the 255-byte limit of a file name
    line = one_line_error(runner.invoke(app, [a.format(ds=dataset, long=long) for a in args]))
    assert "File name too long; choose a shorter or other path" in line


@pytest.mark.parametrize("args", [["extract", "coco", "{corpus}", "/proc/mmdata-out", "-j", "0", "-q"],
                                  ["fuse", "{ds}", "/proc/mmdata-fused", "--stats-split", "val2017"],
                                  ["check", "{ds}", "--json", "/proc/mmdata-check.json"]])
def test_an_output_the_system_refuses_to_create_is_a_one_line_error(dataset, tmp_path, args):
    corpus = copy_sample_corpus("coco", tmp_path)
    line = one_line_error(runner.invoke(app, [a.format(ds=dataset, corpus=corpus) for a in args]))
    assert line.startswith("error: ") and "/proc/" in line and "mmdata-" in line and line.endswith("check that the path can be written there (permissions, "
                                                     "free space, a real folder)")


def test_a_file_given_as_the_corpus_root_is_named_as_a_file(tmp_path):
    (tmp_path / "captions.json").write_text("{}")
    line = one_line_error(runner.invoke(app, ["extract", "coco", str(tmp_path / "captions.json"), str(tmp_path / "o")]))
    assert line == f"error: corpus root {tmp_path / 'captions.json'} is a file; expected the corpus folder (e.g. {tmp_path})"
