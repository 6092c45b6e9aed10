"""The multi-label probe of `train classify`: one-vs-rest logistic regression on a fused export's multi-hot
class targets (`mmdata fuse --class-label NAME` over lists of class names: MM-IMDb genres, AudioSet events).

    classes, splits = read_target_splits(export_dir, metadata)   # {"train": TargetSplit(ids, x, targets (n, C))}
    trained = trainable_classes(splits["train"])                  # classes positive in some train rows, not all
    probe, search = fit_multilabel(splits["train"], splits.get("val"), trained, seed=0)
    metrics = multilabel_metrics(targets[:, trained], probe_scores(probe, x))

One scikit-learn `LogisticRegression` per class (`OneVsRestClassifier`, L-BFGS, L2 strength `C` chosen on
the validation split's mAP from `classify_probe.C_GRID`, a tie to the smaller C). A class that the train
split never holds (or holds in every row) cannot be learned: it is left out of the probe and of every
figure, and named in the notes; a train split with no such learnable class is refused. Rows without a
class value (every target -1, `fuse --missing-class keep`) are left out and counted.

Metrics over the learned classes of a scored split, as AudioSet and MM-IMDb papers report them:
    map       mean over the classes with a positive row in the split of their average precision
              (sklearn `average_precision_score` of the class's scores)
    micro_f1  F1 of every (row, class) decision pooled, a class predicted where its probability > 0.5
    macro_f1  mean F1 over the classes positive in the split's targets or predictions
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import DatasetError
from mmdata.models.classify_probe import C_GRID, DEFAULT_C, MAX_ITER
from mmdata.models.data import check_finite, read_fused_splits

#: A class is predicted for a row where its probability exceeds this (its logit exceeds 0).
THRESHOLD = 0.5
MULTI_COLUMNS = [("map", "mAP"), ("micro_f1", "Micro-F1"), ("macro_f1", "Macro-F1")]
MULTI_PERCENT = ("map", "micro_f1", "macro_f1")
MULTI_DEFINITIONS: dict[str, object] = {
    "map": "mean over the learned classes with a positive row in the split of their average precision "
           "(sklearn average_precision_score of the class's logits); null when no such class",
    "micro_f1": f"F1 of all (row, learned class) decisions pooled; a class is predicted where its probability > {THRESHOLD}",
    "macro_f1": "mean F1 over the learned classes positive in the split's targets or predictions",
    "per_class": "each class: support (rows of the split holding it), ap and f1 (null when not learned or, ap, "
                 "no positive row), learned (positive in some train rows, not all)",
    "prior": "reference row: every row scores each class by its train positive rate (its AP is the class's "
             "positive rate in the split; it predicts the classes most train rows hold)",
}
MULTI_LEGEND = (f"mAP, Micro-F1 and Macro-F1 in % (JSON: fractions) over the learned classes; F1 at probability "
                f"> {THRESHOLD}; prior: each class scored by its train positive rate")


@dataclass
class TargetSplit:
    """One split's rows with a class value: ids, the fused vectors (n, D) float32, targets (n, C) 0/1 float32."""

    sample_ids: np.ndarray
    features: np.ndarray
    targets: np.ndarray
    #: Rows of the split read without a class value (every target -1), left out.
    unlabeled: int = 0

    def __len__(self) -> int:
        return len(self.targets)


def read_target_splits(export_dir: Path, metadata: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, TargetSplit]]:
    """(class names, every split's rows with a class value) of a pooled multi-label fused export.

    Raises:
        DatasetError: targets whose shape or values disagree with fused.json (the export is damaged).
    """
    from mmdata.fusion.classes import export_classes

    classes = export_classes(metadata, export_dir)
    out = {}
    for split, data in read_fused_splits(export_dir).items():
        x = np.concatenate([data.features[m] for m in dict.fromkeys(metadata["modalities"])], axis=1)
        y = _split_targets(export_dir, metadata, split, len(classes))
        unlabeled = (y < 0).all(axis=1)
        if len(y) != len(x) or not np.isin(y[~unlabeled], (0.0, 1.0)).all():
            raise DatasetError(f"split {split!r} of {export_dir}: its class_targets column ({y.shape[0]} rows) does not "
                               f"fit its {len(x)} rows or holds values other than 0 and 1 (or -1 in every place of an "
                               "unlabeled row); re-create the export with `mmdata fuse --force`")
        keep = np.flatnonzero(~unlabeled)
        out[split] = TargetSplit(data.sample_ids[keep], x[keep], y[keep], unlabeled=int(unlabeled.sum()))
    return classes, out


def _split_targets(export_dir: Path, metadata: dict[str, Any], split: str, classes: int) -> np.ndarray:
    """(n, C) float32 targets of a split, rows in the order `read_fused_splits` reads them (same files)."""
    from mmdata.fusion.class_targets import TARGETS_COLUMN
    from mmdata.fusion.classes import split_class_ids

    files = [export_dir / f for f in metadata["files"].get(split, [])] if metadata["format"] == "parquet" else None
    return split_class_ids(export_dir, split, metadata["format"], TARGETS_COLUMN, classes, parquet_files=files)


def trainable_classes(train: TargetSplit) -> np.ndarray:
    """Ids of the classes a probe can learn from `train`: positive in some rows and negative in others."""
    positives = train.targets.sum(axis=0)
    return np.flatnonzero((positives > 0) & (positives < len(train)))


