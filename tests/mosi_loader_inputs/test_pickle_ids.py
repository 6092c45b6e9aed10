"""`mmsa` ids given as (video_id, clip_id) pairs: a (N, 2) object array or a list of tuples (bytes too)."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from tests.mosi_loader_inputs._pickles import mmsa_file, mmsa_split


def _pairs_split(ids) -> dict:
    part = mmsa_split("x", len(ids))
    part["id"] = ids
    return part


@pytest.mark.parametrize("make", [
    lambda pairs: np.array(pairs, dtype=object),
    lambda pairs: [tuple(p) for p in pairs],
    lambda pairs: [(v.encode(), c.encode()) for v, c in pairs],
    lambda pairs: np.array(pairs),  # a (N, 2) unicode array
], ids=["object-array", "list-of-tuples", "bytes-tuples", "unicode-array"])
def test_id_pairs_join_to_video_and_clip(tmp_path, make):
    pairs = [["tevid0", "1"], ["tevid0", "2"], ["café", "3"]]
    mmsa_file(tmp_path, train=_pairs_split(make(pairs)))
    samples = load_corpus("mmsa", tmp_path).samples
    assert [s.sample_id for s in samples] == ["tevid0$_$1", "tevid0$_$2", "café$_$3"]
    assert [s.group_id for s in samples] == ["tevid0", "tevid0", "café"]
    assert [(s.extra["video_id"], s.extra["clip_id"]) for s in samples] == [tuple(p) for p in pairs]


def test_string_ids_still_split_at_the_separator(tmp_path):
    mmsa_file(tmp_path, train=_pairs_split(np.array([b"v1$_$7", "v2$_$8"], dtype=object)))
    samples = load_corpus("mmsa", tmp_path).samples
    assert [(s.sample_id, s.group_id, s.extra["clip_id"]) for s in samples] == [("v1$_$7", "v1", "7"), ("v2$_$8", "v2", "8")]


def test_an_id_of_three_parts_is_an_error_naming_file_split_and_row(tmp_path):
    path = mmsa_file(tmp_path, train=_pairs_split(np.array([["a", "1", "x"], ["b", "2", "y"]], dtype=object)))
    with pytest.raises(CorpusFormatError, match=rf"{path.name}: split 'train' row 0: id .* has 3 parts; expected a "
                                                r"string 'video_id\$_\$clip_id' or a \(video_id, clip_id\) pair"):
        load_corpus("mmsa", tmp_path)
