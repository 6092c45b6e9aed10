"""A share's Parquet files laid out for the Hub's streaming readers: row groups and page index.

A streaming reader (`datasets.load_dataset(..., streaming=True)`, the Hub's dataset viewer) reads a
Parquet file a row group at a time and holds the whole group in memory; the viewer refuses a row group
it would have to read past ~300 MB. A store shard is one row group of up to 1,000 rows, which for a
samples table with embedded JPEGs (~150 KB each) is ~150 MB, and for one with whole recordings more.
A share therefore cuts each file into row groups as `datasets` bounds them:

    samples with embedded media (`datasets.Image`/`Audio`)   at most 100 rows and 100 MB a row group
    every other table (features, samples without media)     at most 1,000 rows and 100 MB a row group

(100 rows for media and 1,000 otherwise are `datasets`' writer batch sizes; 100 MB is its
`MAX_ROW_GROUP_SIZE`, counted as it counts it: the rows' uncompressed Arrow bytes.) A group ends at
the last row that keeps it within both bounds, and always holds at least one row, so a single row of
more than 100 MB is a group of its own. The cut depends on the rows alone: a share made twice is the
same bytes (its checksums are reproducible).

Every file also gets a page index (so the viewer can read a page without its whole row group, which
its size-limit error asks for) and content-defined data pages (`use_content_defined_chunking`: the
Hub's storage then deduplicates unchanged pages when a share is uploaded again after rows were added
or removed), as `datasets` writes its own Parquet files.

A streaming reader also keeps what it has read of a file until the file ends (pyarrow's read-ahead
cache), so its memory follows the file's size. Where rows embed media, a share therefore also cuts
each output shard into files of at most `MEDIA_FILE_BYTES` of rows (`datasets.config.MAX_SHARD_SIZE`,
"500MB", the most `push_to_hub` puts in one file), as even as whole rows allow (`file_lengths`).
Other tables keep one file per output shard: their rows are small, so `--shard-size` rows bound them.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.store.writer import atomic_file, parquet_options

if TYPE_CHECKING:
    import datasets

#: Rows a row group holds at most when the table embeds images or audio (`datasets`' batch size for them).
MEDIA_ROW_GROUP_ROWS = 100
#: Rows a row group holds at most otherwise (`datasets.config.DEFAULT_MAX_BATCH_SIZE`).
ROW_GROUP_ROWS = 1000
#: Uncompressed Arrow bytes a row group holds at most, unless one row alone is larger
#: (`datasets.config.MAX_ROW_GROUP_SIZE`, "100MB").
ROW_GROUP_BYTES = 100 * 10**6
#: Uncompressed Arrow bytes a file of a table with embedded media holds at most, unless one row alone is larger
#: (`datasets.config.MAX_SHARD_SIZE`, "500MB": what `push_to_hub` puts in one file). Read at each share.
MEDIA_FILE_BYTES = 500 * 10**6
#: Parquet writer options for the Hub, beside the store's codec, dictionary and statistics choices.
HUB_PARQUET_OPTIONS = {"write_page_index": True, "use_content_defined_chunking": True}


def embeds_media(features: datasets.Features | None) -> bool:
    """Whether a table with `features` holds images or audio (`datasets.Image`/`Audio` columns)."""
    import datasets

    return any(isinstance(feature, (datasets.Image, datasets.Audio)) for feature in (features or {}).values())


def row_group_rows(features: datasets.Features | None) -> int:
    """The most rows a row group of a table with `features` holds: fewer where rows embed media."""
    return MEDIA_ROW_GROUP_ROWS if embeds_media(features) else ROW_GROUP_ROWS


def file_bytes(features: datasets.Features | None) -> int | None:
    """The most bytes of rows a share's file of a table with `features` holds: `MEDIA_FILE_BYTES` where
    rows embed media, else None (no cap: the output shard is one file)."""
    return MEDIA_FILE_BYTES if embeds_media(features) else None


def file_lengths(table: pa.Table, max_bytes: int | None) -> list[int]:
    """The row counts of the files `table` (one output shard) is written as, in order.

    As few files as keep each within `max_bytes` uncompressed bytes (`pa.Table.nbytes` of its rows, as
    `datasets` counts a shard), their bytes as even as whole rows allow (620 MB -> two files of ~310 MB,
    not 500 + 120: a streaming reader's memory follows the largest); a single larger row is a file of its
    own. Each file is the longest run of rows within an even share of the bytes left, so the cut depends on
    the rows alone. `max_bytes` None, or an empty table: one file.
    """
    if max_bytes is None or table.num_rows == 0:
        return [table.num_rows]
    planned = max(1, -(-table.nbytes // max_bytes))  # ceil: the fewest files the bytes allow
    lengths: list[int] = []
    start = 0
    while start < table.num_rows:
        rest = table.num_rows - start
        files_left = max(planned - len(lengths), 1)
        even_share = -(-table.slice(start).nbytes // files_left)
        length = _longest_group(table, start, rest, min(even_share, max_bytes))
        lengths.append(length)
        start += length
    return lengths


def row_group_lengths(table: pa.Table, max_rows: int, max_bytes: int = ROW_GROUP_BYTES) -> list[int]:
    """The row counts of `table`'s row groups, in order: each group as long as it can be while it has at
    most `max_rows` rows and `max_bytes` uncompressed bytes (`pa.Table.nbytes` of its rows), and at
    least one row. An empty table is one empty group."""
    lengths: list[int] = []
    start = 0
    while start < table.num_rows:
        length = _longest_group(table, start, min(max_rows, table.num_rows - start), max_bytes)
        lengths.append(length)
        start += length
    return lengths or [0]


def _longest_group(table: pa.Table, start: int, most: int, max_bytes: int) -> int:
    """The most rows from `start` (1 .. `most`) whose bytes stay within `max_bytes`; 1 when even one does not.

    A binary search over the group's length: a longer slice never has fewer bytes.
    """
    if table.slice(start, most).nbytes <= max_bytes:
        return most
    low, high = 1, most  # low rows fit (or are the one row a group always takes); high rows do not
    while high - low > 1:
        middle = (low + high) // 2
        if table.slice(start, middle).nbytes <= max_bytes:
            low = middle
        else:
            high = middle
    return low


def write_share_file(table: pa.Table, path: Path, max_rows: int, max_bytes: int = ROW_GROUP_BYTES) -> int:
    """Write `table` as a share's Parquet file, in row groups of `row_group_lengths(table, max_rows, max_bytes)`,
    atomically (readers see the whole file or none: `store.writer.atomic_file`, as for `write_table_atomic`);
    returns its size in bytes.

    Raises:
        OSError: the system refused the write (a full disk), naming `path`; the temporary file is removed.
    """
    options = {**parquet_options(table.schema), **HUB_PARQUET_OPTIONS}
    with atomic_file(path) as tmp, pq.ParquetWriter(tmp, table.schema, **options) as writer:
        start = 0
        for length in row_group_lengths(table, max_rows, max_bytes):
            writer.write_table(table.slice(start, length), row_group_size=max(length, 1))
            start += length
    return path.stat().st_size
