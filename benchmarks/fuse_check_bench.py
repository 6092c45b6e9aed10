"""Fusion and check throughput against the plain baselines a user would otherwise write.

    python benchmarks/fuse_check_bench.py [--quick]

Data: N samples x 3 pooled feature tables (512 + 384 + 74 dims, float32), written with the store
layout (1000-row shards; feature tables as Arrow IPC, the store's default), splits 80/10/10. Measured (medians of >= 3 runs):
  - fuse -> Parquet (z-score, train-only stats) vs `pq.write_table` of the already-concatenated
    (N, 970) array with the same columns, codec and encodings;  target >= 0.7x its throughput
  - fuse -> Arrow IPC vs `pa.ipc.new_file(...).write_table` of that array;       target >= 0.7x
  - (info) both vs the in-memory pipeline a user would write: read every table whole with pyarrow,
    concatenate, z-score with train statistics, write
  - `check_dataset` on the same data, in rows x tables per second;               target >= 1M/s
  - an epoch of DataLoader(FusedDataset(arrow export)) vs a per-item np.memmap Dataset over the same
    matrix (batch 256, shuffled, 2 workers);                                     target >= 0.8x
  - peak RSS of `fuse` and `check` in fresh processes at N/10 and N samples;     target within 20%
Prints a table of ratios and writes benchmarks/results/fuse_check[_quick].json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, median_time, print_table, write_results  # noqa: E402

DIMS = {"image.clip": 512, "text.minilm": 384, "audio.covarep": 74}
SHARD = 1000


def make_dataset(n: int, table_format: str = "arrow") -> Path:
    """A dataset directory of n samples and the 3 tables (cached under the bench data dir).

    Feature tables in `table_format`: 'arrow' (the store's default, Arrow IPC) or 'parquet'."""
    from mmdata.pipeline import fingerprint_ids
    from mmdata.store import layout
    from mmdata.store.manifest import Manifest, TableEntry, write_manifest
    from mmdata.store.metadata import FeatureSpec, feature_schema
    from mmdata.store.writer import write_table_atomic

    root = DATA_DIR / (f"fuse-{n}" if table_format == "parquet" else f"fuse-{table_format}-{n}")
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    ids = [f"s{i:07d}" for i in range(n)]
    splits = np.array(["train"] * 8 + ["val", "test"])[np.arange(n) % 10]
    samples = pa.table({
        "sample_id": ids, "corpus": ["manifest"] * n, "split": splits, "group_id": ids,
        "image": [f"img/{i}.jpg" for i in ids], "audio": pa.nulls(n, pa.string()), "video": pa.nulls(n, pa.string()),
        "start": pa.nulls(n, pa.float64()), "end": pa.nulls(n, pa.float64()),
        "captions": pa.array([["a caption"]] * n, pa.list_(pa.string())), "transcript": pa.nulls(n, pa.string()),
        "label": np.random.default_rng(0).uniform(-3, 3, n), "extra": pa.nulls(n, pa.string()),
    })
    from mmdata.records import SAMPLES_SCHEMA

    samples = samples.cast(SAMPLES_SCHEMA)
    for k, start in enumerate(range(0, n, SHARD)):
        write_table_atomic(samples.slice(start, SHARD), layout.samples_dir(root) / layout.shard_name(k))
    fingerprint = fingerprint_ids(ids)
    manifest = Manifest(corpus={"kind": "manifest", "root": "/bench", "split": None, "options": {}},
                        samples={"path": "samples", "rows": n, "shard_size": SHARD, "fingerprint": fingerprint,
                                 "loader_errors": 0, "splits": {s: int((splits == s).sum()) for s in ("train", "val", "test")}})
    for seed, (name, dim) in enumerate(DIMS.items()):
        modality, extractor = name.split(".")
        spec = FeatureSpec(dim=dim)
        provenance = {"table": name, "modality": modality, "extractor": extractor, "config": {}, "spec": spec.to_json(),
                      "versions": {"mmdata": "0.1.0"}, "samples_fingerprint": fingerprint}
        schema = feature_schema(spec, provenance)
        rng = np.random.default_rng(seed)
        for k, start in enumerate(range(0, n, SHARD)):
            rows = min(SHARD, n - start)
            values = rng.normal(seed, 1.0 + seed, size=rows * dim).astype(np.float32)
            feature = pa.FixedSizeListArray.from_arrays(pa.array(values), dim)
            table = pa.Table.from_arrays([pa.array(ids[start : start + rows]), feature], schema=schema)
            write_table_atomic(table, layout.feature_dir(root, name) / layout.shard_name(k, table_format))
        manifest.tables[name] = TableEntry(name=name, path=f"features/{name}", modality=modality, extractor=extractor,
                                           config={}, spec=spec.to_json(), versions={"mmdata": "0.1.0"}, rows=n,
                                           complete=True, format=table_format)
    write_manifest(root, manifest)
    (root / ".complete").touch()
    return root


def concatenated_table(root: Path, zscore: bool = False) -> pa.Table:
    """The (N, 970) concatenation of the 3 tables with the fused export's columns (the baseline's input).

    With zscore=True this is also the in-memory pipeline a user would write without mmdata: read every
    table whole, concatenate, z-score with train statistics (memory grows with the dataset)."""
    from mmdata.checks.stream import fixed_rows
    from mmdata.store.reader import open_dataset

    data = open_dataset(root)
    samples = data.samples_table(columns=["sample_id", "split", "label"])
    parts = [fixed_rows(data.table(n).to_table(columns=["feature"]).column(0)) for n in DIMS]
    matrix = np.concatenate(parts, axis=1)
    if zscore:
        train = samples.column("split").to_numpy() == "train"
        mean, std = matrix[train].mean(axis=0), matrix[train].std(axis=0)
        matrix = (matrix - mean) / np.where(std > 0, std, 1)
    feature = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])
    return samples.append_column("feature", feature)


