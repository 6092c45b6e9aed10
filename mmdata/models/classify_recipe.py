"""Classification recipe: a linear probe on a fused export's class ids (`mmdata fuse --class-label NAME`).

A multinomial logistic regression on the fused vectors of the train split, its L2 strength chosen on the
validation split (`classify_probe.C_GRID`), scored on the validation and test splits: accuracy, top-5
accuracy (more than 5 classes in train), macro-F1, weighted-F1 (the support-weighted mean of the classes' F1,
which MELD and IEMOCAP results report), balanced accuracy (the mean recall per class: speech emotion results' UA),
and each class's support and F1. The `majority` row (always the most
frequent train class) is the floor. Exports without class ids, a train split of one class and NaN/inf features
are refused in one line; rows without a class (class_id -1) are left out and counted. The metrics path must be
new, empty or an earlier metrics JSON. A multi-label export (a class_targets column) gets a one-vs-rest probe
scored by mAP, micro-F1 and macro-F1 instead (`classify_multilabel_recipe`).

    report = run_classify_recipe("out/vggsound-fused", "out/vggsound-fused/classify-metrics.json")
    print(report.text())
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import ConfigError
from mmdata.models.classify_probe import (
    C_GRID, TOP_K, ClassSplit, check_trainable, classification_metrics, fit_probe, majority_top, read_class_splits,
    score_probe,
)
from mmdata.models.report import ResultRow, environment, failures_json, format_table, metrics_file, render_report, write_metrics_json
from mmdata.models.sentiment_recipe import export_source
from mmdata.models.sentiment_splits import VALID_SPLIT_NAMES
from mmdata.models.trainer import limit_threads

log = logging.getLogger(__name__)

CLASSIFY_COLUMNS = [("acc", "Acc"), ("top5", "Top-5"), ("macro_f1", "Macro-F1"), ("weighted_f1", "Weighted-F1"),
                    ("balanced_acc", "Bal-Acc")]
PERCENT_METRICS = ("acc", "top5", "macro_f1", "weighted_f1", "balanced_acc")
CLASSIFY_DEFINITIONS: dict[str, object] = {
    "acc": "fraction of rows whose top-1 class is the true class",
    "top5": f"fraction of rows whose true class is among the {TOP_K} highest-scored classes; null unless the probe "
            f"knows more than {TOP_K} classes (those of the train split)",
    "macro_f1": "mean F1 over the classes in the split's labels or top-1 predictions (sklearn f1_score average='macro')",
    "weighted_f1": "mean F1 over the classes in the split's labels, each weighted by its support (its rows), as MELD "
                   "and IEMOCAP results report (sklearn f1_score average='weighted')",
    "balanced_acc": "mean recall over the classes in the split's labels (sklearn balanced_accuracy_score): the "
                    "unweighted accuracy (UA) speech emotion results report beside acc, their weighted accuracy (WA)",
    "per_class": "each class of the split: support (its rows) and F1",
    "majority": "reference row: always the train split's most frequent class (top-5: its 5 most frequent)",
}
CLASSIFY_LEGEND = ("Acc, Top-5, Macro-F1, Weighted-F1 (F1 weighted by class support) and Bal-Acc (mean recall "
                   "per class: UA) in % (JSON: fractions); "
                   "Top-5 n/a with 5 train classes or fewer; majority: always the most frequent train class")


@dataclass(frozen=True)
class ClassifyRecipeConfig:
    """Which splits to train, choose C and score on, and how."""

    train_split: str = "train"
    #: Split C is chosen on (default: valid/val/dev/validation; without one, C = 1).
    valid_split: str | None = None
    #: Split to score besides the validation split (default: test, when the export has it).
    test_split: str | None = None
    seed: int = 0
    #: Threads for BLAS while fitting (None = leave).
    num_threads: int | None = 1

    def __post_init__(self) -> None:
        named = [s for s in (self.train_split, self.valid_split, self.test_split) if s is not None]
        if len(set(named)) < len(named):
            raise ConfigError(f"the train, validation and test splits must differ, got train={self.train_split!r}, "
                              f"valid={self.valid_split!r}, test={self.test_split!r}; scoring training rows would "
                              "overstate the result")


@dataclass
class ClassifyReport:
    """The probe's and the reference's rows per scored split, plus what reproduces them.

    `probe` is the fitted scikit-learn model and `predictions[split]` the rows scored: `sample_id`,
    `class_id` (truth) and `top` (n, <= 5) predicted class ids, best first (multi-label: `class_targets`
    (n, C) and `scores` (n, K), the logits of the learned classes); neither is in the JSON.
    """

    rows: list[ResultRow]
    info: dict[str, Any]
    probe: Any = None
    predictions: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    columns: list[tuple[str, str]] = field(default_factory=lambda: list(CLASSIFY_COLUMNS))
    percent: tuple[str, ...] = PERCENT_METRICS
    legend: str = CLASSIFY_LEGEND

    def table(self) -> str:
        """One table per scored split (validation, then test), each headed by the split and its rows."""
        blocks = []
        for split in dict.fromkeys(row.details["split"] for row in self.rows):
            rows = [row for row in self.rows if row.details["split"] == split]
            blocks.append(f"split {split!r} ({rows[0].details['rows']} rows):\n"
                          + format_table(rows, self.columns, percent=self.percent))
        return "\n\n".join(blocks)

    def text(self) -> str:
        """What the CLI prints: the table (one block of rows per scored split), the legend and the notes."""
        return render_report(self.table(), self.legend, self.rows, self.info.get("notes", ()))

    def failed(self) -> list[ResultRow]:
        return [row for row in self.rows if row.failed]

    def row(self, model: str, split: str) -> ResultRow:
        """The row of `model` ('linear', or the reference: 'majority', multi-label 'prior') on `split`."""
        for row in self.rows:
            if row.model == model and row.details.get("split") == split:
                return row
        raise KeyError(f"no result row for {model!r} on {split!r}")

    def to_json(self) -> dict[str, Any]:
        return {**self.info, "results": [r.to_json() for r in self.rows], "failures": failures_json(self.rows)}


def run_classify_recipe(export_dir: str | Path, output_path: str | Path | None = None,
                        config: ClassifyRecipeConfig | None = None) -> ClassifyReport:
    """Fit the linear probe on a fused export's train split and score it; write the metrics JSON when asked.

    Raises:
        DatasetError: no class ids in the export, a train split missing or of one class (multi-label: with no
            class held by some rows and not others), no split to score, NaN/inf features; OutputPathError: a
            metrics path that may not be written (checked first).
    """
    config = config or ClassifyRecipeConfig()
    if output_path is not None:  # refused before any training: a dataset's own file is never replaced
        metrics_file(output_path, "metrics path", "classify-metrics.json")
    with limit_threads(config.num_threads):
        return _run(Path(export_dir), output_path, config)


def _run(export_dir: Path, output_path: str | Path | None, config: ClassifyRecipeConfig) -> ClassifyReport:
    from mmdata.errors import DatasetError
    from mmdata.fusion import read_fused_metadata
    from mmdata.fusion.class_targets import TARGETS_COLUMN
    from mmdata.fusion.classes import export_class_column

    metadata = read_fused_metadata(export_dir)
    if export_class_column(metadata) == TARGETS_COLUMN:
        from mmdata.models.classify_multilabel_recipe import run_multilabel

        multi = run_multilabel(export_dir, metadata, config)
        if output_path is not None:
            write_metrics_json(output_path, multi.to_json())
        return multi
    classes, splits = read_class_splits(export_dir, metadata)
    valid_name, test_name = scored_splits(export_dir, splits, config)
    scored = {name: splits[name] for name in (valid_name, test_name) if name is not None}
    train = splits.get(config.train_split)
    check_trainable(export_dir, config.train_split, train, classes, scored)
    if not scored:
        raise DatasetError(f"fused export {export_dir} has no split to score the probe on besides {config.train_split!r} "
                           f"(splits: {sorted(splits)}); expected a validation or test split: name one with "
                           "--valid-split or --test-split")
    began = time.perf_counter()
    probe, search = fit_probe(train, splits.get(valid_name) if valid_name else None, config.seed)
    seconds = round(time.perf_counter() - began, 2)
    modalities = list(dict.fromkeys(metadata["modalities"]))
    kind = "multimodal" if len(modalities) > 1 else "unimodal"
    rows, predictions, per_split = [], {}, {}
    for name, part in scored.items():
        metrics, classes_of_split, top = score_probe(probe, part, classes)
        floor = majority_top(train, len(part))
        rows.append(ResultRow("majority", "reference", [], classification_metrics(part.class_ids, floor, len(probe.classes_)),
                              details={"split": name, "rows": len(part)}))
        rows.append(ResultRow("linear", kind, modalities, metrics, train_seconds=seconds,
                              details={"split": name, "rows": len(part), "C": search["C"]}))
        predictions[name] = {"sample_id": part.sample_ids, "class_id": part.class_ids, "top": top}
        per_split[name] = classes_of_split
    info = {
        "recipe": "classify",
        "export": str(export_dir),
        "source": export_source(metadata),
        "classes": list(classes),
        "splits": {"train": config.train_split, "valid": valid_name, "test": test_name},
        "rows": {name: len(part) for name, part in {config.train_split: train, **scored}.items()},
        "rows_without_class": {name: splits[name].unlabeled for name in (config.train_split, *scored)
                               if splits[name].unlabeled},
        "train_classes": len(probe.classes_),
        "probe": {"model": "multinomial logistic regression (scikit-learn, L-BFGS, L2)", **search,
                  "chosen_on": valid_name},
        "per_class": per_split,
        "notes": _notes(config, valid_name, search, splits, scored, classes, probe),
        "metric_definitions": CLASSIFY_DEFINITIONS,
        "config": asdict(config),
        "environment": environment(),
    }
    report = ClassifyReport(rows, info, probe, predictions)
    if output_path is not None:
        write_metrics_json(output_path, report.to_json())
    return report


def scored_splits(export_dir: Path, splits: dict[str, Any],
                  config: ClassifyRecipeConfig) -> tuple[str | None, str | None]:
    """(validation split, test split): those named, else valid/val/dev/validation and test when present."""
    from mmdata.errors import DatasetError

    for name in (config.valid_split, config.test_split):
        if name is not None and not len(splits.get(name, ())):
            raise DatasetError(f"fused export {export_dir} has no row with a class in split {name!r}; "
                               f"splits: {sorted(splits)}")
    others = [n for n in splits if n != config.train_split and len(splits[n])]
    valid = config.valid_split or next((n for n in VALID_SPLIT_NAMES if n in others and n != config.test_split), None)
    test = config.test_split or ("test" if "test" in others and valid != "test" else None)
    unused = sorted(n for n in others if n not in (valid, test))
    if unused:
        log.warning("%s: split(s) %s are not used (name them with --valid-split/--test-split)", export_dir, unused)
    return valid, test


def _notes(config: ClassifyRecipeConfig, valid_name: str | None, search: dict[str, Any], splits: dict[str, ClassSplit],
           scored: dict[str, ClassSplit], classes: tuple[str, ...], probe: Any) -> list[str]:
    """Lines under the table: how C was chosen, rows left out, classes the probe cannot predict, a fit that
    did not converge, and a split scored that also chose C."""
    if valid_name is None:
        notes = [f"C = {search['C']:g} (no validation split to choose it on; the grid {list(C_GRID)} needs one)"]
    else:
        notes = [f"C = {search['C']:g}, chosen on {valid_name!r} accuracy from {list(C_GRID)}; the {valid_name!r} rows "
                 "are therefore optimistic, the test rows are not"]
    without = {n: s.unlabeled for n, s in splits.items() if s.unlabeled and (n == config.train_split or n in scored)}
    if without:
        notes.append("rows without a class (class_id -1) left out: " + ", ".join(f"{n} {k}" for n, k in without.items()))
    known = set(np.asarray(probe.classes_).tolist())
    for name, part in scored.items():
        unseen = sorted({classes[int(c)] for c in np.unique(part.class_ids)} - {classes[c] for c in known})
        if unseen:
            notes.append(f"{len(unseen)} class(es) of {name!r} have no train row, so the probe never predicts them: "
                         + ", ".join(repr(c) for c in unseen[:5]) + (" ..." if len(unseen) > 5 else ""))
    if not search["converged"]:
        notes.append(f"the final fit stopped at {search['iterations']} L-BFGS iterations before converging")
    return notes


__all__ = ["ClassifyRecipeConfig", "ClassifyReport", "run_classify_recipe"]
