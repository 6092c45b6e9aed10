"""Sentiment recipe: unimodal baselines vs early, late, intermediate and tensor fusion on a fused export.

Reads a pooled fused export (`mmdata fuse DATASET EXPORT`, one table per modality, normalised with
train-only statistics), trains every model with an L1 loss (MulT's choice for MOSI) and early stopping
on the validation MAE, and evaluates on the test split with `mmdata.metrics.sentiment_metrics` (CH-SIMS
exports, labelled in [-1, 1]: `mmdata.metrics.sims_metrics`, MMSA's definitions). The train, validation
and test splits must differ; an export whose normalization statistics came from the validation or test
split is trained with a warning, and the report records the statistics splits. A sample id in two of
the train, validation and test rows (or twice in one), and a NaN/inf feature in them, are refused.
Labels must be signed sentiment scores: an export without labels, with class ids (non-negative
integers only), of a corpus whose labels are classes (MELD: fuse `--class-label sentiment` and run
`train classify`) or with train labels that all have one value is refused; labels outside the corpus's
range, labels scored as MOSI's that all lie in CH-SIMS's [-1, 1], and splits with fewer than
`FEW_ROWS` labelled rows get a warning. The metrics path must be new, empty or an earlier metrics JSON
(never the export's fused.json or a data file).

Rows of the result: `mean` (predicts the train mean: the floor), one `unimodal` row per modality, and
one row per fusion model over all modalities. A model row's `details` hold `best_epoch` (counted from 1,
as `epochs_run` counts: the epoch whose weights were kept and tested), `epochs_run` and `valid_mae`. The
report also names each modality's table, the export's source (dataset, samples fingerprint, corpus) and
the rows left out for want of a label, `notes` (why a metric is undefined: the table's n/a, the
JSON's null) and `metric_definitions` (units and conventions of every key).

A model that diverges (NaN/inf training loss or validation score, or non-finite test predictions) fails
on its own: its row has `status` 'failed' and an `error` naming the model and the epoch, the report's
`failures` lists it, and the other models' results are kept and written.

    report = run_sentiment_recipe("out/mosi-fused", "out/mosi-fused/sentiment.json")
    print(report.text())

This module holds the recipe's configuration, its report and the training of each model; the rest lives in:
    mmdata.models.sentiment_splits   the train, validation and test rows (held-out validation rows included)
    mmdata.models.sentiment_checks   the export's checks (disjoint splits, labels, split sizes, statistics)
                                     and which metric set scores its labels
The names moved there stay importable from here.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import ConfigError
from mmdata.metrics import (
    SENTIMENT_DEFINITIONS, SENTIMENT_LEGEND, SIMS_DEFINITIONS, SIMS_LEGEND, mae, sentiment_metrics, sims_metrics,
)
from mmdata.models.data import SplitArrays
from mmdata.models.report import (
    ResultRow, environment, failures_json, format_table, metrics_file, render_report, write_metrics_json,
)
from mmdata.models.sentiment import SENTIMENT_MODELS, SentimentModelConfig, create_sentiment_model
from mmdata.models.sentiment_checks import (  # noqa: F401 - also re-exported from here
    FEW_ROWS, RANGE_CHECK_MIN_LABELS, SIMS_RANGE, _REFUSE_HINT, check_disjoint_splits, check_finite_features,
    check_label_variation, check_sentiment_labels, metric_set_of, normalization_of, undefined_metric_notes,
    warn_small_splits,
)
from mmdata.models.sentiment_splits import (  # noqa: F401 - also re-exported from here
    HOLD_OUT_FRACTION, VALID_SPLIT_NAMES, _labelled, hold_out_rows, load_sentiment_splits, source_groups,
    warn_unused_splits,
)
from mmdata.models.trainer import TrainConfig, TrainingDiverged, fit, limit_threads, seed_everything

log = logging.getLogger(__name__)

SENTIMENT_COLUMNS = [("mae", "MAE"), ("corr", "Corr"), ("acc2_has0", "Acc2 has0"), ("f1_has0", "F1 has0"),
                     ("acc2_non0", "Acc2 non0"), ("f1_non0", "F1 non0"), ("acc7", "Acc7"), ("acc5", "Acc5")]
#: CH-SIMS (labels in [-1, 1]) is scored with MMSA's SIMS definitions (`mmdata.metrics.sims_metrics`).
SIMS_COLUMNS = [("mae", "MAE"), ("corr", "Corr"), ("acc2", "Acc2"), ("f1", "F1"), ("acc3", "Acc3"), ("acc5", "Acc5")]
PERCENT_METRICS = ("acc2_has0", "f1_has0", "acc2_non0", "f1_non0", "acc7", "acc5", "acc7_cmumosei", "acc2", "f1", "acc3")
METRIC_SETS = {"mosi": (sentiment_metrics, SENTIMENT_COLUMNS), "sims": (sims_metrics, SIMS_COLUMNS)}
#: Units and conventions of each metric set: the JSON's `metric_definitions` and the legend under the table.
METRIC_DEFINITIONS = {"mosi": (SENTIMENT_DEFINITIONS, SENTIMENT_LEGEND), "sims": (SIMS_DEFINITIONS, SIMS_LEGEND)}


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
        """What the CLI prints: the table, a legend of units and conventions, why a metric reads n/a, and why
        any model failed."""
        legend = METRIC_DEFINITIONS[self.info.get("metrics", "mosi")][1]
        return render_report(self.table(), legend, self.rows, self.info.get("notes", ()))

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
        metrics_file(output_path, "metrics path", "sentiment-metrics.json")
    with limit_threads(config.num_threads):
        return _run(Path(export_dir), output_path, config)


def _run(export_dir: Path, output_path: str | Path | None, config: SentimentRecipeConfig) -> SentimentReport:
    from mmdata.fusion import read_fused_metadata

    metric_set = metric_set_of(export_dir)  # first: a corpus of classes (MELD) is refused before any reading
    train, valid, test, valid_name = load_sentiment_splits(export_dir, config)
    parts = {config.train_split: train, valid_name: valid, config.test_split: test}
    check_disjoint_splits(export_dir, parts)
    check_finite_features(export_dir, parts)
    check_label_variation(export_dir, config.train_split, train)
    check_sentiment_labels(export_dir, [train, valid, test])
    small_splits = warn_small_splits(export_dir, parts)
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
        "notes": small_splits + undefined_metric_notes({_row_label(r): r.metrics for r in rows}, test.labels,
                                                       config.test_split),
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


def _row_label(row: ResultRow) -> str:
    """How a note names a row: "mean", "unimodal on text", "early"."""
    return f"{row.model} on {row.modalities[0]}" if row.model == "unimodal" else row.model


def describe_model(name: str, used: list[str]) -> str:
    """How a failure names a model: "model 'unimodal' on audio", "model 'tensor' (audio+text+video)"."""
    return f"model {name!r} on {used[0]}" if name == "unimodal" else f"model {name!r} ({'+'.join(used)})"


def failed_row(name: str, kind: Any, used: list[str], reason: str, seconds: float, details: dict[str, Any]) -> ResultRow:
    """The row of a model that failed: no metrics, `status` 'failed' and the reason (also logged)."""
    log.error("%s", reason)
    return ResultRow(name, kind, used, {}, train_seconds=round(seconds, 2), details=details, status="failed",
                     error=reason)


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
