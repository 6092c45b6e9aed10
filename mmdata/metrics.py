"""Standard metrics: MOSI-style sentiment regression and image-text retrieval Recall@K.

Sentiment (labels in [-3, 3]), as MulT (`eval_mosei_senti`) and MMSA (`__eval_mosei_regression`) compute them:

- MAE on unclipped values; Pearson correlation (`np.corrcoef`).
- Acc-2 and weighted F1 in two conventions: `has0` (negative `< 0` vs non-negative `>= 0`, all samples;
  papers' "Acc-2 a") and `non0` (samples with truth 0 dropped, then `> 0` vs `> 0`; papers' "Acc-2 b").
- Acc-7 / Acc-5: `round(clip(x, -3, 3))` (resp. ±2) of prediction and truth must agree; `np.round` rounds
  half to even (0.5 -> 0, 1.5 -> 2, -2.5 -> -2), exactly like the reference code.
- `cmumosei_round`: the CMU-MultimodalSDK MOSEI README's own 7-class binning (0 is a class of its own;
  (0, 1] -> 1, ...), kept separate because it disagrees with `np.round` on e.g. 0.3 and 1.5.

CH-SIMS (labels in [-1, 1]), as MMSA (`__eval_sims_regression`) computes it: prediction and truth clipped
to [-1, 1]; MAE and Pearson on the clipped values; classes are intervals `(lo, hi]` (the first one closed):
2 classes cut at 0 (`[-1, 0]` negative, `(0, 1]` positive) with weighted F1, 3 classes cut at -0.1 and 0.1,
5 classes cut at -0.7, -0.1, 0.1 and 0.7.

Retrieval: a score matrix `(n_images, n_captions)` plus, for each caption, the index of its image. Image->text
counts a hit at K when any caption of the image is among the top K; text->image when the caption's image is.
Ties count against the query (a constant scorer gets 0, not 100): VSE++ and SCAN rank with
`np.argsort(scores)[::-1]`, whose order among equal scores is an accident of the sort, so the conservative
(pessimistic) rank is used; without ties both agree. The median rank (`i2t_medr`, `t2i_medr`) is 1-based,
`floor(median(rank)) + 1`, as VSE++/SCAN report it.

    >>> sentiment_metrics(np.array([1.2, -0.4, 0.0]), np.array([1.0, -1.0, 0.0]))["mae"]
    0.2666...
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from mmdata.errors import SchemaMismatchError

BinaryConvention = Literal["has0", "non0"]
RECALL_KS: tuple[int, ...] = (1, 5, 10)
_BLOCK = 1024
#: Sentiment metric keys in report order (MMSA's, plus Pearson named `corr`).
SENTIMENT_KEYS: tuple[str, ...] = (
    "mae", "corr", "acc2_has0", "f1_has0", "acc2_non0", "f1_non0", "acc7", "acc5", "acc7_cmumosei",
)


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute error on the raw (unclipped) values."""
    pred, truth = _pair(pred, truth)
    return float(np.mean(np.abs(pred - truth)))


