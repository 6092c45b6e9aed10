"""The two streaming passes of `fuse`, batch by batch (memory bounded by one shard).

    pass 1 (when statistics or counts are needed): decode each shard once, update the z-score
           moments from the statistics splits, and stage the raw concatenated rows in an
           uncompressed Arrow stream next to the export;
    pass 2: read the staged rows back (or decode the shards, when there was no pass 1), normalize
           each table's slice with the final statistics, pad sequences, hand the batch to the sink.

Staging costs one sequential write and read of the fused rows, far cheaper than decoding the
Parquet feature tables a second time. Record shape between the stages (`FusedBatch`, raw):

    feature     (n, D) pooled, or (sum T_i, D) rows of kept sequences (`lengths` T_i)
    present     (n, m) bool: which tables have the sample (zeros stand where they do not)
    aux_labels  (n, k) float64 auxiliary labels (NaN = none), when labels are requested
    class_ids   (n,) int64 class ids (-1 = none), when a class label is requested; multi-label (n, C) float32
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mmdata.errors import DatasetError
from mmdata.fusion.formats import BackgroundSink, Sink
from mmdata.fusion.rows import FusedBatch, RowLayout
from mmdata.fusion.normalize import NormStats, RunningMoments, apply_normalization, normalize_in_place
from mmdata.fusion.plan import FusePlan, ShardData, iter_shards
from mmdata.fusion.sequences import NoTimeStep, concat_sequences, pad_rows
from mmdata.store.moments import iter_shard_moments

if TYPE_CHECKING:
    from mmdata.fusion.direct import MappableCopies
    from mmdata.fusion.fuse import FuseOptions

STAGING_NAME = ".staging.arrows"
#: Folder of the Arrow IPC copies of Parquet tables (`direct.MappableCopies`), inside the export being written.
COPIES_NAME = ".mappable-copies"
#: Rows are written in batches of about this many bytes (Arrow record batches, Parquet row groups).
MERGE_BYTES = 16 << 20


@dataclass
class Tally:
    """Missing features per table and dropped samples, counted on the pass that decodes the shards.

    `dropped_rows` names each dropped sample (`DROPPED_SCHEMA`): the export lists them in
    `dropped.parquet`, so a sample left out is never left out silently. `no_time_step` counts the
    pooled features among `missing` that exist but have no time step to ride on (kept sequences)."""

    missing: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    dropped_rows: list[pa.Table] = field(default_factory=list)
    no_time_step: NoTimeStep = field(default_factory=NoTimeStep)

    def dropped_table(self) -> pa.Table:
        """Every dropped sample: id, split and the tables that lack it, in the samples table's order."""
        if not self.dropped_rows:
            return DROPPED_SCHEMA.empty_table()
        return pa.concat_tables(self.dropped_rows)


#: Rows of `dropped.parquet` (`--missing drop`): which sample was left out of the export, and why.
DROPPED_SCHEMA = pa.schema([
    pa.field("sample_id", pa.string(), nullable=False),
    pa.field("split", pa.string()),
    pa.field("missing_tables", pa.list_(pa.field("item", pa.string(), nullable=False)), nullable=False),
])


@dataclass
class FirstPass:
    stats: dict[str, NormStats]
    counts: dict[str, dict[str, int]]  # split -> rows (and time steps of ragged rows)
    longest: int
    staging: Path | None


