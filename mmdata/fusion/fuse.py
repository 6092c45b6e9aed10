"""Early fusion: z_i = f([x_i^1, ..., x_i^m]) over a dataset's feature tables, exported for trainers.

    report = fuse("out/mosi", "out/mosi-fused", tables=("text", "audio", "video"),
                  normalize="zscore", missing="zero", format="arrow")

Two streaming passes over the samples shards (each feature shard k pairs with samples shard k):
  1. statistics (z-score mean/std on the statistics splits only), counts per split and the longest
     sequence — only when something needs them;
  2. normalize with those statistics, concatenate in table order, write every split.
Everything is written into a hidden temporary directory renamed onto OUTPUT_DIR at the end, so a
failure (bad input found in pass 2, an interrupted run) leaves nothing behind.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion.formats import EXPORT_FORMATS, FUSED_METADATA, ExportFormat, FusedBatch, RowLayout, open_sink
from mmdata.fusion.normalize import (
    NORMALIZATIONS, POOLINGS, Normalization, NormStats, Pooling, RunningMoments, apply_normalization,
)
from mmdata.fusion.plan import FusePlan, ShardData, iter_shards, plan_fusion
from mmdata.fusion.sequences import common_lengths, fuse_sequences
from mmdata.store.manifest import write_text_atomic
from mmdata.store.reader import open_dataset

log = logging.getLogger(__name__)
MissingPolicy = Literal["error", "zero", "drop"]
SequenceMode = Literal["pool", "pad", "ragged"]
FUSED_LAYOUT_VERSION = 1


@dataclass(frozen=True)
class FuseOptions:
    """What to fuse and how.

    tables: table names or modality names, in output order (default: every table, one per modality).
    normalize: one method for all tables, or {table: method}; statistics come from `stats_splits`.
    missing: a sample lacking a table's feature: 'error' stops, 'zero' fills zeros and adds a
        `present` mask column, 'drop' leaves the sample out (counted in the report).
    sequences: temporal tables are pooled to one vector ('pool', with `pool`), or kept as (T, D)
        sequences aligned to a common reference, 'pad'ded to `max_length` (default: the longest;
        longer sequences keep their first steps) or 'ragged'.
    """

    tables: tuple[str, ...] | None = None
    normalize: Normalization | Mapping[str, Normalization] = "zscore"
    missing: MissingPolicy = "error"
    format: ExportFormat = "parquet"
    stats_splits: tuple[str, ...] = ("train",)
    sequences: SequenceMode = "pool"
    pool: Pooling = "mean"
    max_length: int | None = None
    shard_rows: int = 100_000
    overwrite: bool = False

    def __post_init__(self) -> None:
        _expect_choice("missing", self.missing, ("error", "zero", "drop"))
        _expect_choice("format", self.format, EXPORT_FORMATS)
        _expect_choice("sequences", self.sequences, ("pool", "pad", "ragged"))
        _expect_choice("pool", self.pool, POOLINGS)
        methods = self.normalize.values() if isinstance(self.normalize, Mapping) else [self.normalize]
        for method in methods:
            _expect_choice("normalize", method, NORMALIZATIONS)
        if self.max_length is not None and self.max_length < 1:
            raise ConfigError(f"max_length must be >= 1, got {self.max_length}")
        if self.shard_rows < 1:
            raise ConfigError(f"shard_rows must be >= 1, got {self.shard_rows}")


@dataclass
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

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def fuse(dataset_dir: str | Path, output_dir: str | Path, options: FuseOptions | None = None, **overrides: Any) -> FuseReport:
    """Concatenate the chosen feature tables per sample, normalize them, and export for training.

    Options come as a `FuseOptions` and/or keyword overrides (`fuse(d, out, normalize="l2")`).

    Raises:
        ConfigError: bad options, a split for statistics that does not exist, two tables of one modality.
        DatasetError / SchemaMismatchError: tables of another dataset, ids or order that differ, a
            missing table, dims that changed between shards, a missing feature with missing='error'
            — each naming the table and the sample id. Nothing is written then.

    Example:
        >>> fuse("out/coco", "out/coco-fused", tables=("image", "text"), normalize="l2", format="arrow")
    """
    started = time.perf_counter()
    options = replace(options or FuseOptions(), **overrides)
    output_dir = Path(output_dir)
    if output_dir.exists() and not options.overwrite:
        raise DatasetError(f"output directory {output_dir} already exists; choose another or pass --force")
    dataset = open_dataset(dataset_dir)
    plan = plan_fusion(dataset, options)
    tmp = output_dir.parent / f".{output_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        stats, counts = _first_pass(plan, options) if plan.needs_first_pass else (_plain_stats(plan), None)
        layout = _layout(plan, options, counts)
        metadata = _metadata(plan, options, stats, layout)
        sink = open_sink(options.format, tmp, layout, metadata, counts, shard_rows=options.shard_rows)
        missing, dropped = _second_pass(plan, options, stats, layout, sink)
        files = sink.close()
        rows = dict(sorted(sink.rows.items()))
        metadata.update(rows=rows, files=files, missing={"policy": options.missing, "counts": missing, "dropped": dropped})
        write_text_atomic(tmp / FUSED_METADATA, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        _replace_dir(tmp, output_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report = FuseReport(
        output_dir=output_dir, format=options.format, dim=plan.dim, tables=[t.name for t in plan.tables],
        slices={t.name: (t.start, t.stop) for t in plan.tables}, rows=rows, missing=missing, dropped=dropped,
        normalization={t.name: t.method for t in plan.tables}, files=files, seconds=time.perf_counter() - started,
    )
    log.info("fused %d rows x %d dims into %s in %.2f s", report.total_rows, report.dim, output_dir, report.seconds)
    return report


# ---- pass 1: statistics and counts ---------------------------------------------------------------


def _first_pass(plan: FusePlan, options: FuseOptions) -> tuple[dict[str, NormStats], dict[str, dict[str, int]]]:
    moments = {t.name: RunningMoments(t.dim) for t in plan.tables if t.method == "zscore"}
    counts: dict[str, dict[str, int]] = {}
    longest = 0
    for shard in iter_shards(plan):
        keep = _keep_mask(plan, shard, options)
        in_stats = np.isin(shard.splits, plan.stats_splits) & keep
        for table in plan.tables:
            data = shard.tables[table.name]
            if table.name in moments:
                moments[table.name].update(data.rows_of(in_stats & data.valid))
        steps = common_lengths(plan, shard) if plan.keeps_sequences else None
        for split in np.unique(shard.splits[keep]):
            chosen = keep & (shard.splits == split)
            entry = counts.setdefault(str(split), {"rows": 0, "steps": 0})
            entry["rows"] += int(chosen.sum())
            if steps is not None:
                entry["steps"] += int(np.minimum(steps[chosen], options.max_length or np.iinfo(np.int64).max).sum())
        if steps is not None and keep.any():
            longest = max(longest, int(steps[keep].max()))
    stats = {t.name: (moments[t.name].finish("zscore") if t.name in moments else NormStats(t.method)) for t in plan.tables}
    for name, s in stats.items():
        if s.method == "zscore" and s.count == 0:
            raise DatasetError(
                f"table {name!r} has no feature in the statistics splits {list(plan.stats_splits)}; "
                "z-score statistics need at least one; choose other --stats-split or --normalize none/l2"
            )
    counts["_longest"] = {"rows": longest, "steps": longest}
    return stats, counts


def _plain_stats(plan: FusePlan) -> dict[str, NormStats]:
    return {t.name: NormStats(t.method) for t in plan.tables}


# ---- pass 2: normalize, concatenate, write -------------------------------------------------------


def _second_pass(plan: FusePlan, options: FuseOptions, stats: dict[str, NormStats], layout: RowLayout,
                 sink: Any) -> tuple[dict[str, int], int]:
    missing = {t.name: 0 for t in plan.tables}
    dropped = 0
    for shard in iter_shards(plan):
        keep = _keep_mask(plan, shard, options)
        for table in plan.tables:
            missing[table.name] += int((~shard.tables[table.name].valid).sum())
        dropped += int((~keep).sum())
        if keep.any():
            sink.write(_fuse_shard(plan, shard, keep, stats, layout))
    return missing, dropped


def _fuse_shard(plan: FusePlan, shard: ShardData, keep: np.ndarray, stats: dict[str, NormStats],
                layout: RowLayout) -> FusedBatch:
    """The fused rows of the kept samples of one shard."""
    rows = np.flatnonzero(keep)
    index = pa.array(rows, pa.int64())
    present = np.stack([shard.tables[t.name].valid[keep] for t in plan.tables], axis=1)
    batch = FusedBatch(shard.sample_ids.take(index), shard.split_array.take(index), shard.labels.take(index),
                       np.empty(0, np.float32), present=present if layout.presence else None)
    if layout.kind == "pooled":
        out = np.zeros((len(rows), plan.dim), np.float32)
        for table in plan.tables:
            data = shard.tables[table.name]
            valid = data.valid[keep]
            out[valid, table.start : table.stop] = apply_normalization(data.vectors[keep][valid], stats[table.name])
        batch.feature = out
        return batch
    batch.feature, batch.lengths = fuse_sequences(plan, shard, keep, stats, layout)
    return batch


# ---- shared helpers ------------------------------------------------------------------------------


def _keep_mask(plan: FusePlan, shard: ShardData, options: FuseOptions) -> np.ndarray:
    """Samples to write; with missing='error' the first missing feature raises, naming table and sample."""
    keep = np.ones(len(shard.splits), dtype=bool)
    for table in plan.tables:
        valid = shard.tables[table.name].valid
        if valid.all():
            continue
        if options.missing == "error":
            first = int(np.argmax(~valid))
            raise DatasetError(
                f"table {table.name!r}, sample {shard.sample_ids[first].as_py()!r}: no feature "
                f"({shard.tables[table.name].why_missing}); {int((~valid).sum())} such samples in this shard; "
                "pass --missing zero (zero-fill + presence mask) or --missing drop"
            )
        if options.missing == "drop":
            keep &= valid
    return keep


def _layout(plan: FusePlan, options: FuseOptions, counts: dict[str, dict[str, int]] | None) -> RowLayout:
    presence = len(plan.tables) if options.missing == "zero" else None
    if not plan.keeps_sequences:
        return RowLayout(plan.dim, "pooled", presence=presence)
    if options.sequences == "ragged":
        return RowLayout(plan.dim, "ragged", presence=presence)
    longest = options.max_length or (counts or {}).get("_longest", {}).get("rows", 0)
    return RowLayout(plan.dim, "padded", max(int(longest), 1), presence=presence)


def _metadata(plan: FusePlan, options: FuseOptions, stats: dict[str, NormStats], layout: RowLayout) -> dict[str, Any]:
    from mmdata import __version__

    manifest = plan.dataset.manifest
    return {
        "layout_version": FUSED_LAYOUT_VERSION,
        "mmdata_version": __version__,
        "format": options.format,
        "source": {
            "dataset_dir": str(plan.dataset.root.resolve()),
            "samples_fingerprint": manifest.samples.get("fingerprint"),
            "corpus": manifest.corpus,
            "tables": {t.name: {"extractor": t.entry.extractor, "config": t.entry.config, "spec": t.entry.spec,
                                "versions": t.entry.versions} for t in plan.tables},
        },
        "tables": [t.name for t in plan.tables],
        "modalities": [t.modality for t in plan.tables],
        "slices": {t.name: [t.start, t.stop] for t in plan.tables},
        "dim": plan.dim,
        "rows_kind": layout.kind,
        "max_length": layout.max_length,
        "sequences": {"mode": options.sequences, "pool": options.pool} if plan.has_sequences else None,
        "normalization": {"stats_splits": list(plan.stats_splits), "tables": {n: s.to_json() for n, s in stats.items()}},
        "columns": layout.schema().names,
    }


def _replace_dir(tmp: Path, output_dir: Path) -> None:
    """Move the finished export into place (an existing one only goes once the new one is complete)."""
    if output_dir.exists():
        old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
        os.replace(output_dir, old)
        os.replace(tmp, output_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, output_dir)


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


def _expect_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"fuse option {name}={value!r} is not one of {list(choices)}")


__all__ = ["FuseOptions", "FuseReport", "MissingPolicy", "SequenceMode", "fuse", "parse_normalization"]
