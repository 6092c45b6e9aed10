"""What a user reads: arguments named as the help texts name them, a one-value option given twice refused,
exit statuses listed once in `mmdata --help`, commands printed as hints that run when pasted, and summary
lines whole in a pipe."""
from __future__ import annotations

import shlex

import pytest
import typer
from typer.testing import CliRunner

from mmdata.cli import app
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The COCO sample corpus with 4-bin colour histograms."""
    tmp = tmp_path_factory.mktemp("usage-words")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


def _usage(*words: str) -> str:
    return next(line.strip() for line in runner.invoke(app, [*words, "--help"], env=WIDE).stdout.splitlines()
                if "Usage:" in line)


@pytest.mark.parametrize(("words", "usage"), [
    (["extract"], "Usage: mmdata extract [OPTIONS] {KIND} {CORPUS_ROOT} {OUTPUT_DIR}"),
    (["align"], "Usage: mmdata align [OPTIONS] {DATASET_DIR}"),
    (["export-csd"], "Usage: mmdata export-csd [OPTIONS] {DATASET_DIR} {CSD_DIR}"),
    (["fuse"], "Usage: mmdata fuse [OPTIONS] {DATASET_DIR} [OUTPUT_DIR]"),
    (["train", "demo"], "Usage: mmdata train demo [OPTIONS] [WORK_DIR]"),
])
def test_arguments_are_named_in_capitals_as_the_help_texts_and_errors_name_them(words, usage):
    assert _usage(*words) == usage


def test_a_missing_argument_is_named_in_capitals(tmp_path):
    result = runner.invoke(app, ["extract", "coco"])
    assert result.exit_code == 2 and "Missing argument 'CORPUS_ROOT'" in result.output


@pytest.mark.parametrize(("args", "named"), [
    (["extract", "coco", "{corpus}", "{out}", "-s", "val2017", "--split", "train2017"], "--split / -s was given 2 times"),
    (["fuse", "{ds}", "{out}", "--format", "arrow", "--format", "npy"], "--format was given 2 times"),
    (["check", "{ds}", "--json", "{out}.json", "--json", "-"], "--json was given 2 times"),
])
def test_a_one_value_option_given_twice_is_refused_before_any_work(dataset, tmp_path, args, named):
    corpus = copy_sample_corpus("coco", tmp_path)
    words = [a.format(corpus=corpus, ds=dataset, out=tmp_path / "out") for a in args]
    result = runner.invoke(app, words, env=WIDE)
    assert result.exit_code == 2, result.output
    assert f"{named}, but it takes one value; give it once" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [corpus.name]


def test_repeatable_options_and_flags_may_repeat(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "--image", "color-hist:bins=4",
                                 "--image", "pixel-stats", "-o", "image_dir=val2017", "-o", "keep_images_without_captions=false",
                                 "-q", "-q", "-j", "0"])
    assert result.exit_code == 0, result.output
    assert "table image.color-hist: 8 rows" in result.stdout and "table image.pixel-stats: 8 rows" in result.stdout


def test_the_top_level_help_lists_every_exit_status_once():
    text = " ".join(runner.invoke(app, ["--help"], env=WIDE).stdout.split())
    for status in ("0 done", "1 the data has errors", "2 usage or input error", "130 interrupted", "141 stdout closed"):
        assert status in text


def test_every_command_summary_is_one_line_in_the_command_list():
    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        assert "\n" not in cmd.get_short_help_str(limit=1000), name


def test_the_check_summary_line_is_whole_when_piped(dataset):
    result = runner.invoke(app, ["check", str(dataset)], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    summary = [line for line in result.stdout.splitlines() if line.startswith("ok: ")]
    assert len(summary) == 1 and "rows x tables in" in summary[0] and summary[0].endswith("/s)")


def test_the_share_hint_names_a_folder_with_spaces_as_the_shell_needs_it(dataset, tmp_path):
    out = tmp_path / "my share é"
    result = runner.invoke(app, ["share", str(dataset), "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    hint = result.stdout.rstrip().rpartition("publish it with: ")[2]
    assert shlex.split(hint) == ["hf", "upload", "USER/NAME", str(out), "--repo-type", "dataset"]
