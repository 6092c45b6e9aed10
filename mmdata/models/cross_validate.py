"""Cross-validation from one extraction: each fold held out as test in turn, a linear probe per fold, and the
mean and spread over the folds, as ESC-50, IEMOCAP and speaker-independent emotion results report them.

    config = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="class"))
    report = run_cross_validation("out/esc50", "out/esc50-cv", config)
    print(report.text())

OUT holds, per fold F, the export `fold-F/` (`fuse --fold-by KEY --test-fold F --format arrow`, the
normalization statistics of that fold's train split) with its `classify-metrics.json` (`train classify`), and
`cross-validate.json`: the config, every fold's results, and per model the mean, standard deviation (n - 1),
minimum and maximum of each test metric. The folds are the values at the samples' `extra[KEY]` (ESC-50's
`fold`, IEMOCAP's `session`, an emotion corpus's `actor`). A run stopped part way resumes: run the same command
again and the folds it finished are read back, not redone. A finished fold is one `cross-validate.json` lists with
the digests of its fused.json and metrics, made from the same dataset (its manifest, every sample's fold) with the
same options (which folds are run aside); anything else is fused and fit again.

This module holds the config, the report, and the run of the folds with their statistics; the rest lives in:
    mmdata.models.cross_validate_resume   the resume key, an earlier run's record read and its options compared,
                                          the folds it finished that are read back
The names moved there stay importable from here.
"""
from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from mmdata.errors import ConfigError, DatasetError, MmdataError
from mmdata.fusion.class_map import builtin_class_map
from mmdata.fusion.folds import FoldSplits, check_fold_key, fold_values, natural_order
from mmdata.fusion.fuse import FuseOptions
from mmdata.models.cross_validate_resume import (  # noqa: F401 - also re-exported from here
    CROSS_VALIDATE_FILE, FOLD_METRICS, OPTIONAL_SINCE, _differences, _finished_fold, _fold_record, _prepare_output,
    _result_options, _resume_key,
)
from mmdata.models.report import aligned_table, json_ready, metric_cell

log = logging.getLogger(__name__)

ValChoice = Literal["none", "next"]


@dataclass(frozen=True)
class CrossValidateConfig:
    """Which folds, how each is fused, and how its probe is fit.

    fold_by: the key of the samples' `extra` holding each sample's fold.
    folds: the folds to hold out as test, in order (default: every fold there is).
    val: 'none' (each probe trains on every other fold, C = 1, as ESC-50's 5-fold results do) or 'next' (the
        next fold in order, the last one's being the first, is held out as val to choose C on).
    fuse: the fuse options of every fold's export (`class_label` needed; `folds`, `format` and `overwrite` are
        set per fold).
    seed: the probe's seed.
    """

    fold_by: str
    fuse: FuseOptions
    folds: tuple[str, ...] | None = None
    val: ValChoice = "none"
    seed: int = 0

    def __post_init__(self) -> None:
        check_fold_key(self.fold_by)
        if self.fuse.class_label is None:
            raise ConfigError("cross-validation scores a class label: give the fuse options a class_label "
                              "(--class-label NAME), the key of the samples' extra holding each sample's class")
        if self.fuse.folds is not None:
            raise ConfigError("cross-validation deals the folds itself: leave the fuse options' folds None "
                              "(--fold-by names the key)")
        if self.val not in ("none", "next"):
            raise ConfigError(f"--val {self.val!r}: expected none (C = 1, every other fold trains) or next (the "
                              "next fold chooses C)")
        if self.fuse.classes_file is not None:  # absolute: a rerun from another folder is the same run
            absolute = str(Path(self.fuse.classes_file).resolve())
            object.__setattr__(self, "fuse", replace(self.fuse, classes_file=absolute))
        if (self.fuse.class_map is not None and builtin_class_map(self.fuse.class_map) is None
                and Path(self.fuse.class_map).expanduser().is_file()):  # a file: likewise (else as typed, for the error)
            absolute = str(Path(self.fuse.class_map).expanduser().resolve())
            object.__setattr__(self, "fuse", replace(self.fuse, class_map=absolute))
        if self.folds is not None:
            object.__setattr__(self, "folds", tuple(str(f).strip() for f in self.folds))
            if not self.folds or len(set(self.folds)) < len(self.folds):
                raise ConfigError(f"--folds {','.join(self.folds)!r}: expected distinct folds to hold out, or none "
                                  "for every fold")

    def to_json(self) -> dict[str, Any]:
        """The options (paths as absolute strings); `folds` apart, a resumed run must match them. An option newer
        than 0.5.9 is left out while it is unset (`OPTIONAL_SINCE`), so a run of that release still resumes."""
        options = {f.name: json_ready(getattr(self.fuse, f.name)) for f in fields(FuseOptions)
                   if f.name not in ("folds", "format", "overwrite")
                   and not (f.name in OPTIONAL_SINCE and getattr(self.fuse, f.name) is None)}
        return {"fold_by": self.fold_by, "folds": list(self.folds) if self.folds else None, "val": self.val,
                "seed": self.seed, "fuse": options}

    def result_options(self) -> dict[str, Any]:
        """The options a fold's result depends on: all but which folds are run."""
        return {k: v for k, v in self.to_json().items() if k != "folds"}


