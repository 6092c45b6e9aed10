"""Every shipped recipe parses and names registered corpus kinds and extractors."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmdata.errors import ConfigError, UnknownExtractorError
from mmdata.recipe import load_recipe

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.toml"))


def test_there_are_recipes():
    assert len(RECIPES) >= 4


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_is_valid(path):
    recipe = load_recipe(path)
    assert recipe.kind and recipe.extractor_specs()


def test_recipe_with_unknown_extractor_or_wrong_modality_is_refused(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[corpus]\nkind = "coco"\n[extract]\nimage = ["nope"]\n')
    with pytest.raises(UnknownExtractorError, match="unknown extractor 'nope'"):
        load_recipe(path)
    path.write_text('[corpus]\nkind = "coco"\n[extract]\ntext = ["color-hist"]\n')
    with pytest.raises(ConfigError, match="extractor 'color-hist' is for image, not text"):
        load_recipe(path)
    path.write_text('[corpus]\nkind = "coco"\n[extract]\nimages = ["color-hist"]\n')
    with pytest.raises(ConfigError, match=r"unknown keys in \[extract\]: \['images'\]"):
        load_recipe(path)


def test_a_bad_corpus_kind_or_extractor_in_a_recipe_names_the_file_and_the_key(tmp_path):
    from mmdata.errors import UnknownCorpusError

    path = tmp_path / "r.toml"
    path.write_text('[corpus]\nkind = "cocoo"\n')
    with pytest.raises(UnknownCorpusError, match=rf"^{re.escape(str(path))}: \[corpus\] kind: unknown corpus kind 'cocoo'"):
        load_recipe(path)
    path.write_text('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist:bins=0"]\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: \[extract\] image: .*bins"):
        load_recipe(path)
