"""Paths in a recipe's `[corpus.options]` are read as the command line's `-o KEY=VALUE` are: from the corpus
root, whatever the current folder or the recipe's folder; `~` and `$NAME` are expanded there (and `$NAME` in
extractor specs) as a shell expands them on the command line, and an unset variable is refused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.recipe import load_recipe
from tests.fakes import write_jpeg
from tests.recipes.refusals import refusal, write_recipe

runner = CliRunner()
ROWS = "id,image,captions\na,images/a.jpg,a cat\nb,images/b.jpg,a dog\n"


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A two-image manifest corpus whose manifest is `lists/rows.csv`, not found by itself."""
    root = tmp_path / "corpus"
    write_jpeg(root / "images" / "a.jpg", seed=1)
    write_jpeg(root / "images" / "b.jpg", seed=2)
    (root / "lists").mkdir()
    (root / "lists" / "rows.csv").write_text(ROWS)
    return root


def _extract(recipe: Path, corpus: Path, out: Path) -> dict:
    result = runner.invoke(app, ["extract", str(recipe), str(corpus), str(out), "-q", "-j", "0"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "mmdata.json").read_text())


def test_a_relative_path_is_from_the_corpus_root_not_the_recipe_or_current_folder(tmp_path, corpus, monkeypatch):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "lists").mkdir()
    (recipes / "lists" / "rows.csv").write_text("id,image\nz,images/z.jpg\n")  # beside the recipe: not read
    recipe = recipes / "r.toml"
    recipe.write_text('[corpus]\nkind = "manifest"\n[corpus.options]\nmanifest_file = "lists/rows.csv"\n'
                      '[extract]\nimage = ["color-hist"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    manifest = _extract(recipe, corpus, tmp_path / "out")
    assert manifest["corpus"]["options"] == {"manifest_file": "lists/rows.csv"}
    assert manifest["samples"]["rows"] == 2  # the corpus's rows.csv (a, b), not the one beside the recipe (z)
    assert manifest["tables"]["image.color-hist"]["rows"] == 2 and manifest["tables"]["image.color-hist"]["errors"] == 0


def test_environment_variables_and_the_home_folder_are_expanded_in_loader_options(tmp_path, corpus, monkeypatch):
    monkeypatch.setenv("REC_LISTS", str(corpus / "lists"))
    monkeypatch.setenv("HOME", str(corpus))
    monkeypatch.chdir(tmp_path)
    for value in ("$REC_LISTS/rows.csv", "${REC_LISTS}/rows.csv", "~/lists/rows.csv"):
        path = write_recipe(f'[corpus]\nkind = "manifest"\n[corpus.options]\nmanifest_file = "{value}"\n'
                            '[extract]\nimage = ["color-hist"]\n')
        assert load_recipe(path).corpus_options == {"manifest_file": str(corpus / "lists" / "rows.csv")}
    manifest = _extract(path, corpus, tmp_path / "out")
    assert manifest["corpus"]["options"]["manifest_file"] == str(corpus / "lists" / "rows.csv")


def test_environment_variables_are_expanded_in_extractor_specs(tmp_path, monkeypatch):
    monkeypatch.setenv("REC_BINS", "8")
    monkeypatch.chdir(tmp_path)
    path = write_recipe('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist:bins=$REC_BINS"]\n')
    assert load_recipe(path).extractors == {"image": ["color-hist:bins=8"]}


@pytest.mark.parametrize(("section", "value", "key"), [
    ("[corpus.options]\nimage_dir", "$REC_UNSET_DIR/images", "[corpus.options] image_dir"),
    ("[extract]\nimage", '["resnet50:weights=${REC_UNSET_DIR}/r50.pth"]', "[extract] image"),
])
def test_an_unset_variable_is_refused_naming_it(tmp_path, monkeypatch, section, value, key):
    monkeypatch.delenv("REC_UNSET_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    quoted = value if value.startswith("[") else f'"{value}"'
    line = refusal(write_recipe(f'[corpus]\nkind = "coco"\n{section} = {quoted}\n'))
    assert line.startswith(f"error: r.toml: {key}: environment variable $REC_UNSET_DIR in ")
    assert line.endswith(" is not set; set it, or write the path out")


def test_a_missing_corpus_root_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_recipe('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist"]\n')
    assert refusal(path, corpus=tmp_path / "no-such-corpus") == f"error: corpus root not found: {tmp_path / 'no-such-corpus'}"