def first_pass(plan: FusePlan, options: FuseOptions, tally: Tally, staging: Path | None,
               copies: MappableCopies | None = None) -> FirstPass:
    """Statistics over the statistics splits, counts per split, the longest sequence; stage raw rows.

    With `staging` None (pooled rows for the direct pass, see `direct.py`) nothing is staged and
    nothing tallied: pass 2 maps the shards (or their `copies`, written here) and counts there.
    """
    moments = {t.name: RunningMoments(t.dim) for t in plan.tables if t.method == "zscore"}
    counts: dict[str, dict[str, int]] = {}
    longest = 0
    if staging is None:
        for index, shard in enumerate(iter_shards(plan)):
            if copies is not None:
                copies.add(index, shard)
            keep = keep_mask(plan, shard, options)
            _update_from_tables(moments, plan, shard, keep)
            _count_splits(counts, shard.splits[keep], None)
        return FirstPass(_finish(moments, plan), counts, longest, None)
    stage_layout = staging_layout(plan)
    schema = stage_layout.schema()
    with pa.OSFile(str(staging), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for shard, keep, raw in raw_batches(plan, options, tally):
            if plan.keeps_sequences or raw is None:  # statistics per step/sample from the decoded tables
                _update_from_tables(moments, plan, shard, keep)
            if raw is None:
                continue
            splits = raw.split.to_numpy(zero_copy_only=False).astype(str)
            if not plan.keeps_sequences:  # raw rows are grouped by split: statistics from views, no copy
                _update_from_raw(moments, plan, raw, np.isin(splits, plan.stats_splits))
            writer.write_batch(raw.to_arrow(stage_layout, schema))
            # Steps as written: padded rows keep their first max_length, ragged rows every one
            # (max_length is the padded length only); the .npy sink sizes its arrays from these.
            cut = options.max_length if options.sequences == "pad" else None
            capped = None if raw.lengths is None else np.minimum(raw.lengths, cut or np.iinfo(np.int64).max)
            _count_splits(counts, splits, capped)
            if raw.lengths is not None and len(raw.lengths):
                longest = max(longest, int(raw.lengths.max()))
    return FirstPass(_finish(moments, plan), counts, longest, staging)


def stored_statistics(plan: FusePlan, options: FuseOptions) -> dict[str, NormStats] | None:
    """The normalization statistics from the moments extraction stored with every shard
    (`store.moments`), merged in shard order as pass 1 would compute them; None when a z-scored
    table lacks them (or they do not match its shards), when they hold NaN or Inf (with
    --non-finite missing, pass 1 leaves those rows out), or when dropping samples would leave rows
    out of a table's statistics that its moments include: with missing='drop', a sample lacking
    any table's feature leaves every table, so then every table must be pooled and have a feature
    for every sample (its moments count every row of each shard). Splits dealt again by fold
    (`FuseOptions.folds`) are not the splits the moments were kept by: None then."""
    if not any(t.method == "zscore" for t in plan.tables):
        return _finish({}, plan)
    if plan.fold_values is not None:
        return None
    drop = options.missing == "drop"
    if drop and any(t.spec.kind != "pooled" for t in plan.tables):
        return None  # a sequence can pool to nothing: its sample leaves the other tables' statistics
    fingerprint = plan.dataset.manifest.samples.get("fingerprint")
    moments = {}
    for table in plan.tables:
        if table.method != "zscore" and not drop:
            continue
        if table.spec.kind != "pooled":
            return None
        merged = RunningMoments(table.dim)
        for index, shard in enumerate(iter_shard_moments(table.files, table.dim, fingerprint)):  # merged as read
            if shard is None:
                return None
            if drop and sum(count for count, _, _ in shard.values()) != plan.shard_rows(index):
                return None  # some sample lacks this table's feature
            for split in plan.stats_splits:
                if split not in shard:
                    continue
                if not _finite_moments(shard[split]):
                    return None  # merging them would only warn of NaN arithmetic on the way to NaN
                merged.merge(*shard[split])
        if not _finite_moments((merged.count, merged.mean, merged.m2)):
            return None
        if table.method == "zscore":
            moments[table.name] = merged
    return _finish(moments, plan)


def _finite_moments(moments: tuple[int, np.ndarray, np.ndarray]) -> bool:
    """Moments of rows that hold no NaN or Inf (those rows make the mean or m2 NaN or Inf)."""
    _, mean, m2 = moments
    return bool(np.isfinite(mean).all() and np.isfinite(m2).all())


def _update_from_tables(moments: dict[str, RunningMoments], plan: FusePlan, shard: ShardData, keep: np.ndarray) -> None:
    """Moments from the decoded tables: kept samples of the statistics splits that have the feature."""
    in_stats = np.isin(shard.splits, plan.stats_splits) & keep
    for name, moment in moments.items():
        data = shard.tables[name]
        moment.update(data.rows_of(in_stats & data.valid))


def _count_splits(counts: dict[str, dict[str, int]], splits: np.ndarray, steps: np.ndarray | None) -> None:
    for split in np.unique(splits):
        chosen = splits == split
        entry = counts.setdefault(str(split), {"rows": 0, "steps": 0})
        entry["rows"] += int(chosen.sum())
        entry["steps"] += 0 if steps is None else int(steps[chosen].sum())


def _finish(moments: dict[str, RunningMoments], plan: FusePlan) -> dict[str, NormStats]:
    stats = {t.name: moments[t.name].finish("zscore") if t.name in moments else NormStats(t.method) for t in plan.tables}
    for name, s in stats.items():
        if s.method == "zscore" and s.count == 0:
            raise DatasetError(
                f"table {name!r} has no feature in the statistics splits {list(plan.stats_splits)}; z-score "
                "statistics need at least one; choose other --stats-split or --normalize none/l2"
            )
    return stats


def second_pass(plan: FusePlan, options: FuseOptions, stats: dict[str, NormStats], layout: RowLayout,
                sink: Sink | BackgroundSink, tally: Tally, staged: Path | None) -> None:
    """Normalize, pad and write every kept sample (from the staged rows when pass 1 ran)."""
    if staged is not None:
        batches: Iterator[FusedBatch] = read_staged(staged, staging_layout(plan))
    else:
        batches = (raw for _, _, raw in raw_batches(plan, options, tally) if raw is not None)
    for batch in merged(batches, staging_layout(plan)):
        normalize_batch(batch, plan, stats)
        if layout.kind == "padded":
            batch.feature, batch.lengths = pad_rows(batch.feature, batch.lengths, int(layout.max_length or 1))
        if not layout.presence:
            batch.present = None
        sink.write(batch)


def merged(batches: Iterator[FusedBatch], layout: RowLayout, target_bytes: int = MERGE_BYTES) -> Iterator[FusedBatch]:
    """Consecutive batches merged into writable batches of about `target_bytes`, rows grouped by split.

    The one copy every row needs anyway (staged rows are read-only) builds batches large enough
    for few Parquet row groups / Arrow record batches, and split-contiguous so sinks write slices.
    """
    group: list[FusedBatch] = []
    size = 0
    for batch in batches:
        group.append(batch)
        size += batch.feature.nbytes
        if size >= target_bytes:
            yield FusedBatch.merge(group, layout)
            group, size = [], 0
    if group:
        yield FusedBatch.merge(group, layout)


def _update_from_raw(moments: dict[str, RunningMoments], plan: FusePlan, raw: FusedBatch, in_stats: np.ndarray) -> None:
    for position, table in enumerate(plan.tables):
        if table.name not in moments:
            continue
        rows = in_stats & raw.present[:, position]
        where = np.flatnonzero(rows)
        contiguous = len(where) and where[-1] - where[0] + 1 == len(where)
        chosen = slice(int(where[0]), int(where[-1]) + 1) if contiguous else rows
        moments[table.name].update(raw.feature[chosen, table.start : table.stop])


def raw_batches(plan: FusePlan, options: FuseOptions, tally: Tally) -> Iterator[tuple[ShardData, np.ndarray, FusedBatch | None]]:
    """(decoded shard, kept samples, their raw fused batch or None when none is kept), counting missing/dropped."""
    for shard in iter_shards(plan):
        keep = keep_mask(plan, shard, options)
        count_shard(plan, shard, keep, tally)
        yield shard, keep, (build_raw_batch(plan, shard, keep) if keep.any() else None)


def count_shard(plan: FusePlan, shard: ShardData, keep: np.ndarray, tally: Tally) -> None:
    """Add the shard's missing features (per table) and dropped samples to the tally."""
    for table in plan.tables:
        missing = int((~shard.tables[table.name].valid).sum())
        tally.missing[table.name] = tally.missing.get(table.name, 0) + missing
    tally.no_time_step.add(plan, shard)
    dropped = np.flatnonzero(~keep)
    tally.dropped += len(dropped)
    if len(dropped):
        tally.dropped_rows.append(_dropped_rows(plan, shard, dropped))


def _dropped_rows(plan: FusePlan, shard: ShardData, dropped: np.ndarray) -> pa.Table:
    """`DROPPED_SCHEMA` rows of the shard's `dropped` samples (indices into the shard): the tables that
    lack each (a pooled table whose vector only had no time step to ride on does not)."""
    lacking = np.stack([shard.tables[t.name].lacking()[dropped] for t in plan.tables], axis=1)
    names = np.array([t.name for t in plan.tables], dtype=object)
    per_row = lacking.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32)
    missing = pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.broadcast_to(names, lacking.shape)[lacking], pa.string()),
                                       type=DROPPED_SCHEMA.field("missing_tables").type)
    index = pa.array(dropped, pa.int64())
    return pa.Table.from_arrays([shard.sample_ids.take(index).cast(pa.string()),
                                 shard.split_array.take(index).cast(pa.string()), missing], schema=DROPPED_SCHEMA)


