"""What the sentiment recipe checks in a fused export before it trains, and how it scores the labels.

The train, validation and test rows must not share or repeat a sample id (`check_disjoint_splits`);
their features must be finite (`check_finite_features`); labels must be signed sentiment scores, not
class ids, and the train labels must vary (`check_sentiment_labels`, which also warns about labels
outside the corpus's range and CH-SIMS-like labels scored as MOSI's); splits with fewer than
`FEW_ROWS` labelled rows, and z-score statistics taken from a split the recipe evaluates on, get a
warning. `metric_set_of` picks MOSI's or CH-SIMS's metrics from the export's corpus name, and refuses a
corpus whose labels are classes (MELD); `undefined_metric_notes` says why a metric of the report is
undefined (n/a).
The recipe itself (`mmdata.models.sentiment_recipe`) runs these; they stay importable from there.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import DatasetError
from mmdata.models.data import SplitArrays, check_finite

log = logging.getLogger(__name__)

#: A split with fewer labelled rows gets a warning: one row moves its Acc-2 by more than 5 points.
FEW_ROWS = 20
#: The label range CH-SIMS implies; labels scored with MOSI's metrics that all lie in it get a warning.
SIMS_RANGE = (-1.0, 1.0)
#: Corpora whose `label` holds a class, not a score to regress: the `extra` key naming their classes, the classes,
#: and the key of their other classes. MELD's sentiment is 3 classes, scored by weighted-F1 in its papers.
CLASS_LABEL_DATASETS = {"meld": ("sentiment", "negative -1, neutral 0, positive 1", "emotion")}
#: Fewer labels than this may all lie in [-1, 1] by chance even on MOSI: no warning then.
RANGE_CHECK_MIN_LABELS = 20
#: What to do about an export whose splits share or repeat samples.
_REFUSE_HINT = "fuse the dataset again with `mmdata fuse` (it writes each sample once, in its own split)"


def metric_set_of(export_dir: Path) -> str:
    """'sims' for an export of CH-SIMS (by the corpus name `corpus_dataset` finds: kind, `dataset` option or
    the dataset the loader recognised), else 'mosi' (CMU-MOSI/MOSEI, and a corpus of no known name).

    The name decides, not the label range: MELD's labels lie in [-1, 1] too, but they are classes.

    Raises:
        DatasetError: an export of a corpus whose labels are classes (`CLASS_LABEL_DATASETS`: MELD), with the
            hint to fuse its classes and run `mmdata train classify`.
    """
    from mmdata.checks.samples import SIMS_NAMES, corpus_dataset
    from mmdata.fusion import read_fused_metadata

    metadata = read_fused_metadata(export_dir)
    source = metadata.get("source", {})
    dataset = corpus_dataset(source.get("corpus") or {}, source.get("loader"))
    if dataset in CLASS_LABEL_DATASETS:
        key, classes, others = CLASS_LABEL_DATASETS[dataset]
        fused_classes = (metadata.get("class_label") or {}).get("key")
        how = (f"it holds class ids of extra.{fused_classes}: run `mmdata train classify {export_dir}`"
               if fused_classes else
               f"fuse the dataset with `mmdata fuse DATASET OUT --class-label {key}` (or --class-label {others}) and "
               "run `mmdata train classify OUT`")
        raise DatasetError(f"fused export {export_dir} is of {dataset!r}, whose labels are {key} classes ({classes}), "
                           f"not scores to regress; expected a MOSI/MOSEI or CH-SIMS export: {how} (scored by "
                           "weighted-F1, as its papers are)")
    return "sims" if dataset in SIMS_NAMES else "mosi"


def check_disjoint_splits(export_dir: Path, parts: dict[str, SplitArrays]) -> None:
    """Refuse a sample id that is in two of the train, validation and test rows, or twice in one of them.

    `mmdata fuse` writes every sample once, in its own split; an export assembled or edited otherwise
    could score rows the model trained on, or count a row twice.

    Raises:
        DatasetError: naming the splits and up to five of the ids.
    """
    seen: dict[str, str] = {}
    for split, part in parts.items():
        ids = [str(i) for i in part.sample_ids.tolist()]
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        if repeated:
            raise DatasetError(f"split {split!r} of {export_dir} holds sample id(s) {repeated[:5]} more than once; "
                               f"expected each sample once: {_REFUSE_HINT}")
        shared = sorted(i for i in ids if i in seen)
        if shared:
            raise DatasetError(f"sample id(s) {shared[:5]} ({len(shared)} in all) of {export_dir} are in both split "
                               f"{seen[shared[0]]!r} and split {split!r}; the splits must not share samples: "
                               f"{_REFUSE_HINT}")
        seen.update(dict.fromkeys(ids, split))


def warn_small_splits(export_dir: Path, parts: dict[str, SplitArrays]) -> list[str]:
    """Warn about splits with fewer than `FEW_ROWS` labelled rows: their metrics cannot rank models.
    Returns the warnings, for the report's notes (the table is where a reader looks)."""
    notes = []
    for split, part in parts.items():
        if len(part) < FEW_ROWS:
            why = (f"has {len(part)} labelled row(s), fewer than {FEW_ROWS}: one row is {100 / max(len(part), 1):.0f}% "
                   "of it, too few for results that rank models")
            log.warning("split %s of %s %s", split, export_dir, why)
            notes.append(f"split {split} {why}")
    return notes