def write_parquet(table: pa.Table, path: Path) -> None:
    # The export's codec (snappy) and encodings (dictionary pages for strings only), so only the work differs.
    pq.write_table(table, path, compression="snappy", use_dictionary=["sample_id", "split"])


def write_ipc(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def bench_dataloader(export: Path, matrix_path: Path, repeats: int) -> dict:
    import torch
    from torch.utils.data import DataLoader, Dataset

    from mmdata.fusion import FusedDataset, collate_fused

    class MemmapDataset(Dataset):
        def __init__(self, path: Path, labels: np.ndarray):
            self.path, self.labels, self.matrix = path, labels, None

        def __len__(self) -> int:
            return len(self.labels)

        def __getitem__(self, i: int) -> dict:
            if self.matrix is None:
                self.matrix = np.load(self.path, mmap_mode="r")
            return {"feature": torch.from_numpy(np.array(self.matrix[i])), "label": float(self.labels[i])}

    fused = FusedDataset(export, "train")
    labels = np.zeros(len(fused), np.float32)
    baseline = MemmapDataset(matrix_path, labels)

    def epoch(dataset, collate):
        torch.manual_seed(0)
        loader = DataLoader(dataset, batch_size=256, shuffle=True, num_workers=2, collate_fn=collate)
        rows = 0
        for batch in loader:
            rows += len(batch["feature"])
        assert rows == len(dataset)

    fused_time, fused_runs = median_time(lambda: epoch(fused, collate_fused), repeats)
    base_time, base_runs = median_time(lambda: epoch(baseline, None), repeats)
    return {"rows": len(fused), "fused_s": fused_time, "fused_runs": fused_runs, "memmap_s": base_time,
            "memmap_runs": base_runs, "ratio": base_time / fused_time}


def probe_memory(root: str, what: str) -> None:
    """Run one fuse or check in this (fresh) process and print its peak RSS in MiB.

    Reads VmHWM from /proc (getrusage's ru_maxrss survives exec, so it would report the parent's peak)."""
    out = Path(tempfile.mkdtemp(prefix="fuse-mem-")) / "out"
    if what == "fuse":
        from mmdata.fusion import fuse

        fuse(root, out)
    else:
        from mmdata.checks import check_dataset

        check_dataset(root)
    shutil.rmtree(out.parent, ignore_errors=True)
    status = Path("/proc/self/status").read_text()
    print(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024)


def peak_rss(root: Path, what: str) -> float:
    output = subprocess.run([sys.executable, __file__, "--probe", str(root), what], check=True,
                            capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k samples instead of 100k")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--probe", nargs=2, metavar=("DATASET", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe_memory(*args.probe)
        return
    from mmdata.checks import check_dataset
    from mmdata.fusion import fuse

    n = 10_000 if args.quick else 100_000
    root, small = make_dataset(n), make_dataset(n // 10)
    work = Path(tempfile.mkdtemp(prefix="fuse-bench-"))
    try:
        table = concatenated_table(root)
        dim = table.schema.field("feature").type.list_size
        results: dict = {"samples": n, "dims": DIMS, "fused_dim": dim, "repeats": args.repeats}

        def clean(path: Path):
            return lambda: shutil.rmtree(path, ignore_errors=True) or (path.unlink() if path.is_file() else None)

        plain_pq, plain_pq_runs = median_time(lambda: write_parquet(table, work / "plain.parquet"),
                                              args.repeats, setup=clean(work / "plain.parquet"))
        plain_ipc, plain_ipc_runs = median_time(lambda: write_ipc(table, work / "plain.arrow"), args.repeats,
                                                setup=clean(work / "plain.arrow"))
        naive_pq, _ = median_time(lambda: write_parquet(concatenated_table(root, zscore=True), work / "naive.parquet"),
                                  args.repeats, setup=clean(work / "naive.parquet"))
        naive_ipc, _ = median_time(lambda: write_ipc(concatenated_table(root, zscore=True), work / "naive.arrow"),
                                   args.repeats, setup=clean(work / "naive.arrow"))
        fuse_pq, fuse_pq_runs = median_time(lambda: fuse(root, work / "fused-pq"), args.repeats, setup=clean(work / "fused-pq"))
        fuse_ipc, fuse_ipc_runs = median_time(lambda: fuse(root, work / "fused-arrow", format="arrow"), args.repeats,
                                              setup=clean(work / "fused-arrow"))
        fuse_none, _ = median_time(lambda: fuse(root, work / "fused-none", format="arrow", normalize="none"),
                                   args.repeats, setup=clean(work / "fused-none"))
        check_time, check_runs = median_time(lambda: check_dataset(root), args.repeats)
        results["fuse_parquet"] = {"fuse_s": fuse_pq, "fuse_runs": fuse_pq_runs, "plain_write_s": plain_pq,
                                   "plain_runs": plain_pq_runs, "ratio": plain_pq / fuse_pq,
                                   "in_memory_pipeline_s": naive_pq, "ratio_vs_in_memory_pipeline": naive_pq / fuse_pq}
        results["fuse_arrow"] = {"fuse_s": fuse_ipc, "fuse_runs": fuse_ipc_runs, "plain_write_s": plain_ipc,
                                 "plain_runs": plain_ipc_runs, "ratio": plain_ipc / fuse_ipc,
                                 "in_memory_pipeline_s": naive_ipc, "ratio_vs_in_memory_pipeline": naive_ipc / fuse_ipc,
                                 "fuse_no_normalization_s": fuse_none, "ratio_no_normalization": plain_ipc / fuse_none}
        rate = n * len(DIMS) / check_time
        results["check"] = {"seconds": check_time, "runs": check_runs, "rows_x_tables_per_s": rate}
        train = table.filter(pa.compute.equal(table.column("split"), "train"))
        matrix = np.stack(train.column("feature").to_numpy(zero_copy_only=False)).astype(np.float32)
        np.save(work / "matrix.npy", matrix)
        del matrix, train, table
        results["dataloader"] = bench_dataloader(work / "fused-arrow", work / "matrix.npy", args.repeats)
        memory = {what: {"small": peak_rss(small, what), "large": peak_rss(root, what)} for what in ("fuse", "check")}
        for entry in memory.values():
            entry["growth"] = entry["large"] / entry["small"]
        results["peak_rss_mb"] = {"sizes": [n // 10, n], **memory}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        ("measure", "mmdata", "baseline", "ratio", "target"),
        ("fuse -> parquet (s)", f"{fuse_pq:.2f}", f"{plain_pq:.2f}", f"{results['fuse_parquet']['ratio']:.2f}x", ">= 0.7x"),
        ("fuse -> arrow ipc (s)", f"{fuse_ipc:.2f}", f"{plain_ipc:.2f}", f"{results['fuse_arrow']['ratio']:.2f}x", ">= 0.7x"),
        ("  (normalize none) (s)", f"{fuse_none:.2f}", f"{plain_ipc:.2f}", f"{results['fuse_arrow']['ratio_no_normalization']:.2f}x", ""),
        ("fuse -> parquet vs read+concat+zscore+write", f"{fuse_pq:.2f}", f"{naive_pq:.2f}",
         f"{naive_pq / fuse_pq:.2f}x", "(info)"),
        ("fuse -> arrow vs read+concat+zscore+write", f"{fuse_ipc:.2f}", f"{naive_ipc:.2f}",
         f"{naive_ipc / fuse_ipc:.2f}x", "(info)"),
        ("check (rows x tables/s)", f"{rate:,.0f}", "", f"{rate / 1e6:.2f}M/s", ">= 1M/s"),
        ("dataloader epoch (s)", f"{results['dataloader']['fused_s']:.2f}", f"{results['dataloader']['memmap_s']:.2f}",
         f"{results['dataloader']['ratio']:.2f}x", ">= 0.8x"),
        (f"peak RSS fuse {n // 10}->{n} (MiB)", f"{memory['fuse']['large']:.0f}", f"{memory['fuse']['small']:.0f}",
         f"{memory['fuse']['growth']:.2f}x", "<= 1.2x"),
        (f"peak RSS check {n // 10}->{n} (MiB)", f"{memory['check']['large']:.0f}", f"{memory['check']['small']:.0f}",
         f"{memory['check']['growth']:.2f}x", "<= 1.2x"),
    ]
    print_table(rows)
    path = write_results("fuse_check_quick" if args.quick else "fuse_check", results)
    print(f"results: {path}")
    print(json.dumps({k: results[k]["ratio"] for k in ("fuse_parquet", "fuse_arrow", "dataloader")}))


if __name__ == "__main__":
    main()
