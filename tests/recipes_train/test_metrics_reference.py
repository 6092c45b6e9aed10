"""The metrics against independent re-computations of the published conventions (MulT/MMSA for MOSI and
CH-SIMS, VSE++/SCAN for retrieval), on inputs full of ties, zeros and half values."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import accuracy_score, f1_score

from mmdata.errors import SchemaMismatchError
from mmdata.metrics import (
    folded_retrieval_metrics,
    image_to_text_ranks,
    median_rank,
    retrieval_metrics,
    sentiment_metrics,
    sims_metrics,
    text_to_image_ranks,
)


def _mmsa_mosei(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """MMSA `__eval_mosei_regression` / MulT `eval_mosei_senti`, written out again."""
    def multiclass(p, t):
        return float(np.sum(np.round(p) == np.round(t)) / len(t))

    non_zero = np.array([i for i, value in enumerate(truth) if value != 0])
    return {
        "mae": float(np.mean(np.absolute(pred - truth))),
        "corr": float(pearsonr(pred, truth)[0]),
        "acc7": multiclass(np.clip(pred, -3, 3), np.clip(truth, -3, 3)),
        "acc5": multiclass(np.clip(pred, -2, 2), np.clip(truth, -2, 2)),
        "acc2_has0": accuracy_score(truth >= 0, pred >= 0),
        "f1_has0": f1_score(truth >= 0, pred >= 0, average="weighted"),
        "acc2_non0": accuracy_score(truth[non_zero] > 0, pred[non_zero] > 0),
        "f1_non0": f1_score(truth[non_zero] > 0, pred[non_zero] > 0, average="weighted"),
    }


def _mmsa_sims(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """MMSA `__eval_sims_regression`: interval loops over (lo, hi] with -1.01 / 1.01 as outer edges."""
    pred, truth = np.clip(pred, -1.0, 1.0), np.clip(truth, -1.0, 1.0)

    def classes(x, edges):
        out = x.copy()
        for i in range(len(edges) - 1):
            out[np.logical_and(x > edges[i], x <= edges[i + 1])] = i
        return out

    two, three, five = [-1.01, 0.0, 1.01], [-1.01, -0.1, 0.1, 1.01], [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01]
    return {
        "mae": float(np.mean(np.absolute(pred - truth))),
        "corr": float(np.corrcoef(pred, truth)[0][1]),
        "acc2": accuracy_score(classes(truth, two), classes(pred, two)),
        "f1": f1_score(classes(truth, two), classes(pred, two), average="weighted"),
        "acc3": accuracy_score(classes(truth, three), classes(pred, three)),
        "acc5": accuracy_score(classes(truth, five), classes(pred, five)),
    }


@pytest.mark.parametrize("seed", range(6))
def test_sentiment_metrics_equal_an_independent_mmsa_computation_with_ties_and_zeros(seed):
    rng = np.random.default_rng(seed)
    # Half values (0.5, 1.5, -2.5 round half to even), exact zeros on both sides, values beyond +-3.
    truth = rng.choice([-3.4, -3.0, -2.5, -1.5, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5, 2.5, 3.0, 3.2], size=40)
    pred = np.where(rng.random(40) < 0.3, rng.choice([-2.5, -0.5, 0.0, 0.5, 1.5, 2.5], 40), rng.normal(0, 2, 40))
    ours, reference = sentiment_metrics(pred, truth), _mmsa_mosei(pred, truth)
    for key, value in reference.items():
        assert ours[key] == pytest.approx(value, abs=1e-12), key


@pytest.mark.parametrize("seed", range(6))
def test_sims_metrics_equal_mmsa_on_values_at_the_class_edges(seed):
    rng = np.random.default_rng(seed)
    # CH-SIMS labels are multiples of 0.2; predictions hit every edge (-0.7, -0.1, 0, 0.1, 0.7) and leave [-1, 1].
    truth = np.round(rng.integers(-5, 6, size=40) * 0.2, 1)
    pred = rng.choice([-1.3, -1.0, -0.7, -0.4, -0.1, 0.0, 0.05, 0.1, 0.3, 0.7, 0.9, 1.0, 1.2], size=40)
    ours, reference = sims_metrics(pred, truth), _mmsa_sims(pred, truth)
    for key, value in reference.items():
        assert ours[key] == pytest.approx(value, abs=1e-12), key


def test_a_split_with_one_class_scores_as_sklearn_weights_it_and_non0_of_all_zero_truths_is_nan():
    truth, pred = np.array([1.0, 2.0, 0.5, 3.0]), np.array([0.4, -1.0, 2.0, 1.0])
    out = sentiment_metrics(pred, truth)
    assert out["acc2_has0"] == pytest.approx(0.75)
    # only the positive class has support: its F1 (P 1, R 3/4) is the weighted F1
    assert out["f1_has0"] == pytest.approx(f1_score(truth >= 0, pred >= 0, average="weighted")) == pytest.approx(6 / 7)
    zeros = sentiment_metrics(np.array([0.5, -0.5]), np.zeros(2))
    assert np.isnan(zeros["acc2_non0"]) and np.isnan(zeros["f1_non0"]) and np.isnan(zeros["corr"])
    assert zeros["acc2_has0"] == pytest.approx(0.5)


def test_nan_predictions_and_empty_splits_are_errors_not_numbers():
    with pytest.raises(SchemaMismatchError, match="NaN/inf"):
        sims_metrics(np.array([0.1, np.nan]), np.array([0.2, 0.4]))
    with pytest.raises(SchemaMismatchError, match="no predictions"):
        sims_metrics(np.array([]), np.array([]))
    with pytest.raises(SchemaMismatchError, match="no image"):
        retrieval_metrics(np.zeros((0, 0)), np.zeros(0, dtype=np.int64))
    with pytest.raises(SchemaMismatchError, match="NaN/inf"):
        retrieval_metrics(np.array([[np.nan, 0.0]]), np.array([0, 0]))


def _pessimistic_ranks(scores: np.ndarray, caption_image: np.ndarray) -> tuple[list[int], list[int]]:
    """0-based ranks from a full sort where, among equal scores, the wrong items come first."""
    i2t = []
    for image in range(scores.shape[0]):
        own = caption_image == image
        order = np.lexsort((own, -scores[image]))
        i2t.append(int(np.flatnonzero(own[order])[0]))
    t2i = []
    for caption, image in enumerate(caption_image):
        own = np.arange(scores.shape[0]) == image
        order = np.lexsort((own, -scores[:, caption]))
        t2i.append(int(np.flatnonzero(own[order])[0]))
    return i2t, t2i


def _vsepp_ranks(scores: np.ndarray, caption_image: np.ndarray) -> tuple[list[int], list[int]]:
    """VSE++ `i2t`/`t2i`: argsort descending; an image's rank is its best caption's."""
    i2t = [min(int(np.where(np.argsort(scores[i])[::-1] == j)[0][0]) for j in np.flatnonzero(caption_image == i))
           for i in range(scores.shape[0])]
    t2i = [int(np.where(np.argsort(scores[:, j])[::-1] == caption_image[j])[0][0]) for j in range(len(caption_image))]
    return i2t, t2i


@pytest.mark.parametrize("seed", range(8))
def test_ranks_count_ties_against_the_query_and_equal_vsepp_without_ties(seed):
    rng = np.random.default_rng(seed)
    n_images, per_image = 7, 5
    caption_image = rng.permutation(np.repeat(np.arange(n_images), per_image))
    tied = rng.integers(0, 3, size=(n_images, len(caption_image))).astype(float)  # ties everywhere
    i2t, t2i = _pessimistic_ranks(tied, caption_image)
    assert image_to_text_ranks(tied, caption_image).tolist() == i2t
    assert text_to_image_ranks(tied, caption_image).tolist() == t2i
    distinct = rng.normal(size=tied.shape)
    i2t, t2i = _vsepp_ranks(distinct, caption_image)
    assert image_to_text_ranks(distinct, caption_image).tolist() == i2t
    assert text_to_image_ranks(distinct, caption_image).tolist() == t2i
    out = retrieval_metrics(distinct, caption_image)
    for k in (1, 5, 10):
        assert out[f"i2t_r{k}"] == pytest.approx(100 * np.mean(np.array(i2t) < k))
        assert out[f"t2i_r{k}"] == pytest.approx(100 * np.mean(np.array(t2i) < k))
    assert out["i2t_medr"] == np.floor(np.median(i2t)) + 1 and out["t2i_medr"] == np.floor(np.median(t2i)) + 1


def test_an_image_is_hit_when_any_of_its_five_captions_is_in_the_top_k():
    caption_image = np.repeat(np.arange(3), 5)
    scores = np.zeros((3, 15))
    scores[0, 14] = 1.0  # image 0's best caption: a wrong one
    scores[0, 4] = 0.5  # its 5th own caption comes second -> rank 1
    out = retrieval_metrics(scores, caption_image, ks=(1, 2))
    assert image_to_text_ranks(scores, caption_image)[0] == 1
    # images 1 and 2 tie with 13 wrong captions at 0 (+ image 0's caption 14 above): pessimistic rank >= 10
    assert out["i2t_r1"] == 0.0 and out["i2t_r2"] == pytest.approx(100 / 3)


def test_median_rank_is_one_based_floor_of_the_median():
    assert median_rank(np.array([0, 0, 1, 5])) == 1.0  # median 0.5 -> floor 0 -> rank 1
    assert median_rank(np.array([3, 4, 9])) == 5.0


def test_1k_folds_average_five_independent_fold_evaluations_unlike_the_full_set():
    rng = np.random.default_rng(3)
    n_images, per_image, fold = 50, 5, 10  # 5 folds of 10 images, as 5K -> 5 x 1K
    caption_image = np.repeat(np.arange(n_images), per_image)
    scores = rng.normal(size=(n_images, n_images * per_image))
    scores[caption_image, np.arange(len(caption_image))] += 1.5
    folded = folded_retrieval_metrics(scores, caption_image, fold_size=fold)
    per_fold = []
    for start in range(0, n_images, fold):
        images = np.arange(start, start + fold)
        columns = np.flatnonzero(np.isin(caption_image, images))
        i2t, t2i = _vsepp_ranks(scores[images][:, columns], caption_image[columns] - start)
        per_fold.append((np.mean(np.array(i2t) < 1), np.mean(np.array(t2i) < 5), np.floor(np.median(t2i)) + 1))
    assert folded["i2t_r1"] == pytest.approx(100 * np.mean([f[0] for f in per_fold]))
    assert folded["t2i_r5"] == pytest.approx(100 * np.mean([f[1] for f in per_fold]))
    assert folded["t2i_medr"] == pytest.approx(np.mean([f[2] for f in per_fold]))
    # the full set has 5x the distractors: recall drops
    assert retrieval_metrics(scores, caption_image)["t2i_r5"] < folded["t2i_r5"]
