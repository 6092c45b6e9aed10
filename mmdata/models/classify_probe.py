"""The linear probe of `train classify`: its rows read from a fused export, its refusals, its fit and its metrics.

    splits = read_class_splits("out/vggsound-fused")     # {"train": ClassSplit(ids, x (n, D), y (n,) int64)}
    probe, search = fit_probe(train, valid, seed=0)      # sklearn LogisticRegression, C chosen on valid
    metrics, per_class, top = score_probe(probe, test, classes)  # acc, top5, macro_f1, weighted_f1, balanced_acc

The probe is a multinomial logistic regression (scikit-learn's, L-BFGS, as `train sentiment` scores with
scikit-learn) on the fused vector as exported (z-scored with the export's statistics); its L2 strength
`C` is chosen on the validation split's accuracy from `C_GRID` (a tie goes to the smaller C, the stronger
regularization), or is `DEFAULT_C` when there is no validation split. Rows without a class (class_id -1,
`fuse --missing-class keep`) are left out of training and scoring, and counted.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import DatasetError
from mmdata.models.data import check_finite, read_fused_splits

log = logging.getLogger(__name__)

#: The L2 strengths tried (scikit-learn's C: the inverse of the penalty's weight), one fit each.
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
#: C without a validation split: scikit-learn's default.
DEFAULT_C = 1.0
#: L-BFGS iterations per fit; a fit that stops there is noted, not refused.
MAX_ITER = 1000
#: Top-K accuracy is reported when the probe knows more classes than this.
TOP_K = 5
_FUSE_HINT = "fuse the dataset with `mmdata fuse DATASET OUT --class-label NAME` (NAME: the extra key holding the class)"


@dataclass
class ClassSplit:
    """One split's rows with a class: ids, the fused vectors (n, D) float32, class ids (n,) int64."""

    sample_ids: np.ndarray
    features: np.ndarray
    class_ids: np.ndarray
    #: Rows of the split read without a class (class_id -1), left out.
    unlabeled: int = 0

    def __len__(self) -> int:
        return len(self.class_ids)


def read_class_splits(export_dir: Path, metadata: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, ClassSplit]]:
    """(class names, every split's rows with a class) of a pooled fused export with a class_id column.

    Raises:
        DatasetError: an export without class ids (fused without --class-label), one that keeps sequences,
            or files that disagree with its fused.json.
    """
    from mmdata.fusion.classes import export_classes

    classes = export_classes(metadata, export_dir)
    if not classes:
        raise DatasetError(f"fused export {export_dir} has no class_id column (its fused.json lists no classes); "
                           f"the linear probe needs class ids: {_FUSE_HINT}")
    out = {}
    for split, data in read_fused_splits(export_dir).items():
        x = np.concatenate([data.features[m] for m in dict.fromkeys(metadata["modalities"])], axis=1)
        y = _class_ids(export_dir, metadata, split)
        if len(y) != len(x) or (y >= len(classes)).any() or (y < -1).any():
            raise DatasetError(f"split {split!r} of {export_dir}: its class_id column ({len(y)} rows, ids "
                               f"{int(y.min()) if len(y) else '-'}..{int(y.max()) if len(y) else '-'}) does not fit its "
                               f"{len(x)} rows and {len(classes)} classes; re-create the export with `mmdata fuse --force`")
        keep = np.flatnonzero(y >= 0)
        out[split] = ClassSplit(data.sample_ids[keep], x[keep], y[keep], unlabeled=len(y) - len(keep))
    return classes, out


def _class_ids(export_dir: Path, metadata: dict[str, Any], split: str) -> np.ndarray:
    """(n,) int64 class ids of a split, rows in the order `read_fused_splits` reads them (same files)."""
    from mmdata.fusion.classes import split_class_ids

    files = [export_dir / f for f in metadata["files"].get(split, [])] if metadata["format"] == "parquet" else None
    return split_class_ids(export_dir, split, metadata["format"], parquet_files=files)


def check_trainable(export_dir: Path, train_split: str, train: ClassSplit | None, classes: tuple[str, ...],
                    evaluated: dict[str, ClassSplit]) -> None:
    """Refuse, in one line, a train split that is missing, holds one class only, or NaN/inf features, and
    evaluated splits with such features.

    Raises:
        DatasetError: naming the split and what it holds.
    """
    if train is None or not len(train):
        raise DatasetError(f"fused export {export_dir} has no row with a class in split {train_split!r}; expected the "
                           "rows to train the probe on: choose the split with --train-split (train_split=)")
    present = np.unique(train.class_ids)
    if len(present) < 2:
        raise DatasetError(f"split {train_split!r} of {export_dir}: all {len(train)} rows with a class are "
                           f"{classes[int(present[0])]!r}; a classifier needs at least two classes to tell apart: "
                           "fuse a corpus (or choose a train split) with rows of several classes")
    for split, part in {train_split: train, **evaluated}.items():
        check_finite(part.features, part.sample_ids, f"split {split!r} of {export_dir}",
                     "fuse with --non-finite missing, or re-extract the tables")


