"""Caption-level tables against the samples table: one item per text of the sample, in order.

A table whose spec has `item_axis='caption'` (`minilm:level=caption`, `tokens:level=caption`, ...)
holds, per sample, one item per text the extractor read (`records.text_items`: the captions, else the
transcript). Retrieval pairs item j with `captions[j]`, so a sample with fewer or more items than
texts pairs vectors with the wrong captions, or with none; this check counts both, vectorized over the
list offsets of each batch.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.issues import Issue, make_issue
from mmdata.store.arrays import single_chunk

CAPTION_COUNT = "caption-count"


def text_counts(captions: pa.Array | pa.ChunkedArray, transcript: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per sample, how many texts a text extractor reads (`records.text_items`): its captions, else one
    for a non-empty transcript, else none."""
    lengths = pc.fill_null(pc.list_value_length(single_chunk(captions)), 0).to_numpy(zero_copy_only=False)
    transcribed = pc.fill_null(pc.greater(pc.utf8_length(single_chunk(transcript)), 0), False)
    lengths = lengths.astype(np.int64)
    return np.where(lengths > 0, lengths, transcribed.to_numpy(zero_copy_only=False).astype(np.int64))


def item_counts(feature: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Items per row of a list column (a null row: 0), from its offsets."""
    return np.diff(single_chunk(feature).offsets.to_numpy()).astype(np.int64)


def check_caption_counts(table: str, sample_ids: pa.Array, items: np.ndarray, texts: np.ndarray,
                         where: np.ndarray, valid: np.ndarray, *, max_examples: int = 5) -> list[Issue]:
    """Each non-null row of a caption-level table holds as many items as its sample has texts.

    `items`: items per row (`item_counts`); `texts`: texts per sample of the samples table
    (`text_counts`); `where`: each row's sample index (-1: an id the samples table lacks, left to the
    ids check); `valid`: rows that are not null (a failed sample has no items to count).
    """
    known = valid & (where >= 0)
    expected = np.where(known, texts[np.where(known, where, 0)], 0)
    bad = known & (items != expected)
    if not bad.any():
        return []
    first = int(np.argmax(bad))
    return [make_issue(
        CAPTION_COUNT, "error",
        f"sample {sample_ids[first].as_py()!r} has {int(items[first])} items but {int(expected[first])} captions "
        "(or transcript) in the samples table; item j must belong to captions[j] (retrieval pairs them so): "
        "the table was cut or written for other captions; extract it again (`mmdata extract ... --force`)",
        table=table, offenders=sample_ids.filter(pa.array(bad)).to_pylist()[:max_examples], count=int(bad.sum()),
        max_examples=max_examples,
    )]
