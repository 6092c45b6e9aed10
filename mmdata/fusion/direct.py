"""Pooled fusion straight from memory-mapped feature tables: every output value is written once.

When rows are pooled vectors and every input table is Arrow IPC (memory-mapped: reading a shard
again costs page faults, not decoding), pass 2 reads the shards again instead of staging the raw
rows. Each split has an output buffer of about the sink's `batch_bytes`; per shard, the rows of a
split are gathered from each table's mapped vectors straight into the table's column slice of that
buffer, normalized there in place, and a full buffer goes to the sink as one batch:

    shard k, table t (n_k, D_t) mapped ──gather rows of split s──▶ buffer[s][r:r+m, t.start:t.stop]
                                                                      normalize in place
    buffer[s] full ──▶ sink.write(FusedBatch)   (rows of one split, in shard and row order)

Rows come out in the same order as the staged path gives them (shards in order, split-stable).
Pooled Parquet tables get there too: when no first pass is needed (no z-score, or moments stored at
extraction give the statistics) they are decoded once, in this pass; otherwise pass 1, which decodes
them anyway, writes each decoded shard as an Arrow IPC copy next to the export (`MappableCopies`),
and pass 2 maps the copies.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mmdata.fusion.formats import BackgroundSink, Sink
from mmdata.fusion.normalize import NormStats, apply_normalization, normalize_into
from mmdata.fusion.passes import Tally, count_shard, keep_mask
from mmdata.fusion.plan import FusePlan, ShardData, iter_shards
from mmdata.fusion.rows import FusedBatch, RowLayout
from mmdata.store.layout import shard_format
from mmdata.store.writer import write_ipc

if TYPE_CHECKING:
    from mmdata.fusion.fuse import FuseOptions

#: Output batch size when the inputs are Parquet tables decoded in this pass: decoding is then the
#: slow side, and the larger batches a sink may ask for only add memory (Parquet tables -> Parquet,
#: peak at 100k samples over peak at 10k, medians of 5 processes: 1.13x with 4 MB batches, 1.06x
#: with 2 MB).
DECODED_INPUT_BATCH_BYTES = 2 << 20


def can_fuse_directly(plan: FusePlan) -> bool:
    """Rows are pooled vectors and every input table is memory-mappable (Arrow IPC)."""
    return not plan.keeps_sequences and all(shard_format(f) == "arrow" for t in plan.tables for f in t.files)


def copies_make_it_direct(plan: FusePlan) -> bool:
    """Every table holds pooled vectors: Arrow IPC copies of its Parquet shards can stand in for it."""
    return not plan.keeps_sequences and all(t.spec.kind == "pooled" for t in plan.tables)


class MappableCopies:
    """Arrow IPC copies of the Parquet tables' decoded shards, written in pass 1, mapped in pass 2.

    A copy holds the `feature` column only (float32 vectors, nulls kept); it costs one sequential
    write, where staging concatenated rows cost a write, a read and a copy into writable batches.
    """

    def __init__(self, plan: FusePlan, folder: Path):
        self.folder = folder
        self.tables = [t for t in plan.tables if any(shard_format(f) == "parquet" for f in t.files)]
        self.files: dict[str, list[Path]] = {t.name: [] for t in self.tables}

    def add(self, index: int, shard: ShardData) -> None:
        for table in self.tables:
            data = shard.tables[table.name]
            values = pa.array(np.ascontiguousarray(data.vectors, np.float32).reshape(-1))
            feature = pa.FixedSizeListArray.from_arrays(values, table.dim, mask=pa.array(~data.valid))
            path = self.folder / table.name / f"part-{index:05d}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_ipc(pa.table({"feature": feature}), path)  # a scratch copy: no fsync, no rename
            self.files[table.name].append(path)

    def plan(self, plan: FusePlan) -> FusePlan:
        """The plan reading the copies instead of the Parquet tables (rows normalized per group are copied so:
        the copies are not normalized again)."""
        tables = [replace(t, files=self.files[t.name]) if t.name in self.files else t for t in plan.tables]
        grouping = plan.group_norm
        if grouping is not None:
            grouping = replace(grouping, tables=tuple(name for name in grouping.tables if name not in self.files))
        return replace(plan, tables=tables, group_norm=grouping)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class _SplitBuffer:
    """Rows of one split waiting to be written: features, presence, auxiliary labels and class ids filled in place,
    key columns as chunks."""

    feature: np.ndarray
    present: np.ndarray
    aux_labels: np.ndarray | None = None
    class_ids: np.ndarray | None = None
    size: int = 0
    sample_ids: list[pa.Array] = field(default_factory=list)
    splits: list[pa.Array] = field(default_factory=list)
    labels: list[pa.Array] = field(default_factory=list)

    @classmethod
    def empty(cls, capacity: int, dim: int, tables: int, labels: int = 0,
              classes: tuple[str, ...] | None = None, multi_label: bool = False) -> _SplitBuffer:
        """Room for `capacity` rows; class ids (capacity,) int64, or multi-label targets (capacity, C) float32."""
        class_ids = None if classes is None else (np.empty((capacity, len(classes)), np.float32) if multi_label
                                                  else np.empty(capacity, np.int64))
        return cls(np.empty((capacity, dim), np.float32), np.empty((capacity, tables), bool),
                   np.empty((capacity, labels), np.float64) if labels else None, class_ids)

    @property
    def space(self) -> int:
        return len(self.feature) - self.size

    def batch(self, layout: RowLayout) -> FusedBatch:
        return FusedBatch(
            pa.concat_arrays(self.sample_ids), pa.concat_arrays(self.splits), pa.concat_arrays(self.labels),
            self.feature[: self.size], present=self.present[: self.size] if layout.presence else None,
            aux_labels=None if self.aux_labels is None else self.aux_labels[: self.size],
            class_ids=None if self.class_ids is None else self.class_ids[: self.size],
        )


def direct_pass(plan: FusePlan, options: FuseOptions, stats: dict[str, NormStats], layout: RowLayout,
                sink: Sink | BackgroundSink, tally: Tally) -> None:
    """Gather, normalize and write every kept sample, counting missing features and dropped samples."""
    batch_bytes = sink.batch_bytes if can_fuse_directly(plan) else min(sink.batch_bytes, DECODED_INPUT_BATCH_BYTES)
    targets = len(plan.classes or ()) if plan.multi_label else 0  # multi-hot float32 rows share the buffer
    capacity = max(1, batch_bytes // (4 * max(plan.dim + targets, 1)))
    buffers: dict[str, _SplitBuffer] = {}
    for shard in iter_shards(plan):
        keep = keep_mask(plan, shard, options)
        count_shard(plan, shard, keep, tally)
        for split in dict.fromkeys(shard.splits[keep].tolist()):
            rows = np.flatnonzero(keep & (shard.splits == split))
            while len(rows):
                buffer = buffers.get(split) or _SplitBuffer.empty(capacity, plan.dim, len(plan.tables),
                                                                  len(plan.label_columns), plan.classes, plan.multi_label)
                buffers[split] = buffer
                taken, rows = rows[: buffer.space], rows[buffer.space :]
                _fill(buffer, plan, shard, taken, stats)
                if buffer.space == 0:
                    sink.write(buffers.pop(split).batch(layout))
    for buffer in buffers.values():
        sink.write(buffer.batch(layout))


def _fill(buffer: _SplitBuffer, plan: FusePlan, shard: ShardData, rows: np.ndarray, stats: dict[str, NormStats]) -> None:
    """Append the shard's `rows` (all of one split) to the buffer: each table's slice gathered and normalized."""
    start, stop = buffer.size, buffer.size + len(rows)
    every = len(rows) == len(shard.splits)  # the whole shard, in order: no gather
    for position, table in enumerate(plan.tables):
        data = shard.tables[table.name]
        vectors = data.vectors if every else data.vectors[rows]
        present = data.valid if every else data.valid[rows]
        block = buffer.feature[start:stop, table.start : table.stop]
        table_stats = stats[table.name]
        if not present.all():
            block[:] = 0.0
            if present.any():
                block[present] = apply_normalization(vectors[present], table_stats)
        else:
            normalize_into(block, vectors, table_stats, rows_scratch=not every)  # one write into the block
        buffer.present[start:stop, position] = present
    if buffer.aux_labels is not None:
        buffer.aux_labels[start:stop] = shard.aux_labels if every else shard.aux_labels[rows]
    if buffer.class_ids is not None:
        buffer.class_ids[start:stop] = shard.class_ids if every else shard.class_ids[rows]
    index = None if every else pa.array(rows, pa.int64())
    for target, column in ((buffer.sample_ids, shard.sample_ids), (buffer.splits, shard.split_array),
                           (buffer.labels, shard.labels)):
        target.append(column if index is None else column.take(index))
    buffer.size = stop
