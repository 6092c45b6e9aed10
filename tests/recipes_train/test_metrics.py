"""Sentiment and retrieval metrics against hand-computed examples."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import SchemaMismatchError
from mmdata.metrics import (
    binary_accuracy,
    binary_f1,
    chance_recall,
    cmumosei_accuracy,
    cmumosei_round,
    fold_slices,
    folded_retrieval_metrics,
    image_to_text_ranks,
    mae,
    multiclass_accuracy,
    pearson,
    retrieval_metrics,
    sentiment_metrics,
    sims_classes,
    sims_metrics,
    text_to_image_ranks,
)

# Worked by hand below each assertion.
PRED = np.array([2.6, -0.4, 0.5, 1.5, -2.5, 0.2])
TRUTH = np.array([3.0, -1.0, 0.0, 2.0, -2.6, -0.3])


def test_mae_is_mean_absolute_error_on_unclipped_values():
    # |2.6-3| + |-0.4+1| + |0.5-0| + |1.5-2| + |-2.5+2.6| + |0.2+0.3| = 0.4+0.6+0.5+0.5+0.1+0.5 = 2.6
    assert mae(PRED, TRUTH) == pytest.approx(2.6 / 6)
    assert mae(np.array([5.0]), np.array([-3.0])) == pytest.approx(8.0)  # no clipping


def test_pearson_matches_hand_computed_correlation():
    # deviations (-1, 0, 1) and (-1, 1, 0): covariance sum 1, variance sums 2 and 2 -> 1 / 2
    assert pearson(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])) == pytest.approx(0.5)
    assert pearson(np.array([1.0, 2.0, 3.0]), np.array([-2.0, -4.0, -6.0])) == pytest.approx(-1.0)


def test_pearson_of_constant_predictions_is_nan():
    assert np.isnan(pearson(np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0])))
    # np.std of these is 1.7e-17, not 0: the mean predictor must still get "undefined", not 2e-17.
    assert np.isnan(pearson(np.full(21, 0.1), np.linspace(-3.0, 3.0, 21)))


def test_acc2_has0_counts_zero_as_non_negative_over_all_samples():
    # pred >= 0: T F T T F T; truth >= 0: T F T T F F -> 5 of 6 agree
    assert binary_accuracy(PRED, TRUTH, "has0") == pytest.approx(5 / 6)


def test_f1_has0_is_weighted_over_both_classes():
    # class >=0 (support 3): TP 3, FP 1, FN 0 -> P 3/4, R 1, F1 6/7
    # class <0  (support 3): TP 2, FP 0, FN 1 -> P 1, R 2/3, F1 4/5
    assert binary_f1(PRED, TRUTH, "has0") == pytest.approx((3 * 6 / 7 + 3 * 4 / 5) / 6)


def test_acc2_non0_drops_zero_truths_and_uses_strictly_positive():
    # drop index 2 (truth 0); pred > 0: T F T F T; truth > 0: T F T F F -> 4 of 5
    assert binary_accuracy(PRED, TRUTH, "non0") == pytest.approx(4 / 5)
    # class >0 (support 2): TP 2, FP 1 -> F1 4/5; class <=0 (support 3): TP 2, FN 1 -> F1 4/5
    assert binary_f1(PRED, TRUTH, "non0") == pytest.approx(0.8)


def test_acc2_conventions_differ_on_zero_predictions():
    pred, truth = np.array([0.0, 0.0]), np.array([0.5, -0.5])
    assert binary_accuracy(pred, truth, "has0") == pytest.approx(0.5)  # 0 >= 0 is "non-negative": right for 0.5
    assert binary_accuracy(pred, truth, "non0") == pytest.approx(0.5)  # 0 > 0 is False: right for -0.5 only


def test_acc7_rounds_half_to_even_after_clipping():
    # pred: 3, -0, 0 (0.5 -> 0), 2 (1.5 -> 2), -2 (-2.5 -> -2), 0
    # truth: 3, -1, 0, 2, -3, -0 -> agree at 0, 2, 3, 5
    assert multiclass_accuracy(PRED, TRUTH, bound=3) == pytest.approx(4 / 6)


def test_acc5_clips_to_two_before_rounding():
    # pred: 2, 0, 0, 2, -2, 0; truth: 2, -1, 0, 2, -2, 0 -> only index 1 differs
    assert multiclass_accuracy(PRED, TRUTH, bound=2) == pytest.approx(5 / 6)


def test_cmumosei_round_bins_as_the_sdk_readme():
    values = np.array([-3.5, -2.01, -2.0, -1.5, -1.0, -0.5, 0.0, 0.3, 1.0, 1.5, 2.0, 2.1])
    expected = [-3, -3, -2, -2, -1, -1, 0, 1, 1, 2, 2, 3]
    assert cmumosei_round(values).tolist() == expected


def test_cmumosei_accuracy_differs_from_np_round_accuracy():
    # pred: 3, -1, 1, 2, -3, 1; truth: 3, -1, 0, 2, -3, -1 -> indices 2 and 5 differ
    assert cmumosei_accuracy(PRED, TRUTH) == pytest.approx(4 / 6)


def test_sentiment_metrics_collects_every_metric():
    out = sentiment_metrics(PRED, TRUTH)
    assert out["acc2_has0"] == pytest.approx(5 / 6) and out["acc5"] == pytest.approx(5 / 6)
    assert set(out) == {"mae", "corr", "acc2_has0", "f1_has0", "acc2_non0", "f1_non0", "acc7", "acc5", "acc7_cmumosei"}


def test_sentiment_metrics_reject_mismatched_and_non_finite_input():
    with pytest.raises(SchemaMismatchError, match="expected the same count"):
        sentiment_metrics(np.zeros(3), np.zeros(4))
    with pytest.raises(SchemaMismatchError, match="NaN"):
        sentiment_metrics(np.array([np.nan]), np.zeros(1))


# 3 images x 2 captions each; caption j belongs to image CAPTION_IMAGE[j].
CAPTION_IMAGE = np.array([0, 0, 1, 1, 2, 2])
SCORES = np.array(
    [
        [0.9, 0.1, 0.5, 0.2, 0.3, 0.0],
        [0.8, 0.1, 0.4, 0.6, 0.7, 0.2],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.5],
    ]
)


def test_image_to_text_rank_is_wrong_captions_above_best_own_caption():
    # image 0: best own 0.9, nothing above -> 0; image 1: best own 0.6, wrong 0.8 and 0.7 above -> 2;
    # image 2: its two captions tie at 0.5, no wrong caption reaches 0.5 -> 0
    assert image_to_text_ranks(SCORES, CAPTION_IMAGE).tolist() == [0, 2, 0]


def test_text_to_image_rank_counts_ties_against_the_query():
    # caption 1 scores 0.1 for its image; image 1 ties at 0.1 and image 2 has 0.2 -> rank 2
    assert text_to_image_ranks(SCORES, CAPTION_IMAGE).tolist() == [0, 2, 1, 0, 1, 0]


def test_retrieval_metrics_give_recall_percentages_both_directions():
    out = retrieval_metrics(SCORES, CAPTION_IMAGE, ks=(1, 2, 3))
    assert out["i2t_r1"] == pytest.approx(200 / 3) and out["i2t_r2"] == pytest.approx(200 / 3)
    assert out["i2t_r3"] == pytest.approx(100.0)
    assert out["t2i_r1"] == pytest.approx(50.0) and out["t2i_r2"] == pytest.approx(500 / 6)
    assert out["t2i_r3"] == pytest.approx(100.0)
    assert out["rsum"] == pytest.approx(200 / 3 * 2 + 100 + 50 + 500 / 6 + 100)


def test_constant_scores_get_zero_recall_at_one():
    out = retrieval_metrics(np.zeros((3, 6)), CAPTION_IMAGE, ks=(1,))
    assert out["i2t_r1"] == 0.0 and out["t2i_r1"] == 0.0


def test_retrieval_rejects_score_matrix_of_wrong_shape():
    with pytest.raises(SchemaMismatchError, match="expected \\(n_images, 6\\)"):
        retrieval_metrics(np.zeros((3, 5)), CAPTION_IMAGE)


def test_image_without_caption_is_an_error():
    with pytest.raises(SchemaMismatchError, match="image 2 has no caption"):
        image_to_text_ranks(np.zeros((3, 2)), np.array([0, 1]))


def test_chance_recall_for_one_caption_per_image_is_k_over_n():
    out = chance_recall(100, 1, ks=(1, 5))
    assert out["i2t_r1"] == pytest.approx(1.0) and out["i2t_r5"] == pytest.approx(5.0)
    assert out["t2i_r5"] == pytest.approx(5.0)
    # 2 of 4 captions are right, top-1: 1/2; top-2 misses both with (2/4)(1/3) -> 5/6
    two = chance_recall(2, 2, ks=(1, 2))
    assert two["i2t_r1"] == pytest.approx(50.0) and two["i2t_r2"] == pytest.approx(500 / 6)


def test_folded_protocol_averages_disjoint_1k_folds():
    assert fold_slices(1999) == [] and len(fold_slices(5000)) == 5
    rng = np.random.default_rng(0)
    n_images, per = 2000, 2
    caption_image = np.repeat(np.arange(n_images), per)
    scores = rng.normal(size=(n_images, n_images * per))
    scores[caption_image, np.arange(len(caption_image))] += 10.0  # own captions always win
    scores[1500, :] += 100.0  # image 1500 outranks every image for every caption
    folded = folded_retrieval_metrics(scores, caption_image, fold_size=1000)
    full = retrieval_metrics(scores, caption_image)
    assert folded["i2t_r1"] == pytest.approx(100.0)
    # fold 1 is perfect; in fold 2 only image 1500's own 2 of 2000 captions find their image
    assert folded["t2i_r1"] == pytest.approx((100.0 + 0.1) / 2)
    assert full["t2i_r1"] == pytest.approx(100 * 2 / 4000)
    assert folded_retrieval_metrics(scores[:1000, :2000], caption_image[:2000]) is None


# CH-SIMS, in [-1, 1]: worked by hand below.
SIMS_PRED = np.array([0.9, -0.2, 0.05, 0.5, -1.4, 0.0])  # -1.4 clips to -1
SIMS_TRUTH = np.array([1.0, -0.05, 0.0, 0.75, -0.8, 0.2])


def test_sims_classes_are_left_open_intervals_cut_as_mmsa_cuts_them():
    edges = np.array([-1.0, -0.7, -0.1, 0.0, 0.1, 0.7, 1.0])
    assert sims_classes(edges, 2).tolist() == [0, 0, 0, 0, 1, 1, 1]  # [-1, 0] vs (0, 1]
    assert sims_classes(edges, 3).tolist() == [0, 0, 0, 1, 1, 2, 2]  # cuts at -0.1, 0.1
    assert sims_classes(edges, 5).tolist() == [0, 0, 1, 2, 2, 3, 4]  # cuts at -0.7, -0.1, 0.1, 0.7
    assert sims_classes(np.array([-3.0, 3.0]), 5).tolist() == [0, 4]  # clipped first


def test_sims_metrics_clip_then_score_two_three_and_five_classes():
    metrics = sims_metrics(SIMS_PRED, SIMS_TRUTH)
    assert list(metrics) == ["mae", "corr", "acc2", "f1", "acc3", "acc5"]
    # 2 classes: pred [1,0,1,1,0,0], truth [1,0,0,1,0,1] -> 4 of 6; each class has P = R = 2/3
    assert metrics["acc2"] == pytest.approx(4 / 6) and metrics["f1"] == pytest.approx(2 / 3)
    # 3 classes: pred [2,0,1,2,0,1], truth [2,1,1,2,0,2] -> 4 of 6
    assert metrics["acc3"] == pytest.approx(4 / 6)
    # 5 classes: pred [4,1,2,3,0,2], truth [4,2,2,4,0,3] -> 3 of 6
    assert metrics["acc5"] == pytest.approx(3 / 6)
    # on clipped predictions: 0.1 + 0.15 + 0.05 + 0.25 + 0.2 + 0.2
    assert metrics["mae"] == pytest.approx(0.95 / 6)
    assert metrics["corr"] == pytest.approx(np.corrcoef(np.clip(SIMS_PRED, -1, 1), SIMS_TRUTH)[0, 1])


def test_the_retrieval_report_says_how_its_1k_folds_were_cut():
    from mmdata.models.retrieval_recipe import _folds_note

    assert _folds_note(5000) == "the mean over 5 folds of 1000 images (consecutive in sample-id order)"
    assert _folds_note(2600) == ("the mean over 2 folds of 1000 images (consecutive in sample-id order; "
                                 "the last 600 images are in no fold)")
