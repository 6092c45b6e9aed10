"""Names given as a set are refused wherever the API takes a list of names: a set's order changes from
one Python process to the next (string hashing is salted), and `fuse(tables={"image", "text"})` put the
image slice first in one run and the text slice first in the next, so a model trained on one export read
another's columns swapped. A list holding something other than a name (`extractors=[None]`) is refused
by name too, where it failed deep inside with an AttributeError."""
from __future__ import annotations

import re

import pytest

import mmdata
from mmdata.errors import ConfigError
from tests.checks.builder import build_dataset, image_text_samples, pooled_table

SAMPLES = image_text_samples()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    tables = [pooled_table("image.p", SAMPLES, 3), pooled_table("text.w", SAMPLES, 2, seed=1)]
    return build_dataset(tmp_path_factory.mktemp("sets") / "ds", SAMPLES, tables)


SET_REFUSED = "got a set, {}, whose order changes from run to run; pass a list or tuple in the order wanted"


def test_fuse_refuses_tables_given_as_a_set_before_writing(dataset_dir):
    tables = {"image", "text"}
    with pytest.raises(ConfigError, match=re.escape("fuse option tables: " + SET_REFUSED.format(tables))):
        mmdata.fuse(dataset_dir, dataset_dir.parent / "fused", tables=tables)
    assert not (dataset_dir.parent / "fused").exists()


def test_check_and_extract_refuse_names_given_as_a_set(dataset_dir, tmp_path):
    with pytest.raises(ConfigError, match=re.escape("tables: got a set")):
        mmdata.check_dataset(dataset_dir, tables=frozenset({"image.p"}))
    with pytest.raises(ConfigError, match=re.escape("extractors: got a set")):
        mmdata.extract("coco", mmdata.sample_corpus_dir("coco"), tmp_path / "out", extractors={"color-hist"})
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extractors", [[None], ["color-hist", None]])
def test_extract_names_an_item_that_is_not_a_name(tmp_path, extractors):
    with pytest.raises(ConfigError, match=re.escape(f"extractors: expected names (str), got None (NoneType) among "
                                                    f"{extractors!r}")):
        mmdata.extract("coco", mmdata.sample_corpus_dir("coco"), tmp_path / "out", extractors=extractors)


def test_dict_keys_keep_their_order_and_are_taken(dataset_dir):
    report = mmdata.check_dataset(dataset_dir, tables={"text.w": 1, "image.p": 2}.keys())
    assert list(report.tables) == ["text.w", "image.p"]
