"""A recipe that is not valid TOML, or not a file, is one line naming the file, the line and column where
the parser stopped, the text of that line and what to check; never a traceback."""
from __future__ import annotations

import pytest

from tests.recipes.refusals import refusal, write_recipe


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("text", "where", "what"), [
    ('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist"\nbatch_size = 4\n',
     "line 5, column 1", "unclosed array; got 'batch_size = 4'"),
    ('[corpus]\nkind = coco\n', "line 2, column 8", "invalid value; got 'kind = coco'"),
    ('[corpus\nkind = "coco"\n', "line 1, column 8", "expected ']' at the end of a table declaration; got '[corpus'"),
    ('[corpus]\nkind = "coco"\nkind = "flickr30k"\n', "line 3, column 19", "cannot overwrite a value"),
])
def test_invalid_toml_names_the_file_line_and_column(text, where, what):
    line = refusal(write_recipe(text))
    assert line.startswith(f"error: r.toml: {where}: invalid TOML: {what}")
    assert line.endswith('check the quotes, brackets and commas there and on the lines above '
                         '(text is quoted: kind = "coco"; a list is ["a", "b"])')


def test_a_string_left_open_at_the_end_of_the_file_says_so():
    line = refusal(write_recipe('[corpus]\nkind = """coco\n'))
    assert line.startswith("error: r.toml: at the end: invalid TOML: unterminated string; check the quotes")


def test_a_missing_recipe_names_the_folder_it_was_looked_for_in(tmp_path):
    line = refusal(tmp_path.joinpath("missing.toml").relative_to(tmp_path))
    assert line == (f"error: recipe file not found: missing.toml (from {tmp_path}); a KIND ending in .toml is read "
                    "as a recipe file: check the path")


def test_a_folder_named_like_a_recipe_is_not_read_as_one(tmp_path):
    (tmp_path / "recipes.toml").mkdir()
    assert refusal("recipes.toml") == "error: recipe recipes.toml is a folder; expected a .toml file (recipes/*.toml)"
