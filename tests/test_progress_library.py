"""The progress bars the CLI draws are a library sink: `mmdata.progress.RichProgress` passed to `extract`
(or `extract_recipe(progress=True)`) reports every table and item, and the command's bars are as before."""
from __future__ import annotations

import io
import re

from rich.console import Console
from typer.testing import CliRunner

import mmdata
import mmdata.cli.progress
from mmdata.cli import app
from mmdata.progress import NullProgress, RichProgress, progress_sink
from mmdata.recipe import extract_recipe
from mmdata.sample_data import sample_corpus_dir

EXTRACTORS = ["color-hist:bins=4", "hashed-bow"]
#: A finished bar where stderr is no terminal: `NAME ━━━ DONE/TOTAL RATE items/s ELAPSED LEFT`.
BAR = r"^{name} ━+ {rows}/{rows} [\d,.]+ items/s \d:\d\d:\d\d 0:00:00$"


def _bars(text: str, tables: list[tuple[str, int]]) -> None:
    """Each (table name, rows) has its finished bar in `text`."""
    for name, rows in tables:
        assert re.search(BAR.format(name=re.escape(name), rows=rows), text, re.MULTILINE), text


def _done(report) -> list[tuple[str, int]]:
    return [(t.name, t.rows) for t in report.tables]


def test_the_sink_reports_every_table_and_item_of_a_library_extract(tmp_path):
    progress = RichProgress()
    progress.console = Console(file=io.StringIO(), width=120)
    report = mmdata.extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=EXTRACTORS,
                            num_workers=0, progress=progress)
    assert _done(report) == [("image.color-hist", 8), ("text.hashed-bow", 8)]
    _bars(progress.console.file.getvalue(), _done(report))


def test_a_resumed_table_counts_its_kept_rows_as_done_not_as_throughput(tmp_path):
    mmdata.extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=EXTRACTORS, num_workers=0)
    progress = RichProgress()
    progress.console = Console(file=io.StringIO(), width=120)
    mmdata.extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=EXTRACTORS, num_workers=0,
                   progress=progress)
    text = progress.console.file.getvalue()
    assert re.search(r"^image\.color-hist ━+ 8/8 -- items/s \(8 already done\)", text, re.MULTILINE), text


def test_progress_true_draws_the_bars_on_stderr(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist:bins=4"]\ntext = ["hashed-bow"]\n'
                      'num_workers = 0\n')
    report = extract_recipe(recipe, sample_corpus_dir("coco"), tmp_path / "out", progress=True)
    _bars(capsys.readouterr().err, _done(report))


def test_a_progress_argument_stands_for_a_sink():
    assert isinstance(progress_sink(True), RichProgress)
    assert isinstance(progress_sink(None), NullProgress) and isinstance(progress_sink(False), NullProgress)
    sink = RichProgress(quiet=True)
    assert progress_sink(sink) is sink


def test_the_cli_draws_the_same_bars_from_its_old_import_path(tmp_path):
    assert mmdata.cli.progress.RichProgress is RichProgress
    args = ["extract", "coco", str(sample_corpus_dir("coco")), str(tmp_path / "out"), "-j", "0",
            *(f"--{m}={e}" for m, e in zip(("image", "text"), EXTRACTORS))]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "table image.color-hist: 8 rows" in result.stdout
    _bars(result.stderr, [("image.color-hist", 8), ("text.hashed-bow", 8)])
    quiet = CliRunner().invoke(app, [*args[:3], str(tmp_path / "quiet"), *args[4:], "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
