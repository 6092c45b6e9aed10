"""Reading one split of a fused export back as an Arrow table, in any of the table formats."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def split_table(out: Path, fmt: str, split: str, files: list[str]) -> pa.Table:
    """The rows of `split` of the export at `out` in format parquet, arrow or hf (not npy: no table)."""
    if fmt == "hf":
        import datasets

        return datasets.load_from_disk(str(out))[split].data.table
    if fmt == "arrow":
        return pa.ipc.open_file(pa.memory_map(str(out / files[0]))).read_all()
    return pa.concat_tables([pq.read_table(out / f) for f in files])
