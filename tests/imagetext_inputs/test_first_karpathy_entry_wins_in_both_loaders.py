"""An image listed in two Karpathy splits keeps its first split in `karpathy` and in `flickr30k`
(karpathy_file=...), and both report the later entry naming the two splits."""
from __future__ import annotations

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from tests.imagetext_inputs.split_files import flickr_entry, write_flickr_token, write_karpathy

NAMES = ["1.jpg", "2.jpg", "3.jpg"]


def write_corpus(root):
    write_flickr_token(root, NAMES)
    write_karpathy(root, "flickr30k", [flickr_entry("1.jpg", "train", "a"), flickr_entry("2.jpg", "test", "b"),
                                       flickr_entry("3.jpg", "val", "c"), flickr_entry("2.jpg", "train", "b")])
    return root


def test_flickr30k_keeps_the_first_split_as_karpathy_does(tmp_path):
    root = write_corpus(tmp_path)
    options = {"karpathy_file": "dataset_flickr30k.json"}
    flickr = load_corpus("flickr30k", root, options=options)
    karpathy = load_corpus("karpathy", root)
    assert {s.sample_id: s.split for s in flickr.samples} == {"1": "train", "2": "test", "3": "val"}
    assert {s.sample_id: s.split for s in karpathy.samples} == {"1": "train", "2": "test", "3": "val"}
    assert [(p.reason, p.error_type) for p in flickr.problems] == [(p.reason, p.error_type) for p in karpathy.problems]
    [problem] = flickr.problems
    assert problem.sample_id == "2" and problem.error_type == REPEATED_ENTRY
    assert problem.path.endswith("images[3]")
    assert problem.reason == ("duplicate image '2' (first at images[1]): it is in split 'test' there and in "
                              "'train' here, a leak between them; kept in 'test', this entry left out")


def test_the_test_image_does_not_land_in_flickr30k_train(tmp_path):
    root = write_corpus(tmp_path)
    train = load_corpus("flickr30k", root, split="train", options={"karpathy_file": "dataset_flickr30k.json"})
    assert [s.sample_id for s in train.samples] == ["1"]
