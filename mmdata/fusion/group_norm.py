"""Z-scores per group of samples: each speaker (or video, or merged corpus) normalized with its own statistics.

Speech emotion and sentiment work often normalizes features per speaker, so that what a model learns is how a
speaker departs from their own baseline, not who is speaking; a dataset merged from several corpora is often
normalized per corpus. `FuseOptions(normalize_by=KEY)` does that for every z-scored table:

    groups    a sample's group is its `group_id` (KEY "group_id") or the value at its `extra[KEY]`
              (IEMOCAP's and MELD's `speaker`, a merged dataset's `source_dataset`)
    stats     per group and table: the mean and std of the group's own features, every split alike
              (a test speaker is normalized with the test speaker's features; labels are never read)
    rows      x' = (x - mean[group]) / std[group], in float64, stored as float32

The statistics take one pass over the tables before the export's own pass (`group_statistics`): per block of
rows, each group's count, mean and squared deviations, merged in float64 with Chan's update (`GroupMoments`); the export then
reads each shard's rows already normalized (`GroupNormalization.apply`, called by `plan._read_shard`), and the
table counts as not normalized for the rest of the fuse. A dimension whose std is 0 in a group keeps std 1
(it is only centred), as the global z-score does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion.folds import EXAMPLES, KeyRole, fold_values, natural_order
from mmdata.fusion.formats import GROUP_STATS_FILE

if TYPE_CHECKING:
    from mmdata.fusion.fuse import FuseOptions
    from mmdata.fusion.plan import FusePlan, ShardData

#: The samples column a group may be read from instead of `extra`.
GROUP_COLUMN = "group_id"
#: Fewer samples than this per group on average is refused: statistics of one or two rows are noise.
MIN_MEAN_GROUP_SIZE = 2
GROUP_ROLE = KeyRole("group", "--normalize-by", "to be normalized with its group's statistics")


def check_group_key(key: object) -> None:
    """Refuse a group key that is not a non-empty string (a ConfigError naming --normalize-by)."""
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"fuse option normalize_by={key!r}: expected {GROUP_COLUMN!r} or the key of the samples' "
                          "extra that holds each sample's group, e.g. 'speaker' or 'source_dataset' "
                          "(--normalize-by KEY)")


def group_codes(samples: pa.Table, key: str, where: str) -> tuple[np.ndarray, list[str]]:
    """(codes, names): every sample's group as an index into `names` (the groups in natural order: 2 before 10).

    `samples` holds `sample_id`, and `group_id` or `extra` (KEY "group_id" reads the column).

    Raises:
        ConfigError: no sample has the key (the keys there listed), or the groups are so many that they hold
            fewer than `MIN_MEAN_GROUP_SIZE` samples on average.
        DatasetError: samples without a group (their count and first ids), a value that is no group name."""
    sample_ids = samples.column("sample_id")
    if key == GROUP_COLUMN:
        values = pc.utf8_trim_whitespace(samples.column(GROUP_COLUMN).combine_chunks().cast(pa.string()))
        values = pc.if_else(pc.equal(pc.utf8_length(values), 0), pa.scalar(None, pa.string()), values)  # as extra's
        if values.null_count:
            rows = np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False))
            first = ", ".join(repr(sample_ids[int(r)].as_py()) for r in rows[:EXAMPLES])
            raise DatasetError(f"{len(rows)} of {len(values)} samples of dataset {where} have no group_id (first: "
                               f"{first}); every sample needs one {GROUP_ROLE.purpose}: choose another --normalize-by "
                               "(a key of the samples' extra, e.g. speaker)")
    else:
        values = fold_values(samples.column("extra"), sample_ids, key, where, GROUP_ROLE)
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    names = encoded.dictionary.to_pylist()
    position = {name: i for i, name in enumerate(names)}
    order = np.array([position[name] for name in natural_order(names)], np.int64)  # spk2 before spk10
    rank = np.empty(len(names), np.int32)
    rank[order] = np.arange(len(names), dtype=np.int32)
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)] if len(values) else np.zeros(0, np.int32)
    if len(names) and len(values) < MIN_MEAN_GROUP_SIZE * len(names):
        raise ConfigError(f"--normalize-by {key}: dataset {where} has {len(names)} groups for {len(values)} samples "
                          f"(fewer than {MIN_MEAN_GROUP_SIZE} samples a group on average): statistics of one sample "
                          "make every value 0; choose a key that groups samples, e.g. speaker")
    return codes, [names[i] for i in order]


#: Rows summed in float32 at once (a block's sums have a relative error of at most BLOCK_ROWS x 2^-24, ~6e-5, and
#: typically ~1e-7); blocks are merged in float64.
BLOCK_ROWS = 1024


@dataclass
class GroupMoments:
    """Per group: count (G,), mean and sum of squared deviations (G, D) float64, merged block by block.

    Each block of rows gives every group in it a count, a mean and a sum of squared deviations from that mean:
    sparse products of the block's group indicator with its float32 rows, taken from each group's first row in
    the block (so a feature far from zero loses nothing to the sums) and then from each group's mean in the block
    (so the squares do not cancel; what the float32 mean left out is added back, the corrected two-pass sum). The
    blocks are merged into the running moments with Chan's parallel update in float64, as `RunningMoments` merges
    shards: faster than the same merge of float64 sums of the rows sorted by group (1.7x with ~630 groups in a
    block of 1,000 x 512 rows, 6x with 10: `normalize_by_bench.py` measures both), and as stable."""

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, groups: int, dim: int) -> GroupMoments:
        return cls(np.zeros(groups, np.int64), np.zeros((groups, dim)), np.zeros((groups, dim)))

    def update(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Add (m, D) rows, row i of group codes[i]."""
        rows = np.asarray(rows, np.float32)
        for start in range(0, len(rows), BLOCK_ROWS):
            self._merge_block(rows[start : start + BLOCK_ROWS], codes[start : start + BLOCK_ROWS])

    def _merge_block(self, rows: np.ndarray, codes: np.ndarray) -> None:
        if not len(rows):
            return
        from scipy import sparse  # here: a fuse without --normalize-by does not load it

        groups, first, local = np.unique(codes, return_index=True, return_inverse=True)
        counts = np.bincount(local, minlength=len(groups))
        indicator = sparse.csr_matrix((np.ones(len(local), np.float32), (local, np.arange(len(local)))),
                                      shape=(len(groups), len(local)))
        origin = rows[first]
        deviations = rows - origin[local]
        offset = (indicator @ deviations) / counts[:, None].astype(np.float32)
        deviations -= offset[local]
        residual = indicator @ deviations  # ~0: what the float32 offset left out (the corrected two-pass sum)
        offset += residual / counts[:, None]
        np.square(deviations, out=deviations)
        m2 = indicator @ deviations
        m2 -= residual * residual / counts[:, None]
        np.maximum(m2, 0.0, out=m2)
        # Chan's merge, in float64, in place where it can be: (g, D) arrays are a block's size again
        before = self.count[groups]
        total = before + counts
        delta = origin.astype(np.float64)
        delta += offset
        delta -= self.mean[groups]
        self.mean[groups] += delta * (counts / total)[:, None]
        delta *= delta
        delta *= (before * counts / total)[:, None]
        delta += m2
        self.m2[groups] += delta
        self.count[groups] = total

    def mean_and_variance(self) -> tuple[np.ndarray, np.ndarray]:
        """(G, D) float64 mean and variance (ddof 0) of each group; 0 and 0 for a group of no row."""
        return self.mean, self.m2 / np.maximum(self.count, 1)[:, None]


