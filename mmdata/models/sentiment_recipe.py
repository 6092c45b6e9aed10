"""Sentiment recipe: unimodal baselines vs early, late, intermediate and tensor fusion on a fused export.

Reads a pooled fused export (`mmdata fuse DATASET EXPORT`, one table per modality, normalised with
train-only statistics), trains every model with an L1 loss (MulT's choice for MOSI) and early stopping
on the validation MAE, and evaluates on the test split with `mmdata.metrics.sentiment_metrics` (CH-SIMS
exports, labelled in [-1, 1]: `mmdata.metrics.sims_metrics`, MMSA's definitions). The train, validation
and test splits must differ; an export whose normalization statistics came from the validation or test
split is trained with a warning, and the report records the statistics splits. A sample id in two of
the train, validation and test rows (or twice in one) is refused. Labels must be signed sentiment
scores: an export without labels or with class ids (non-negative integers only) is refused; labels
outside the corpus's range, labels scored as MOSI's that all lie in CH-SIMS's [-1, 1], and splits with
fewer than `FEW_ROWS` labelled rows get a warning.

Rows of the result: `mean` (predicts the train mean: the floor), one `unimodal` row per modality, and
one row per fusion model over all modalities. A model row's `details` hold `best_epoch` (counted from 1,
as `epochs_run` counts: the epoch whose weights were kept and tested), `epochs_run` and `valid_mae`. The
report also names each modality's table, the export's source (dataset, samples fingerprint, corpus) and
the rows left out for want of a label, and `metric_definitions` (units and conventions of every key).

A model that diverges (NaN/inf training loss or validation score, or non-finite test predictions) fails
on its own: its row has `status` 'failed' and an `error` naming the model and the epoch, the report's
`failures` lists it, and the other models' results are kept and written.

    report = run_sentiment_recipe("out/mosi-fused", "out/mosi-fused/sentiment.json")
    print(report.text())
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import ConfigError, DatasetError
from mmdata.metrics import (
    SENTIMENT_DEFINITIONS, SENTIMENT_LEGEND, SIMS_DEFINITIONS, SIMS_LEGEND, mae, sentiment_metrics, sims_metrics,
)
from mmdata.models.data import SplitArrays, read_fused_splits
from mmdata.models.report import (
    ResultRow, environment, failures_json, format_table, render_report, write_metrics_json,
)
from mmdata.models.sentiment import SENTIMENT_MODELS, SentimentModelConfig, create_sentiment_model
from mmdata.models.trainer import TrainConfig, TrainingDiverged, fit, limit_threads, seed_everything
from mmdata.store.output_files import output_file

log = logging.getLogger(__name__)

SENTIMENT_COLUMNS = [("mae", "MAE"), ("corr", "Corr"), ("acc2_has0", "Acc2 has0"), ("f1_has0", "F1 has0"),
                     ("acc2_non0", "Acc2 non0"), ("f1_non0", "F1 non0"), ("acc7", "Acc7"), ("acc5", "Acc5")]
#: CH-SIMS (labels in [-1, 1]) is scored with MMSA's SIMS definitions (`mmdata.metrics.sims_metrics`).
SIMS_COLUMNS = [("mae", "MAE"), ("corr", "Corr"), ("acc2", "Acc2"), ("f1", "F1"), ("acc3", "Acc3"), ("acc5", "Acc5")]
PERCENT_METRICS = ("acc2_has0", "f1_has0", "acc2_non0", "f1_non0", "acc7", "acc5", "acc7_cmumosei", "acc2", "f1", "acc3")
METRIC_SETS = {"mosi": (sentiment_metrics, SENTIMENT_COLUMNS), "sims": (sims_metrics, SIMS_COLUMNS)}
#: Units and conventions of each metric set: the JSON's `metric_definitions` and the legend under the table.
METRIC_DEFINITIONS = {"mosi": (SENTIMENT_DEFINITIONS, SENTIMENT_LEGEND), "sims": (SIMS_DEFINITIONS, SIMS_LEGEND)}
VALID_SPLIT_NAMES = ("valid", "val", "dev", "validation")
#: A split with fewer labelled rows gets a warning: one row moves its Acc-2 by more than 5 points.
FEW_ROWS = 20
#: The label range CH-SIMS implies; labels scored with MOSI's metrics that all lie in it get a warning.
SIMS_RANGE = (-1.0, 1.0)
#: Fewer labels than this may all lie in [-1, 1] by chance even on MOSI: no warning then.
RANGE_CHECK_MIN_LABELS = 20
#: What to do about an export whose splits share or repeat samples.
_REFUSE_HINT = "fuse the dataset again with `mmdata fuse` (it writes each sample once, in its own split)"


@dataclass(frozen=True)
class SentimentRecipeConfig:
    """Which models to train, on which splits, and how."""

    models: tuple[str, ...] = tuple(SENTIMENT_MODELS)
    train_split: str = "train"
    #: Early-stopping split (default: valid/val/dev; without one, 15% of train is held out).
    valid_split: str | None = None
    test_split: str = "test"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=80, batch_size=32, lr=1e-3, patience=15))
    model: SentimentModelConfig = field(default_factory=SentimentModelConfig)
    #: Threads for torch and BLAS while training (small models: 1 is fastest on a shared CPU; None = leave).
    num_threads: int | None = 1

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in SENTIMENT_MODELS]
        if unknown or not self.models:
            raise ConfigError(f"unknown sentiment models {unknown}; available: {sorted(SENTIMENT_MODELS)}")
        if self.train_split == self.test_split or self.valid_split in (self.train_split, self.test_split):
            raise ConfigError(
                f"the train, validation and test splits must differ, got train={self.train_split!r}, "
                f"valid={self.valid_split!r}, test={self.test_split!r}; scoring training rows or early stopping on "
                "the test split would overstate the result"
            )


@dataclass
class SentimentReport:
    """The recipe's result rows plus everything needed to reproduce them."""

    rows: list[ResultRow]
    info: dict[str, Any]

    def table(self) -> str:
        columns = METRIC_SETS[self.info.get("metrics", "mosi")][1]
        return format_table(self.rows, columns, percent=PERCENT_METRICS)

    def text(self) -> str:
        """What the CLI prints: the table, a legend of units and conventions, and why any model failed."""
        return render_report(self.table(), METRIC_DEFINITIONS[self.info.get("metrics", "mosi")][1], self.rows)

    def failed(self) -> list[ResultRow]:
        """The rows of models that failed (diverged); their `error` says why."""
        return [row for row in self.rows if row.failed]

    def row(self, model: str, modalities: list[str] | None = None) -> ResultRow:
        """The row of `model` (and, for unimodal rows, its modality)."""
        for row in self.rows:
            if row.model == model and (modalities is None or row.modalities == modalities):
                return row
        raise KeyError(f"no result row for {model!r} {modalities or ''}")

    def best_unimodal(self) -> ResultRow:
        """The unimodal row with the lowest MAE (of those that did not fail)."""
        return min((r for r in self.rows if r.kind == "unimodal" and not r.failed), key=lambda r: r.metrics["mae"])

    def to_json(self) -> dict[str, Any]:
        return {**self.info, "results": [r.to_json() for r in self.rows], "failures": failures_json(self.rows)}


