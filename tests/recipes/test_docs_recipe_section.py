"""The Recipes section of docs/extract.md shows what mmdata does: its example recipe reads as it says,
and the error lines it quotes are the ones the command prints for those mistakes."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from mmdata.recipe import load_recipe
from tests.recipes.refusals import refusal, write_recipe

SECTION = (Path(__file__).resolve().parents[2] / "docs" / "extract.md").read_text().split("## Recipes\n")[1].split("\n## ")[0]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_the_example_recipe_reads_as_the_docs_say(tmp_path):
    example = re.search(r"```toml\n(.*?)```", SECTION, flags=re.S).group(1)
    (tmp_path / "my_extractors.py").write_text("")  # the module it names, registering nothing here
    recipe = load_recipe(write_recipe(example))
    assert (recipe.kind, recipe.split, recipe.modules) == ("coco", "val2017", ["my_extractors"])
    assert recipe.corpus_options == {"keep_images_without_captions": "false"}
    assert recipe.extractors == {"image": ["color-hist", "pixel-stats"], "text": ["minilm", "minilm:level=caption"]}
    assert recipe.run == {"batch_size": 64}


@pytest.mark.parametrize(("text", "quoted"), [
    ('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist"\nbatch_size = 4\n', "invalid TOML"),
    ('[corpus]\nkind = "coco"\n\n[extrat]\nimage = ["color-hist"]\n', "[extrat]"),
    ('[corpus]\nkind = "coco"\nbatch_size = 4\n', "belongs under"),
])
def test_the_quoted_errors_are_what_the_command_prints(text, quoted):
    [line] = [line for line in SECTION.splitlines() if line.startswith("error: ") and quoted in line]
    printed = refusal(write_recipe(text))
    if line.endswith("(...)"):
        assert printed.startswith(line.removesuffix("(...)"))
    else:
        assert printed == line