def check_multilabel_trainable(export_dir: Path, train_split: str, train: TargetSplit | None, classes: tuple[str, ...],
                               evaluated: dict[str, TargetSplit]) -> np.ndarray:
    """The learnable class ids, after refusing in one line a train split that is missing, has no learnable
    class, or holds NaN/inf features (evaluated splits too).

    Raises:
        DatasetError: naming the split and what it holds.
    """
    if train is None or not len(train):
        raise DatasetError(f"fused export {export_dir} has no row with a class value in split {train_split!r}; expected "
                           "the rows to train the probe on: choose the split with --train-split (train_split=)")
    trained = trainable_classes(train)
    if not len(trained):
        held = [classes[c] for c in np.flatnonzero(train.targets.sum(axis=0) == len(train))]
        raise DatasetError(f"split {train_split!r} of {export_dir}: none of its {len(classes)} classes is held by some of "
                           f"its {len(train)} rows and not by others (held by every row: {held[:5]}); a classifier "
                           "learns a class from rows with it and rows without it: fuse a corpus (or choose a train "
                           "split) whose rows differ in their classes")
    for split, part in {train_split: train, **evaluated}.items():
        check_finite(part.features, part.sample_ids, f"split {split!r} of {export_dir}",
                     "fuse with --non-finite missing, or re-extract the tables")
    return trained


def fit_multilabel(train: TargetSplit, valid: TargetSplit | None, trained: np.ndarray,
                   seed: int) -> tuple[Any, dict[str, Any]]:
    """The fitted one-vs-rest probe over the `trained` classes and how its C was chosen: `grid`, the
    validation mAP and micro-F1 of each C (`valid_map`, `valid_micro_f1`), `C`, and whether every final fit
    converged. The best mAP wins, a tie going to the better micro-F1, then to the smaller C: mAP ranks
    alone, and a C too small for any probability to pass 0.5 would tie the best mAP with no decision made."""
    search: dict[str, Any] = {"grid": list(C_GRID) if valid is not None else [DEFAULT_C], "valid_map": {},
                              "valid_micro_f1": {}}
    chosen, best = DEFAULT_C, None
    for c in C_GRID if valid is not None else ():
        assert valid is not None
        probe = _fit(train, trained, c, seed)
        metrics = multilabel_metrics(valid.targets[:, trained], probe_scores(probe, valid.features))
        search["valid_map"][str(c)], search["valid_micro_f1"][str(c)] = metrics["map"], metrics["micro_f1"]
        key = tuple(np.nan_to_num([metrics["map"], metrics["micro_f1"]], nan=-1.0))
        if best is None or key > best:
            chosen, best = c, key
    probe = _fit(train, trained, chosen, seed)
    iterations = max(int(np.max(e.n_iter_)) for e in probe.estimators_)
    search.update(C=chosen, iterations=iterations, converged=iterations < MAX_ITER)
    return probe, search


def _fit(train: TargetSplit, trained: np.ndarray, c: float, seed: int) -> Any:
    """One L-BFGS logistic regression per learned class with L2 strength C (deterministic for a seed)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    probe = OneVsRestClassifier(LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported as `converged`, not as a warning per C
        # one learned class (one column) is read as a binary target: one regression all the same
        probe.fit(train.features, train.targets[:, trained].astype(np.int64))
    return probe


def probe_scores(probe: Any, features: np.ndarray) -> np.ndarray:
    """(n, K) logits of the learned classes: x w_k + b_k per class, as each class's regression scores it."""
    x = features.astype(np.float64)
    return np.stack([x @ e.coef_[0] + e.intercept_[0] for e in probe.estimators_], axis=1)


def multilabel_metrics(truth: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """{map, micro_f1, macro_f1} of scores (n, K) against 0/1 targets (n, K) (module docstring)."""
    from sklearn.metrics import average_precision_score

    truth = truth.astype(bool)
    predicted = scores > 0  # probability > THRESHOLD
    with_positive = np.flatnonzero(truth.any(axis=0))
    ap = [float(average_precision_score(truth[:, k], scores[:, k])) for k in with_positive]
    tp, fp, fn = _counts(truth, predicted)
    defined = np.flatnonzero(truth.any(axis=0) | predicted.any(axis=0))
    f1 = 2 * tp[defined] / (2 * tp[defined] + fp[defined] + fn[defined])
    pooled = 2 * tp.sum() + fp.sum() + fn.sum()
    return {"map": float(np.mean(ap)) if ap else float("nan"),
            "micro_f1": float(2 * tp.sum() / pooled) if pooled else float("nan"),
            "macro_f1": float(np.mean(f1)) if len(f1) else float("nan")}


def per_class_multilabel(truth: np.ndarray, scores: np.ndarray, trained: np.ndarray,
                         classes: tuple[str, ...]) -> dict[str, Any]:
    """{class name: {support, ap, f1, learned}} for every class (ap, f1: None where undefined or not learned)."""
    from sklearn.metrics import average_precision_score

    out: dict[str, Any] = {name: {"support": int(truth[:, c].sum()), "ap": None, "f1": None, "learned": False}
                           for c, name in enumerate(classes)}
    tp, fp, fn = _counts(truth[:, trained].astype(bool), scores > 0)
    for k, c in enumerate(trained):
        entry = out[classes[c]]
        entry["learned"] = True
        if entry["support"]:
            entry["ap"] = float(average_precision_score(truth[:, c] > 0, scores[:, k]))
        if tp[k] + fp[k] + fn[k]:
            entry["f1"] = float(2 * tp[k] / (2 * tp[k] + fp[k] + fn[k]))
    return out


def prior_scores(train: TargetSplit, trained: np.ndarray, rows: int) -> np.ndarray:
    """The reference's (rows, K) scores: each learned class's train positive rate as a logit, for every row."""
    rate = train.targets[:, trained].mean(axis=0)
    return np.broadcast_to(np.log(rate / (1 - rate)), (rows, len(trained)))


def _counts(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class (K,): true positives, false positives, false negatives."""
    return ((truth & predicted).sum(axis=0), (~truth & predicted).sum(axis=0), (truth & ~predicted).sum(axis=0))
