"""`mmdata.recipe.extract_recipe` runs a recipe from Python as `mmdata extract RECIPE.toml` does: the same
tables and configs, keyword arguments overriding the recipe as the command's flags do, the same errors."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, CorpusNotFoundError, UnknownCorpusError, UnknownExtractorError
from mmdata.recipe import Recipe, extract_recipe, load_recipe, recipe_arguments
from mmdata.sample_data import sample_corpus_dir
from tests.cli_errors import one_line_error
from tests.fakes.imagetext import write_jpeg

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _manifest(dataset: Path) -> dict:
    return json.loads((dataset / "mmdata.json").read_text())


def _features(dataset: Path, table: str) -> dict:
    return ds.dataset(dataset / "features" / table).to_table().sort_by("sample_id").to_pydict()


def test_a_shipped_recipe_gives_the_cli_s_tables_and_configs(tmp_path):
    recipe, corpus = REPO / "recipes" / "coco-colorhist-minilm.toml", sample_corpus_dir("coco")
    result = runner.invoke(app, ["extract", str(recipe), str(corpus), str(tmp_path / "cli"), "-q", "-j", "0"])
    assert result.exit_code == 0, result.output
    report = extract_recipe(recipe, corpus, tmp_path / "lib", num_workers=0)
    cli, lib = _manifest(tmp_path / "cli"), _manifest(tmp_path / "lib")
    assert sorted(lib["tables"]) == ["image.color-hist", "image.pixel-stats", "text.minilm", "text.minilm.caption"]
    assert lib["tables"] == cli["tables"] and lib["corpus"] == cli["corpus"] and lib["samples"] == cli["samples"]
    assert lib["corpus"]["options"] == {"keep_images_without_captions": "false"}
    assert [t.name for t in report.tables] == list(lib["tables"]) and all(t.rows == 8 for t in report.tables)
    for table in lib["tables"]:
        assert _features(tmp_path / "lib", table) == _features(tmp_path / "cli", table)


@pytest.fixture
def manifest_recipe(tmp_path) -> tuple[Path, Path]:
    """A two-image manifest corpus (a in train, b in test) and a recipe every override below changes."""
    corpus = tmp_path / "corpus"
    write_jpeg(corpus / "images" / "a.jpg", seed=1)
    write_jpeg(corpus / "images" / "b.jpg", seed=2)
    (corpus / "rows.csv").write_text("id,image,captions,split\na,images/a.jpg,a cat,train\nb,images/b.jpg,a dog,test\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text('[corpus]\nkind = "manifest"\nsplit = "test"\n[corpus.options]\nmanifest_file = "none.csv"\n'
                      '[extract]\nimage = ["color-hist:bins=4"]\ntext = ["hashed-bow"]\nnum_workers = 0\n'
                      'table_format = "parquet"\nshard_size = 100\n')
    return recipe, corpus


def test_keyword_arguments_override_the_recipe_as_the_flags_do(manifest_recipe, tmp_path):
    recipe, corpus = manifest_recipe
    result = runner.invoke(app, ["extract", str(recipe), str(corpus), str(tmp_path / "cli"), "-q", "--split", "train",
                                 "--image", "color-hist:bins=8", "-o", "manifest_file=rows.csv",
                                 "--table-format", "arrow"])
    assert result.exit_code == 0, result.output
    extract_recipe(recipe, corpus, tmp_path / "lib", split="train", extractors=["color-hist:bins=8"],
                   corpus_options={"manifest_file": "rows.csv"}, table_format="arrow")
    cli, lib = _manifest(tmp_path / "cli"), _manifest(tmp_path / "lib")
    assert lib["tables"] == cli["tables"] and lib["corpus"]["options"] == cli["corpus"]["options"]
    assert lib["corpus"]["split"] == "train" and lib["corpus"]["options"]["manifest_file"] == "rows.csv"
    assert sorted(lib["tables"]) == ["image.color-hist", "text.hashed-bow"]  # text keeps the recipe's list
    assert lib["tables"]["image.color-hist"]["config"]["bins"] == 8
    assert {t["format"] for t in lib["tables"].values()} == {"arrow"} and lib["samples"]["shard_size"] == 100
    assert ds.dataset(tmp_path / "lib" / "samples").to_table().column("sample_id").to_pylist() == ["a"]


def test_what_is_not_overridden_is_the_recipe_s(manifest_recipe):
    recipe = load_recipe(manifest_recipe[0])
    arguments = recipe_arguments(recipe, extractors=[], split=None, corpus_options={}, run={"batch_size": 4})
    assert arguments == {
        "extractors": ["color-hist:bins=4", "hashed-bow"], "split": "test",
        "corpus_options": {"manifest_file": "none.csv"}, "batch_size": 4,
        "num_workers": 0, "table_format": "parquet", "shard_size": 100,
    }
    assert recipe_arguments(Recipe(kind="coco")) == {"extractors": None, "split": None, "corpus_options": {}}


@pytest.mark.parametrize(("text", "error"), [
    ('[corpus]\nkind = "cocoo"\n', UnknownCorpusError),
    ('[corpus]\nkind = "coco"\n[extract]\nimage = ["nope"]\n', UnknownExtractorError),
    ('[corpus]\nkind = "coco"\n[extract]\nimages = ["color-hist"]\n', ConfigError),
    ('[corpus]\nkind = "coco"\n[extract]\non_error = "ignore"\n', ConfigError),
    ("[corpus\n", ConfigError),
    (None, CorpusNotFoundError),  # no recipe file
])
def test_a_bad_recipe_is_the_error_the_cli_prints(tmp_path, text, error):
    recipe = tmp_path / "r.toml"
    if text is not None:
        recipe.write_text(text)
    corpus = sample_corpus_dir("coco")
    with pytest.raises(error) as raised:
        extract_recipe(recipe, corpus, tmp_path / "lib")
    assert str(recipe) in str(raised.value)
    line = one_line_error(runner.invoke(app, ["extract", str(recipe), str(corpus), str(tmp_path / "cli"), "-q"]))
    assert line == f"error: {raised.value}"
    assert not (tmp_path / "lib").exists() and not (tmp_path / "cli").exists()


def test_a_bad_run_setting_is_refused_by_extract_before_anything_is_written(manifest_recipe, tmp_path):
    recipe, corpus = manifest_recipe
    with pytest.raises(ConfigError, match=re.escape("table_format='csv' is not one of ['arrow', 'parquet']")):
        extract_recipe(recipe, corpus, tmp_path / "out", table_format="csv")
    with pytest.raises(ConfigError, match="batch_size must be a whole number of rows, at least 1, got 0"):
        extract_recipe(recipe, corpus, tmp_path / "out", batch_size=0)
    assert not (tmp_path / "out").exists()


def test_overrides_are_taken_in_the_forms_extract_takes(manifest_recipe):
    recipe = load_recipe(manifest_recipe[0])
    arguments = recipe_arguments(recipe, extractors="color-hist:bins=8,decode_size=64",
                                 corpus_options="manifest_file=rows.csv")
    assert [e.table_name for e in arguments["extractors"][:1]] == ["image.color-hist"]
    assert arguments["extractors"][0].config.bins == 8 and arguments["extractors"][1:] == ["hashed-bow"]
    assert arguments["corpus_options"] == {"manifest_file": "rows.csv"}
