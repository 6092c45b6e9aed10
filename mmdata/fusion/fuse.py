"""Early fusion: z_i = f([x_i^1, ..., x_i^m]) over a dataset's feature tables, exported for trainers.

    report = fuse("out/mosi", "out/mosi-fused", tables=("text", "audio", "video"),
                  normalize="zscore", missing="zero", format="arrow")

Two streaming passes (`passes.py`) over the samples shards (feature shard k pairs with samples shard k):
  1. decode and concatenate each shard once, accumulate z-score statistics on the statistics splits
     only, count rows per split, stage the raw rows — only when something needs statistics or counts;
  2. normalize the staged (or freshly decoded) rows with those statistics and write every split.
Pooled rows skip the staging: pass 2 maps the Arrow IPC shards (or IPC copies of the Parquet ones
that pass 1 writes) and writes each value once, gathered and normalized in its output buffer
(`direct.py`). With the per-split moments `extract` stores next to each pooled shard, pass 1 is not
needed at all: the statistics are merged from them, and every table is read once. Sequences kept as
sequences go through the staged rows.
Everything is written into a hidden temporary directory renamed onto OUTPUT_DIR at the end, so a
failure (bad input found in pass 2, an interrupted run) leaves nothing behind.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq

from mmdata.errors import ConfigError
from mmdata.fusion.direct import MappableCopies, can_fuse_directly, copies_make_it_direct, direct_pass
from mmdata.fusion.formats import (
    DROPPED_SAMPLES, EXPORT_FORMATS, FUSED_METADATA, GROUP_STATS_FILE, BackgroundSink, ExportFormat, open_sink,
)
from mmdata.fusion.classes import MissingClassPolicy, class_report
from mmdata.fusion.folds import FoldSplits
from mmdata.fusion.group_norm import check_group_key, group_statistics
from mmdata.fusion.labels import ALL_LABELS
from mmdata.fusion.rows import RowLayout
from mmdata.fusion.normalize import NORMALIZATIONS, POOLINGS, Normalization, NormStats, Pooling
from mmdata.fusion.passes import (
    COPIES_NAME, STAGING_NAME, FirstPass, Tally, first_pass, second_pass, stored_statistics,
)
from mmdata.fusion.plan import FusePlan, plan_fusion
from mmdata.fusion.targets import targets_metadata
from mmdata.store.files import write_text_atomic
from mmdata.options import (
    check_choice, check_count, check_flag, dataset_path, did_you_mean, name_list, path_argument, short_repr,
)
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import release_unused_memory
from mmdata.store.lock import output_lock
from mmdata.store.writer import check_replaceable, staged_dir

log = logging.getLogger(__name__)
MissingPolicy = Literal["error", "zero", "drop"]
NonFinitePolicy = Literal["error", "missing"]
SequenceMode = Literal["pool", "pad", "ragged"]
FUSED_LAYOUT_VERSION = 1


@dataclass(frozen=True)
class FuseOptions:
    """What to fuse and how.

    tables: table names or modality names, in output order (default: every table, one per modality);
        a string is one name or a comma list of them, as `stats_splits`.
    normalize: one method for all tables, or {table or modality: method} (a table it does not name
        is not normalized); statistics come from `stats_splits`.
    missing: a sample lacking a table's feature: 'error' stops, 'zero' fills zeros and adds a
        `present` mask column, 'drop' leaves the sample out (counted in the report).
    non_finite: a feature holding NaN or Inf (one would turn a z-score's statistics, and with them
        every exported row, into NaN): 'error' stops naming the table and sample, 'missing' treats
        the feature as missing, and `missing` decides.
    allow_split_leaks: fuse although a sample, image or video id (group_id, image, video) lies in
        more than one split; by default that stops the export, which would leak it.
    sequences: temporal tables are pooled to one vector ('pool', with `pool`), or kept as (T, D)
        sequences aligned to a common reference, 'pad'ded to `max_length` (default: the longest;
        longer sequences keep their first steps; z-score statistics are those of every train step,
        the cut ones included, so they describe the table, not the cut) or 'ragged' (every step:
        `max_length` is the padded length only).
    labels: auxiliary labels to export beside `label`, each as its own float64 column: names the
        dataset's loader recorded (`extra.loader.label_names`: CMU-MOSEI's happy, sad, ...; CH-SIMS's
        label_T, label_A, label_V), or their column names, as a tuple or a comma list, or 'all' for
        every one of them. Column `label_<name>` (`label_happy`), or the name itself when it starts
        with `label_` (`label_T`); null where a sample has no value. None (the default): no such column.
    class_label: a key of the samples' `extra` holding a class name (a string; an integer is read as its
        decimal string): the export gets an int64 `class_id` column after the label columns and fused.json
        the class names (`classes`, index = id) with per-split counts. Ids follow the sorted names, or the
        line order of `classes_file` (UTF-8, one class name per line, or a table index,mid,display_name as
        AudioSet's class_labels_indices.csv, ids by index; a sample whose class it lacks is refused). A sample
        without a class is refused unless `missing_class` is 'keep' (class_id -1; 'empty': multi-label, a row of
        no class). Values that are lists of names (MM-IMDb's genres), or names split at `class_separator` ('|' for a CSV cell
        `Drama|Comedy`), make it multi-label: a float32 multi-hot `class_targets` column instead (`class_targets`).
    class_map: a map of the class names as the corpus writes them to the class each counts as, applied before
        the ids are made (`class_map`): a CSV/TSV file of name,class lines (an empty class: no class; a name it
        does not list keeps its own) or a .json object, or a built-in map's name ('emotions': RAVDESS's, CREMA-D's,
        IEMOCAP's and MELD's emotions as Ekman's six and neutral), whose sorted classes are the ids (unless
        `classes_file` gives them) and which refuses a name it does not list. A path that exists wins over a
        built-in name. fused.json's `class_label.class_map` records it and how many samples it renamed.
    targets: a feature table exported as training targets beside the features (`event-targets`' frame-level
        sound-event targets): a `targets` column of the same shape as `feature`, dim C, not normalized and not
        part of the fused vector. Kept sequences need it on the features' time steps (the same number per
        sample: `mmdata align --reference TARGETS`); pooled rows take each target column's max over time
        (frame targets -> clip targets). A sample lacking it follows `missing` as a feature table does (its
        `present` flag is the last one). None (the default): no such column.
    folds: deal the splits again by each sample's fold at `extra[folds.by]` (`folds.FoldSplits`): `test` held
        out as split test, `val` (where given) as val, every other fold train; the loader's splits are not
        used. One extraction then gives every fold's export (cross-validation; `mmdata train cross-validate`).
        None (the default): the samples' splits.
    normalize_by: z-score every z-scored table per group of samples instead of with the statistics splits'
        statistics (`group_norm`): 'group_id', or a key of the samples' `extra` holding each sample's group
        (IEMOCAP's and MELD's 'speaker', a merged dataset's 'source_dataset'). A group's statistics are those of
        its own rows in every split (a test speaker's come from the test speaker's features; no label is read);
        the export holds them in `normalization_groups.parquet`. None (the default): one set of statistics.
    """

    tables: tuple[str, ...] | None = None
    normalize: Normalization | Mapping[str, Normalization] = "zscore"
    missing: MissingPolicy = "error"
    non_finite: NonFinitePolicy = "error"
    format: ExportFormat = "parquet"
    stats_splits: tuple[str, ...] = ("train",)
    sequences: SequenceMode = "pool"
    pool: Pooling = "mean"
    max_length: int | None = None
    shard_rows: int = 100_000
    overwrite: bool = False
    allow_split_leaks: bool = False
    labels: tuple[str, ...] | Literal["all"] | None = None
    class_label: str | None = None
    classes_file: str | Path | None = None
    missing_class: MissingClassPolicy = "error"
    class_separator: str | None = None
    class_map: str | Path | None = None
    targets: str | None = None
    folds: FoldSplits | None = None
    normalize_by: str | None = None

    def __post_init__(self) -> None:
        if self.stats_splits is None:
            raise ConfigError("fuse option stats_splits is None; name the split(s) whose z-score statistics "
                              "normalize every split ('train', the default), as a list or a comma list")
        # One name given as a string (`tables="image"`) would otherwise be taken letter by letter.
        for name in ("tables", "stats_splits"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _names(value, name))
        if self.tables is not None and not self.tables:
            raise ConfigError("fuse option tables is empty; name at least one table or modality, "
                              "or leave it None to fuse every table, one per modality")
        if self.labels is not None:
            object.__setattr__(self, "labels", _label_names(self.labels))
        _check_class_options(self)
        _check_targets_option(self)
        if self.normalize_by is not None:
            check_group_key(self.normalize_by)
            object.__setattr__(self, "normalize_by", self.normalize_by.strip())
        if self.folds is not None and not isinstance(self.folds, FoldSplits):
            raise ConfigError(f"fuse option folds={self.folds!r}: expected a FoldSplits(by, test, val) or None")
        _expect_choice("missing", self.missing, ("error", "zero", "drop"))
        _expect_choice("non_finite", self.non_finite, ("error", "missing"))
        _expect_choice("format", self.format, EXPORT_FORMATS)
        _expect_choice("sequences", self.sequences, ("pool", "pad", "ragged"))
        _expect_choice("pool", self.pool, POOLINGS)
        methods = self.normalize.values() if isinstance(self.normalize, Mapping) else [self.normalize]
        for method in methods:
            _expect_choice("normalize", method, NORMALIZATIONS)
        check_count("fuse option max_length", self.max_length, optional=True)  # "5" or 2.5 failed later
        check_count("fuse option shard_rows", self.shard_rows)
        check_flag("fuse option overwrite", self.overwrite)
        check_flag("fuse option allow_split_leaks", self.allow_split_leaks)


@dataclass(repr=False)
class FuseReport:
    """What `fuse` wrote: rows per split, dims, slices, missing and dropped counts."""

    output_dir: Path
    format: str
    dim: int
    tables: list[str]
    slices: dict[str, tuple[int, int]]
    rows: dict[str, int]
    missing: dict[str, int]
    dropped: int
    normalization: dict[str, str]
    files: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    #: The auxiliary label columns written (`FuseOptions.labels`), in order.
    labels: list[str] = field(default_factory=list)
    #: Splits of the samples table of which no row was exported (every sample left out by missing='drop').
    emptied_splits: list[str] = field(default_factory=list)
    #: The file listing the samples missing='drop' left out (`formats.DROPPED_SAMPLES`), when any was.
    dropped_samples: Path | None = None
    #: Kept sequences: pooled table -> samples counted in `missing` whose feature exists but has no
    #: time step to ride on (no sequence table has a row for the sample); empty for pooled rows.
    no_time_step: dict[str, int] = field(default_factory=dict)
    #: One line naming those samples' count, the sequence tables and a sample id; None when there are none.
    no_time_step_warning: str | None = None
    #: The class names (index = class_id) with `FuseOptions.class_label`, and the rows of each class per split
    #: (multi-label, `multi_label`: the rows holding each class, a class_targets column instead of class_id).
    classes: list[str] = field(default_factory=list)
    multi_label: bool = False
    class_counts: dict[str, list[int]] = field(default_factory=dict)
    #: One line naming the classes of a split that the train split(s) lack; None when there are none.
    class_warning: str | None = None
    #: The table exported as the `targets` column (`FuseOptions.targets`) and its dim C; None and 0 without.
    targets: str | None = None
    target_dim: int = 0
    #: The key the z-scored tables were normalized by, per group (`FuseOptions.normalize_by`), and its groups.
    normalize_by: str | None = None
    groups: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def _grouped(self, table: str) -> bool:
        return self.normalize_by is not None and self.normalization.get(table) == "zscore"

    def __repr__(self) -> str:
        rows = ", ".join(f"{split}: {n}" for split, n in self.rows.items())
        lines = [f"output_dir={str(self.output_dir)!r} ({self.format}, {sum(len(f) for f in self.files.values())} files)",
                 f"{self.total_rows} rows ({rows}) x {self.dim} dims",
                 "tables: " + ", ".join(f"{name} [{a}:{b}] {self.normalization.get(name, '')}"
                                        + (f" by {self.normalize_by}" if self._grouped(name) else "")
                                        for name, (a, b) in list(self.slices.items())[:8])
                 + (f", ... {len(self.slices) - 8} more" if len(self.slices) > 8 else "")]
        missing = {name: n for name, n in self.missing.items() if n}
        if missing or self.dropped:
            lines.append(f"missing: {missing}, dropped: {self.dropped}")
        if self.no_time_step_warning:
            lines.append(self.no_time_step_warning)
        if self.emptied_splits:
            lines.append(f"emptied splits: {self.emptied_splits}")
        if self.targets:
            lines.append(f"targets: {self.targets} ({self.target_dim} dims)")
        if self.labels:
            lines.append(f"labels: {self.labels}")
        if self.classes:
            lines.append(f"{len(self.classes)} classes; {'positives' if self.multi_label else 'rows'} per split: "
                         + ", ".join(f"{split}: {sum(counts)}" for split, counts in self.class_counts.items()))
        if self.class_warning:
            lines.append(self.class_warning)
        return short_repr(type(self).__name__, lines)


def fuse(dataset_dir: str | Path | Dataset, output_dir: str | Path, options: FuseOptions | None = None,
         **overrides: Any) -> FuseReport:
    """Concatenate the chosen feature tables per sample, normalize them, and export for training.

    Args:
        dataset_dir: the dataset directory, or a `Dataset` (`open_dataset`).
        output_dir: the export folder to write (new, or an earlier fuse output with overwrite/force).
        options: a `FuseOptions` (None: the defaults), which `overrides` update.
        **overrides: any `FuseOptions` field by name (`fuse(d, out, normalize="l2")`): tables,
            normalize, missing, non_finite, format, stats_splits, sequences, pool, max_length,
            shard_rows, overwrite, allow_split_leaks, labels, class_label, classes_file,
            missing_class, class_separator, class_map, targets, folds; `force` is the same as `overwrite`
            (the name extract, align, segment and the command line use). `tables`, `stats_splits`
            and `labels` take a list or a comma-separated string.

    Returns:
        A `FuseReport`: rows per split, the fused dim and each table's slice of it, missing and
        dropped counts, the files written.

    Raises:
        ConfigError: bad options (an unknown keyword, naming the closest field; a value a field does
            not take), a split for statistics that does not exist, two tables of one modality.
        DatasetError / SchemaMismatchError: tables of another dataset, ids or order that differ, a
            missing table, dims that changed between shards, a missing feature with missing='error'
            — each naming the table and the sample id. Nothing is written then.

    Example:
        >>> fuse("out/coco", "out/coco-fused", tables=("image", "text"), normalize="l2", format="arrow")
    """
    started = time.perf_counter()
    if options is not None and not isinstance(options, FuseOptions):
        raise ConfigError(f"fuse options: expected a FuseOptions (or None), got {options!r} ({type(options).__name__}); "
                          "pass single options by name (fuse(d, out, normalize='l2'))")
    options = replace(options or FuseOptions(), **_checked_overrides(overrides))
    dataset_dir = dataset_path(dataset_dir)
    output_dir = path_argument(output_dir, argument="output_dir")
    with output_lock(output_dir, "fuse"):  # one fuse at a time decides whether output_dir may be replaced
        return _fuse_into(dataset_dir, output_dir, options, started)


def _checked_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """`fuse`'s keyword overrides as `FuseOptions` fields: `force` as `overwrite`, an unknown name refused.

    Raises:
        ConfigError: a name no field has (the closest suggested), or force and overwrite that disagree.
    """
    overrides = dict(overrides)
    if "force" in overrides:
        force = overrides.pop("force")
        if "overwrite" in overrides and overrides["overwrite"] != force:
            raise ConfigError(f"fuse: force={force!r} and overwrite={overrides['overwrite']!r} disagree; they are one "
                              "option (force is the name the other commands use): give one of them")
        overrides["overwrite"] = force
    known = [f.name for f in fields(FuseOptions)]
    for name in overrides:
        if name not in known:
            raise ConfigError(f"fuse: unknown option {name!r}{did_you_mean(name, [*known, 'force'])}; options: "
                              f"{sorted([*known, 'force'])}")
    return overrides


def _fuse_into(dataset_dir: Path, output_dir: Path, options: FuseOptions, started: float) -> FuseReport:
    check_replaceable(output_dir, [dataset_dir], force=options.overwrite, marker=FUSED_METADATA, what="fuse")
    dataset = open_dataset(dataset_dir)
    plan = plan_fusion(dataset, options)
    tally = Tally()
    sink: BackgroundSink | None = None
    with staged_dir(output_dir) as tmp:  # written there, moved onto output_dir when complete
        try:
            if plan.group_norm is not None:  # a pass of its own: the passes below read the rows normalized
                group_statistics(plan, options)
                plan.group_norm.write(tmp / GROUP_STATS_FILE)
            # For pooled rows a first pass only gathers statistics (and counts, for .npy): moments
            # stored at extraction replace it when every shard has them, and then every table,
            # Parquet too, is read once, in the direct pass.
            pooled_rows = not plan.keeps_sequences
            stored = stored_statistics(plan, options) if pooled_rows and options.format != "npy" else None
            direct = can_fuse_directly(plan) or (pooled_rows and (stored is not None
                                                                  or not plan.needs_first_pass))
            copies = None
            if not direct and copies_make_it_direct(plan):
                copies, direct = MappableCopies(plan, tmp / COPIES_NAME), True
            staging = None if direct else tmp / STAGING_NAME
            needs_first = (plan.needs_first_pass and stored is None) or copies is not None
            first = first_pass(plan, options, tally, staging, copies) if needs_first else None
            stats = first.stats if first else stored or {t.name: NormStats(t.method) for t in plan.tables}
            # What the plan's scans freed, before the pass allocates its own: without it the pass's
            # memory sits on top of it (fuse's peak at 100k samples was 12 MiB higher).
            release_unused_memory()
            layout = _layout(plan, options, first)
            metadata = _metadata(plan, options, stats, layout)
            sink = BackgroundSink(open_sink(options.format, tmp, layout, metadata, first.counts if first else None,
                                            shard_rows=options.shard_rows))
            if direct:
                direct_pass(copies.plan(plan) if copies else plan, options, stats, layout, sink, tally)
            else:
                second_pass(plan, options, stats, layout, sink, tally, first.staging if first else None)
            files = sink.close()
            if first and first.staging:
                first.staging.unlink()
            if copies:
                copies.remove()
            rows = dict(sorted(sink.rows.items()))
            missing, dropped = tally.missing, tally.dropped
            if dropped:
                pq.write_table(tally.dropped_table(), tmp / DROPPED_SAMPLES, compression="zstd")
            metadata.update(rows=rows, files=files, missing={
                "policy": options.missing, "non_finite": options.non_finite, "counts": missing, "dropped": dropped,
                "dropped_samples": DROPPED_SAMPLES if dropped else None, "emptied_splits": _emptied_splits(plan, rows),
                # kept sequences only: pooled rows' metadata stays as it was
                **({"no_time_step": tally.no_time_step.to_json()} if plan.keeps_sequences else {})})
            class_info, class_warning = _class_info(plan, sink.class_counts)
            if class_info:
                metadata["class_label"].update(class_info)
            write_text_atomic(tmp / FUSED_METADATA, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        except BaseException:
            if sink is not None:
                sink.abort()  # before the folder it writes into goes
            raise
    features, grouping = plan.feature_tables, plan.group_norm
    report = FuseReport(
        output_dir=output_dir, format=options.format, dim=plan.feature_dim, tables=[t.name for t in features],
        slices={t.name: (t.start, t.stop) for t in features}, rows=rows, missing=missing, dropped=dropped,
        normalization={t.name: "zscore" if grouping is not None and t.name in grouping.tables else t.method
                       for t in features}, files=files, seconds=time.perf_counter() - started,
        labels=list(plan.label_columns), emptied_splits=metadata["missing"]["emptied_splits"],
        dropped_samples=output_dir / DROPPED_SAMPLES if dropped else None,
        no_time_step={k: v for k, v in tally.no_time_step.tables.items() if v},
        no_time_step_warning=tally.no_time_step.warning(), classes=list(plan.classes or ()),
        class_counts=class_info.get("counts", {}), class_warning=class_warning, multi_label=plan.multi_label,
        targets=plan.target_table.name if plan.target_table else None, target_dim=plan.target_dim,
        normalize_by=grouping.key if grouping is not None else None, groups=len(grouping.names) if grouping else 0,
    )
    if report.emptied_splits:
        log.warning("--missing drop left no row of split(s) %s: every sample there lacks a table (missing: %s)",
                    ", ".join(report.emptied_splits), ", ".join(f"{k} {v}" for k, v in missing.items() if v))
    if class_warning:
        log.warning("%s", class_warning)
    lone = grouping.single_sample_groups() if grouping is not None else []
    if lone:
        log.warning("--normalize-by %s: %d group(s) have one row in a table (%s%s): their values there are all 0",
                    grouping.key, len(lone), ", ".join(lone[:3]), ", ..." if len(lone) > 3 else "")
    log.info("fused %d rows x %d dims into %s in %.2f s", report.total_rows, report.dim, output_dir, report.seconds)
    return report


def _emptied_splits(plan: FusePlan, rows: dict[str, int]) -> list[str]:
    """The samples table's splits that have rows there and none in the export."""
    if plan.split_names is None or plan.split_codes is None:
        return []
    held = [str(plan.split_names[code]) for code in np.unique(plan.split_codes)]
    return [split for split in held if not rows.get(split)]


def _class_info(plan: FusePlan, counts: dict[str, np.ndarray]) -> tuple[dict[str, Any], str | None]:
    """What fused.json's `class_label` adds once the rows are written (counts per split, the classes of other
    splits that the statistics (train) splits lack) and the warning about those; ({}, None) without classes."""
    if plan.classes is None:
        return {}, None
    return class_report(counts, plan.classes, plan.stats_splits)


def _layout(plan: FusePlan, options: FuseOptions, first: FirstPass | None) -> RowLayout:
    presence = len(plan.tables) if options.missing == "zero" else None
    columns = {"labels": plan.label_columns, "classes": plan.classes, "multi_label": plan.multi_label,
               "targets": plan.target_dim}
    if not plan.keeps_sequences:
        return RowLayout(plan.feature_dim, "pooled", presence=presence, **columns)
    if options.sequences == "ragged":
        return RowLayout(plan.feature_dim, "ragged", presence=presence, **columns)
    longest = options.max_length or (first.longest if first else 0)
    return RowLayout(plan.feature_dim, "padded", max(int(longest), 1), presence=presence, **columns)


def _metadata(plan: FusePlan, options: FuseOptions, stats: dict[str, NormStats], layout: RowLayout) -> dict[str, Any]:
    from mmdata import __version__

    manifest = plan.dataset.manifest
    # Auxiliary label names and columns, only when asked for: the default export's metadata stays as it was.
    labels = {"labels": plan.labels.to_json()} if plan.labels is not None else {}
    if plan.class_labels is not None:  # likewise the class names and where they came from
        labels.update(classes=list(plan.class_labels.names), class_label=plan.class_labels.to_json())
    targets = targets_metadata(plan, present_flag=layout.presence is not None)
    if targets is not None:  # and the targets column
        labels.update(targets=targets)
    if options.folds is not None:  # and the folds the splits were dealt by
        labels.update(folds=options.folds.to_json(plan.fold_values))
    features = plan.feature_tables
    return {
        **labels,
        "layout_version": FUSED_LAYOUT_VERSION,
        "mmdata_version": __version__,
        "format": options.format,
        "source": {
            "dataset_dir": str(plan.dataset.root.resolve()),
            "samples_fingerprint": manifest.samples.get("fingerprint"),
            "corpus": manifest.corpus,
            # what the loader recognised (e.g. dataset cmu-mosi from a .csd label file): the label range
            "loader": {k: v for k, v in (manifest.extra.get("loader") or {}).items() if k == "dataset"},
            "tables": {t.name: {"extractor": t.entry.extractor, "config": t.entry.config, "spec": t.entry.spec,
                                "versions": t.entry.versions} for t in plan.tables},
        },
        "tables": [t.name for t in features],
        "modalities": [t.modality for t in features],
        "slices": {t.name: [t.start, t.stop] for t in features},
        "dim": plan.feature_dim,
        "rows_kind": layout.kind,
        "max_length": layout.max_length,
        "sequences": {"mode": options.sequences,
                      # the features' pooling: pooled targets take their max (`targets.pool`)
                      "pool": options.pool if any(t.spec.kind == "sequence" for t in features) else None}
        if plan.has_sequences else None,
        "normalization": _normalization(plan, stats),
        "columns": layout.schema().names,
    }


def _normalization(plan: FusePlan, stats: dict[str, NormStats]) -> dict[str, Any]:
    """fused.json's `normalization`: the statistics splits and each table's method and statistics; with
    `normalize_by`, `by` (the key, the groups, the file holding their statistics) and the grouped tables'
    entries (method zscore, by, rows and groups counted)."""
    grouping = plan.group_norm
    tables = {t.name: grouping.table_json(t.name) if grouping is not None and t.name in grouping.tables
              else stats[t.name].to_json() for t in plan.feature_tables}
    # stats_splits: [] when every z-scored table was normalized per group (no statistics came from a split)
    splits_used = grouping is None or any(t.method == "zscore" for t in plan.feature_tables)
    return {"stats_splits": list(plan.stats_splits) if splits_used else [], "tables": tables,
            **({"by": grouping.to_json()} if grouping is not None else {})}


def parse_normalization(values: list[str] | tuple[str, ...] | str) -> Normalization | dict[str, Normalization]:
    """`"zscore"` -> "zscore"; `["image=l2", "text=none"]` or `"image=l2,text=none"` -> a per-table map.

    Keys are table or modality names. Raises ConfigError on a method that does not exist.
    """
    items = [p.strip() for v in ([values] if isinstance(values, str) else values) for p in v.split(",") if p.strip()]
    if len(items) == 1 and "=" not in items[0]:
        _expect_choice("normalize", items[0], NORMALIZATIONS)
        return items[0]  # type: ignore[return-value]
    out: dict[str, Normalization] = {}
    for item in items:
        key, sep, method = item.partition("=")
        if not sep:
            raise ConfigError(f"--normalize: expected METHOD or TABLE=METHOD,..., got {item!r}")
        _expect_choice("normalize", method.strip(), NORMALIZATIONS)
        out[key.strip()] = method.strip()  # type: ignore[assignment]
    return out


def _names(value: str | tuple[str, ...] | list[str], option: str = "names") -> tuple[str, ...]:
    """Names as a tuple: a string is one name, or a comma list of them ("image,text") (`options.name_list`)."""
    return tuple(name_list(value, argument=f"fuse option {option}"))


def _label_names(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...] | Literal["all"]:
    """`labels` as 'all' or a tuple of names ("happy,fear" or ["happy,fear"] -> ("happy", "fear"))."""
    names = tuple(n for item in name_list(value, argument="fuse option labels") for n in _names(item, "labels"))
    if ALL_LABELS in names:
        if len(names) > 1:
            raise ConfigError(f"fuse option labels={','.join(names)!r} names {ALL_LABELS!r} and more; give {ALL_LABELS!r} "
                              "alone (every label the dataset names) or the names you want")
        return ALL_LABELS
    if not names:
        raise ConfigError("fuse option labels is empty; name at least one label, or 'all', or leave it None "
                          "for no auxiliary label")
    return names


def _check_class_options(options: FuseOptions) -> None:
    """class_label is one non-empty key; classes_file, missing_class, class_separator and class_map only go
    with it."""
    if options.class_label is not None and (not isinstance(options.class_label, str) or not options.class_label.strip()):
        raise ConfigError(f"fuse option class_label={options.class_label!r}: expected the key of the samples' extra "
                          "that holds the class name, e.g. 'class' (--class-label class)")
    _expect_choice("missing_class", options.missing_class, ("error", "keep", "empty"))
    if options.class_separator is not None and (not isinstance(options.class_separator, str) or not options.class_separator):
        raise ConfigError(f"fuse option class_separator={options.class_separator!r}: expected the text between class "
                          "names in one value, e.g. '|' (--class-separator '|')")
    class_map = options.class_map
    if class_map is not None and (not isinstance(class_map, (str, Path)) or not str(class_map).strip()):
        raise ConfigError(f"fuse option class_map={options.class_map!r}: expected a class map file (name,class lines) or "
                          "a built-in map's name, e.g. 'emotions' (--class-map emotions)")
    given = [name for name, value in (("classes_file (--classes)", options.classes_file is not None),
                                      ("missing_class (--missing-class)", options.missing_class != "error"),
                                      ("class_separator (--class-separator)", options.class_separator is not None),
                                      ("class_map (--class-map)", options.class_map is not None)) if value]
    if options.class_label is None and given:
        raise ConfigError(f"fuse option {given[0]} needs class_label (--class-label NAME): the key of the samples' "
                          "extra that holds the class name")


def _check_targets_option(options: FuseOptions) -> None:
    """targets is one table name, not also among `tables`."""
    if options.targets is None:
        return
    if not isinstance(options.targets, str) or not options.targets.strip() or "," in options.targets:
        raise ConfigError(f"fuse option targets={options.targets!r}: expected the name of one feature table to export "
                          "as targets, e.g. 'audio.event-targets' (--targets audio.event-targets)")
    if options.tables is not None and options.targets in options.tables:
        raise ConfigError(f"fuse option targets={options.targets!r} is also in tables {list(options.tables)}; a table "
                          "is either fused into `feature` or exported as `targets`: drop it from --tables")


def _expect_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    check_choice(f"fuse option {name}", value, choices)


__all__ = ["FuseOptions", "FuseReport", "MissingPolicy", "NonFinitePolicy", "SequenceMode", "fuse", "parse_normalization"]
