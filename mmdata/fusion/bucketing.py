"""Batches of rows of similar length from a sequence export, so a padded batch wastes few time steps.

    from torch.utils.data import DataLoader
    from mmdata.fusion import FusedDataset, LengthBucketSampler, collate_fused
    data = FusedDataset("out/mosi-fused", split="train")          # --sequences ragged (or pad: trim=True)
    sampler = LengthBucketSampler(data, batch_size=32, seed=0)
    loader = DataLoader(data, batch_sampler=sampler, num_workers=4, collate_fn=collate_fused)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                                   # another order each epoch, as DistributedSampler
        for batch in loader: ...

One epoch's plan, the same for a seed and epoch wherever it is computed (so every rank of a distributed run
draws the same one):

    rows     sorted by length, rows of equal length in a random order
    buckets  `num_buckets` runs of that order of (nearly) equal row counts: lengths quantiles
    stream   each bucket shuffled within, buckets one after the other (shortest first)
    batches  the stream cut into runs of `batch_size` rows (and/or of at most `max_steps` padded time steps:
             rows x the longest length), so a batch holds one bucket's rows or two neighbouring buckets'
    order    batches shuffled; with `world_size` > 1 rank r takes batches r, r + world_size, ...

Every row is in exactly one batch of an epoch; only the last batch cut can be short (`drop_last` drops it).
The lengths come from the export's `length` column alone (`read_lengths`), not its features. Without
`shuffle` the batches are in length order, shortest first (evaluation: the same batches every epoch).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from mmdata.errors import ArgumentTypeError, ConfigError, DatasetError
from mmdata.options import check_count, check_flag

#: Buckets by default: lhotse's BucketingSampler default; enough to keep a batch's lengths close on corpora
#: as skewed as MOSI's (10 to 100+ words), few enough for each bucket to hold many batches.
DEFAULT_BUCKETS = 10


class LengthBucketSampler:
    """A batch sampler (`DataLoader(batch_sampler=...)`) grouping rows of similar length (see the module).

    Args:
        lengths: a `FusedDataset` of a sequence export (`--sequences pad` or `ragged`; its lengths are read
            from the export's `length` column), or the time steps of every row (a sequence of ints).
        batch_size: rows per batch (None: as many as `max_steps` allows).
        max_steps: at most this many padded time steps per batch (rows x the batch's longest length, a row
            of no step counted as one); a row longer than that is a batch alone. None: `batch_size` decides.
        shuffle: draw the rows' order within buckets and the batches' order from `seed` and the epoch.
        seed: seed of that draw; every rank of a distributed run must pass the same.
        drop_last: drop the epoch's last batch when it is short (fewer than `batch_size` rows, or room left
            under `max_steps` for another row of its longest length); with `world_size` > 1 also the batches
            beyond a multiple of `world_size`. Otherwise every rank gets as many batches, the first ones
            repeated to make up the count, as `DistributedSampler` repeats rows.
        num_buckets: length buckets (more: less padding, less randomness in a batch's company).
        rank, world_size: this process's share of a distributed run: whole batches, disjoint between ranks.

    Raises:
        ConfigError: neither `batch_size` nor `max_steps`, or a value out of range.
        DatasetError: a `FusedDataset` of pooled rows (one vector per sample: nothing to bucket).
        ArgumentTypeError: `lengths` that are neither a `FusedDataset` nor a sequence of whole numbers.
    """

    def __init__(self, lengths: Any, batch_size: int | None = None, *, max_steps: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False, num_buckets: int = DEFAULT_BUCKETS,
                 rank: int = 0, world_size: int = 1):
        check_count("batch_size", batch_size, optional=True)
        check_count("max_steps", max_steps, optional=True)
        if batch_size is None and max_steps is None:
            raise ConfigError("LengthBucketSampler needs batch_size (rows per batch) or max_steps (padded time steps "
                              "per batch), or both; got neither")
        check_count("num_buckets", num_buckets)
        check_count("world_size", world_size)
        check_count("seed", seed, minimum=0)
        check_count("rank", rank, minimum=0)
        if rank >= world_size:
            raise ConfigError(f"rank={rank} is not below world_size={world_size}; expected 0 <= rank < world_size")
        check_flag("shuffle", shuffle)
        check_flag("drop_last", drop_last)
        self.lengths = _row_lengths(lengths)
        self.batch_size, self.max_steps, self.num_buckets = batch_size, max_steps, num_buckets
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._plan: tuple[int, list[np.ndarray]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Use the order of `epoch` from the next iteration on (call it before each epoch, as for
        `DistributedSampler`; without it every epoch has the order of epoch 0)."""
        check_count("epoch", epoch, minimum=0)
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """Batches this rank gets in the current epoch (with `max_steps` it can differ between epochs)."""
        return len(self._batches())

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._batches():
            yield batch.tolist()

    def __repr__(self) -> str:
        size = " and ".join(f"{name}={value}" for name, value in (("batch_size", self.batch_size),
                                                                  ("max_steps", self.max_steps)) if value is not None)
        return (f"LengthBucketSampler({len(self.lengths)} rows, {size}, {self.num_buckets} buckets, "
                f"shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch}, rank {self.rank} of {self.world_size})")

    def _batches(self) -> list[np.ndarray]:
        """This rank's batches of the current epoch (planned once per epoch)."""
        if self._plan is None or self._plan[0] != self.epoch:
            self._plan = (self.epoch, self._shard(self._epoch_batches()))
        return self._plan[1]

    def _epoch_batches(self) -> list[np.ndarray]:
        """Every batch of the epoch, for all ranks: the same for the same seed and epoch."""
        rng = np.random.default_rng([self.seed, self.epoch])
        rows = rng.permutation(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        by_length = rows[np.argsort(self.lengths[rows], kind="stable")]  # equal lengths stay in random order
        buckets = np.array_split(by_length, self.num_buckets)
        stream = np.concatenate([rng.permutation(b) if self.shuffle else b for b in buckets])
        batches, last_full = cut_batches(self.lengths[stream], self.batch_size, self.max_steps)
        if self.drop_last and batches and not last_full:
            batches.pop()
        order = rng.permutation(len(batches)) if self.shuffle else range(len(batches))
        return [stream[start:stop] for start, stop in (batches[i] for i in order)]

    def _shard(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Rank `rank`'s batches: every `world_size`-th, after making their count a multiple of `world_size`
        (dropping the extra ones with `drop_last`, else repeating the first ones)."""
        if self.world_size == 1 or not batches:
            return batches
        extra = len(batches) % self.world_size
        if self.drop_last:
            batches = batches[: len(batches) - extra]
        elif extra:
            batches = batches + [batches[i % len(batches)] for i in range(self.world_size - extra)]
        return batches[self.rank :: self.world_size]


def cut_batches(lengths: np.ndarray, batch_size: int | None,
                max_steps: int | None) -> tuple[list[tuple[int, int]], bool]:
    """(start, stop) runs cutting rows of these lengths, in this order, into batches of at most `batch_size`
    rows and at most `max_steps` padded steps (rows x longest, each length counted as at least 1; one row at
    least), and whether the last batch is full: it could take no other row of its longest length."""
    if batch_size is not None and max_steps is None:  # fixed size: no need to look at the lengths
        starts = range(0, len(lengths), batch_size)
        return [(s, min(s + batch_size, len(lengths))) for s in starts], len(lengths) % batch_size == 0
    assert max_steps is not None
    cost = np.maximum(lengths, 1)
    runs, start, full = [], 0, True
    while start < len(cost):
        window = min(len(cost) - start, max(1, max_steps // int(cost[start])), batch_size or len(cost))
        longest = np.maximum.accumulate(cost[start : start + window])
        padded = longest * np.arange(1, window + 1)  # non-decreasing: rows x the longest so far
        take = max(1, int(np.searchsorted(padded, max_steps, side="right")))
        runs.append((start, start + take))
        full = take == batch_size or (take + 1) * int(longest[take - 1]) > max_steps
        start += take
    return runs, full


def _row_lengths(lengths: Any) -> np.ndarray:
    """(N,) int64 lengths of a `FusedDataset`'s rows (its `length` column) or of a sequence of whole numbers."""
    from mmdata.fusion.export_files import REFUSE_HINT, read_lengths
    from mmdata.fusion.torch_dataset import FusedDataset

    if isinstance(lengths, FusedDataset):
        if lengths.metadata.get("rows_kind") == "pooled":
            raise DatasetError(f"{lengths.export_dir} holds pooled rows (one vector per sample), which have no length "
                               "to bucket by; use DataLoader(shuffle=True, batch_size=...), or fuse with --sequences "
                               "pad or ragged to keep the sequences")
        values = read_lengths(lengths.export_dir, lengths.split, lengths.format)
        if len(values) != len(lengths):
            raise DatasetError(f"split {lengths.split!r} of {lengths.export_dir} holds {len(values)} lengths, expected "
                               f"{len(lengths)} rows as its fused.json says; the export is damaged: {REFUSE_HINT}")
        return values
    values = None if isinstance(lengths, (str, bytes, dict)) else np.asarray(lengths)
    if values is None or values.ndim != 1 or (len(values) and values.dtype.kind not in "iu"):
        got = type(lengths).__name__ if values is None else \
            f"a {type(lengths).__name__} of shape {values.shape} and dtype {values.dtype}"
        raise ArgumentTypeError(f"LengthBucketSampler takes a FusedDataset or the lengths of its rows (a 1-d sequence of "
                                f"whole numbers: time steps per row), got {got}")
    if len(values) and values.min() < 0:
        raise ConfigError(f"LengthBucketSampler lengths must be >= 0, got {int(values.min())} at row "
                          f"{int(np.argmin(values))}")
    return values.astype(np.int64)
