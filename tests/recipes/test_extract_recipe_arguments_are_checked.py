"""`extract_recipe` names its own arguments in its errors: a recipe that is no path, and a mistyped
keyword (which reached `extract` and was reported as `extract()`'s) fail before anything is read."""
from __future__ import annotations

import pytest

import mmdata
from mmdata.errors import ArgumentTypeError, ConfigError


@pytest.mark.parametrize("recipe", [None, 3, b"recipe.toml"])
def test_a_recipe_that_is_no_path_is_refused_naming_the_argument(recipe, tmp_path):
    with pytest.raises(ArgumentTypeError, match=r"^recipe: expected a recipe TOML file \(str or Path\) or a Recipe, got "):
        mmdata.extract_recipe(recipe, tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_mistyped_keyword_names_extract_recipe_and_the_closest_keyword(tmp_path):
    with pytest.raises(ConfigError, match=r"^extract_recipe\(\) got an unknown keyword argument 'forse'; did you mean "
                                          r"'force'\?; it takes executor, ray_address, force, update, extractors, "):
        mmdata.extract_recipe(tmp_path / "missing.toml", tmp_path, tmp_path / "out", forse=True)
    assert not (tmp_path / "out").exists()
