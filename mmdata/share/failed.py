"""The card's `## Failed items` section: what the share's errors tables hold and how to read them.

A share copies the dataset's errors tables (`errors/<table>/part-*.parquet`, `store.writer.ERRORS_SCHEMA`)
as they are, with no `datasets` config of their own. The card names each one, so a reader learns
which samples have no feature in which config, and why, without the dataset's producer:

    | errors table | rows | what they are | errors | first samples |
    |---|---|---|---|---|
    | `errors/image.color-hist/` | 2 | items that failed in config `image.color-hist` (...) | MediaError: 2 | `broken`, `gone` |
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from mmdata.store import layout

#: Samples named per errors table in the card, and the characters shown of each id.
_FIRST_SAMPLES, _ID_CHARS = 5, 60


@dataclass(frozen=True)
class FailedItems:
    """One errors table of a share: its rows, their error types and the first sample ids."""

    table: str  # a feature table's name, or `layout.LOADER_ERRORS_TABLE` for rows the loader left out
    rows: int
    error_types: dict[str, int]  # error_type -> rows, most frequent first
    first_ids: list[str]

    @property
    def folder(self) -> str:
        return f"{layout.ERRORS_DIR}/{self.table}/"


def failed_items(share: Path) -> list[FailedItems]:
    """The errors tables written into the share folder `share`, by table name (only the id and error
    type columns are read)."""
    found = []
    for folder in sorted(p for p in (share / layout.ERRORS_DIR).glob("*") if p.is_dir()):
        files = sorted(folder.glob("part-*.parquet"))
        if not files:
            continue
        columns = pq.read_table(files, columns=["sample_id", "error_type"])
        if columns.num_rows == 0:
            continue
        ids = [i for i in columns.column("sample_id").to_pylist() if i is not None]
        types = Counter(t or "unknown" for t in columns.column("error_type").to_pylist())
        found.append(FailedItems(folder.name, columns.num_rows, dict(types.most_common()),
                                 list(dict.fromkeys(ids))[:_FIRST_SAMPLES]))
    return found


def failed_items_section(items: list[FailedItems]) -> list[str]:
    """`## Failed items` (heading and text), or nothing when no item failed."""
    from mmdata.share.card import _md_table

    if not items:
        return []
    rows = [[f"`{item.folder}`", str(item.rows), _what(item.table),
             ", ".join(f"{kind}: {n}" for kind, n in item.error_types.items()),
             ", ".join(f"`{_short(i)}`" for i in item.first_ids) + (" ..." if item.rows > len(item.first_ids) else "")]
            for item in items]
    text = ("Items that failed were not dropped silently: each is a row of an errors table in this folder (Parquet, "
            "columns `table`, `sample_id`, `path`, `stage`, `error_type`, `reason`; not a `datasets` config).\n\n"
            + _md_table(["errors table", "rows", "what they are", "errors", "first samples"], rows)
            + f"\nRead one with pandas: `pd.read_parquet(\"{items[0].folder}\")`.\n")
    return ["## Failed items\n", text]


def _what(table: str) -> str:
    if table == layout.LOADER_ERRORS_TABLE:
        return "corpus entries the loader left out (not in `samples`)"
    return f"items that failed in config `{table}` (no feature for them there)"


def _short(sample_id: str) -> str:
    """A sample id as the card's table shows it: a very long one cut, with `...` (the errors table has it whole)."""
    return sample_id if len(sample_id) <= _ID_CHARS else sample_id[: _ID_CHARS - 3] + "..."
