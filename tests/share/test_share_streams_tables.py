"""`share_dataset` re-shards feature tables from their source shards, a shard at a time, never
reading a table whole, and writes the same rows in the same order as a take from the whole table.

The dataset: the mixed corpus (tests/share/corpus.py) with its splits interleaved in the source
order and one sample whose audio is missing (a null row in the `wave-rms` sequence table, with
intervals), extracted into shards of 2 rows as Parquet or Arrow IPC; shared in shards of 3, so an
output shard takes rows from several source shards and a source shard serves several splits.
"""
from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import mmdata.share.rows as share_rows
from mmdata.pipeline import extract
from mmdata.share import share_dataset
from mmdata.store import open_dataset
from mmdata.store.reader import Dataset
from tests.share.corpus import write_mixed_corpus

SPLITS = ["train", "val", "train", "test", "train", "val", "test", "train", "train"]
EXTRACTORS = ["wave-rms", "hashed-bow:level=caption", "pixel-stats"]
LOST = 4  # the sample whose audio file is missing


def extract_interleaved(root: Path, table_format: str) -> Path:
    corpus = write_mixed_corpus(root / "corpus")
    manifest = corpus / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    for i, (row, split) in enumerate(zip(rows, SPLITS)):
        row["split"] = split
        if i == LOST:
            row["audio"], row["start"], row["end"] = "audio/lost.wav", None, None
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = root / "data"
    extract("manifest", corpus, out, extractors=EXTRACTORS, num_workers=0, shard_size=2, table_format=table_format)
    return out


@pytest.fixture(scope="module", params=["parquet", "arrow"])
def interleaved(request, tmp_path_factory) -> Path:
    return extract_interleaved(tmp_path_factory.mktemp(f"interleaved-{request.param}"), request.param)


def shared_table(out: Path, name: str) -> pa.Table:
    """Table `name` of a share, its output shards read in order (split by split)."""
    files = sorted((out / open_dataset(out).entry(name).path).glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


def test_shared_rows_equal_a_take_from_the_whole_table(interleaved, tmp_path):
    source = open_dataset(interleaved)
    assert len(source.table_files("audio.wave-rms")) == 5  # splits interleave across the source shards
    assert source.table_files("audio.wave-rms")[0].suffix == f".{source.manifest.tables['audio.wave-rms'].format}"
    out = tmp_path / "shared"
    share_dataset(interleaved, out, shard_size=3, allow_failed_checks=True)

    shared_ids = pq.read_table(out / "samples").column("sample_id")  # the shared order: split by split
    assert shared_ids.to_pylist() != source.samples_table(["sample_id"]).column("sample_id").to_pylist()
    for name in source.table_names:
        whole = source.read_table(name)
        reference = whole.take(pc.index_in(shared_ids, value_set=whole.column("sample_id")))
        shared = shared_table(out, name)
        assert shared.column_names == whole.column_names
        assert shared.to_pylist() == reference.to_pylist(), name  # ids, values, nulls, intervals
    sequences = shared_table(out, "audio.wave-rms")
    assert sequences.column("feature").null_count == 1
    assert sequences.column("intervals").null_count == 1
    assert pc.sum(pc.list_value_length(sequences.column("intervals"))).as_py() > 0


def test_share_reads_one_source_shard_at_a_time(interleaved, tmp_path, monkeypatch):
    opened: list[Path] = []
    state = {"open": 0, "most_open": 0, "most_batches_held": 0}
    batches: list[weakref.ref] = []
    real = share_rows.read_shard_batches

    def counting(path, columns):
        opened.append(Path(path))
        state["open"] += 1
        state["most_open"] = max(state["most_open"], state["open"])
        try:
            for batch in real(path, columns):
                gc.collect()
                state["most_batches_held"] = max(state["most_batches_held"], sum(ref() is not None for ref in batches))
                batches.append(weakref.ref(batch))
                yield batch
        finally:
            state["open"] -= 1

    whole_reads: list[str] = []
    real_read_table = Dataset.read_table

    def recording_read_table(self, name, columns=None, **kwargs):
        if columns != ["sample_id"]:
            whole_reads.append(name)
        return real_read_table(self, name, columns, **kwargs)

    monkeypatch.setattr(share_rows, "read_shard_batches", counting)
    monkeypatch.setattr(Dataset, "read_table", recording_read_table)
    share_dataset(interleaved, tmp_path / "shared", shard_size=3, allow_failed_checks=True)

    source = open_dataset(interleaved)
    assert whole_reads == []  # only the sample ids of a table are read through pyarrow.dataset
    assert state["most_open"] == 1  # never two source shards open at once
    assert state["most_batches_held"] <= 1  # a batch is let go of by the time the one after it is read
    # Every shard is read through once (for the first output shard), then again once for each split
    # holding rows in it (an output shard goes on where the one before it stopped): never once for
    # each output shard or row, and never for a split without rows in it.
    shards_of_split = {split: {row // 2 for row, s in enumerate(SPLITS) if s == split} for split in SPLITS}
    for name in source.table_names:
        files = source.table_files(name)
        reads = [p for p in opened if p in files]
        assert sorted(set(reads)) == files
        assert len(reads) <= len(files) + sum(len(shards) for shards in shards_of_split.values()), name
