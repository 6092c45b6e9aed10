"""Square brackets in paths, names, ids and help texts are printed as they are, never read as rich markup."""
from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner
from typer.models import ParameterInfo
from typer.utils import get_params_from_function

from mmdata.cli import app
from mmdata.cli.progress import RichProgress
from mmdata.cli.train import train_app
from tests.fakes.imagetext import write_jpeg

runner = CliRunner()
WIDE = {"COLUMNS": "300"}
DATASET = "out [i]/[bold]ds"


@pytest.fixture
def bracketed(tmp_path, monkeypatch):
    """A manifest corpus whose ids, splits and group ids hold brackets (one group in two splits: an
    error-severity issue naming them), extracted into `out [i]/[bold]ds` under the working directory."""
    monkeypatch.chdir(tmp_path)
    write_jpeg(tmp_path / "corpus" / "images" / "cat.jpg", seed=1)
    write_jpeg(tmp_path / "corpus" / "images" / "dog.jpg", seed=2)
    rows = [{"id": "cat[bold]", "image": "images/cat.jpg", "captions": ["a cat"], "split": "train[i]"},
            {"id": "dog[red]", "image": "images/dog.jpg", "captions": ["a dog"], "split": "train[i]", "group_id": "g[u]"},
            {"id": "cow[red]", "image": "images/dog.jpg", "captions": ["a cow"], "split": "test[b]", "group_id": "g[u]"}]
    (tmp_path / "corpus" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(app, ["extract", "manifest", "corpus", DATASET, "--image", "color-hist:bins=4", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    return DATASET


def test_info_prints_bracketed_paths_and_splits_whole(bracketed):
    result = runner.invoke(app, ["info", bracketed], env=WIDE)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(f"{DATASET}  corpus manifest at ")
    assert "samples: 3 rows (test[b]: 1, train[i]: 2)" in result.stdout
    assert f"{DATASET}/features/image.color-hist" not in result.stdout  # paths are shown relative in the table


def test_check_prints_bracketed_paths_ids_and_messages_whole(bracketed, tmp_path):
    result = runner.invoke(app, ["check", bracketed, "--json", "check.json"], env=WIDE)
    assert result.exit_code == 1, result.output  # the group in two splits is an error
    out = result.stdout
    assert f"mmdata check: {DATASET}" in out
    assert "dog[red]" in out and "group_id 'g[u]' in splits ['test[b]', 'train[i]']" in out
    assert "splits {test[b]: 1, train[i]: 2}" in out
    report = json.loads((tmp_path / "check.json").read_text())  # the JSON report keeps the raw strings
    assert report["dataset_dir"].endswith(DATASET) and report["splits"] == {"test[b]": 1, "train[i]": 2}
    assert "\\[" not in (tmp_path / "check.json").read_text()


def test_progress_bar_prints_a_bracketed_description_whole():
    progress = RichProgress()
    progress.console = Console(file=io.StringIO(), width=120)
    progress.start("image.x[i] [bold]", 2)
    progress.advance(2)
    progress.finish()
    assert progress.console.file.getvalue().startswith("image.x[i] [bold] ")


def test_segment_help_shows_the_bracketed_key_form():
    result = runner.invoke(app, ["segment", "--help"], env=WIDE)
    assert result.exit_code == 0
    assert "(keys vid or vid[i])" in result.stdout


def _help_texts():
    """(command words, help text) of every command's docstring and parameters, as written in the source."""
    for group, prefix in ((app, ()), (train_app, ("train",))):
        for info in group.registered_commands:
            words = (*prefix, info.name)
            yield words, info.callback.__doc__ or ""
            for meta in get_params_from_function(info.callback).values():
                if isinstance(meta.default, ParameterInfo) and meta.default.help:
                    yield words, meta.default.help


def test_every_bracketed_word_of_every_help_text_is_shown():
    bracketed = [(words, token) for words, text in _help_texts() for token in re.findall(r"\w*\[[^\]\s]*\]", text)]
    assert (("segment",), "vid[i]") in bracketed and (("export-csd",), "Xy9[0]") in bracketed
    shown = {}
    for words, token in bracketed:
        if words not in shown:
            shown[words] = runner.invoke(app, [*words, "--help"], env=WIDE).stdout
        assert token in shown[words], f"`mmdata {' '.join(words)} --help` lost {token!r}"
        assert "\\[" not in shown[words]
