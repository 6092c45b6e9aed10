"""The Karpathy COCO split read over the 2017 release warns that train2017 holds its test images."""
from __future__ import annotations

import logging

from mmdata.corpora import load_corpus
from tests.imagetext_inputs.split_files import coco_entry, write_karpathy
from tests.fakes import write_jpeg


def test_the_2017_layout_warns_of_the_overlap(tmp_path, caplog):
    write_karpathy(tmp_path / "staging", "coco", [coco_entry(1, "test", "a man"), coco_entry(2, "train", "a cat")])
    (tmp_path / "staging" / "dataset_coco.json").rename(tmp_path / "dataset_coco.json")
    write_jpeg(tmp_path / "train2017" / f"{1:012d}.jpg")
    write_jpeg(tmp_path / "val2017" / f"{2:012d}.jpg")
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.karpathy"):
        samples = load_corpus("karpathy", tmp_path).samples
    assert [s.image for s in samples] == ["train2017/000000000001.jpg", "val2017/000000000002.jpg"]
    assert "sit mostly in train2017" in caplog.text and "has seen the Karpathy test images" in caplog.text


def test_the_2014_layout_does_not_warn(tmp_path, caplog):
    write_karpathy(tmp_path, "coco", [coco_entry(1, "test", "a man")])
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.karpathy"):
        assert len(load_corpus("karpathy", tmp_path).samples) == 1
    assert "train2017" not in caplog.text
