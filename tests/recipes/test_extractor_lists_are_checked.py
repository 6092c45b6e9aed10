"""A recipe's extractor lists are checked as a user writes them: a comma-separated string says how a list
is written, an empty list is refused instead of running the defaults it did not ask for, and two extractors
writing one table are refused when the recipe is read, naming the key."""
from __future__ import annotations

import pytest

from mmdata.errors import ConfigError
from mmdata.recipe import load_recipe
from tests.recipes.refusals import refusal, write_recipe


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_one_spec_may_be_a_string():
    path = write_recipe('[corpus]\nkind = "coco"\n[extract]\nimage = "color-hist:bins=8,decode_size=64"\n')
    assert load_recipe(path).extractors == {"image": ["color-hist:bins=8,decode_size=64"]}


def test_a_list_written_as_one_string_says_how_to_write_the_list():
    line = refusal(write_recipe('[corpus]\nkind = "coco"\n[extract]\nimage = "color-hist, pixel-stats:decode_size=64"\n'))
    assert line.startswith("error: r.toml: [extract] image: unknown extractor 'color-hist, pixel-stats'")
    assert line.endswith('; several extractors are a list: image = ["color-hist", "pixel-stats:decode_size=64"]')


def test_an_empty_list_is_refused_rather_than_running_the_defaults():
    line = refusal(write_recipe('[corpus]\nkind = "coco"\n[extract]\nimage = []\ntext = ["hashed-bow"]\n'))
    assert line == ("error: r.toml: [extract] image: expected at least one extractor spec, got []; leave the key out "
                    "(to extract no image, name the other modalities' extractors: only those named run)")


@pytest.mark.parametrize("specs", ['["color-hist", "color-hist:bins=8"]', '["minilm:level=caption", "minilm:level=caption,normalize=false"]'])
def test_two_extractors_writing_one_table_are_refused_when_read(specs):
    modality = "text" if "minilm" in specs else "image"
    path = write_recipe(f'[corpus]\nkind = "coco"\n[extract]\n{modality} = {specs}\n')
    with pytest.raises(ConfigError, match=rf"^r.toml: \[extract\] {modality}: '.*' and '.*' both write table "
                                          r"'(image.color-hist|text.minilm.caption)'; expected one extractor per table"):
        load_recipe(path)


def test_a_wrong_option_or_unknown_extractor_names_the_key_and_the_closest_name():
    assert refusal(write_recipe('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist:bin=8"]\n')) == (
        "error: r.toml: [extract] image: extractor 'color-hist': unknown option 'bin'; options: ['bins', "
        "'decode_size']; did you mean 'bins'?")
    line = refusal(write_recipe('[corpus]\nkind = "coco"\n[extract]\nimage = ["colour-hist"]\n'))
    assert line.startswith("error: r.toml: [extract] image: unknown extractor 'colour-hist'; available: [")
    assert line.endswith("did you mean 'color-hist'?")
