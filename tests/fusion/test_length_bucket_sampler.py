"""`LengthBucketSampler` batches rows of similar length: every row once per epoch, far less padding than
random batches on a skewed length distribution, the same batches for the same seed and epoch (and others
for another), whole disjoint batches per rank, at most `max_steps` padded steps per batch, and through a
two-worker DataLoader over real padded and ragged exports in every format that keeps sequences."""
from __future__ import annotations

import functools
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mmdata.errors import ArgumentTypeError, ConfigError, DatasetError
from mmdata.fusion import FusedDataset, LengthBucketSampler, collate_fused, fuse
from mmdata.fusion.bucketing import cut_batches
from mmdata.store.metadata import FeatureSpec
from tests.checks.builder import FakeTable, build_dataset, mosi_samples, pooled_table


def skewed_lengths(n: int = 2000, seed: int = 0) -> np.ndarray:
    """Word counts of utterances as skewed as MOSI's: most 10-30, a long tail past 100."""
    return np.clip(np.random.default_rng(seed).lognormal(3.0, 0.6, n), 1, 150).astype(np.int64)


def padding_efficiency(batches: list[list[int]], lengths: np.ndarray) -> float:
    """Real time steps over padded ones (rows x the batch's longest), over all batches."""
    real = sum(int(lengths[b].sum()) for b in batches)
    padded = sum(len(b) * int(lengths[b].max()) for b in batches)
    return real / padded


def epoch_batches(sampler: LengthBucketSampler, epoch: int) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize(("batch_size", "max_steps"), [(32, None), (7, None), (None, 600), (16, 400)])
def test_every_row_is_in_exactly_one_batch_of_an_epoch(batch_size, max_steps, shuffle):
    lengths = skewed_lengths(1001)
    sampler = LengthBucketSampler(lengths, batch_size, max_steps=max_steps, shuffle=shuffle, num_buckets=8)
    for epoch in range(3):
        batches = epoch_batches(sampler, epoch)
        rows = [i for b in batches for i in b]
        assert sorted(rows) == list(range(len(lengths))) and len(batches) == len(sampler)
        assert all(isinstance(i, int) for i in batches[0])
        short = [b for b in batches if batch_size is not None and len(b) < batch_size]
        if max_steps is None:
            assert len(short) == (1 if len(lengths) % batch_size else 0)  # only the last batch cut is short
        for b in batches:
            assert batch_size is None or len(b) <= batch_size
            assert max_steps is None or len(b) == 1 or len(b) * lengths[b].max() <= max_steps