def pearson(pred: np.ndarray, truth: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant (the correlation is undefined)."""
    pred, truth = _pair(pred, truth)
    # Constant means every value equal (np.ptp == 0): np.std of np.full(21, 0.1) is 1.7e-17, not 0, and
    # the mean predictor then got a correlation of 2e-17 instead of "undefined".
    if len(pred) < 2 or np.ptp(pred) == 0 or np.ptp(truth) == 0:
        return float("nan")
    return float(np.corrcoef(pred, truth)[0, 1])


def binary_labels(values: np.ndarray, convention: BinaryConvention) -> np.ndarray:
    """Sentiment polarity as booleans: has0 = `>= 0` (non-negative), non0 = `> 0` (positive)."""
    values = np.asarray(values, dtype=np.float64)
    if convention == "has0":
        return values >= 0
    if convention == "non0":
        return values > 0
    raise ValueError(f"convention must be 'has0' or 'non0', got {convention!r}")


def binary_accuracy(pred: np.ndarray, truth: np.ndarray, convention: BinaryConvention = "has0") -> float:
    """Acc-2. has0: all samples, `>= 0` vs `>= 0`. non0: samples with truth 0 dropped, `> 0` vs `> 0`."""
    pred, truth = _binary_subset(pred, truth, convention)
    if len(truth) == 0:
        return float("nan")
    return float(np.mean(binary_labels(pred, convention) == binary_labels(truth, convention)))


def binary_f1(pred: np.ndarray, truth: np.ndarray, convention: BinaryConvention = "has0") -> float:
    """Weighted F1 of the Acc-2 decision (`sklearn.metrics.f1_score(average='weighted')`)."""
    from sklearn.metrics import f1_score

    pred, truth = _binary_subset(pred, truth, convention)
    if len(truth) == 0:
        return float("nan")
    return float(
        f1_score(binary_labels(truth, convention), binary_labels(pred, convention), average="weighted", zero_division=0)
    )


def multiclass_accuracy(pred: np.ndarray, truth: np.ndarray, *, bound: float) -> float:
    """Acc-7 (bound=3) / Acc-5 (bound=2): `np.round(np.clip(x, -bound, bound))` must agree (half to even)."""
    pred, truth = _pair(pred, truth)
    return float(np.mean(np.round(np.clip(pred, -bound, bound)) == np.round(np.clip(truth, -bound, bound))))


def cmumosei_round(values: np.ndarray) -> np.ndarray:
    """The SDK MOSEI README's 7-class binning of sentiment values.

    `x < -2 -> -3, [-2, -1) -> -2, [-1, 0) -> -1, 0 -> 0, (0, 1] -> 1, (1, 2] -> 2, x > 2 -> 3`.
    """
    values = np.asarray(values, dtype=np.float64)
    negative = -np.clip(np.ceil(-values), 1, 3)  # [-1, 0) -> -1, [-2, -1) -> -2, < -2 -> -3
    positive = np.clip(np.ceil(values), 1, 3)  # (0, 1] -> 1, (1, 2] -> 2, > 2 -> 3
    return np.where(values < 0, negative, np.where(values > 0, positive, 0.0))


def cmumosei_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """7-class accuracy with `cmumosei_round` instead of `np.round(np.clip(...))`."""
    pred, truth = _pair(pred, truth)
    return float(np.mean(cmumosei_round(pred) == cmumosei_round(truth)))


def sentiment_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Every sentiment metric of `SENTIMENT_KEYS` for one set of predictions.

    Raises:
        SchemaMismatchError: the arrays differ in length, are empty or hold non-finite values.
    """
    return {
        "mae": mae(pred, truth),
        "corr": pearson(pred, truth),
        "acc2_has0": binary_accuracy(pred, truth, "has0"),
        "f1_has0": binary_f1(pred, truth, "has0"),
        "acc2_non0": binary_accuracy(pred, truth, "non0"),
        "f1_non0": binary_f1(pred, truth, "non0"),
        "acc7": multiclass_accuracy(pred, truth, bound=3),
        "acc5": multiclass_accuracy(pred, truth, bound=2),
        "acc7_cmumosei": cmumosei_accuracy(pred, truth),
    }


#: CH-SIMS metric keys in report order (MMSA's `Mult_acc_2, F1_score, Mult_acc_3, Mult_acc_5, MAE, Corr`).
SIMS_KEYS: tuple[str, ...] = ("mae", "corr", "acc2", "f1", "acc3", "acc5")
#: Inner class boundaries of the SIMS 2-, 3- and 5-class accuracies (classes are `(lo, hi]`).
SIMS_CUTS: dict[int, tuple[float, ...]] = {2: (0.0,), 3: (-0.1, 0.1), 5: (-0.7, -0.1, 0.1, 0.7)}


def sims_classes(values: np.ndarray, classes: int) -> np.ndarray:
    """Class index of each value (clipped to [-1, 1]) for the SIMS 2/3/5-class accuracies."""
    clipped = np.clip(np.asarray(values, dtype=np.float64), -1.0, 1.0)
    return np.searchsorted(np.array(SIMS_CUTS[classes]), clipped, side="left")


def sims_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Every CH-SIMS metric of `SIMS_KEYS` for one set of predictions (see the module docstring).

    Raises:
        SchemaMismatchError: the arrays differ in length, are empty or hold non-finite values.
    """
    from sklearn.metrics import f1_score

    pred, truth = _pair(pred, truth)
    pred, truth = np.clip(pred, -1.0, 1.0), np.clip(truth, -1.0, 1.0)
    accuracy = {k: float(np.mean(sims_classes(pred, k) == sims_classes(truth, k))) for k in SIMS_CUTS}
    return {
        "mae": float(np.mean(np.abs(pred - truth))),
        "corr": pearson(pred, truth),
        "acc2": accuracy[2],
        "f1": float(f1_score(sims_classes(truth, 2), sims_classes(pred, 2), average="weighted", zero_division=0)),
        "acc3": accuracy[3],
        "acc5": accuracy[5],
    }


# --- retrieval ----------------------------------------------------------------------------------


def image_to_text_ranks(scores: np.ndarray, caption_image: np.ndarray) -> np.ndarray:
    """For each image, the 0-based rank of its best-ranked caption among all captions.

    The rank is the number of *other* images' captions scoring at least as high as the image's best
    caption (ties with wrong captions count against the query).
    """
    scores, caption_image = _check_scores(scores, caption_image)
    n_images = scores.shape[0]
    own = scores[caption_image, np.arange(len(caption_image))]
    best = np.full(n_images, -np.inf)
    np.maximum.at(best, caption_image, own)
    if np.isneginf(best).any():
        missing = int(np.flatnonzero(np.isneginf(best))[0])
        raise SchemaMismatchError(f"image {missing} has no caption; every image needs at least one for retrieval")
    own_at_best = np.zeros(n_images, dtype=np.int64)
    np.add.at(own_at_best, caption_image, own >= best[caption_image])
    ranks = np.empty(n_images, dtype=np.int64)
    for start in range(0, n_images, _BLOCK):  # blocks bound the (block, n_captions) comparison in memory
        block = slice(start, start + _BLOCK)
        ranks[block] = (scores[block] >= best[block, None]).sum(axis=1) - own_at_best[block]
    return ranks


def text_to_image_ranks(scores: np.ndarray, caption_image: np.ndarray) -> np.ndarray:
    """For each caption, the 0-based rank of its image among all images (ties count against it)."""
    scores, caption_image = _check_scores(scores, caption_image)
    own = scores[caption_image, np.arange(len(caption_image))]
    ranks = np.empty(len(caption_image), dtype=np.int64)
    for start in range(0, len(caption_image), _BLOCK):
        block = slice(start, start + _BLOCK)
        ranks[block] = (scores[:, block] >= own[None, block]).sum(axis=0) - 1
    return ranks


def recall_at_k(ranks: np.ndarray, ks: Sequence[int] = RECALL_KS) -> dict[int, float]:
    """Fraction of queries whose 0-based rank is < K, as a percentage, for each K."""
    ranks = np.asarray(ranks)
    return {k: float(100.0 * np.mean(ranks < k)) for k in ks}


def median_rank(ranks: np.ndarray) -> float:
    """VSE++/SCAN's `medr` of 0-based ranks: `floor(median(rank)) + 1` (1 is best)."""
    return float(np.floor(np.median(np.asarray(ranks))) + 1)


def retrieval_metrics(scores: np.ndarray, caption_image: np.ndarray, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """Recall@K (percent) for image->text (`i2t_r1`, ...) and text->image (`t2i_r1`, ...), `rsum`, and
    the median ranks `i2t_medr`, `t2i_medr`.

    Args:
        scores: (n_images, n_captions) similarity, higher = more similar.
        caption_image: (n_captions,) index of each caption's image.

    Raises:
        SchemaMismatchError: the shapes disagree, there is no image, an image has no caption, or a score
            is not finite.
    """
    i2t_ranks = image_to_text_ranks(scores, caption_image)
    t2i_ranks = text_to_image_ranks(scores, caption_image)
    i2t, t2i = recall_at_k(i2t_ranks, ks), recall_at_k(t2i_ranks, ks)
    out = {f"i2t_r{k}": v for k, v in i2t.items()} | {f"t2i_r{k}": v for k, v in t2i.items()}
    out["rsum"] = float(sum(i2t.values()) + sum(t2i.values()))
    out["i2t_medr"], out["t2i_medr"] = median_rank(i2t_ranks), median_rank(t2i_ranks)
    return out


def chance_recall(
    caption_counts: Sequence[int] | np.ndarray | int,
    captions_per_image: float | None = None,
    ks: Sequence[int] = RECALL_KS,
) -> dict[str, float]:
    """Expected Recall@K (percent) of a random scorer, for comparison with `retrieval_metrics`.

    `caption_counts` holds each test image's caption count (images may differ: Flickr/COCO have a few with
    6 or 7). With N captions in all, an image query ranks all N and hits when any of its c_i captions is
    in the top K: P = 1 - C(N - c_i, K) / C(N, K), averaged over the images (exact, not the value at the
    mean count, which is wrong when the counts differ). A caption query ranks the n images: K / n.

    The old form `chance_recall(n_images, captions_per_image)` still works for a whole number of captions
    per image (every image the same).

    Raises:
        SchemaMismatchError: no image, an image without caption, or a fractional `captions_per_image`.
    """
    counts = _caption_counts(caption_counts, captions_per_image)
    n_images, n_captions = len(counts), int(counts.sum())
    out = {}
    for k in ks:
        out[f"i2t_r{k}"] = 100.0 * float(np.mean([1.0 - _miss_probability(n_captions, int(c), k) for c in counts]))
    for k in ks:
        out[f"t2i_r{k}"] = 100.0 * min(1.0, k / n_images)
    out["rsum"] = sum(out.values())
    return out


def _caption_counts(caption_counts: Sequence[int] | np.ndarray | int, captions_per_image: float | None) -> np.ndarray:
    """Per-image caption counts from either form `chance_recall` takes."""
    if np.ndim(caption_counts) == 0:
        n_images = int(caption_counts)  # type: ignore[arg-type]
        if captions_per_image is None or captions_per_image != int(captions_per_image):
            raise SchemaMismatchError(
                f"chance_recall({n_images}, {captions_per_image!r}): a count of images needs a whole number of "
                "captions per image; expected each image's caption count instead, e.g. "
                "chance_recall(np.bincount(caption_image))"
            )
        counts = np.full(n_images, int(captions_per_image), dtype=np.int64)
    else:
        counts = np.asarray(caption_counts, dtype=np.int64).reshape(-1)
    if len(counts) == 0 or counts.min() < 1:
        raise SchemaMismatchError(
            f"chance recall needs at least one image and a caption for every image, got {len(counts)} image(s) "
            f"with counts from {counts.min() if len(counts) else '-'}; leave out images without captions"
        )
    return counts


def _miss_probability(n_captions: int, own: int, k: int) -> float:
    """C(N - c, K) / C(N, K): the chance that none of an image's `own` captions is in a random top K of N."""
    miss = 1.0
    for j in range(min(k, n_captions)):
        miss *= max(0.0, (n_captions - own - j) / (n_captions - j))
    return miss


def tied_queries(scores: np.ndarray, caption_image: np.ndarray) -> dict[str, int]:
    """How many queries have a wrong item scoring exactly as high as their (best) right one.

    Only for these does the pessimistic tie rule matter: their rank would be better under an optimistic
    rule or a sort's accidental order. `i2t`: images whose best caption ties with another image's caption;
    `t2i`: captions whose image ties with another image.
    """
    scores, caption_image = _check_scores(scores, caption_image)
    n_images, n_captions = scores.shape
    own = scores[caption_image, np.arange(n_captions)]
    best = np.full(n_images, -np.inf)
    np.maximum.at(best, caption_image, own)
    i2t = 0
    for start in range(0, n_images, _BLOCK):
        block = np.arange(start, min(start + _BLOCK, n_images))
        equal = scores[block] == best[block, None]
        equal &= caption_image[None, :] != block[:, None]  # a second own caption at the best score is no tie
        i2t += int(equal.any(axis=1).sum())
    t2i = 0
    for start in range(0, n_captions, _BLOCK):
        block = np.arange(start, min(start + _BLOCK, n_captions))
        equal = scores[:, block] == own[None, block]
        equal[caption_image[block], np.arange(len(block))] = False
        t2i += int(equal.any(axis=0).sum())
    return {"i2t": i2t, "t2i": t2i}


def fold_slices(n_images: int, fold_size: int = 1000) -> list[slice]:
    """The standard 1K protocol's folds: consecutive blocks of `fold_size` images (5 on COCO 5K test).

    Empty when the split has fewer than two folds' worth of images (then only the full set is reported).
    """
    if n_images < 2 * fold_size:
        return []
    return [slice(start, start + fold_size) for start in range(0, n_images - fold_size + 1, fold_size)]


def folded_retrieval_metrics(
    scores: np.ndarray, caption_image: np.ndarray, fold_size: int = 1000, ks: Sequence[int] = RECALL_KS
) -> dict[str, float] | None:
    """Every `retrieval_metrics` value averaged over `fold_slices` (the "1K test" protocol, as VSE++/SCAN average
    theirs), or None when the split is too small."""
    scores, caption_image = _check_scores(scores, caption_image)
    folds = fold_slices(scores.shape[0], fold_size)
    if not folds:
        return None
    results = []
    for fold in folds:
        keep = (caption_image >= fold.start) & (caption_image < fold.stop)
        results.append(retrieval_metrics(scores[fold][:, keep], caption_image[keep] - fold.start, ks))
    return {key: float(np.mean([r[key] for r in results])) for key in results[0]}


# --- what the reported numbers mean ---------------------------------------------------------------

#: The `metric_definitions` block of the sentiment metrics JSON (MOSI/MOSEI scoring): units and conventions
#: that the key names alone do not state. The values under `metrics` are unchanged by it.
SENTIMENT_DEFINITIONS: dict[str, object] = {
    "reference": "MulT eval_mosei_senti / MMSA __eval_mosei_regression (CMU-MultimodalSDK for acc7_cmumosei)",
    "units": "mae in label units; corr a Pearson coefficient in [-1, 1]; every acc*/f1* a fraction in [0, 1] "
             "(the printed table shows them as percentages)",
    "keys": {
        "mae": "mean |prediction - truth| on unclipped values",
        "corr": "Pearson correlation (np.corrcoef); null when predictions or truths are constant",
        "acc2_has0": "Acc-2, all samples: negative (< 0) vs non-negative (>= 0); papers' 'Acc-2 a'",
        "f1_has0": "weighted F1 (sklearn average='weighted') of the acc2_has0 decision",
        "acc2_non0": "Acc-2 with the samples whose truth is exactly 0 dropped: negative vs positive; papers' 'Acc-2 b'",
        "f1_non0": "weighted F1 of the acc2_non0 decision",
        "acc7": "np.round(np.clip(x, -3, 3)) of prediction and truth agree (round half to even)",
        "acc5": "np.round(np.clip(x, -2, 2)) of prediction and truth agree (round half to even)",
        "acc7_cmumosei": "7 classes by the CMU-MultimodalSDK MOSEI README's binning (0 its own class, (0, 1] -> 1, ...)",
    },
}
#: The same for CH-SIMS exports (labels in [-1, 1]), scored as MMSA's __eval_sims_regression.
SIMS_DEFINITIONS: dict[str, object] = {
    "reference": "MMSA __eval_sims_regression",
    "units": "mae in label units; corr a Pearson coefficient; acc*/f1 fractions in [0, 1] (the table shows percentages)",
    "keys": {
        "mae": "mean |prediction - truth| after clipping both to [-1, 1]",
        "corr": "Pearson correlation of the clipped values",
        "acc2": "2 classes [-1, 0] / (0, 1]",
        "f1": "weighted F1 of the acc2 classes",
        "acc3": "3 classes cut at -0.1 and 0.1 (intervals (lo, hi])",
        "acc5": "5 classes cut at -0.7, -0.1, 0.1, 0.7 (intervals (lo, hi])",
    },
}
def retrieval_definitions(one: str = "image", many: str = "images") -> dict[str, object]:
    """The `metric_definitions` block of the retrieval metrics JSON, naming the media items as the run's
    protocol and notes do (`one`/`many`: image/images, video/videos, audio clip/audio clips). The keys say
    i2t/t2i whatever the media: a video-text run's `i2t_rK` is video -> text."""
    return {
        "reference": "VSE++ / SCAN evaluation (i2t, t2i Recall@K, rsum, medr)",
        "units": "every r* key and rsum in percent (0-100); medr a 1-based rank",
        "ties": "pessimistic: a wrong item scoring exactly as high as the right one ranks before it (a constant "
                "scorer gets 0, not 100); details.tied_queries counts the queries this touched",
        "keys": {
            "i2t_rK": f"{one} -> text: share of test {many} with any of their captions among the top K of all captions",
            "t2i_rK": f"text -> {one}: share of test captions whose {one} is among the top K of all test {many}",
            "rsum": "i2t_r1 + i2t_r5 + i2t_r10 + t2i_r1 + t2i_r5 + t2i_r10",
            "i2t_medr": f"median rank of each {one}'s best caption, floor(median(0-based rank)) + 1",
            "t2i_medr": f"median rank of each caption's {one}, floor(median(0-based rank)) + 1",
            "t2t_rK": f"text-only row: a caption retrieves the other captions; hit when one of its {one}'s other "
                      "captions is in the top K",
            "chance": f"row of the expected recall of a random scorer, exact for the test {many}' caption counts",
            "folded_1k": f"the same keys averaged over folds of 1000 consecutive {many} (COCO 1K test), when there "
                         f"are >= 2000 {many}",
        },
    }


#: The `metric_definitions` block of the retrieval metrics JSON of an image-text run.
RETRIEVAL_DEFINITIONS: dict[str, object] = retrieval_definitions()
#: One-line legends printed under the recipes' tables.
SENTIMENT_LEGEND = ("MAE in label units; Acc/F1 in % (JSON: fractions); has0: < 0 vs >= 0, all samples; non0: truth-0 "
                    "samples dropped; Acc7/Acc5: np.round of clipped values (MMSA/MulT)")
SIMS_LEGEND = ("MAE in label units, values clipped to [-1, 1]; Acc/F1 in % (JSON: fractions); classes as MMSA's "
               "SIMS evaluation")
RETRIEVAL_LEGEND = ("Recall@K in % (JSON too); ties count against the query; chance: expected recall of a random "
                    "scorer (VSE++/SCAN protocol)")


# --- helpers ------------------------------------------------------------------------------------


def _pair(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    truth = np.asarray(truth, dtype=np.float64).reshape(-1)
    if pred.shape != truth.shape:
        raise SchemaMismatchError(f"predictions have {len(pred)} values, truths {len(truth)}; expected the same count")
    if len(pred) == 0:
        raise SchemaMismatchError("no predictions to evaluate; expected at least one sample")
    if not (np.isfinite(pred).all() and np.isfinite(truth).all()):
        raise SchemaMismatchError("predictions or truths hold NaN/inf; expected finite values (check the model output)")
    return pred, truth


def _binary_subset(pred: np.ndarray, truth: np.ndarray, convention: BinaryConvention) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = _pair(pred, truth)
    if convention == "non0":
        keep = truth != 0
        return pred[keep], truth[keep]
    binary_labels(truth[:0], convention)  # validates the name
    return pred, truth


def _check_scores(scores: np.ndarray, caption_image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    caption_image = np.asarray(caption_image, dtype=np.int64).reshape(-1)
    if scores.ndim != 2 or scores.shape[1] != len(caption_image):
        raise SchemaMismatchError(
            f"score matrix has shape {scores.shape}, expected (n_images, {len(caption_image)}) "
            "with one column per caption"
        )
    if len(caption_image) and (caption_image.min() < 0 or caption_image.max() >= scores.shape[0]):
        raise SchemaMismatchError(
            f"caption image indices span [{caption_image.min()}, {caption_image.max()}], expected [0, {scores.shape[0] - 1}]"
        )
    if scores.shape[0] == 0:
        raise SchemaMismatchError("score matrix has no image; expected at least one image with a caption to evaluate")
    if not np.isfinite(scores).all():
        raise SchemaMismatchError("score matrix holds NaN/inf; expected finite similarities")
    return scores, caption_image
