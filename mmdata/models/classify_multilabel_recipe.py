"""`train classify` on a multi-label export (`fuse --class-label NAME` over lists of class names): the
one-vs-rest probe of `classify_multilabel` fitted on the train split, its C chosen on the validation split's
mAP, scored on the validation and test splits (mAP, micro-F1, macro-F1, per-class AP/F1/support) beside the
`prior` reference row. `classify_recipe.run_classify_recipe` calls it for an export with a class_targets column.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import DatasetError
from mmdata.models.classify_multilabel import (
    MULTI_COLUMNS, MULTI_DEFINITIONS, MULTI_LEGEND, MULTI_PERCENT, THRESHOLD, TargetSplit, check_multilabel_trainable,
    fit_multilabel, multilabel_metrics, per_class_multilabel, prior_scores, probe_scores, read_target_splits,
)
from mmdata.models.classify_probe import C_GRID
from mmdata.models.report import ResultRow, environment
from mmdata.models.sentiment_recipe import export_source


def run_multilabel(export_dir: Path, metadata: dict[str, Any], config: Any) -> Any:
    """The `ClassifyReport` of the multi-label probe (nothing written; the caller writes the JSON).

    Raises:
        DatasetError: a train split missing or with no learnable class, no split to score, NaN/inf features.
    """
    from mmdata.models.classify_recipe import ClassifyReport, scored_splits

    classes, splits = read_target_splits(export_dir, metadata)
    valid_name, test_name = scored_splits(export_dir, splits, config)
    scored = {name: splits[name] for name in (valid_name, test_name) if name is not None}
    train = splits.get(config.train_split)
    trained = check_multilabel_trainable(export_dir, config.train_split, train, classes, scored)
    assert train is not None
    if not scored:
        raise DatasetError(f"fused export {export_dir} has no split to score the probe on besides {config.train_split!r} "
                           f"(splits: {sorted(splits)}); expected a validation or test split: name one with "
                           "--valid-split or --test-split")
    began = time.perf_counter()
    probe, search = fit_multilabel(train, splits.get(valid_name) if valid_name else None, trained, config.seed)
    seconds = round(time.perf_counter() - began, 2)
    modalities = list(dict.fromkeys(metadata["modalities"]))
    kind = "multimodal" if len(modalities) > 1 else "unimodal"
    rows, predictions, per_split = [], {}, {}
    for name, part in scored.items():
        scores, truth = probe_scores(probe, part.features), part.targets[:, trained]
        details = {"split": name, "rows": len(part)}
        rows.append(ResultRow("prior", "reference", [], multilabel_metrics(truth, prior_scores(train, trained, len(part))),
                              details=details))
        rows.append(ResultRow("linear", kind, modalities, multilabel_metrics(truth, scores), train_seconds=seconds,
                              details={**details, "C": search["C"]}))
        predictions[name] = {"sample_id": part.sample_ids, "class_targets": part.targets, "scores": scores}
        per_split[name] = per_class_multilabel(part.targets, scores, trained, classes)
    info = {
        "recipe": "classify",
        "export": str(export_dir),
        "source": export_source(metadata),
        "classes": list(classes),
        "multi_label": True,
        "threshold": THRESHOLD,
        "splits": {"train": config.train_split, "valid": valid_name, "test": test_name},
        "rows": {name: len(part) for name, part in {config.train_split: train, **scored}.items()},
        "rows_without_class": {name: splits[name].unlabeled for name in (config.train_split, *scored)
                               if splits[name].unlabeled},
        "learned_classes": [classes[c] for c in trained],
        "train_classes": len(trained),
        "probe": {"model": "one-vs-rest logistic regression (scikit-learn, L-BFGS, L2), one per learned class",
                  **search, "chosen_on": valid_name},
        "per_class": per_split,
        "notes": _notes(config, valid_name, search, splits, scored, classes, trained),
        "metric_definitions": MULTI_DEFINITIONS,
        "config": asdict(config),
        "environment": environment(),
    }
    return ClassifyReport(rows, info, probe, predictions, columns=MULTI_COLUMNS, percent=MULTI_PERCENT,
                          legend=MULTI_LEGEND)


def _notes(config: Any, valid_name: str | None, search: dict[str, Any], splits: dict[str, TargetSplit],
           scored: dict[str, TargetSplit], classes: tuple[str, ...], trained: np.ndarray) -> list[str]:
    """Lines under the table: how C was chosen, rows left out, classes the probe could not learn (and the
    positives of the scored splits that they leave out of the figures), a fit that did not converge."""
    if valid_name is None:
        notes = [f"C = {search['C']:g} (no validation split to choose it on; the grid {list(C_GRID)} needs one)"]
    else:
        notes = [f"C = {search['C']:g}, chosen on {valid_name!r} mAP (a tie: micro-F1) from {list(C_GRID)}; the "
                 f"{valid_name!r} rows are therefore optimistic, the test rows are not"]
    without = {n: s.unlabeled for n, s in splits.items() if s.unlabeled and (n == config.train_split or n in scored)}
    if without:
        notes.append("rows without a class value (class_targets -1) left out: "
                     + ", ".join(f"{n} {k}" for n, k in without.items()))
    unlearned = np.setdiff1d(np.arange(len(classes)), trained)
    if len(unlearned):
        names = [classes[c] for c in unlearned]
        left = ", ".join(f"{n} {int(p.targets[:, unlearned].sum())}" for n, p in scored.items())
        notes.append(f"{len(names)} class(es) held by no train row (or by every one) cannot be learned and are left out "
                     f"of every figure: {', '.join(repr(c) for c in names[:5])}{' ...' if len(names) > 5 else ''} "
                     f"(their positives left out: {left})")
    if not search["converged"]:
        notes.append(f"a final fit stopped at {search['iterations']} L-BFGS iterations before converging")
    return notes
