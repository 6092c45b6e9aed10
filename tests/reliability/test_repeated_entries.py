"""Annotation entries that repeat a sample already loaded (an image listed twice, possibly in two splits):
named with both entries and splits, counted apart by `check`, and `--on-error fail` says that it stopped."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from mmdata.errors import CorpusFormatError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.imagetext import write_fake_coco, write_fake_karpathy


def test_an_image_in_two_karpathy_splits_is_reported_as_a_repeated_entry_not_a_kept_sample(tmp_path):
    fake = write_fake_karpathy(tmp_path / "corpus", "flickr30k")
    data = json.loads(fake.annotation_file.read_text(encoding="utf-8"))
    data["images"].append(dict(data["images"][0], split="test"))
    fake.annotation_file.write_text(json.dumps(data), encoding="utf-8")
    extract("karpathy", fake.root, tmp_path / "ds", extractors=["hashed-bow"], num_workers=0)
    errors = open_dataset(tmp_path / "ds").errors().to_pylist()
    assert [(e["sample_id"], e["error_type"]) for e in errors] == [("1000092795", "RepeatedEntry")]
    assert "in split 'train' there and in 'test' here, a leak between them" in errors[0]["reason"]
    (issue,) = [i for i in check_dataset(tmp_path / "ds").issues if i.code == "loader-errors"]
    assert issue.severity == "warning" and issue.sample_id == "1000092795"
    assert issue.message.startswith("1 entries repeat a sample an earlier entry loaded and were left out")
    assert "kept with a problem" not in issue.message


def test_on_error_fail_says_the_run_stopped_at_the_loaders_first_problem(tmp_path):
    write_fake_coco(tmp_path / "corpus", captions_per_image=(5, 6))
    path = tmp_path / "corpus" / "annotations" / "captions_val2017.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["annotations"][0]["caption"] = "   "
    data["annotations"][1]["caption"] = ""
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"blank caption \(id \d+\); ignored \(sample \d+\); nothing was "
                       r"written: --on-error fail stops at the loader's first problem \(1 more\); --on-error skip "
                       r"records them in the errors table and goes on"):
        extract("coco", tmp_path / "corpus", tmp_path / "ds", extractors=["pixel-stats"], num_workers=0,
                on_error="fail")
    assert not (tmp_path / "ds" / "samples").exists()