@dataclass
class GroupStats:
    """One table's per-group z-score statistics: (G, D) mean and std (std 0 -> 1), (G,) counts."""

    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, moments: GroupMoments) -> GroupStats:
        mean, variance = moments.mean_and_variance()
        std = np.sqrt(variance)
        return cls(mean, np.where(std > 0, std, 1.0), moments.count)

    def normalized(self, rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """(rows - mean[codes]) / std[codes] as float32 (computed in float64: a mean far from zero loses nothing)."""
        with np.errstate(invalid="ignore", over="ignore"):  # rows of missing features may hold NaN; they are not used
            out = rows.astype(np.float64)
            out -= self.mean[codes]
            out /= self.std[codes]
        return out.astype(np.float32)


@dataclass
class GroupNormalization:
    """The groups of every sample (in samples order) and, once computed, each grouped table's statistics."""

    key: str
    codes: np.ndarray
    names: list[str]
    tables: tuple[str, ...]
    stats: dict[str, GroupStats] = field(default_factory=dict)

    def apply(self, shard: ShardData, start: int, stop: int) -> None:
        """Normalize the shard's rows of the grouped tables in place of their read rows (samples start:stop)."""
        if not self.stats:
            return  # the statistics pass itself reads the rows as they are
        codes = self.codes[start:stop]
        for name in self.tables:
            data, stats = shard.tables[name], self.stats[name]
            if data.offsets is None:
                data.vectors = stats.normalized(data.vectors, codes)
            else:
                data.rows = stats.normalized(data.rows, np.repeat(codes, np.diff(data.offsets)))

    def single_sample_groups(self) -> list[str]:
        """Groups of which some grouped table has one row only: every value of it becomes 0."""
        ones = np.zeros(len(self.names), bool)
        for stats in self.stats.values():
            ones |= stats.count == 1
        return [self.names[i] for i in np.flatnonzero(ones)]

    def to_json(self) -> dict[str, Any]:
        """fused.json's `normalization.by`."""
        return {"key": self.key, "groups": len(self.names), "file": GROUP_STATS_FILE,
                "statistics": "each group's own rows, every split"}

    def table_json(self, name: str) -> dict[str, Any]:
        """fused.json's entry of a grouped table under `normalization.tables`."""
        count = self.stats[name].count
        return {"method": "zscore", "by": self.key, "count": int(count.sum()), "groups": int((count > 0).sum())}

    def write(self, path: Path) -> None:
        """Every group's statistics, a row per group and table: group, table, count, mean, std (list<double>)."""
        parts = []
        for name in self.tables:
            stats = self.stats[name]
            groups, dim = stats.mean.shape
            offsets = pa.array(np.arange(groups + 1, dtype=np.int32) * dim)
            parts.append(pa.table({
                "group": pa.array(self.names, pa.string()), "table": pa.array([name] * groups, pa.string()),
                "count": pa.array(stats.count, pa.int64()),
                "mean": pa.ListArray.from_arrays(offsets, pa.array(stats.mean.reshape(-1))),
                "std": pa.ListArray.from_arrays(offsets, pa.array(stats.std.reshape(-1))),
            }))
        table = pa.concat_tables(parts).replace_schema_metadata({b"mmdata.normalize_by": self.key.encode()})
        pq.write_table(table, path, compression="none")  # float statistics do not compress


def group_statistics(plan: FusePlan, options: FuseOptions) -> None:
    """Fill `plan.group_norm.stats`: one pass over the shards, every kept sample with the feature, every split."""
    from mmdata.fusion.passes import keep_mask
    from mmdata.fusion.plan import iter_shards

    grouping = plan.group_norm
    assert grouping is not None and not grouping.stats
    dims = {t.name: t.dim for t in plan.tables}
    moments = {name: GroupMoments.empty(len(grouping.names), dims[name]) for name in grouping.tables}
    for index, shard in enumerate(iter_shards(plan)):
        keep = keep_mask(plan, shard, options)
        codes = grouping.codes[plan.sample_starts[index] : plan.sample_starts[index + 1]]
        for name, moment in moments.items():
            data = shard.tables[name]
            chosen = keep & data.valid
            rows = data.rows_of(chosen)
            if data.offsets is not None:
                moment.update(rows, np.repeat(codes[chosen], np.diff(data.offsets)[chosen]))
            else:
                moment.update(rows, codes[chosen])
    for name, moment in moments.items():
        if not moment.count.any():
            raise DatasetError(f"table {name!r} has no feature to normalize by {grouping.key}: every sample lacks it; "
                               f"fuse without --normalize-by, or with --normalize {name}=none")
        grouping.stats[name] = GroupStats.of(moment)


__all__ = ["GROUP_COLUMN", "GroupMoments", "GroupNormalization", "GroupStats", "check_group_key",
           "group_codes", "group_statistics"]