def run_sentiment_recipe(
    export_dir: str | Path, output_path: str | Path | None = None, config: SentimentRecipeConfig | None = None
) -> SentimentReport:
    """Train every configured model on a fused export and evaluate it; write the metrics JSON when asked.

    Raises:
        DatasetError: not a pooled fused export, a missing split, or no labelled rows.
    """
    config = config or SentimentRecipeConfig()
    if output_path is not None:  # refused before any training: a dataset's own file is never replaced
        output_file(output_path, "metrics path", "sentiment-metrics.json")
    with limit_threads(config.num_threads):
        return _run(Path(export_dir), output_path, config)


def _run(export_dir: Path, output_path: str | Path | None, config: SentimentRecipeConfig) -> SentimentReport:
    from mmdata.fusion import read_fused_metadata

    train, valid, test, valid_name = load_sentiment_splits(export_dir, config)
    parts = {config.train_split: train, valid_name: valid, config.test_split: test}
    check_disjoint_splits(export_dir, parts)
    warn_small_splits(export_dir, parts)
    metric_set = metric_set_of(export_dir)
    check_sentiment_labels(export_dir, [train, valid, test])
    normalization = normalization_of(export_dir, config.train_split, evaluated=(valid_name, config.test_split))
    score = METRIC_SETS[metric_set][0]
    modalities = sorted(train.features)
    dims = {m: train.features[m].shape[1] for m in modalities}
    metadata = read_fused_metadata(export_dir)
    tables = dict(zip(metadata["modalities"], metadata["tables"]))
    log.info("sentiment: %d train, %d valid, %d test rows; dims %s", len(train), len(valid), len(test), dims)
    baseline = np.full(len(test), float(np.mean(train.labels)))
    rows = [ResultRow("mean", "reference", [], score(baseline, test.labels))]
    jobs = [(name, [m]) for name in config.models if name == "unimodal" for m in modalities]
    jobs += [(name, modalities) for name in config.models if name != "unimodal" and len(modalities) > 1]
    if len(modalities) == 1:
        log.warning("the export has one modality (%s): only unimodal models are trained", modalities[0])
    for name, used in jobs:
        rows.append(run_sentiment_job(name, used, dims, train, valid, test, config, score))
    info = {
        "recipe": "sentiment",
        "export": str(export_dir),
        "metrics": metric_set,
        "source": export_source(metadata),
        "modalities": {m: {"table": tables[m], "dim": dims[m]} for m in modalities},
        "splits": {"train": config.train_split, "valid": valid_name, "test": config.test_split},
        "rows": {"train": len(train), "valid": len(valid), "test": len(test)},
        "rows_without_label": rows_without_label(metadata, config, valid_name, train, valid, test),
        "normalization": normalization,
        "metric_definitions": METRIC_DEFINITIONS[metric_set][0],
        "config": asdict(config),
        "environment": environment(),
    }
    report = SentimentReport(rows=rows, info=info)
    if output_path is not None:
        write_metrics_json(output_path, report.to_json())
    return report


