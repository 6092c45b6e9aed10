"""Running `mmdata extract RECIPE.toml` the way a user does, for the tests of how recipes are refused."""
from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.sample_data import sample_corpus_dir
from tests.cli_errors import one_line_error

runner = CliRunner()


def write_recipe(text: str, name: str = "r.toml") -> Path:
    """`name` in the current folder (the test's tmp_path), as a user names it: a relative path."""
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


def refusal(recipe: Path, *flags: str, corpus: Path | None = None) -> str:
    """The one-line error of `mmdata extract RECIPE sample-coco out`; nothing may have been written."""
    result = runner.invoke(app, ["extract", str(recipe), str(corpus or sample_corpus_dir("coco")), "out", "-q", *flags])
    line = one_line_error(result)
    assert not Path("out").exists()
    return line