def check_finite_features(export_dir: Path, parts: dict[str, SplitArrays]) -> None:
    """Refuse NaN/inf features in the rows the recipe reads: the models would go NaN at once, which
    reads as a learning rate too high, and only the models of the other modalities would get numbers.

    Raises:
        DatasetError: naming the split, the modality and the first sample ids.
    """
    for split, part in parts.items():
        for modality, values in sorted(part.features.items()):
            check_finite(values, part.sample_ids, f"split {split!r} of {export_dir}, modality {modality!r}",
                         "`mmdata fuse` refuses such values unless told; fuse the dataset again (with "
                         "--non-finite missing --missing zero|drop to fill or drop those samples)")


def check_label_variation(export_dir: Path, split: str, train: SplitArrays) -> None:
    """Refuse train labels that all have one value: there is no score to learn, and every model would
    be the mean predictor under another name.

    Raises:
        DatasetError: naming the split, the row count and the value.
    """
    if len(train) == 1:
        raise DatasetError(
            f"split {split!r} of {export_dir} has 1 labelled row (label {train.labels[0]:g}); expected at least 2 rows "
            "with varying sentiment scores to learn from: train on a larger split (--train-split)"
        )
    if len(train) and np.ptp(train.labels) == 0:
        raise DatasetError(
            f"all {len(train)} labelled row(s) of split {split!r} of {export_dir} have the label {train.labels[0]:g}; "
            "expected varying sentiment scores to learn from: check the corpus's labels (`mmdata check`), or train on "
            "another split (--train-split)"
        )


def undefined_metric_notes(results: dict[str, dict[str, float]], truth: np.ndarray, split: str) -> list[str]:
    """One line per reason a metric of the report is undefined (NaN, shown as n/a), so that no n/a stands
    unexplained: `results` maps a row's label (e.g. "mean", "unimodal on text") to its metrics."""
    notes = []
    no_corr = [label for label, metrics in results.items() if _undefined(metrics.get("corr"))]
    if no_corr and len(truth) < 2:
        notes.append(f"Corr n/a: the {split!r} split has {len(truth)} labelled row; Pearson's r needs two or more")
    elif no_corr and np.ptp(truth) == 0:
        notes.append(f"Corr n/a: every label of the {split!r} split is {truth[0]:g}, and Pearson's r needs labels "
                     "that vary")
    elif no_corr:
        notes.append(f"Corr n/a for {', '.join(no_corr)}: one predicted value for every {split!r} row (the mean row "
                     "predicts the train mean by design), and Pearson's r needs predictions that vary")
    if any(_undefined(metrics.get("acc2_non0")) for metrics in results.values()):
        notes.append(f"Acc2/F1 non0 n/a: every label of the {split!r} split is 0, and non0 leaves label-0 rows out")
    return notes


