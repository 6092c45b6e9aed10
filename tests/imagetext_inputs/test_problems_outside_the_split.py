"""Problems of entries outside the split asked for stay out of the errors table, what remains is
worded truthfully, and `check` classifies it right."""
from __future__ import annotations

import pytest

from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.pipeline import extract
from tests.imagetext_inputs.split_files import (
    coco_entry, flickr_entry, write_flickr_token, write_karpathy,
)


@pytest.fixture
def coco(tmp_path):
    write_karpathy(tmp_path, "coco", [
        coco_entry(1, "test", "a man"),
        coco_entry(42, "restval", "a cup", "   "),      # blank sentence, not in test
        coco_entry(7, "train", "a cat"), coco_entry(7, "test", "a cat"),  # first in train, again in test
        coco_entry(9, "test", "a dog"), coco_entry(9, "train", "a dog"),  # first in test, again in train
        coco_entry(5, "val", "x"), coco_entry(5, "train", "x"),           # neither in test
    ])
    return tmp_path


def test_karpathy_test_split_keeps_only_problems_of_its_entries(coco):
    result = load_corpus("karpathy", coco, split="test")
    assert [s.sample_id for s in result.samples] == ["000000000001", "000000000009"]
    reasons = {p.sample_id: (p.reason, p.error_type) for p in result.problems}
    assert set(reasons) == {"000000000007", "000000000009"}
    reason, error_type = reasons["000000000007"]
    assert error_type != REPEATED_ENTRY  # its first (train) entry is not in this dataset
    assert reason.endswith("kept in 'train', which split 'test' leaves out, so the image is in no split loaded; "
                           "this entry left out (list each image once, in one split)")
    assert reasons["000000000009"][1] == REPEATED_ENTRY


def test_check_words_what_remains_truthfully(coco, tmp_path):
    extract("karpathy", coco, tmp_path / "out", split="test", extractors=["color-hist:bins=4"], num_workers=0)
    [issue] = [i for i in check_dataset(tmp_path / "out").issues if i.code == "loader-errors"]
    assert issue.count == 2
    assert "the loader left out 1 annotation entries it could not use" in issue.message
    assert "1 entries repeat a sample an earlier entry loaded" in issue.message
    assert "kept with a problem" not in issue.message


def test_flickr_not_in_karpathy_file_is_reported_only_where_kept(tmp_path):
    write_flickr_token(tmp_path, ["1.jpg", "2.jpg", "9.jpg"])
    (tmp_path / "results_20130124.token").open("a").write("2.jpg#0\tagain\n")  # a caption problem of a test image
    write_karpathy(tmp_path, "flickr30k", [flickr_entry("1.jpg", "train", "a"), flickr_entry("2.jpg", "test", "b")])
    options = {"karpathy_file": "dataset_flickr30k.json"}
    train = load_corpus("flickr30k", tmp_path, split="train", options=options)
    assert [s.sample_id for s in train.samples] == ["1"] and train.problems == []
    everything = load_corpus("flickr30k", tmp_path, options=options)
    assert sorted(p.reason for p in everything.problems) == [
        "9.jpg is not in dataset_flickr30k.json; kept with split 'all'",
        "duplicate caption #0 of 2.jpg; the later one is ignored"]


def test_flickr_ignores_the_karpathy_files_sentences(tmp_path):
    write_flickr_token(tmp_path, ["1.jpg"])
    write_karpathy(tmp_path, "flickr30k", [flickr_entry("1.jpg", "train", " ")])
    assert load_corpus("flickr30k", tmp_path, options={"karpathy_file": "dataset_flickr30k.json"}).problems == []


def test_a_repeat_whose_sample_has_no_row_counts_as_left_out():
    from mmdata.checks.manifest import check_loaded

    [issue] = check_loaded(3, ["a", "b", "b"], kept=[True, False, False], repeated=[False, True, False])
    assert "left out 2 annotation entries" in issue.message and "repeat" not in issue.message
    assert "1 samples were kept with a problem" in issue.message
