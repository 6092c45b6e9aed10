"""Split hygiene: no image, video or group id in more than one split; per-split counts (pure functions).

COCO/Karpathy and the MOSI folds both leak easily: a Karpathy test image that is also in
train2017, or two segments of one MOSI video put in different folds. The group id is the corpus's
native identity (COCO image id, MOSI video id), so segments of one video must share a split.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.issues import Issue, make_issue
from mmdata.store.arrays import single_chunk

#: Columns of the samples table whose values must each stay inside one split.
LEAK_KEYS = ("group_id", "image", "video")


def count_splits(splits: pa.Array) -> dict[str, int]:
    """Samples per split, sorted by split name."""
    counts = pc.value_counts(splits).to_pylist()
    return dict(sorted((str(c["values"]), int(c["counts"])) for c in counts))


def check_split_counts(splits: pa.Array) -> list[Issue]:
    """An informational issue listing the samples per split."""
    counts = count_splits(splits)
    text = ", ".join(f"{name}: {n}" for name, n in counts.items())
    return [make_issue("split-counts", "info", f"{len(counts)} splits ({text})", count=sum(counts.values()))]


def check_split_leaks(samples: pa.Table, keys: tuple[str, ...] = LEAK_KEYS, *, max_examples: int = 5) -> list[Issue]:
    """No value of `keys` (group id, image path, video path) is shared by samples of different splits.

    `samples` needs `sample_id`, `split` and the key columns. An offending sample is the first
    sample (in table order) of a leaking value that is not in that value's main split: the split most
    of its samples are in, the first met on a tie (a segment moved out of its video's fold is named,
    not one left in it). One issue covers every key, counting the distinct offending samples: a MOSI
    video whose segments sit in two folds leaks by its group id and by its video path, and is one leak.
    """
    split_codes = _codes(samples.column("split"))
    offenders: list[str] = []
    seen: set[str] = set()
    found: list[str] = []  # per leaking key: "N <key> values"
    first_detail = ""
    for key in keys:
        if key not in samples.column_names or samples.column(key).null_count == len(samples):
            continue
        if _all_distinct(samples.column(key)):
            continue  # no value shared by two samples, so none by two splits
        leaking_rows = _leaking_rows(_codes(samples.column(key)), split_codes)
        if not leaking_rows.any():
            continue
        leak_rows = samples.select(["sample_id", "split", key]).filter(pa.array(leaking_rows))
        key_offenders, detail = _offenders(leak_rows, key)
        found.append(f"{len(pc.unique(leak_rows.column(key)))} {key} values")
        first_detail = first_detail or detail
        offenders += [o for o in key_offenders if o not in seen]
        seen.update(key_offenders)
    if not found:
        return []
    return [make_issue(
        "split-leak", "error",
        f"{' and '.join(found)} occur in more than one split, e.g. {first_detail}; "
        "every sample of one image/video must be in the same split (re-split by group id)",
        offenders=offenders[:max_examples], count=len(offenders), max_examples=max_examples,
    )]


def _all_distinct(column: pa.ChunkedArray | pa.Array) -> bool:
    """No value occurs twice (nulls aside), found by sorting and comparing neighbours: no hash table,
    which for 10^5+ distinct media paths is the leak check's largest allocation (and slower)."""
    if column.null_count == 0 and len(column) >= 2 and pc.all(
            pc.less(column.slice(0, len(column) - 1), column.slice(1))).as_py():
        return True  # strictly increasing (ids, and paths named after them, often are): no sort, no copy
    values = single_chunk(column).drop_null()
    if len(values) < 2:
        return True
    ordered = values.take(pc.sort_indices(values))
    return not pc.any(pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))).as_py()


def _codes(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Dictionary codes of a string column (-1 for null): integers instead of strings, little memory."""
    # The system allocator: the hash table's growth costs mimalloc ~4x its final size in resident
    # memory (freed blocks are kept), which would make the check's peak grow with the dataset.
    pool = pa.system_memory_pool()
    encoded = pc.dictionary_encode(single_chunk(column), memory_pool=pool)
    return pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)


def _leaking_rows(key_codes: np.ndarray, split_codes: np.ndarray) -> np.ndarray:
    """Rows whose key is seen with two or more splits: per key, the smallest and largest split code differ."""
    known = key_codes >= 0
    keys, splits = key_codes[known], split_codes[known]
    size = int(keys.max()) + 1 if len(keys) else 0
    low = np.full(size, np.iinfo(np.int64).max)
    high = np.full(size, np.iinfo(np.int64).min)
    np.minimum.at(low, keys, splits)
    np.maximum.at(high, keys, splits)
    mixed = low != high
    return known & mixed[np.where(known, key_codes, 0)]


def _offenders(leak_rows: pa.Table, key: str) -> tuple[list[str], str]:
    """For each leaking value: the first sample outside the value's main split, the one most of its
    samples are in (the first met on a tie), so that a segment moved out of its video's fold is the
    one named whether it comes first or last (small Python loop: leaking rows are few compared with
    the table)."""
    rows = list(zip(*(leak_rows.column(c).to_pylist() for c in ("sample_id", "split", key))))
    counts: dict[str, dict[str, int]] = {}  # value -> split -> samples, splits in the order met
    for _, split, value in rows:
        per_split = counts.setdefault(value, {})
        per_split[split] = per_split.get(split, 0) + 1
    main = {value: max(per_split, key=per_split.__getitem__) for value, per_split in counts.items()}
    offenders: dict[str, str] = {}
    for sample_id, split, value in rows:
        if split != main[value] and value not in offenders:
            offenders[value] = sample_id
    value, sample = next(iter(offenders.items()))
    detail = f"{key} {value!r} in splits {list(counts[value])} (sample {sample!r})"
    return list(offenders.values()), detail
