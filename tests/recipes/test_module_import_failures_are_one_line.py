"""A module named in a recipe's `[extract] modules` that is found but fails to import is one line naming
the recipe, the module, the file and line where it failed and the error, with the fix; never a traceback."""
from __future__ import annotations

import sys

import pytest

from mmdata.errors import ConfigError
from mmdata.recipe import load_recipe
from tests.recipes.refusals import refusal, write_recipe


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the recipe's folder is added to it


def _recipe_with_module(tmp_path, name: str, source: str):
    (tmp_path / f"{name}.py").write_text(source)
    return write_recipe(f'[corpus]\nkind = "coco"\n[extract]\nmodules = ["{name}"]\nimage = ["color-hist"]\n')


def test_a_missing_dependency_of_the_module_names_it_and_where_it_is_imported(tmp_path):
    path = _recipe_with_module(tmp_path, "rec_needs_dep", "import json\nimport rec_no_such_dependency\n")
    assert refusal(path) == (
        f"error: r.toml: [extract] modules: importing 'rec_needs_dep' failed at {tmp_path}/rec_needs_dep.py:2: no "
        f"module named 'rec_no_such_dependency'; install the package that provides it into this Python ({sys.executable})")


def test_a_syntax_error_in_the_module_names_its_file_and_line(tmp_path):
    path = _recipe_with_module(tmp_path, "rec_bad_syntax", "x = 1\ndef f(:\n    pass\n")
    line = refusal(path)
    assert line.startswith(f"error: r.toml: [extract] modules: module 'rec_bad_syntax' has a syntax error at "
                           f"{tmp_path}/rec_bad_syntax.py:2: ")  # then Python's words for it
    assert line.endswith("; fix the module")


def test_an_exception_at_the_module_s_top_level_names_it_and_how_to_see_the_traceback(tmp_path):
    path = _recipe_with_module(tmp_path, "rec_raises", "limits = {}\nlimit = limits['dim']\n")
    assert refusal(path) == (
        f"error: r.toml: [extract] modules: importing 'rec_raises' raised KeyError: 'dim' at {tmp_path}/rec_raises.py:2; "
        f"fix the module (`python -c 'import rec_raises'` in {tmp_path} shows the traceback)")
    with pytest.raises(ConfigError) as raised:
        load_recipe(path)
    assert isinstance(raised.value.__cause__, KeyError)  # a caller's traceback still reaches the module's line
    assert "rec_raises" not in sys.modules


def test_a_module_that_exits_does_not_end_the_command_silently(tmp_path):
    path = _recipe_with_module(tmp_path, "rec_exits", "import sys\nsys.exit(3)\n")
    assert refusal(path).startswith("error: r.toml: [extract] modules: importing 'rec_exits' raised SystemExit: 3 at ")