def build_raw_batch(plan: FusePlan, shard: ShardData, keep: np.ndarray) -> FusedBatch:
    """Concatenated, not yet normalized rows of the kept samples (zeros where a table is missing)."""
    rows = np.flatnonzero(keep)
    if not plan.keeps_sequences:
        # Gather in split order: the sink then writes each split as one slice, without another copy.
        rows = rows[np.argsort(shard.splits[rows], kind="stable")]
    every = len(rows) == len(keep) and bool((rows == np.arange(len(rows))).all())
    index = None if every else pa.array(rows, pa.int64())

    def kept(values: np.ndarray) -> np.ndarray:
        return values if every else values[rows]

    present = np.stack([kept(shard.tables[t.name].valid) for t in plan.tables], axis=1)
    batch = FusedBatch(
        shard.sample_ids if every else shard.sample_ids.take(index),
        shard.split_array if every else shard.split_array.take(index),
        shard.labels if every else shard.labels.take(index),
        np.empty(0, np.float32), present=present,
        aux_labels=None if shard.aux_labels is None else kept(shard.aux_labels),
        class_ids=None if shard.class_ids is None else kept(shard.class_ids),
    )
    if plan.keeps_sequences:
        batch.feature, batch.lengths = concat_sequences(plan, shard, keep, shard.steps)
        return batch
    out = np.empty((len(rows), plan.dim), np.float32)
    for position, table in enumerate(plan.tables):
        vectors = kept(shard.tables[table.name].vectors)
        out[:, table.start : table.stop] = vectors
        if not present[:, position].all():
            out[~present[:, position], table.start : table.stop] = 0.0
    batch.feature = out
    return batch