def fit_probe(train: ClassSplit, valid: ClassSplit | None, seed: int) -> tuple[Any, dict[str, Any]]:
    """The fitted probe and how its C was chosen: `chosen_on` (the validation split's role or None), `grid`,
    the validation accuracy of each C (`valid_accuracy`), `C`, and whether the final fit converged."""
    search: dict[str, Any] = {"grid": list(C_GRID) if valid is not None else [DEFAULT_C], "valid_accuracy": {}}
    if valid is None:
        chosen = DEFAULT_C
    else:
        for c in C_GRID:
            probe = _fit(train, c, seed)
            search["valid_accuracy"][str(c)] = float(np.mean(probe.predict(valid.features) == valid.class_ids))
        best = max(search["valid_accuracy"].values())
        chosen = next(c for c in C_GRID if search["valid_accuracy"][str(c)] == best)
    probe = _fit(train, chosen, seed)
    search.update(C=chosen, iterations=int(np.max(probe.n_iter_)), converged=bool(np.max(probe.n_iter_) < MAX_ITER))
    return probe, search


def _fit(train: ClassSplit, c: float, seed: int) -> Any:
    """One L-BFGS fit of a multinomial logistic regression with L2 strength C (deterministic for a seed)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    probe = LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported as `converged`, not as a warning per C
        probe.fit(train.features, train.class_ids)
    return probe


def probe_logits(probe: Any, features: np.ndarray) -> np.ndarray:
    """(n, k) scores of the k classes the probe knows (`probe.classes_`): x W^T + b (two classes: one column
    0 and one the binary logit, which ranks them alike)."""
    scores = features.astype(np.float64) @ probe.coef_.T + probe.intercept_
    return np.concatenate([np.zeros_like(scores), scores], axis=1) if scores.shape[1] == 1 else scores


def score_probe(probe: Any, part: ClassSplit, classes: tuple[str, ...]) -> tuple[dict[str, float], dict[str, Any], np.ndarray]:
    """(metrics, per-class support and F1 by class name, the top predicted class ids (n, min(K, k)) best first)."""
    logits = probe_logits(probe, part.features)
    order = np.argsort(-logits, axis=1, kind="stable")[:, :TOP_K]
    top = np.asarray(probe.classes_, np.int64)[order]
    return classification_metrics(part.class_ids, top, len(probe.classes_)), \
        per_class(part.class_ids, top[:, 0], classes), top


def majority_top(train: ClassSplit, rows: int) -> np.ndarray:
    """The reference's predictions: the train split's most frequent classes, best first (ties: lower id), per row."""
    ids, counts = np.unique(train.class_ids, return_counts=True)
    ranked = ids[np.argsort(-counts, kind="stable")][:TOP_K]
    return np.broadcast_to(ranked, (rows, len(ranked)))


def classification_metrics(truth: np.ndarray, top: np.ndarray, known: int) -> dict[str, float]:
    """{acc, top5 (NaN unless more than `TOP_K` classes are known), macro_f1, weighted_f1, balanced_acc} of
    ranked predictions (n, <= K).

    macro_f1 is the mean F1 over the classes in the truth or the top-1 predictions (scikit-learn's
    `f1_score(average='macro')`); weighted_f1 the mean F1 weighted by each class's support, its rows in the
    truth (`average='weighted'`: a class only predicted weighs 0), the figure MELD and IEMOCAP results give;
    balanced_acc the mean recall over the classes in the truth (`balanced_accuracy_score`), the unweighted
    accuracy (UA) of speech emotion results, beside acc, their weighted accuracy (WA)."""
    predicted = top[:, 0]
    top5 = float(np.mean((top == truth[:, None]).any(axis=1))) if known > TOP_K else float("nan")
    labels = np.union1d(truth, predicted)
    f1 = np.array([_f1(truth, predicted, c) for c in labels])
    support = np.array([np.sum(truth == c) for c in labels])
    recall = [np.mean(predicted[truth == c] == c) for c in np.unique(truth)]
    return {"acc": float(np.mean(predicted == truth)), "top5": top5, "macro_f1": float(np.mean(f1)),
            "weighted_f1": float(np.dot(f1, support) / support.sum()), "balanced_acc": float(np.mean(recall))}


def per_class(truth: np.ndarray, predicted: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    """{class name: {support, f1}} for the classes in the truth (the split's rows of each, and its F1)."""
    ids, counts = np.unique(truth, return_counts=True)
    return {classes[int(c)]: {"support": int(n), "f1": _f1(truth, predicted, c)} for c, n in zip(ids, counts)}


def _f1(truth: np.ndarray, predicted: np.ndarray, c: int) -> float:
    """F1 of class c: 2 TP / (2 TP + FP + FN) (0 when it is neither true nor predicted)."""
    tp = int(np.sum((predicted == c) & (truth == c)))
    wrong = int(np.sum((predicted == c) != (truth == c)))
    return 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0