@dataclass
class FoldResult:
    """One fold held out: its export, its val fold, and its metrics JSON (`ClassifyReport.to_json`)."""

    fold: str
    val: str | None
    export: Path
    metrics: dict[str, Any]
    resumed: bool = False

    def rows(self, split: str = "test") -> list[dict[str, Any]]:
        """The result rows (`ResultRow.to_json`) scored on `split`."""
        return [r for r in self.metrics["results"] if r["details"].get("split") == split]

    def failed(self) -> list[dict[str, Any]]:
        """The rows of models that failed (their `error` says why)."""
        return [r for r in self.metrics["results"] if r["status"] == "failed"]


@dataclass
class CrossValidateReport:
    """Every fold's results and, per model, the statistics of each test metric over the folds."""

    dataset_dir: Path
    output_dir: Path
    config: CrossValidateConfig
    folds: list[FoldResult]
    summary: dict[str, dict[str, dict[str, float | int | None]]]
    columns: list[tuple[str, str]]
    percent: tuple[str, ...]
    legend: str
    #: The reference row's model: `majority`, or `prior` for a multi-label probe.
    reference: str = "majority"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The probe's test metrics per fold, then the mean and std over the folds and the reference's mean."""
        header = ["fold", "test rows", *[h for _, h in self.columns]]
        lines = [header]
        for result in self.folds:
            row = next((r for r in result.rows() if r["model"] == "linear"), None)
            cells = [result.fold, str(row["details"]["rows"]) if row else "-"]
            failed = row is None or row["status"] == "failed"
            lines.append(cells + (["FAILED"] + ["-"] * (len(self.columns) - 1) if failed
                                  else [self._cell(key, row["metrics"].get(key)) for key, _ in self.columns]))
        linear, reference = self.summary.get("linear", {}), self.summary.get(self.reference, {})
        lines.append(["mean", ""] + [self._cell(key, linear.get(key, {}).get("mean")) for key, _ in self.columns])
        lines.append(["std", ""] + [self._cell(key, linear.get(key, {}).get("std")) for key, _ in self.columns])
        lines.append([f"{self.reference} mean", ""]
                     + [self._cell(key, reference.get(key, {}).get("mean")) for key, _ in self.columns])
        return aligned_table(lines, left=1)

    def text(self) -> str:
        val = ("C chosen on the next fold, held out as val" if self.config.val == "next"
               else "C = 1, every other fold trains")
        count = f"{len(self.folds)} fold{'s' if len(self.folds) != 1 else ''}"
        head = (f"{count} of extra[{self.config.fold_by!r}] in {self.dataset_dir}, each held out as "
                f"test once ({val}); linear probe:")
        return "\n".join([head, self.table(), self.legend + "; std over the folds (n - 1)", *self.notes,
                          *[f"FAILED: fold {r.fold}: {row['error']}" for r in self.folds for row in r.failed()]])

    def failed(self) -> list[dict[str, Any]]:
        return [row for result in self.folds for row in result.failed()]

    def to_json(self) -> dict[str, Any]:
        from mmdata.models.report import environment

        return {
            "recipe": "cross-validate",
            "dataset": str(self.dataset_dir.resolve()),  # what a rerun from another folder compares
            "config": self.config.to_json(),
            "folds": [{"fold": r.fold, "val": r.val, "export": r.export.name, "rows": r.metrics.get("rows"),
                       "results": r.metrics["results"]} for r in self.folds],
            "summary": {"split": "test", "models": self.summary},
            "statistics": "over the folds' test metrics: mean, std (n - 1; null for one fold), min, max; n folds",
            "notes": self.notes,
            "environment": environment(),
        }

    def _cell(self, key: str, value: Any) -> str:
        return metric_cell(key, value, self.percent)


def run_cross_validation(dataset_dir: str | Path, output_dir: str | Path, config: CrossValidateConfig, *,
                         force: bool = False) -> CrossValidateReport:
    """Fuse and probe every fold; write `cross-validate.json` in `output_dir` and return the report.

    `output_dir` is new, or an earlier cross-validation: of this dataset with these options (`config.folds`
    aside), its finished folds are read back (resumed); of this dataset changed since (extracted again), every
    fold is redone; with other options it is refused unless `force`. `force` redoes every fold.

    Raises:
        ConfigError: a fold key or class label no sample has, a fold in `config.folds` there is not, fewer than
            two folds (or three with val 'next'); DatasetError: an output folder that is something else, or an
            earlier cross-validation of other options without `force`; what `fuse` and `train classify` raise
            for a fold, its message starting with the fold.
    """
    from mmdata.store.lock import output_lock
    from mmdata.store.reader import open_dataset

    began = time.perf_counter()
    dataset = open_dataset(dataset_dir)
    output_dir = Path(output_dir)
    all_folds, folds_digest = _read_folds(dataset, config)
    chosen = _chosen_folds(config, all_folds)
    key = _resume_key(dataset, config, folds_digest)
    with output_lock(output_dir, "train cross-validate"):  # one run at a time decides what is resumed
        report = _run_folds(dataset, output_dir, config, all_folds, chosen, key, force)
    report.seconds = time.perf_counter() - began
    return report


def _run_folds(dataset: Any, output_dir: Path, config: CrossValidateConfig, all_folds: list[str], chosen: list[str],
               key: str, force: bool) -> CrossValidateReport:
    """Each chosen fold's export and metrics (read back where an earlier run finished them), then the summary;
    `cross-validate.json` lists every finished fold as soon as it is."""
    finished = _prepare_output(output_dir, dataset.root, config, key, force)
    record = {"recipe": "cross-validate", "status": "running", "dataset": str(dataset.root.resolve()),
              "resume_key": key, "config": config.to_json(), "finished": finished}
    _write_summary(output_dir, record)
    results = []
    for fold in chosen:
        val = _val_fold(fold, all_folds) if config.val == "next" else None
        splits = FoldSplits(config.fold_by, fold, val)
        export = output_dir / _fold_dir(fold)
        metrics = _finished_fold(export, val, finished.get(fold))
        resumed = metrics is not None
        if resumed:
            log.info("fold %s: read back from %s", fold, export)
        else:
            metrics = _run_fold(dataset.root, export, config, splits)
            finished[fold] = _fold_record(export, val)
            _write_summary(output_dir, record)
        results.append(FoldResult(fold, val, export, metrics, resumed=resumed))
    report = _report(dataset.root, output_dir, config, results)
    _write_summary(output_dir, {**record, **report.to_json(), "status": "done"})
    return report


def _read_folds(dataset: Any, config: CrossValidateConfig) -> tuple[list[str], str]:
    """Every fold at the samples' extra[fold_by], in natural order, and a digest of every sample's fold; the class
    label checked as `fuse` would check it for every fold, before anything is written."""
    import hashlib

    import pyarrow as pa
    import pyarrow.compute as pc

    from mmdata.checks.stream import scan_samples
    from mmdata.fusion.classes import choose_classes
    from mmdata.store.arrays import single_chunk

    samples, _ = scan_samples(dataset, ["sample_id", "extra"])
    ids, extra = samples.column("sample_id"), samples.column("extra")
    values = fold_values(extra, ids, config.fold_by, str(dataset.root))
    options = config.fuse
    assert options.class_label is not None  # CrossValidateConfig refuses a config without one
    choose_classes(extra, ids, options.class_label, options.classes_file, options.missing_class, str(dataset.root),
                   options.class_separator, options.class_map)
    lines = pc.binary_join_element_wise(single_chunk(ids), values, "\t")  # "<sample id>\t<fold>" per sample
    text = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")[0]
    digest = hashlib.sha256(text.as_buffer() if text.is_valid else b"").hexdigest()
    return natural_order(pc.unique(values).to_pylist()), digest


def _chosen_folds(config: CrossValidateConfig, folds: list[str]) -> list[str]:
    """The folds to hold out as test: `config.folds` (each one there is) or every fold."""
    least = 3 if config.val == "next" else 2
    if len(folds) < least:
        raise ConfigError(f"extra[{config.fold_by!r}] holds {len(folds)} fold(s) ({folds}); cross-validation needs at "
                          f"least {least}" + (" with --val next (test, val and train)" if least == 3 else
                                              " (one to test, the others to train)"))
    unknown = [f for f in config.folds or () if f not in folds]
    if unknown:
        raise ConfigError(f"--folds names {unknown}, which no sample holds at extra[{config.fold_by!r}]; the folds "
                          f"there: {folds}")
    by_folder: dict[str, str] = {}
    for fold in folds:  # case aside: folders of names differing in case alone are one on some file systems
        other = by_folder.setdefault(_fold_dir(fold).casefold(), fold)
        if other != fold:
            raise ConfigError(f"folds {other!r} and {fold!r} of extra[{config.fold_by!r}] would share the folder "
                              f"{_fold_dir(fold)}; rename one in the corpus, or choose another --fold-by")
    return list(config.folds) if config.folds else folds


def _val_fold(fold: str, folds: list[str]) -> str:
    """The fold after `fold` in order, the first after the last."""
    return folds[(folds.index(fold) + 1) % len(folds)]


def _fold_dir(fold: str) -> str:
    """`fold-<name>`, characters a folder name should not hold made `_`."""
    return "fold-" + re.sub(r"[^A-Za-z0-9._-]", "_", fold)


def _run_fold(dataset_root: Path, export: Path, config: CrossValidateConfig, splits: FoldSplits) -> dict[str, Any]:
    """Fuse the fold's export and fit its probe; the metrics JSON.

    Raises:
        MmdataError: of the same class as fuse's or the probe's, its message starting with the fold."""
    from mmdata.fusion.fuse import fuse
    from mmdata.models.classify_recipe import ClassifyRecipeConfig, run_classify_recipe

    options = replace(config.fuse, folds=splits, format="arrow", overwrite=True)
    try:
        fuse(dataset_root, export, options)
        report = run_classify_recipe(export, export / FOLD_METRICS, ClassifyRecipeConfig(seed=config.seed))
    except MmdataError as e:
        raise _named_for_fold(e, splits.test) from e
    log.info("fold %s: %s", splits.test, report.text().splitlines()[0] if report.rows else "no rows")
    return report.to_json()


def _named_for_fold(error: MmdataError, fold: str) -> MmdataError:
    """`error` again, its message starting with the fold it stopped."""
    try:
        return type(error)(f"fold {fold} (held out as test): {error}")
    except TypeError:  # a class of another signature: the message still says it
        return DatasetError(f"fold {fold} (held out as test): {error}")


def _report(dataset_root: Path, output_dir: Path, config: CrossValidateConfig,
            results: list[FoldResult]) -> CrossValidateReport:
    """The per-model statistics over the folds' test rows, and the table's columns for the export's kind."""
    from mmdata.models.classify_multilabel import MULTI_COLUMNS, MULTI_LEGEND, MULTI_PERCENT
    from mmdata.models.classify_recipe import CLASSIFY_COLUMNS, CLASSIFY_LEGEND, PERCENT_METRICS

    multi = any(r["model"] == "prior" for result in results for r in result.rows())
    columns, percent, legend = ((MULTI_COLUMNS, MULTI_PERCENT, MULTI_LEGEND) if multi
                                else (CLASSIFY_COLUMNS, PERCENT_METRICS, CLASSIFY_LEGEND))
    summary: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for model in dict.fromkeys(r["model"] for result in results for r in result.rows()):
        rows = [r for result in results for r in result.rows() if r["model"] == model and r["status"] == "ok"]
        keys = dict.fromkeys(k for r in rows for k in r["metrics"])
        summary[model] = {key: fold_statistics([r["metrics"][key] for r in rows]) for key in keys}
    notes = [f"fold {result.fold}: {note}" for result in results for note in result.metrics.get("notes", ())
             if not note.startswith("C = ")]
    headers = dict(columns)
    for key, stats in summary.get("linear", {}).items():
        if key in headers and 0 < int(stats["n"] or 0) < len(results):
            notes.append(f"{headers[key]}: defined in {stats['n']} of {len(results)} folds; its mean and std are "
                         "over those")
    resumed = [r.fold for r in results if r.resumed]
    if resumed:
        notes.append(f"folds {resumed} read back from the earlier run's exports and metrics")
    return CrossValidateReport(dataset_root, output_dir, config, results, summary, list(columns), tuple(percent),
                               legend, reference="prior" if multi else "majority", notes=notes)


def fold_statistics(values: list[Any]) -> dict[str, float | int | None]:
    """Mean, sample standard deviation (n - 1; None for one value), min and max of the defined values, and n."""
    import numpy as np

    defined = np.array([v for v in values if isinstance(v, (int, float)) and math.isfinite(v)], dtype=float)
    if not len(defined):
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {"mean": float(defined.mean()), "std": float(defined.std(ddof=1)) if len(defined) > 1 else None,
            "min": float(defined.min()), "max": float(defined.max()), "n": int(len(defined))}


def _write_summary(output_dir: Path, document: dict[str, Any]) -> None:
    from mmdata.store.files import write_text_atomic

    output_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output_dir / CROSS_VALIDATE_FILE, json.dumps(json_ready(document), indent=2) + "\n")


__all__ = ["CROSS_VALIDATE_FILE", "CrossValidateConfig", "CrossValidateReport", "FoldResult", "fold_statistics",
           "run_cross_validation"]