def run_sentiment_job(name: str, used: list[str], dims: dict[str, int], train: SplitArrays, valid: SplitArrays,
                      test: SplitArrays, config: SentimentRecipeConfig, score: Any) -> ResultRow:
    """Train and test one model; a model that diverges gives a failed row (its reason names it and the
    epoch) instead of ending the whole recipe, so the other models' results are kept."""
    seed_everything(config.train.seed)
    model = create_sentiment_model(name, {m: dims[m] for m in used}, config.model)
    began = time.perf_counter()
    try:
        result = train_sentiment_model(model, train, valid, config.train)
    except TrainingDiverged as e:
        return failed_row(name, model.kind, used, f"{describe_model(name, used)} {e}", time.perf_counter() - began,
                          {"failed_epoch": e.epoch})
    seconds = time.perf_counter() - began
    predictions = predict_sentiment(model, test)
    if not np.isfinite(predictions).all():
        bad = int((~np.isfinite(predictions)).sum())
        return failed_row(name, model.kind, used, f"{describe_model(name, used)} predicted NaN/inf for {bad} of "
                          f"{len(predictions)} {config.test_split!r} rows after {result.epochs_run} epochs; try a "
                          f"lower --lr (now {config.train.lr:g})", seconds, {"epochs_run": result.epochs_run})
    row = ResultRow(name, model.kind, used, score(predictions, test.labels), train_seconds=round(seconds, 2),
                    details={"best_epoch": result.best_epoch + 1, "epochs_run": result.epochs_run,
                             "valid_mae": result.best_score})
    log.info("%s %s: test MAE %.3f (%.1f s)", name, "+".join(used), row.metrics["mae"], seconds)
    return row


def describe_model(name: str, used: list[str]) -> str:
    """How a failure names a model: "model 'unimodal' on audio", "model 'tensor' (audio+text+video)"."""
    return f"model {name!r} on {used[0]}" if name == "unimodal" else f"model {name!r} ({'+'.join(used)})"