def _undefined(value: float | None) -> bool:
    return value is not None and bool(np.isnan(value))


def check_sentiment_labels(export_dir: Path, parts: list[SplitArrays]) -> None:
    """Refuse labels the sentiment metrics cannot score; warn about labels outside the corpus's range.

    Labels outside the range the export's corpus implies (MOSI/MOSEI [-3, 3], CH-SIMS [-1, 1]) are
    clipped by the metrics as MMSA clips them, so they are only a warning (`mmdata check` lists them).
    So are labels all within [-1, 1] (at least `RANGE_CHECK_MIN_LABELS`) of a corpus not declared
    CH-SIMS: a CH-SIMS export without its dataset option, whose Acc-7/Acc-5 would mean nothing.

    Raises:
        DatasetError: every label is a non-negative integer (class ids, not signed sentiment scores).
    """
    from mmdata.checks.samples import SIMS_NAMES, corpus_dataset, label_range_for
    from mmdata.fusion import read_fused_metadata

    labels = np.concatenate([part.labels for part in parts])
    low, high = float(labels.min()), float(labels.max())
    if low >= 0 and np.array_equal(labels, np.round(labels)):
        classes = np.unique(labels)
        shown = ", ".join(f"{v:g}" for v in classes[:10]) + (", ..." if len(classes) > 10 else "")
        raise DatasetError(
            f"the labels of {export_dir} are non-negative integers ({shown}): class ids, not sentiment scores; the "
            "sentiment recipe regresses a signed score (MOSI/MOSEI in [-3, 3], CH-SIMS in [-1, 1]) and scores Acc-2 by "
            "its sign; export the regression label (e.g. MMSA's regression_labels)"
        )
    source = read_fused_metadata(export_dir).get("source", {})
    corpus = source.get("corpus") or {}
    expected = label_range_for(corpus, source.get("loader"))
    scored_as_sims = corpus_dataset(corpus, source.get("loader")) in SIMS_NAMES  # as `metric_set_of` decides
    if expected is not None and (low < expected[0] - 1e-6 or high > expected[1] + 1e-6):
        log.warning("the labels of %s span [%g, %g], outside [%g, %g] of its corpus (%s %s); check the corpus's "
                    "dataset option (`mmdata check` lists the rows out of range)", export_dir, low, high, *expected,
                    corpus.get("kind"), corpus.get("options") or "")
    within_sims_range = SIMS_RANGE[0] <= low and high <= SIMS_RANGE[1]
    if not scored_as_sims and len(labels) >= RANGE_CHECK_MIN_LABELS and within_sims_range:
        log.warning("the labels of %s all lie in [%g, %g], as CH-SIMS labels do, but its corpus (%s %s) is scored as "
                    "MOSI/MOSEI (Acc-7/Acc-5 on [-3, 3]); if it is CH-SIMS, declare it (e.g. `mmdata extract mmsa "
                    "-o dataset=ch-sims`) and fuse again for the SIMS metrics", export_dir, low, high,
                    corpus.get("kind"), corpus.get("options") or "")


def normalization_of(export_dir: Path, train_split: str, evaluated: tuple[str, ...]) -> dict[str, Any]:
    """How the export was normalised: statistics splits, each table's method and, z-scored per group, the group key
    (from its fused.json).

    Logs a warning when z-score statistics came from a split the recipe evaluates on (validation, test).
    """
    from mmdata.fusion import read_fused_metadata

    normalization = read_fused_metadata(export_dir).get("normalization") or {}
    stats_splits = list(normalization.get("stats_splits") or [])
    methods = {name: stats.get("method") for name, stats in (normalization.get("tables") or {}).items()}
    leaked = [split for split in stats_splits if split in evaluated]
    if leaked and "zscore" in methods.values():
        log.warning("%s was z-scored with statistics of split(s) %s that the recipe evaluates on; re-fuse with "
                    "--stats-split %s for train-only statistics", export_dir, leaked, train_split)
    by = (normalization.get("by") or {}).get("key")  # z-scored per group (`fuse --normalize-by`)
    return {"stats_splits": stats_splits, "methods": methods, **({"by": by} if by else {})}
