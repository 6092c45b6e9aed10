"""Retrieval reports how many queries the pessimistic tie rule touched (a wrong item tied with the right one)."""
from __future__ import annotations

import numpy as np

from mmdata.metrics import RETRIEVAL_DEFINITIONS, tied_queries


def test_a_constant_scorer_ties_every_query_and_random_scores_tie_none():
    caption_image = np.repeat(np.arange(4), 2)
    assert tied_queries(np.zeros((4, 8)), caption_image) == {"i2t": 4, "t2i": 8}
    scores = np.random.default_rng(0).random((4, 8))
    assert tied_queries(scores, caption_image) == {"i2t": 0, "t2i": 0}
    assert "tied_queries" in RETRIEVAL_DEFINITIONS["ties"]


def test_two_own_captions_at_the_same_score_are_no_tie():
    caption_image = np.array([0, 0, 1])
    scores = np.array([[0.9, 0.9, 0.1], [0.2, 0.3, 0.8]])
    assert tied_queries(scores, caption_image) == {"i2t": 0, "t2i": 0}
    scores[1, 0] = 0.9  # image 1 scores caption 0 as image 0 does: caption 0's query ties
    assert tied_queries(scores, caption_image) == {"i2t": 0, "t2i": 1}