def failed_row(name: str, kind: Any, used: list[str], reason: str, seconds: float, details: dict[str, Any]) -> ResultRow:
    """The row of a model that failed: no metrics, `status` 'failed' and the reason (also logged)."""
    log.error("%s", reason)
    return ResultRow(name, kind, used, {}, train_seconds=round(seconds, 2), details=details, status="failed",
                     error=reason)


def metric_set_of(export_dir: Path) -> str:
    """'sims' for an export of a corpus labelled in [-1, 1] (CH-SIMS), else 'mosi' (MOSI/MOSEI, [-3, 3])."""
    from mmdata.checks.samples import label_range_for
    from mmdata.fusion import read_fused_metadata

    source = read_fused_metadata(export_dir).get("source", {})
    return "sims" if label_range_for(source.get("corpus") or {}, source.get("loader")) == (-1.0, 1.0) else "mosi"


def export_source(metadata: dict[str, Any]) -> dict[str, Any]:
    """What the export was made from and how, from its fused.json: enough to tell two exports apart."""
    source = metadata.get("source") or {}
    return {"dataset_dir": source.get("dataset_dir"), "samples_fingerprint": source.get("samples_fingerprint"),
            "corpus": source.get("corpus"), "loader": source.get("loader"), "tables": metadata["tables"],
            "format": metadata["format"],
            "mmdata_version": metadata.get("mmdata_version")}


def rows_without_label(metadata: dict[str, Any], config: SentimentRecipeConfig, valid_name: str,
                       train: SplitArrays, valid: SplitArrays, test: SplitArrays) -> dict[str, int]:
    """Rows of each split read that were left out for want of a label (a held-out validation is part of train)."""
    exported = metadata["rows"]
    labelled = {config.train_split: len(train), config.test_split: len(test)}
    if valid_name in exported:
        labelled[valid_name] = len(valid)
    else:  # held out of the train split
        labelled[config.train_split] += len(valid)
    return {split: int(exported.get(split, 0)) - count for split, count in labelled.items()}


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


def warn_small_splits(export_dir: Path, parts: dict[str, SplitArrays]) -> None:
    """Warn about splits with fewer than `FEW_ROWS` labelled rows: their metrics cannot rank models."""
    for split, part in parts.items():
        if len(part) < FEW_ROWS:
            log.warning("split %s of %s has %d labelled row(s), fewer than %d: one row is %.0f%% of it, too few "
                        "for results that rank models", split, export_dir, len(part), FEW_ROWS, 100 / max(len(part), 1))


def check_sentiment_labels(export_dir: Path, parts: list[SplitArrays]) -> None:
    """Refuse labels the sentiment metrics cannot score; warn about labels outside the corpus's range.

    Labels outside the range the export's corpus implies (MOSI/MOSEI [-3, 3], CH-SIMS [-1, 1]) are
    clipped by the metrics as MMSA clips them, so they are only a warning (`mmdata check` lists them).
    So are labels all within [-1, 1] (at least `RANGE_CHECK_MIN_LABELS`) of a corpus not declared
    CH-SIMS: a CH-SIMS export without its dataset option, whose Acc-7/Acc-5 would mean nothing.

    Raises:
        DatasetError: every label is a non-negative integer (class ids, not signed sentiment scores).
    """
    from mmdata.checks.samples import label_range_for
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
    if expected is not None and (low < expected[0] - 1e-6 or high > expected[1] + 1e-6):
        log.warning("the labels of %s span [%g, %g], outside [%g, %g] of its corpus (%s %s); check the corpus's "
                    "dataset option (`mmdata check` lists the rows out of range)", export_dir, low, high, *expected,
                    corpus.get("kind"), corpus.get("options") or "")
    within_sims_range = SIMS_RANGE[0] <= low and high <= SIMS_RANGE[1]
    if expected != SIMS_RANGE and len(labels) >= RANGE_CHECK_MIN_LABELS and within_sims_range:
        log.warning("the labels of %s all lie in [%g, %g], as CH-SIMS labels do, but its corpus (%s %s) is scored as "
                    "MOSI/MOSEI (Acc-7/Acc-5 on [-3, 3]); if it is CH-SIMS, declare it (e.g. `mmdata extract mmsa "
                    "-o dataset=ch-sims`) and fuse again for the SIMS metrics", export_dir, low, high,
                    corpus.get("kind"), corpus.get("options") or "")


