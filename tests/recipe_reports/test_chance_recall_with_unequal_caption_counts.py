"""The chance row: the exact expected Recall@K of a random scorer when images have different caption counts."""
from __future__ import annotations

from math import comb

import numpy as np
import pytest

from mmdata.errors import SchemaMismatchError
from mmdata.metrics import chance_recall, retrieval_metrics

# 100 images: 50 with one caption, 50 with four (250 captions, 2.5 per image: the old code used round(2.5) = 2).
COUNTS = np.array([1] * 50 + [4] * 50)


def test_chance_recall_is_the_exact_expectation_over_each_images_caption_count():
    out = chance_recall(COUNTS)
    assert [round(out[f"i2t_r{k}"], 2) for k in (1, 5, 10)] == [1.00, 4.90, 9.58]
    n = int(COUNTS.sum())
    for k in (1, 5, 10):
        exact = 100 * np.mean([1 - comb(n - c, k) / comb(n, k) for c in COUNTS])
        assert out[f"i2t_r{k}"] == pytest.approx(exact, rel=1e-12)
        assert out[f"t2i_r{k}"] == pytest.approx(k)  # K of 100 images


def test_chance_recall_agrees_with_retrieval_metrics_on_random_scores():
    rng = np.random.default_rng(0)
    caption_image = np.repeat(np.arange(len(COUNTS)), COUNTS)
    runs = [retrieval_metrics(rng.random((len(COUNTS), len(caption_image))), caption_image) for _ in range(400)]
    expected = chance_recall(COUNTS)
    for key in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r5"):
        simulated = np.mean([r[key] for r in runs])
        stderr = np.std([r[key] for r in runs]) / np.sqrt(len(runs))
        assert abs(simulated - expected[key]) < 4 * stderr + 1e-9, key


def test_a_fractional_mean_count_is_refused_with_the_way_to_pass_counts():
    with pytest.raises(SchemaMismatchError, match="each image's caption count"):
        chance_recall(100, 2.5)
    assert chance_recall(100, 4) == pytest.approx(chance_recall(np.full(100, 4)))
