"""An unknown section or key in a recipe is refused with its line and what the user most likely meant:
the closest name for a typo, the section a key belongs in when it is in the wrong one, and the command
line for what a recipe does not hold (the corpus and output folders, the executor)."""
from __future__ import annotations

import pytest

from mmdata.errors import ConfigError, UnknownCorpusError
from mmdata.recipe import load_recipe
from tests.recipes.refusals import refusal, write_recipe

CORPUS_KEYS = "['kind', 'split', 'options']"
EXTRACT_KEYS = "['modules', 'image', 'text', 'audio', 'video', 'batch_size', 'num_workers', 'on_error', 'shard_size', 'table_format']"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ('[corpus]\nkind = "coco"\n\n[extrat]\nimage = ["color-hist"]\n',
     "unknown section [extrat] (line 4); expected [corpus] and [extract]; did you mean [extract]?"),
    ('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist"]\n[[output]]  # a list of tables\n',
     "unknown section [output] (line 5); expected [corpus] and [extract]; the corpus and output folders are given "
     "on the command line (mmdata extract RECIPE.toml CORPUS_ROOT OUTPUT_DIR, or extract_recipe's arguments), so "
     "that one recipe serves any copy"),
    ('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist"]\n[ notes ]\ntext = "x"\n',
     "unknown section [notes] (line 5); expected [corpus] and [extract]"),
    ('kind = "coco"\n[extract]\nimage = ["color-hist"]\n',
     "unknown top-level key 'kind' (line 1); expected [corpus] and [extract]; 'kind' belongs under [corpus]: "
     "put it below that line"),
    ('[corpus]\nknd = "coco"\n', f"unknown keys in [corpus]: ['knd'] (line 2); expected {CORPUS_KEYS}; did you mean 'kind'?"),
    ('[corpus]\nkind = "coco"\n[extract]\n"imagee" = ["color-hist"]\ntexts = ["minilm"]\n',
     f"unknown keys in [extract]: ['imagee', 'texts'] (line 4); expected {EXTRACT_KEYS}; did you mean 'image'?"),
    ('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist"]\n[corpus.option]\nimage_dir = "x"\n',
     f"unknown keys in [corpus]: ['option'] (line 5); expected {CORPUS_KEYS}; did you mean 'options'?"),
    ('[corpus]\nkind = "coco"\nbatch_size = 4\n',
     f"unknown keys in [corpus]: ['batch_size'] (line 3); expected {CORPUS_KEYS}; 'batch_size' belongs under [extract]"),
    ('[corpus]\nkind = "coco"\nkeep_images_without_captions = true\n',
     f"unknown keys in [corpus]: ['keep_images_without_captions'] (line 3); expected {CORPUS_KEYS}; "
     "'keep_images_without_captions' belongs under [corpus.options]"),
    ('[corpus]\nkind = "coco"\n[extract]\nsplit = "val2017"\n',
     f"unknown keys in [extract]: ['split'] (line 4); expected {EXTRACT_KEYS}; 'split' belongs under [corpus]"),
    ('[corpus]\nkind = "coco"\nroot = "/data/coco"\n',
     f"unknown keys in [corpus]: ['root'] (line 3); expected {CORPUS_KEYS}; the corpus and output folders are "
     "given on the command line (mmdata extract RECIPE.toml CORPUS_ROOT OUTPUT_DIR, or extract_recipe's arguments), "
     "so that one recipe serves any copy"),
    ('[corpus]\nkind = "coco"\n[extract]\nexecutor = "ray"\n',
     f"unknown keys in [extract]: ['executor'] (line 4); expected {EXTRACT_KEYS}; executor is the command's flag "
     "--executor, not a recipe key"),
    ('[corpus]\nkind = "coco"\n[extract]\ncolor = 1\n', f"unknown keys in [extract]: ['color'] (line 4); expected {EXTRACT_KEYS}"),
    ('corpus = {kind = "coco", knd = 1}\n', f"unknown keys in [corpus]: ['knd']; expected {CORPUS_KEYS}; did you mean 'kind'?"),
])
def test_an_unknown_key_is_refused_with_its_line_and_a_hint(text, message):
    path = write_recipe(text)
    with pytest.raises(ConfigError) as raised:
        load_recipe(path)
    assert str(raised.value) == f"r.toml: {message}"
    assert refusal(path) == f"error: r.toml: {message}"


def test_a_misspelt_corpus_kind_suggests_the_closest():
    path = write_recipe('[corpus]\nkind = "flickr30"\n')
    with pytest.raises(UnknownCorpusError, match=r"^r.toml: \[corpus\] kind: unknown corpus kind 'flickr30'; "
                                                 r"available: \[.*\]; did you mean 'flickr30k'\?$"):
        load_recipe(path)
    assert refusal(path).endswith("did you mean 'flickr30k'?")