def normalization_of(export_dir: Path, train_split: str, evaluated: tuple[str, ...]) -> dict[str, Any]:
    """How the export was normalised: statistics splits and each table's method (from its fused.json).

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
    return {"stats_splits": stats_splits, "methods": methods}


def load_sentiment_splits(
    export_dir: Path, config: SentimentRecipeConfig
) -> tuple[SplitArrays, SplitArrays, SplitArrays, str]:
    """Train, validation and test arrays of the export (rows without a label are left out).

    The validation split is `config.valid_split`, else the first non-empty one named valid/val/dev/
    validation other than the train and test splits, else 15% of the train rows.

    Raises:
        DatasetError: the export has no label at all, or the train, test or named validation split has
            no labelled row.
    """
    splits = {name: _labelled(name, data) for name, data in read_fused_splits(export_dir).items()}
    if not any(len(data) for data in splits.values()):
        raise DatasetError(
            f"fused export {export_dir} has no labels (splits: {sorted(splits)}, every label null); the sentiment "
            "recipe needs a labelled corpus (MOSI, MOSEI, CH-SIMS): fuse one whose samples have labels"
        )
    for name in (config.train_split, config.test_split):
        if name not in splits or not len(splits[name]):
            raise DatasetError(
                f"fused export {export_dir} has no labelled rows in split {name!r}; splits: {sorted(splits)}; "
                "choose others with train_split=/test_split= (CLI: --train-split, --test-split)"
            )
    train = splits[config.train_split]
    evaluated = (config.train_split, config.test_split)
    valid_name = config.valid_split or next(
        (n for n in VALID_SPLIT_NAMES if n in splits and len(splits[n]) and n not in evaluated), None)
    if valid_name is not None:
        if valid_name not in splits:
            raise DatasetError(f"fused export {export_dir} has no split {valid_name!r}; splits: {sorted(splits)}")
        if not len(splits[valid_name]):
            raise DatasetError(f"split {valid_name!r} of {export_dir} has no labelled rows; expected some for early "
                               "stopping; choose another with valid_split= (CLI: --valid-split)")
        warn_unused_splits(export_dir, splits, (config.train_split, valid_name, config.test_split))
        return train, splits[valid_name], splits[config.test_split], valid_name
    warn_unused_splits(export_dir, splits, evaluated)
    if len(train) < 4:
        raise DatasetError(f"split {config.train_split!r} has {len(train)} rows; expected at least 4 to hold some out")
    held_out, by = hold_out_rows(train, source_groups(export_dir, train), config.train.seed)
    log.warning("no validation split in %s: holding out %d of %d train rows (%s) for early stopping", export_dir,
                int(held_out.sum()), len(train), by)
    return train.subset(np.flatnonzero(~held_out)), train.subset(np.flatnonzero(held_out)), \
        splits[config.test_split], f"{config.train_split} (15% held out)"


def warn_unused_splits(export_dir: Path, splits: dict[str, SplitArrays], used: tuple[str, ...]) -> None:
    """Say which labelled splits the recipe leaves out (e.g. `unassigned`: videos no fold names), so
    that rows are not left out without a word."""
    unused = {name: len(data) for name, data in splits.items() if name not in used and len(data)}
    if unused:
        log.warning("%s: split(s) %s are not used (the recipe trains on %r, stops early on the validation split "
                    "and scores %r); name them with --train-split/--valid-split/--test-split to use them",
                    export_dir, ", ".join(f"{name!r} ({rows} labelled rows)" for name, rows in sorted(unused.items())),
                    used[0], used[-1])


#: Share of the train rows held out for early stopping when the export has no validation split.
HOLD_OUT_FRACTION = 0.15


def hold_out_rows(train: SplitArrays, groups: np.ndarray | None, seed: int) -> tuple[np.ndarray, str]:
    """(mask of the train rows held out for early stopping, how they were chosen).

    Whole groups (videos) are held out when `groups` is given, drawn in a seeded order until at
    least `HOLD_OUT_FRACTION` of the rows are out: segments of one video on both sides would make
    the validation score optimistic, as speaker-independent folds exist to prevent. Without groups,
    single rows.
    """
    target = max(1, int(round(HOLD_OUT_FRACTION * len(train))))
    if groups is not None:
        names, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
        chosen = np.random.default_rng(seed).permutation(len(names))
        taken = chosen[: int(np.searchsorted(np.cumsum(sizes[chosen]), target)) + 1]
        mask = np.isin(codes, taken)
        if mask.sum() <= 2 * target and not mask.all():
            return mask, f"{len(taken)} whole videos of {len(names)}"
        why = "single segments: the videos are too few to hold out whole ones near 15%"
    else:
        why = "single segments: the export's source dataset, with its video ids, was not found"
    mask = np.zeros(len(train), bool)
    mask[np.random.default_rng(seed).permutation(len(train))[:target]] = True
    return mask, why


def source_groups(export_dir: Path, train: SplitArrays) -> np.ndarray | None:
    """The group (video) id of each train row, from the samples table of the dataset the export was
    fused from, when it is still there with the same samples; else None."""
    from mmdata.fusion import read_fused_metadata
    from mmdata.store.reader import open_dataset

    source = read_fused_metadata(export_dir).get("source") or {}
    folder = source.get("dataset_dir")
    if not folder or not Path(folder, "mmdata.json").is_file():
        return None
    try:
        dataset = open_dataset(folder)
    except Exception as e:  # noqa: BLE001 - any unreadable source only means no groups
        log.info("source dataset %s of %s not readable (%s): holding out single segments", folder, export_dir, e)
        return None
    if dataset.manifest.samples.get("fingerprint") != source.get("samples_fingerprint"):
        return None
    table = dataset.samples_table(["sample_id", "group_id"])
    group_of = dict(zip(table.column("sample_id").to_pylist(), table.column("group_id").to_pylist()))
    groups = [group_of.get(str(i)) or str(i) for i in train.sample_ids]
    return np.asarray(groups, dtype=object)


def train_sentiment_model(model: Any, train: SplitArrays, valid: SplitArrays, config: TrainConfig):
    """Fit `model` with L1 loss (plus its auxiliary loss) and early stopping on validation MAE."""
    import torch

    inputs = _tensors(train, model.modalities)
    target = torch.as_tensor(train.labels, dtype=torch.float32)

    def loss_fn(net, index):
        batch = {m: x[index] for m, x in inputs.items()}
        loss = torch.abs(net(batch) - target[index]).mean()
        extra = net.auxiliary_loss(batch, target[index])
        return loss if extra is None else loss + extra

    def validate() -> float:
        predictions = predict_sentiment(model, valid)
        if not np.isfinite(predictions).all():
            return float("nan")  # `fit` stops: the model diverged (mae would refuse the values)
        return mae(predictions, valid.labels)

    return fit(model, loss_fn, len(train), config, validate)


def predict_sentiment(model: Any, data: SplitArrays) -> np.ndarray:
    """The model's predictions for every row of `data` (eval mode, no gradients)."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(_tensors(data, model.modalities)).numpy().astype(np.float64)
    model.train(was_training)
    return out


def _tensors(data: SplitArrays, modalities: tuple[str, ...]) -> dict[str, Any]:
    import torch

    # np.require copies a read-only (memory-mapped) array: torch warns about tensors over those.
    return {m: torch.as_tensor(np.require(data.features[m], np.float32, ["W"])) for m in modalities}


def _labelled(name: str, data: SplitArrays) -> SplitArrays:
    keep = np.isfinite(data.labels)
    if not keep.all():
        log.warning("split %s: %d rows without a label are left out", name, int((~keep).sum()))
    return data.subset(np.flatnonzero(keep))
