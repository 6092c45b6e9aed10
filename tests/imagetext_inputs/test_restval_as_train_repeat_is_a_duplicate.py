"""With restval_as_train=true, an image in restval and again in train is a duplicate within train,
not a leak; the Karpathy splits are named only as extra information."""
from __future__ import annotations

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from tests.imagetext_inputs.split_files import coco_entry, write_karpathy


def test_restval_and_train_entries_of_one_image_are_a_duplicate(tmp_path):
    write_karpathy(tmp_path, "coco", [coco_entry(42, "restval", "a cup"), coco_entry(42, "train", "a cup"),
                                      coco_entry(7, "test", "a cat")])
    result = load_corpus("karpathy", tmp_path, split="train", options={"restval_as_train": "true"})
    assert [(s.sample_id, s.split, s.extra["karpathy_split"]) for s in result.samples] == [
        ("000000000042", "train", "restval")]
    [problem] = result.problems
    assert problem.error_type == REPEATED_ENTRY
    assert problem.reason == ("duplicate image '000000000042' (first at images[0]) of split 'train' (Karpathy split "
                              "'restval' there, 'train' here) left out")
    assert "leak" not in problem.reason


def test_without_the_option_they_are_a_leak(tmp_path):
    write_karpathy(tmp_path, "coco", [coco_entry(42, "restval", "a cup"), coco_entry(42, "train", "a cup")])
    [problem] = load_corpus("karpathy", tmp_path).problems
    assert "in split 'restval' there and in 'train' here, a leak between them; kept in 'restval'" in problem.reason
    assert "Karpathy split" not in problem.reason
