"""Temporal tables kept as sequences: the common time axis of aligned tables, and fused (T, D) rows.

Aligned tables (the output of `mmdata align`, or any tables made on one reference) have the same
number of steps per sample and the same intervals; pooled tables joining them repeat their vector
at every step. Rows between stages:

    rows     (sum of T_i, D) float32   every kept sample's steps, in sample order (ragged)
    padded   (n, L, D) float32         the first L steps of each sample, zeros after
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmdata.checks.aligned import INTERVAL_ATOL
from mmdata.errors import DatasetError
from mmdata.fusion.plan import FusePlan, ShardData, TableData, TablePlan


@dataclass
class NoTimeStep:
    """Samples without a time step whose pooled features exist: no sequence table has a row for them
    (failed, empty or non-finite), so their pooled vectors, repeated at each step, have none to ride
    on and are left out of the export (`present` False, counted missing) though the dataset holds them.

    Counted apart so that the report names this cause: `missing` alone reads as a failure of the
    pooled table. `tables`: pooled table -> such samples that have its feature; `samples`: samples
    with at least one; `example`: the first such sample id.
    """

    sequence_tables: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    example: str | None = None

    def add(self, plan: FusePlan, shard: ShardData) -> None:
        """Count the shard's samples (`TableData.no_step` of its pooled tables)."""
        pooled = [t.name for t in plan.tables if shard.tables[t.name].no_step is not None]
        if not pooled:
            return
        self.sequence_tables = [t.name for t in plan.tables if shard.tables[t.name].offsets is not None]
        without = np.stack([shard.tables[name].no_step for name in pooled], axis=1)
        for name, column in zip(pooled, without.T):
            self.tables[name] = self.tables.get(name, 0) + int(column.sum())
        any_table = without.any(axis=1)
        self.samples += int(any_table.sum())
        if self.example is None and any_table.any():
            self.example = shard.sample_ids[int(np.argmax(any_table))].as_py()

    def to_json(self) -> dict[str, Any]:
        return {"samples": self.samples, "tables": dict(self.tables), "example": self.example}

    def warning(self) -> str | None:
        """One line saying which pooled features are left out and why, or None when none is."""
        if not self.samples:
            return None
        counts = ", ".join(f"{name}: {n}" for name, n in self.tables.items() if n)
        one = self.samples == 1
        sample, it, its = ("sample has", "it", "its") if one else ("samples have", "them", "their")
        return (f"{self.samples} {sample} no time step: no sequence table ({', '.join(self.sequence_tables)}) has "
                f"a row for {it} (failed, empty or non-finite), e.g. sample {self.example!r}; {its} pooled features "
                f"({counts}) exist but have no step to ride on, so they are not in the export and count as missing; "
                "`mmdata check` lists the failures, --sequences pool keeps those features")


def concat_sequences(plan: FusePlan, shard: ShardData, keep: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw (not normalized) ragged rows (sum T_i, D) of the kept samples and their T_i.

    A sequence table fills its slice on the steps of the samples it has (zeros elsewhere); a pooled
    table's vector repeats at every step of its sample.
    """
    steps = steps[keep]
    out = np.zeros((int(steps.sum()), plan.dim), np.float32)
    for table in plan.tables:
        data = shard.tables[table.name]
        valid = data.valid[keep]
        if data.offsets is None:
            vectors = np.where(valid[:, None], data.vectors[keep], 0.0).astype(np.float32, copy=False)
            out[:, table.start : table.stop] = np.repeat(vectors, steps, axis=0)
        else:
            source = np.repeat(keep & data.valid, np.diff(data.offsets))
            out[np.repeat(valid, steps), table.start : table.stop] = data.rows[source]
    return out, steps


def pad_rows(rows: np.ndarray, lengths: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Ragged (sum T_i, D) rows as (n, length, D): the first `length` steps of each sample, zeros after."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    step = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    inside = step < length
    padded = np.zeros((len(lengths), length, rows.shape[1]), np.float32)
    padded[owner[inside], step[inside]] = rows[inside]
    return padded, np.minimum(lengths, length)


def common_lengths(plan: FusePlan, shard: ShardData) -> np.ndarray:
    """Time steps per sample shared by every sequence table present for it.

    Sequence tables must be aligned to one reference: the same number of steps per sample and,
    where both carry intervals, the same intervals (within INTERVAL_ATOL seconds).
    """
    steps = np.zeros(len(shard.splits), np.int64)
    first: TablePlan | None = None
    set_by = np.full(len(steps), -1)
    for position, table in enumerate(plan.tables):
        data = shard.tables[table.name]
        if data.offsets is None:
            continue
        lengths = np.diff(data.offsets)
        seen = data.valid & (set_by >= 0)
        conflict = seen & (lengths != steps)
        if conflict.any():
            row = int(np.argmax(conflict))
            _misaligned(shard, row, table,
                        f"{int(lengths[row])} time steps, table {plan.tables[set_by[row]].name!r} has {int(steps[row])}")
        if first is not None and data.intervals is not None:
            _compare_intervals(shard, table, data, first, shard.tables[first.name])
        if first is None and data.intervals is not None:
            first = table
        fresh = data.valid & (set_by < 0)
        steps = np.where(fresh, lengths, steps)
        set_by = np.where(fresh, position, set_by)
    return steps


def _compare_intervals(shard: ShardData, table: TablePlan, data: TableData, ref_table: TablePlan, ref: TableData) -> None:
    both = data.valid & ref.valid
    mine = data.intervals[np.repeat(both, np.diff(data.offsets))]
    theirs = ref.intervals[np.repeat(both, np.diff(ref.offsets))]
    differ = np.abs(mine - theirs).max(axis=1) > INTERVAL_ATOL
    if differ.any():
        step = int(np.argmax(differ))
        owner = np.repeat(np.flatnonzero(both), np.diff(data.offsets)[both])[step]
        _misaligned(shard, int(owner), table,
                    f"a step spans {mine[step].round(6).tolist()} s, in table {ref_table.name!r} "
                    f"{theirs[step].round(6).tolist()} s")


def _misaligned(shard: ShardData, row: int, table: TablePlan, detail: str) -> None:
    raise DatasetError(
        f"table {table.name!r}, sample {shard.sample_ids[row].as_py()!r}: {detail}: sequences are not aligned "
        "to a common reference; align them first (`mmdata align --reference TABLE`) or pool them (--sequences pool)"
    )
