"""A split the Karpathy file does not have is refused naming the splits there (Flickr's file has no
restval), and extract's "no sample loaded" says first that the split matched nothing."""
from __future__ import annotations

import json

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.pipeline import extract
from tests.imagetext_inputs.split_files import flickr_entry, write_flickr_token, write_karpathy


@pytest.fixture
def flickr(tmp_path):
    write_flickr_token(tmp_path, ["1.jpg", "2.jpg"])
    write_karpathy(tmp_path, "flickr30k", [flickr_entry("1.jpg", "train", "a"), flickr_entry("2.jpg", "test", " ")])
    return tmp_path


def test_flickr30k_refuses_a_split_the_karpathy_file_lacks(flickr):
    with pytest.raises(ConfigError, match=r"no entry of .*dataset_flickr30k.json has split 'restval'; splits there: "
                                          r"\['test', 'train'\]"):
        load_corpus("flickr30k", flickr, split="restval", options={"karpathy_file": "dataset_flickr30k.json"})


def test_karpathy_refuses_it_by_the_same_rule(flickr):
    with pytest.raises(ConfigError, match=r"has split 'val'; splits there: \['test', 'train'\]"):
        load_corpus("karpathy", flickr, split="val")


def test_no_sample_loaded_says_the_split_matched_nothing_first(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "captions_val2017.json").write_text(
        json.dumps({"images": [], "annotations": []}), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"no sample loaded from .*\(corpus coco, split val2017\): split "
                                                r"'val2017' matched no entry of the corpus; check the split name"):
        extract("coco", tmp_path, tmp_path / "out", split="val2017", extractors=["color-hist:bins=4"],
                num_workers=0)