def test_bucketed_batches_pad_far_less_than_random_ones():
    lengths = skewed_lengths()
    random_batches = [b.tolist() for b in np.array_split(np.random.default_rng(1).permutation(len(lengths)), 2000 // 32)]
    bucketed = list(LengthBucketSampler(lengths, batch_size=32, seed=0))
    random_efficiency = padding_efficiency(random_batches, lengths)
    bucketed_efficiency = padding_efficiency(bucketed, lengths)
    assert random_efficiency < 0.45  # a random batch of 32 holds a tail row: most steps are padding
    assert bucketed_efficiency > 0.7 and bucketed_efficiency > 2 * random_efficiency  # 0.34 -> 0.77 measured
    finer = padding_efficiency(list(LengthBucketSampler(lengths, batch_size=32, num_buckets=30)), lengths)
    assert finer > 0.85  # 0.89 measured


def test_the_batches_are_the_same_for_a_seed_and_epoch_and_differ_otherwise():
    lengths = skewed_lengths(500)
    one, other = LengthBucketSampler(lengths, 16, seed=3), LengthBucketSampler(lengths, 16, seed=3)
    assert epoch_batches(one, 0) == epoch_batches(other, 0) == epoch_batches(one, 0)
    assert epoch_batches(one, 1) == epoch_batches(other, 1) != epoch_batches(other, 0)
    assert epoch_batches(LengthBucketSampler(lengths, 16, seed=4), 1) != epoch_batches(one, 1)
    in_order = LengthBucketSampler(lengths, 16, shuffle=False)
    assert epoch_batches(in_order, 0) == epoch_batches(in_order, 5)
    firsts = [lengths[b].max() for b in epoch_batches(in_order, 0)]
    assert firsts == sorted(firsts)  # without shuffle: shortest batches first


@pytest.mark.parametrize("drop_last", [False, True])
def test_ranks_get_whole_disjoint_batches_and_as_many_of_them(drop_last):
    lengths = skewed_lengths(1000)
    world = [LengthBucketSampler(lengths, 32, seed=5, rank=r, world_size=3, drop_last=drop_last) for r in range(3)]
    everything = epoch_batches(LengthBucketSampler(lengths, 32, seed=5, drop_last=drop_last), 2)
    shares = [epoch_batches(s, 2) for s in world]
    assert len({len(s) for s in shares}) == 1 and {len(s) for s in shares} == {len(world[0])}
    if drop_last:  # 1000 rows: 31 full batches, 30 of them shared out, none repeated
        assert len(shares[0]) == 10 and all(len(b) == 32 for s in shares for b in s)
        rows = [i for s in shares for b in s for i in b]
        assert len(rows) == len(set(rows)) == 960
    else:  # 32 batches: 33 shares, the first batch of the epoch twice
        assert len(shares[0]) == 11
        assert sorted(map(tuple, (b for s in shares for b in s))) == sorted(map(tuple, everything + everything[:1]))


def test_drop_last_drops_only_the_short_last_batch():
    lengths = skewed_lengths(100)
    assert len(LengthBucketSampler(lengths, 32, drop_last=True)) == 3
    assert len(LengthBucketSampler(lengths[:96], 32, drop_last=True)) == 3
    runs, full = cut_batches(np.array([5, 5, 5, 9, 9]), None, 20)
    assert runs == [(0, 3), (3, 5)] and full  # a third row of 9 would make 27 steps
    runs, full = cut_batches(np.array([6, 6, 6, 4, 0]), None, 20)
    assert runs == [(0, 3), (3, 5)] and not full  # 4 + a row of no step (counted 1): room for another row of 4
    assert cut_batches(np.array([50, 3]), None, 20) == ([(0, 1), (1, 2)], False)  # too long: a batch alone


def test_arguments_out_of_range_are_refused_in_one_line():
    lengths = [3, 1, 2]
    with pytest.raises(ConfigError, match="needs batch_size .* or max_steps"):
        LengthBucketSampler(lengths)
    with pytest.raises(ConfigError, match=re.escape("rank=2 is not below world_size=2")):
        LengthBucketSampler(lengths, 2, rank=2, world_size=2)
    with pytest.raises(ConfigError, match="batch_size must be a whole number, at least 1"):
        LengthBucketSampler(lengths, 0)
    with pytest.raises(ArgumentTypeError, match="a 1-d sequence of whole numbers"):
        LengthBucketSampler([1.5, 2.0], 2)
    with pytest.raises(ArgumentTypeError, match="got str"):
        LengthBucketSampler("123", 2)
    with pytest.raises(ConfigError, match="must be >= 0, got -1 at row 1"):
        LengthBucketSampler([2, -1], 2)


def varied_sequences(name: str, samples, dim: int, steps: list[int], *, seed: int = 0) -> FakeTable:
    """A table aligned to a common reference with `steps[i]` equal intervals for sample i."""
    rng = np.random.default_rng(seed)
    values, intervals = [], []
    for s, count in zip(samples, steps):
        edges = np.linspace(s.start, s.end, count + 1)
        intervals.append(np.stack([edges[:-1], edges[1:]], axis=1))
        values.append(rng.normal(size=(count, dim)).astype(np.float32) + seed)
    return FakeTable(name, FeatureSpec(dim=dim, kind="sequence", intervals=True, item_axis="word"), values, intervals,
                     source="text.words")


@pytest.fixture(scope="module")
def varied_dataset(tmp_path_factory):
    """60 train segments of 1 to 40 aligned steps (most short), in two tables, and a pooled table."""
    samples = [replace(s, split="train") for s in mosi_samples(videos=12, segments=5)]
    steps = [int(v) for v in np.clip(np.random.default_rng(2).lognormal(1.5, 0.8, len(samples)), 1, 40)]
    tables = [varied_sequences("text.w", samples, 2, steps), varied_sequences("video.v", samples, 3, steps, seed=3),
              pooled_table("image.p", samples, 2)]
    root = build_dataset(tmp_path_factory.mktemp("varied") / "ds", samples, tables, corpus_kind="mosi-raw", shard_size=25)
    return root, dict(zip((s.sample_id for s in samples), steps))


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_a_two_worker_data_loader_reads_every_row_once_in_batches_of_similar_length(varied_dataset, tmp_path, fmt,
                                                                                   sequences):
    root, steps = varied_dataset
    fuse(root, tmp_path / "out", format=fmt, sequences=sequences, normalize="none")
    data = FusedDataset(tmp_path / "out", "train")
    sampler = LengthBucketSampler(data, batch_size=8, seed=1, num_buckets=8)
    lengths = np.array([data[i]["length"] for i in range(len(data))])
    assert sampler.lengths.tolist() == lengths.tolist() == [steps[data[i]["sample_id"]] for i in range(len(data))]
    loader = DataLoader(data, batch_sampler=sampler, num_workers=2,
                        collate_fn=functools.partial(collate_fused, trim=True))
    for epoch in range(2):
        sampler.set_epoch(epoch)
        seen, padded = [], 0
        for batch, indices in zip(loader, epoch_batches(sampler, epoch)):
            assert batch["sample_id"] == [data[i]["sample_id"] for i in indices]
            longest = int(lengths[indices].max())
            assert batch["feature"].shape == (len(indices), longest, 7) and batch["mask"].shape == (len(indices), longest)
            assert batch["mask"].sum(1).tolist() == batch["length"].tolist() == lengths[indices].tolist()
            first = data[indices[0]]["feature"][: lengths[indices[0]]]
            assert torch.equal(batch["feature"][0, : len(first)], first)
            seen += batch["sample_id"]
            padded += batch["mask"].numel()
        assert sorted(seen) == sorted(steps) and len(seen) == len(data) == 60
        assert lengths.sum() / padded > 1.5 * padding_efficiency(
            [b.tolist() for b in np.array_split(np.random.default_rng(epoch).permutation(60), 8)], lengths)


def test_a_pooled_export_has_no_length_to_bucket_by(varied_dataset, tmp_path):
    fuse(varied_dataset[0], tmp_path / "out", format="arrow", sequences="pool")
    with pytest.raises(DatasetError, match="holds pooled rows .* no length to bucket by; .* --sequences pad or ragged"):
        LengthBucketSampler(FusedDataset(tmp_path / "out", "train"), batch_size=8)