def normalize_batch(batch: FusedBatch, plan: FusePlan, stats: dict[str, NormStats]) -> None:
    """Normalize each table's slice in place (rows where the table is missing stay zero).

    `batch.feature` must be writable (batches from `merged` are)."""
    for position, table in enumerate(plan.tables):
        table_stats = stats[table.name]
        if table_stats.method == "none":
            continue
        present = batch.present[:, position] if batch.present is not None else np.ones(len(batch), bool)
        if batch.lengths is not None:
            present = np.repeat(present, batch.lengths)
        block = batch.feature[:, table.start : table.stop]
        if present.all():
            normalize_in_place(block, table_stats)
        elif present.any():
            batch.feature[present, table.start : table.stop] = apply_normalization(block[present], table_stats)


def keep_mask(plan: FusePlan, shard: ShardData, options: FuseOptions) -> np.ndarray:
    """Samples to write; with missing='error' the first missing feature raises, naming table and sample.

    The error names a table that lacks the feature: a pooled vector without a time step to ride on
    is missing because a sequence table lacks the sample, and that table is the one named."""
    keep = np.ones(len(shard.splits), dtype=bool)
    for table in plan.tables:
        valid = shard.tables[table.name].valid
        if valid.all():
            continue
        lacking = shard.tables[table.name].lacking()
        if options.missing == "error" and lacking.any():
            first = int(np.argmax(lacking))
            raise DatasetError(
                f"table {table.name!r}, sample {shard.sample_ids[first].as_py()!r}: no feature "
                f"({shard.tables[table.name].why_missing}); {int(lacking.sum())} such samples in this shard; "
                "pass --missing zero (zero-fill + presence mask) or --missing drop"
            )
        if options.missing == "drop":
            keep &= valid
    return keep


def staging_layout(plan: FusePlan) -> RowLayout:
    return RowLayout(plan.dim, "ragged" if plan.keeps_sequences else "pooled", presence=len(plan.tables),
                     labels=plan.label_columns, classes=plan.classes, multi_label=plan.multi_label)


def read_staged(path: Path, layout: RowLayout) -> Iterator[FusedBatch]:
    """Staged batches back, read (not memory-mapped) one at a time so memory stays bounded."""
    with pa.OSFile(str(path), "rb") as source:
        reader = pa.ipc.open_stream(source)
        for record in reader:
            yield FusedBatch.from_arrow(record, layout)
