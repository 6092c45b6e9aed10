"""Merging two datasets into one: `mmdata merge` against the pyarrow script a user would write, in one run.

Data: two datasets of 60k and 40k samples, each with 3 pooled float32 tables (512 + 384 + 74 dims, the
fuse/check benchmark's layout, 1000-row shards, moments stored), once with Parquet tables and once with Arrow
IPC tables. Measured in shuffled rounds (medians):
  - mmdata  `merge_datasets([a, b], out)`: samples renamed `<name>/<id>`, group ids namespaced, extra gains the
            dataset's name, every table's rows checked against the merged samples, cut into 1000-row shards,
            per-split moments made again, written atomically (fsync + rename), the manifest;
  - script  pyarrow.dataset reads each dataset's samples and each table whole, prefixes the ids, concatenates
            and writes one file per table (Parquet with the store's codec, or an Arrow IPC file) and the samples.
The script checks nothing and writes no moments, no errors tables and no manifest. Before timing, both outputs
are compared: the same ids and vectors in the same order.

    python benchmarks/merge_bench.py [--sizes 60000,40000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, shuffled_rounds, write_results  # noqa: E402
from fuse_check_bench import DIMS, make_dataset  # noqa: E402

from mmdata.merge import merge_datasets  # noqa: E402
from mmdata.store import open_dataset  # noqa: E402


def script_merge(sources: dict[str, Path], out: Path, table_format: str) -> None:
    """What a user writes: read each table whole, prefix the ids, concatenate, write one file per table."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for table in ["samples", *DIMS]:
        parts = []
        for name, root in sources.items():
            folder = root / "samples" if table == "samples" else root / "features" / table
            data = pads.dataset(folder, format="parquet" if table == "samples" else
                                ("ipc" if table_format == "arrow" else "parquet")).to_table()
            ids = pc.binary_join_element_wise(f"{name}/", data.column("sample_id"), "")
            parts.append(data.set_column(data.schema.get_field_index("sample_id"), "sample_id", ids))
        merged = pa.concat_tables(parts)
        if table_format == "arrow" and table != "samples":
            with pa.OSFile(str(out / f"{table}.arrow"), "wb") as sink, pa.ipc.new_file(sink, merged.schema) as writer:
                writer.write_table(merged)
        else:
            pq.write_table(merged, out / f"{table}.parquet", compression="snappy")


def mmdata_merge(sources: dict[str, Path], out: Path) -> None:
    merge_datasets(list(sources.values()), out, names=list(sources), force=True)


def same_output(merged: Path, script: Path, table_format: str) -> None:
    """The merged dataset and the script's files hold the same ids and vectors in the same order."""
    data = open_dataset(merged)
    for table in DIMS:
        ids, vectors = data.to_numpy(table)
        path = script / f"{table}.{'arrow' if table_format == 'arrow' else 'parquet'}"
        theirs = pads.dataset(path, format="ipc" if table_format == "arrow" else "parquet").to_table()
        assert ids.tolist() == theirs.column("sample_id").to_pylist(), f"{table}: ids differ"
        expected = theirs.column("feature").combine_chunks().flatten().to_numpy().reshape(len(ids), -1)
        assert np.array_equal(vectors, expected), f"{table}: vectors differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="60000,40000", help="samples of the two datasets")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="folder for the outputs (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="merge-bench-", dir=args.work))
    results: dict = {"sizes": sizes, "dims": DIMS, "rounds": args.rounds, "formats": {}}
    rows = [("tables", "mmdata merge s", "script s", "mmdata / script time", "rows/s mmdata")]
    try:
        for table_format in ("parquet", "arrow"):
            sources = {name: make_dataset(n, table_format) for name, n in zip(("a", "b"), sizes)}
            merged, script = work / f"merged-{table_format}", work / f"script-{table_format}"
            mmdata_merge(sources, merged)
            script_merge(sources, script, table_format)
            same_output(merged, script, table_format)
            wall = shuffled_rounds({"mmdata": lambda: mmdata_merge(sources, merged),
                                    "script": lambda: script_merge(sources, script, table_format)}, args.rounds)
            medians = {key: statistics.median(times) for key, times in wall.items()}
            total = sum(sizes)
            results["formats"][table_format] = {"runs": wall, "median_s": medians,
                                                "mmdata_over_script": medians["mmdata"] / medians["script"],
                                                "rows_per_s": total / medians["mmdata"]}
            rows.append((table_format, f"{medians['mmdata']:.2f}", f"{medians['script']:.2f}",
                         f"{medians['mmdata'] / medians['script']:.2f}x", f"{total / medians['mmdata']:,.0f}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    print(f"results: {write_results('merge', results)}")


if __name__ == "__main__":
    main()
