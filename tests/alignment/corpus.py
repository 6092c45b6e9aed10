"""Hand-made whole-video `.csd` corpora for the alignment tests, extracted into datasets, and a way to
give a stored table's sample other interval times (as a table written outside mmdata may hold)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.pipeline import extract
from mmdata.store import layout
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, FACET_FILE, FACET_ROOT, WORDS_FILE, WORDS_ROOT, write_sdk_csd


def word_sequence(words: list[tuple[str, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (T, 1) bytes, intervals (T, 2)) as the SDK stores a word sequence."""
    return (np.array([w.encode() for w, _, _ in words], dtype="S12").reshape(-1, 1),
            np.array([[s, e] for _, s, e in words], dtype=np.float64).reshape(-1, 2))


def write_corpus(root: Path, words: dict[str, list[tuple[str, float, float]]],
                 covarep: dict[str, tuple[np.ndarray, np.ndarray]],
                 facet: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Path:
    """Words, COVAREP and (optionally) FACET `.csd` files of whole videos in `root`."""
    write_sdk_csd(root / WORDS_FILE, WORDS_ROOT, {v: word_sequence(w) for v, w in words.items()})
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, covarep)
    if facet is not None:
        write_sdk_csd(root / FACET_FILE, FACET_ROOT, facet)
    return root


def extract_videos(corpus: Path, out: Path, **options: Any) -> Path:
    """The corpus extracted as whole videos (no label file), precomputed tables only."""
    extract("csd", corpus, out, corpus_options={"labels": "none", **options}, extractors=[], num_workers=0)
    return out


def set_intervals(dataset: Path, table: str, sample_id: str, intervals: list[list[float]]) -> None:
    """Give `sample_id`'s rows of `table` these intervals, rewriting its Parquet shard in place."""
    for path in layout.shard_files(dataset / "features" / table):
        shard = pq.read_table(path)
        ids = shard.column("sample_id").to_pylist()
        if sample_id not in ids:
            continue
        column = shard.column("intervals").to_pylist()
        assert len(column[ids.index(sample_id)]) == len(intervals), "one interval per feature row"
        column[ids.index(sample_id)] = intervals
        field = shard.schema.field("intervals")
        shard = shard.set_column(shard.schema.get_field_index("intervals"), field, pa.array(column, field.type))
        pq.write_table(shard, path)
        return
    raise AssertionError(f"no sample {sample_id!r} in {table}")


def read_rows(dataset: Path, table: str) -> dict[str, dict[str, Any]]:
    """{sample_id: row} of a table."""
    return {r["sample_id"]: r for path in layout.shard_files(dataset / "features" / table)
            for r in pq.read_table(path).to_pylist()}


def read_errors(dataset: Path, table: str) -> dict[str, dict[str, Any]]:
    """{sample_id: errors-table row} of a table (empty when it has no errors table)."""
    folder = dataset / "errors" / table
    return {r["sample_id"]: r for path in sorted(folder.glob("*.parquet")) for r in pq.read_table(path).to_pylist()}


def set_absent(dataset: Path, table: str, sample_id: str) -> None:
    """Give `sample_id` a null row in `table` (features and intervals), as a sample whose extraction failed has."""
    for path in layout.shard_files(dataset / "features" / table):
        shard = pq.read_table(path)
        ids = shard.column("sample_id").to_pylist()
        if sample_id not in ids:
            continue
        for column in ("feature", "intervals"):
            values = shard.column(column).to_pylist()
            values[ids.index(sample_id)] = None
            field = shard.schema.field(column)
            shard = shard.set_column(shard.schema.get_field_index(column), field, pa.array(values, field.type))
        pq.write_table(shard, path)
        return
    raise AssertionError(f"no sample {sample_id!r} in {table}")
