"""Fusion and check throughput against the plain baselines a user would otherwise write.

    python benchmarks/fuse_check_bench.py [--quick]

Data: N samples x 3 pooled feature tables (512 + 384 + 74 dims, float32), written with the store
layout (1000-row shards), splits 80/10/10, once per feature table format: Parquet (the store's
default) and Arrow IPC (`--table-format arrow`). Measured per format (medians of >= 3 runs):
  - fuse -> Parquet (z-score, train-only stats) vs `pq.write_table` of the already-concatenated
    (N, 970) array with the same columns, codec and encodings;  target >= 0.7x its throughput
  - fuse -> Arrow IPC vs `pa.ipc.new_file(...).write_table` of that array;       target >= 0.7x
  - both again with the per-split moments `mmdata extract` stores with each shard hidden, so
    that fuse makes its own statistics pass (the dataset is written with them, as extract does)
  - (info) both vs the in-memory pipeline a user would write: read every table whole with pyarrow,
    concatenate, z-score with train statistics, write
  - (bound) reading every input value once (one thread per CPU), wall and CPU seconds: a fuse
    reads its inputs and writes the export, so it takes at least max(read wall, (read CPU + write
    CPU) / CPUs); the write's time over that bounds the ratio any fuse could reach
  - `check_dataset` on the same data, in rows x tables per second (after one untimed run);  target >= 1M/s
  - an epoch of DataLoader(FusedDataset(arrow export)) vs a per-item np.memmap Dataset over the same
    matrix (batch 256, shuffled, 2 workers);                                     target >= 0.8x
  - peak RSS of `fuse` and `check` in fresh processes at N/10 and N samples (median of 3 processes
    each);                                                                    target within 20%
Prints a table of ratios and writes benchmarks/results/fuse_check[_quick].json.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, median_cpu_time, median_time, print_table, write_results  # noqa: E402

from mmdata.checks.stream import fixed_rows  # noqa: E402

DIMS = {"image.clip": 512, "text.minilm": 384, "audio.covarep": 74}
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
SHARD = 1000


def make_dataset(n: int, table_format: str = "parquet") -> Path:
    """A dataset directory of n samples and the 3 tables (cached under the bench data dir).

    Feature tables in `table_format`: 'arrow' (the store's default, Arrow IPC) or 'parquet'."""
    from mmdata.pipeline import fingerprint_ids
    from mmdata.store import layout
    from mmdata.store.manifest import Manifest, TableEntry, write_manifest
    from mmdata.store.metadata import FeatureSpec, feature_schema
    from mmdata.store.writer import write_table_atomic

    # "-v2": tables as this version writes them (vector values declared non-null); the cache of the
    # layout before stays where it was.
    root = DATA_DIR / (f"fuse-v2-{n}" if table_format == "parquet" else f"fuse-v2-{table_format}-{n}")
    if (root / ".complete").is_file():
        return add_moments(root)
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
            feature = pa.FixedSizeListArray.from_arrays(pa.array(values), type=schema.field("feature").type)
            table = pa.Table.from_arrays([pa.array(ids[start : start + rows]), feature], schema=schema)
            write_table_atomic(table, layout.feature_dir(root, name) / layout.shard_name(k, table_format))
        manifest.tables[name] = TableEntry(name=name, path=f"features/{name}", modality=modality, extractor=extractor,
                                           config={}, spec=spec.to_json(), versions={"mmdata": "0.1.0"}, rows=n,
                                           complete=True, format=table_format)
    write_manifest(root, manifest)
    (root / ".complete").touch()
    return add_moments(root)


def add_moments(root: Path) -> Path:
    """Store each shard's per-split moments the way `mmdata extract` does (datasets cached before
    moments existed get them here)."""
    from mmdata.store import layout, open_dataset
    from mmdata.store.moments import feature_moments, moments_path, write_shard_moments
    from mmdata.store.shards import read_shard

    data = open_dataset(root)
    samples = layout.shard_files(layout.samples_dir(root))
    for name in DIMS:
        for samples_shard, shard in zip(samples, layout.shard_files(data.table_dir(name))):
            if moments_path(shard).is_file():
                continue
            splits = pq.read_table(samples_shard, columns=["split"]).column("split").to_numpy(zero_copy_only=False)
            moments = feature_moments(read_shard(shard, ["feature"]).column("feature"), splits)
            write_shard_moments(shard, moments, DIMS[name], data.manifest.samples["fingerprint"])
    return root


@contextlib.contextmanager
def moments_hidden(root: Path) -> Iterator[None]:
    """fuse as on a dataset without stored moments: it makes its statistics pass."""
    from mmdata.store.moments import MOMENTS_DIR

    folders = [root / "features" / name / MOMENTS_DIR for name in DIMS]
    for folder in folders:
        folder.rename(folder.with_name(".moments-hidden"))
    try:
        yield
    finally:
        for folder in folders:
            folder.with_name(".moments-hidden").rename(folder)


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


def read_inputs(root: Path) -> float:
    """Read every feature value of the dataset's tables once, as any fuse or check must, the fastest
    way measured here, and sum them so each is touched; nothing is gathered, normalized or written.

    Arrow IPC shards are memory-mapped, one thread per CPU. Parquet shards are decoded a few ahead on
    one thread per CPU, each opened once (`checks.stream.iter_table_shards`: 0.19 s for the 100k
    tables, against 0.21 s through one `pyarrow.dataset` scanner per table, which the version before
    used here)."""
    from concurrent.futures import ThreadPoolExecutor

    from mmdata.checks.stream import iter_table_shards
    from mmdata.store import layout
    from mmdata.store.shards import map_shard

    total = 0.0
    for name in DIMS:
        files = layout.shard_files(root / "features" / name)
        if layout.shard_format(files[0]) == "arrow":
            with ThreadPoolExecutor(max_workers=CPUS) as pool:
                total += sum(pool.map(lambda f: float(fixed_rows(map_shard(f).column("feature")).sum()), files))
            continue
        for _, table in iter_table_shards(files, ["feature"]):
            total += float(fixed_rows(table.column("feature")).sum())
    return total


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


#: Fresh processes per peak-RSS figure (the median is reported: one run's peak swings by ~10 MiB).
MEMORY_RUNS = 3


def peak_rss(root: Path, what: str) -> float:
    """Median peak RSS (MiB) of `what` ('fuse' or 'check') on `root` over `MEMORY_RUNS` fresh processes."""
    peaks = []
    for _ in range(MEMORY_RUNS):
        output = subprocess.run([sys.executable, __file__, "--probe", str(root), what], check=True,
                                capture_output=True, text=True).stdout
        peaks.append(float(output.strip().splitlines()[-1]))
    return statistics.median(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k samples instead of 100k")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--probe", nargs=2, metavar=("DATASET", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe_memory(*args.probe)
        return
    n = 10_000 if args.quick else 100_000
    roots = {fmt: (make_dataset(n, fmt), make_dataset(n // 10, fmt)) for fmt in TABLE_FORMATS}
    work = Path(tempfile.mkdtemp(prefix="fuse-bench-"))
    try:
        results = run_all(roots, work, n, args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(summary_rows(results, n))
    path = write_results("fuse_check_quick" if args.quick else "fuse_check", results)
    print(f"results: {path}")


#: Feature table formats measured: the store's default (Parquet) and Arrow IPC (`--table-format arrow`).
TABLE_FORMATS = ("parquet", "arrow")


def run_all(roots: dict[str, tuple[Path, Path]], work: Path, n: int, repeats: int) -> dict:
    from mmdata.checks import check_dataset
    from mmdata.fusion import fuse

    table = concatenated_table(roots["parquet"][0])
    results: dict = {"samples": n, "dims": DIMS, "fused_dim": table.schema.field("feature").type.list_size,
                     "repeats": repeats, "baselines": {}, "table_formats": {}}

    def clean(path: Path):
        """Before each timed run (untimed): remove the last run's output, and write every dirty page
        to disk, so that no run competes with the writeback of the gigabytes written before it."""
        def setup() -> None:
            shutil.rmtree(path, ignore_errors=True)
            if path.is_file():
                path.unlink()
            os.sync()
        return setup

    def timed(fn, out: Path) -> tuple[float, list[float]]:
        return median_time(fn, repeats, setup=clean(out))

    base = results["baselines"]
    base["parquet_write_s"], base["parquet_write_runs"] = timed(lambda: write_parquet(table, work / "p.parquet"), work / "p.parquet")
    base["ipc_write_s"], base["ipc_write_runs"] = timed(lambda: write_ipc(table, work / "p.arrow"), work / "p.arrow")
    base["parquet_write_cpu_s"] = median_cpu_time(lambda: write_parquet(table, work / "p.parquet"), repeats,
                                                  setup=clean(work / "p.parquet"))
    base["ipc_write_cpu_s"] = median_cpu_time(lambda: write_ipc(table, work / "p.arrow"), repeats, setup=clean(work / "p.arrow"))
    for fmt, (root, _) in roots.items():  # the in-memory pipeline a user would write, reading each format
        base[f"in_memory_parquet_from_{fmt}_s"], _ = timed(
            lambda: write_parquet(concatenated_table(root, zscore=True), work / "n.parquet"), work / "n.parquet")
        base[f"in_memory_ipc_from_{fmt}_s"], _ = timed(
            lambda: write_ipc(concatenated_table(root, zscore=True), work / "n.arrow"), work / "n.arrow")
    del table
    for fmt, (root, _) in roots.items():
        entry: dict = {}
        # The floor under any fuse: it reads its inputs once and writes the export, each at least as
        # costly as alone, and the CPU seconds of both share the cores. So a fuse takes at least
        # max(read wall, (read CPU + write CPU) / cores), were gathering and normalizing free.
        entry["read_inputs_s"], entry["read_inputs_runs"] = median_time(lambda: read_inputs(root), repeats, setup=os.sync)
        entry["read_inputs_cpu_s"] = median_cpu_time(lambda: read_inputs(root), repeats, setup=os.sync)
        for out in ("parquet", "ipc"):
            floor = max(entry["read_inputs_s"], (entry["read_inputs_cpu_s"] + base[f"{out}_write_cpu_s"]) / CPUS)
            entry[f"best_possible_{out}_ratio"] = base[f"{out}_write_s"] / floor
        entry["fuse_parquet_s"], entry["fuse_parquet_runs"] = timed(lambda: fuse(root, work / "fp"), work / "fp")
        entry["fuse_arrow_s"], entry["fuse_arrow_runs"] = timed(lambda: fuse(root, work / "fa", format="arrow"), work / "fa")
        entry["fuse_arrow_no_norm_s"], _ = timed(lambda: fuse(root, work / "fn", format="arrow", normalize="none"), work / "fn")
        with moments_hidden(root):  # the statistics pass fuse makes without moments stored at extraction
            entry["fuse_parquet_no_moments_s"], _ = timed(lambda: fuse(root, work / "fq", format="parquet"), work / "fq")
            entry["fuse_arrow_no_moments_s"], _ = timed(lambda: fuse(root, work / "fm", format="arrow"), work / "fm")
        check_dataset(root)  # warm-up: the 15 fuse runs before it wrote ~6 GB that compete for the page cache
        entry["check_s"], entry["check_runs"] = median_time(lambda: check_dataset(root), repeats, setup=os.sync)
        entry["check_rows_x_tables_per_s"] = n * len(DIMS) / entry["check_s"]
        entry["fuse_parquet_ratio"] = base["parquet_write_s"] / entry["fuse_parquet_s"]
        entry["fuse_arrow_ratio"] = base["ipc_write_s"] / entry["fuse_arrow_s"]
        entry["fuse_arrow_no_norm_ratio"] = base["ipc_write_s"] / entry["fuse_arrow_no_norm_s"]
        entry["fuse_parquet_vs_in_memory"] = base[f"in_memory_parquet_from_{fmt}_s"] / entry["fuse_parquet_s"]
        entry["fuse_arrow_vs_in_memory"] = base[f"in_memory_ipc_from_{fmt}_s"] / entry["fuse_arrow_s"]
        memory = {what: {"small": peak_rss(roots[fmt][1], what), "large": peak_rss(root, what)} for what in ("fuse", "check")}
        for value in memory.values():
            value["growth"] = value["large"] / value["small"]
        entry["peak_rss_mb"] = {"sizes": [n // 10, n], **memory}
        results["table_formats"][fmt] = entry
    fuse(roots["arrow"][0], work / "export", format="arrow")
    train = pa.ipc.open_file(pa.memory_map(str(work / "export" / "data" / "train.arrow"))).read_all()
    np.save(work / "matrix.npy", fixed_rows(train.column("feature").combine_chunks()))
    del train
    results["dataloader"] = bench_dataloader(work / "export", work / "matrix.npy", repeats)
    return results


def summary_rows(results: dict, n: int) -> list[tuple[str, ...]]:
    base = results["baselines"]
    rows = [("measure", "tables", "mmdata", "baseline", "ratio", "target")]
    for fmt, e in results["table_formats"].items():
        rows += [
            ("fuse -> parquet (s)", fmt, f"{e['fuse_parquet_s']:.2f}", f"{base['parquet_write_s']:.2f}",
             f"{e['fuse_parquet_ratio']:.2f}x", ">= 0.7x"),
            ("fuse -> arrow ipc (s)", fmt, f"{e['fuse_arrow_s']:.2f}", f"{base['ipc_write_s']:.2f}",
             f"{e['fuse_arrow_ratio']:.2f}x", ">= 0.7x"),
            ("  best ratio any fuse could reach (pq/ipc)", fmt, f"{e['read_inputs_s']:.2f}", "",
             f"{e['best_possible_parquet_ratio']:.2f}x / {e['best_possible_ipc_ratio']:.2f}x", "(bound)"),
            ("  (normalize none) (s)", fmt, f"{e['fuse_arrow_no_norm_s']:.2f}", f"{base['ipc_write_s']:.2f}",
             f"{e['fuse_arrow_no_norm_ratio']:.2f}x", ""),
            ("  (no stored moments: -> parquet / -> ipc) (s)", fmt,
             f"{e['fuse_parquet_no_moments_s']:.2f} / {e['fuse_arrow_no_moments_s']:.2f}", "",
             f"{base['parquet_write_s'] / e['fuse_parquet_no_moments_s']:.2f}x / "
             f"{base['ipc_write_s'] / e['fuse_arrow_no_moments_s']:.2f}x", ""),
            ("fuse vs read+concat+zscore+write (pq/ipc)", fmt, "", "",
             f"{e['fuse_parquet_vs_in_memory']:.2f}x / {e['fuse_arrow_vs_in_memory']:.2f}x", "(info)"),
            ("check (rows x tables/s)", fmt, f"{e['check_rows_x_tables_per_s']:,.0f}", "",
             f"{e['check_rows_x_tables_per_s'] / 1e6:.2f}M/s", ">= 1M/s"),
            ("  reading every value once, no checks (rows x tables/s)", fmt, f"{n * len(DIMS) / e['read_inputs_s']:,.0f}",
             "", f"{n * len(DIMS) / e['read_inputs_s'] / 1e6:.2f}M/s", "(bound)"),
        ]
        for what in ("fuse", "check"):
            m = e["peak_rss_mb"][what]
            rows.append((f"peak RSS {what} {n // 10}->{n} (MiB)", fmt, f"{m['large']:.0f}", f"{m['small']:.0f}",
                         f"{m['growth']:.2f}x", "<= 1.2x"))
    d = results["dataloader"]
    rows.append(("dataloader epoch (s)", "", f"{d['fused_s']:.2f}", f"{d['memmap_s']:.2f}", f"{d['ratio']:.2f}x", ">= 0.8x"))
    return rows


if __name__ == "__main__":
    main()
