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

The options are `fuse_options.FuseOptions`, the result `fuse_report.FuseReport` (both importable from here).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from mmdata.errors import ConfigError
from mmdata.fusion.classes import class_report
from mmdata.fusion.direct import MappableCopies, can_fuse_directly, copies_make_it_direct, direct_pass
from mmdata.fusion.formats import DROPPED_SAMPLES, FUSED_METADATA, GROUP_STATS_FILE, BackgroundSink, open_sink
from mmdata.fusion.fuse_options import (
    FuseOptions, MissingPolicy, NonFinitePolicy, SequenceMode, parse_normalization,
)
from mmdata.fusion.fuse_report import FuseReport
from mmdata.fusion.group_norm import group_statistics
from mmdata.fusion.normalize import NormStats
from mmdata.fusion.passes import (
    COPIES_NAME, STAGING_NAME, FirstPass, Tally, first_pass, second_pass, stored_statistics,
)
from mmdata.fusion.plan import FusePlan, plan_fusion
from mmdata.fusion.rows import RowLayout
from mmdata.fusion.targets import targets_metadata
from mmdata.options import dataset_path, did_you_mean, path_argument
from mmdata.store.files import write_text_atomic
from mmdata.store.lock import output_lock
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import release_unused_memory
from mmdata.store.writer import check_replaceable, staged_dir

log = logging.getLogger(__name__)
FUSED_LAYOUT_VERSION = 1


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
            missing_class, class_separator, class_map, targets, folds, normalize_by; `force` is the same as `overwrite`
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
    # stats_splits: [] with normalize_by, which groups every z-scored table (no statistics came from a split)
    return {"stats_splits": list(plan.stats_splits) if grouping is None else [], "tables": tables,
            **({"by": grouping.to_json()} if grouping is not None else {})}


__all__ = ["FuseOptions", "FuseReport", "MissingPolicy", "NonFinitePolicy", "SequenceMode", "fuse", "parse_normalization"]
