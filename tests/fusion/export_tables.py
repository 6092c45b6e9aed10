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


def hugging_face_reads(parquet_export: Path, hf_export: Path, cache_dir: Path) -> dict:
    """The splits as `datasets` reads them both ways: `load_from_disk` of an hf export and
    `load_dataset("parquet")` of a Parquet export's files (by split, as fused.json lists them)."""
    import datasets

    from mmdata.fusion import read_fused_metadata

    files = read_fused_metadata(parquet_export)["files"]
    return {
        "load_from_disk": datasets.load_from_disk(str(hf_export)),
        "load_dataset": datasets.load_dataset("parquet", data_files={k: [str(parquet_export / f) for f in v]
                                                                     for k, v in files.items()},
                                              cache_dir=str(cache_dir)),
    }
