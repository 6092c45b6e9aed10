"""Per-speaker z-scores: `fuse --normalize-by speaker` against the NumPy script a user would write, in one run.

Data: the fuse/check benchmark's 100k samples x 3 pooled float32 tables (512 + 384 + 74 dims, 1000-row shards,
80/10/10 splits), each sample given a speaker at `extra.speaker`: 1,000 speakers of 100 samples, either one after
the other as corpora lay them out (IEMOCAP by session and dialog, MOSI by video: a shard holds ~10 speakers) or
dealt at random over the rows (every shard holds ~630 of them: the statistics pass's worst case), with Parquet
tables and with Arrow IPC tables.
Measured in shuffled rounds (medians; each call in a fresh process, timed after its imports, its output removed
and the page cache flushed to disk before it):
  - mmdata  `fuse(..., format="arrow", normalize_by="speaker")`: a statistics pass per speaker (`GroupMoments`), then
            the export's pass, every row normalized with its speaker's statistics, written atomically;
  - script  pyarrow reads every table whole, concatenates the (N, 970) matrix, reads each sample's speaker from
            its `extra` JSON, z-scores per speaker with NumPy (sort by speaker, `np.add.reduceat` sums, in float64)
            and writes one Arrow IPC file of the same columns;
  - (info)  mmdata `fuse(..., format="arrow")` with one set of train statistics: what the grouping costs.
The script checks nothing and holds the whole matrix in memory (three copies at its peak). Before timing, both
outputs are compared: the same rows and values. Also measured: one block of 1,000 x 512 rows merged into
running per-group moments by `GroupMoments.update` against the same merge of float64 sums of the rows sorted by
group.

    python benchmarks/normalize_by_bench.py [--samples 100000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, print_table, write_results  # noqa: E402
from fuse_check_bench import DIMS, make_dataset  # noqa: E402

from mmdata.fusion import fuse  # noqa: E402
from mmdata.store import layout, open_dataset  # noqa: E402

SPEAKERS = 1000
LAYOUTS = ("contiguous", "random")


def with_speakers(source: Path, table_format: str, n: int, layout_name: str) -> Path:
    """The benchmark dataset with `extra.speaker` in its samples (feature tables linked, not copied): speakers
    one after the other ('contiguous') or dealt at random ('random')."""
    root = DATA_DIR / f"normalize-by-{layout_name}-{table_format}-{n}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "samples").mkdir(parents=True)
    os.symlink(source / "features", root / "features")
    shutil.copy(source / layout.MANIFEST_NAME, root / layout.MANIFEST_NAME)
    rows = np.arange(n) if layout_name == "contiguous" else np.random.default_rng(0).permutation(n)
    speakers = rows * SPEAKERS // n
    start = 0
    for shard in layout.shard_files(layout.samples_dir(source)):
        table = pq.read_table(shard)
        extra = pa.array([json.dumps({"speaker": f"spk{s:04d}"}) for s in speakers[start : start + len(table)]])
        table = table.set_column(table.schema.get_field_index("extra"), table.schema.field("extra"), extra)
        pq.write_table(table, layout.samples_dir(root) / shard.name)
        start += len(table)
    (root / ".complete").touch()
    return root


def script_normalize(root: Path, out: Path) -> None:
    """What a user writes: whole tables, one matrix, per-speaker mean/std from sorted rows, one IPC file."""
    data = open_dataset(root)
    samples = data.samples_table(columns=["sample_id", "split", "label", "extra"])
    parts = []
    for name in DIMS:
        column = data.table(name).to_table(columns=["feature"]).column(0).combine_chunks()
        parts.append(column.flatten().to_numpy().reshape(len(column), -1))  # flatten: a slice's own values
    matrix = np.concatenate(parts, axis=1)
    speakers = np.array([json.loads(e)["speaker"] for e in samples.column("extra").to_pylist()])
    names, codes = np.unique(speakers, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(names))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rows = matrix[order].astype(np.float64)
    mean = np.add.reduceat(rows, starts, axis=0) / counts[:, None]
    rows -= mean[codes[order]]
    std = np.sqrt(np.add.reduceat(rows * rows, starts, axis=0) / counts[:, None])
    rows /= np.where(std > 0, std, 1.0)[codes[order]]
    normalized = np.empty_like(matrix)
    normalized[order] = rows
    feature = pa.FixedSizeListArray.from_arrays(pa.array(normalized.reshape(-1)), normalized.shape[1])
    table = samples.select(["sample_id", "split", "label"]).append_column("feature", feature)
    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_export(out: Path) -> dict[str, np.ndarray]:
    """{sample id: row} of an mmdata Arrow export (every split) or of the script's IPC file."""
    files = [out] if out.is_file() else sorted(out.rglob("*.arrow"))
    rows = {}
    for path in files:
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        feature = table.column("feature").combine_chunks()
        matrix = feature.flatten().to_numpy().reshape(len(feature), -1)
        rows.update(zip(table.column("sample_id").to_pylist(), matrix))
    return rows


def compare(a: Path, b: Path) -> float:
    """The largest difference between the two outputs' rows (they must hold the same ids)."""
    left, right = read_export(a), read_export(b)
    assert left.keys() == right.keys(), "the outputs hold different samples"
    return max(float(np.abs(left[k] - right[k]).max()) for k in left)


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def run_one(method: str, root: Path, out: Path) -> float:
    """One call's wall seconds, timed after its imports (in a fresh process: `--one`, which prints them)."""
    for module in ("mmdata.fusion.group_norm", "mmdata.fusion.normalize", "scipy.sparse"):
        importlib.import_module(module)  # imports done before the clock starts

    calls = {
        "mmdata": lambda: fuse(root, out, tables=tuple(DIMS), format="arrow", normalize_by="speaker"),
        "script": lambda: script_normalize(root, out),
        "global": lambda: fuse(root, out, tables=tuple(DIMS), format="arrow"),
    }
    start = time.perf_counter()
    calls[method]()
    return time.perf_counter() - start


def timed_rounds(methods: list[str], root: Path, outputs: dict[str, Path], rounds: int, seed: int) -> dict[str, list[float]]:
    """Wall seconds of each method's call, each call in a fresh process (so that no call inherits another's memory
    or page cache state), each round in a shuffled order (seeded per case), the output removed and dirty pages
    written out (untimed) before each call."""
    wall: dict[str, list[float]] = {key: [] for key in methods}
    order = random.Random(seed)
    for _ in range(rounds):
        for key in order.sample(methods, len(methods)):
            remove(outputs[key])
            os.sync()
            time.sleep(0.3)
            done = subprocess.run([sys.executable, __file__, "--one", key, str(root), str(outputs[key])],
                                  capture_output=True, text=True, check=True)
            wall[key].append(float(done.stdout.strip().splitlines()[-1]))
    return wall


def block_sums_ms(repeats: int = 21) -> dict[str, float]:
    """Milliseconds (median) to merge one block of 1,000 x 512 float32 rows into running per-group moments, with
    ~630 groups (speakers dealt at random) and with 10 (one after the other): `GroupMoments.update` against the
    same merge (Chan's update in float64) of moments from float64 copies of the rows sorted by group
    (`np.add.reduceat`, the script's way)."""
    from mmdata.fusion.group_norm import GroupMoments

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(1000, 512)).astype(np.float32)

    def sorted_float64(running: GroupMoments, codes: np.ndarray) -> None:
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        groups, counts = ordered[starts], np.diff(np.r_[starts, len(ordered)])
        x = rows[order].astype(np.float64)
        means = np.add.reduceat(x, starts, axis=0) / counts[:, None]
        x -= np.repeat(means, counts, axis=0)
        m2 = np.add.reduceat(x * x, starts, axis=0)
        before = running.count[groups]
        total = before + counts
        delta = means - running.mean[groups]
        running.mean[groups] += delta * (counts / total)[:, None]
        running.m2[groups] += m2 + delta * delta * (before * counts / total)[:, None]
        running.count[groups] = total

    out = {}
    for label, codes in (("630_groups", rng.integers(0, 1000, 1000)), ("10_groups", np.sort(rng.integers(0, 10, 1000)))):
        mine, theirs = GroupMoments.empty(1000, 512), GroupMoments.empty(1000, 512)
        for name, call in (("mmdata", lambda: mine.update(rows, codes)),
                           ("sorted_float64", lambda: sorted_float64(theirs, codes))):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            out[f"{label}_{name}"] = 1000 * statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--one", nargs=3, metavar=("METHOD", "DATASET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(run_one(args.one[0], Path(args.one[1]), Path(args.one[2])))
        return
    results: dict = {"samples": args.samples, "speakers": SPEAKERS, "dims": DIMS, "rounds": args.rounds,
                     "load_average_at_start": os.getloadavg()[0], "formats": {}}
    work = Path(tempfile.mkdtemp(prefix="normalize-by-bench-"))
    rows = []
    try:
        for seed, (layout_name, table_format) in enumerate([(a, b) for a in LAYOUTS for b in ("parquet", "arrow")]):
            root = with_speakers(make_dataset(args.samples, table_format), table_format, args.samples, layout_name)
            outputs = {"mmdata": work / "grouped", "script": work / "script.arrow", "global": work / "global"}
            for key in ("mmdata", "script"):  # the same rows and values, before any timing
                remove(outputs[key])
                run_one(key, root, outputs[key])
            difference = compare(outputs["mmdata"], outputs["script"])
            assert difference < 1e-4, f"mmdata and the script disagree by {difference}"
            wall = timed_rounds(list(outputs), root, outputs, args.rounds, seed)
            medians = {key: statistics.median(times) for key, times in wall.items()}
            results["formats"][f"{layout_name}/{table_format}"] = {"wall_s": wall, "median_s": medians,
                                                                 "max_difference": difference}
            rows.append((f"{layout_name} speakers, {table_format} tables", f"{medians['mmdata']:.2f} s",
                         f"{medians['script']:.2f} s", f"{medians['mmdata'] / medians['script']:.2f}x",
                         f"{medians['global']:.2f} s"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["block_sums_ms"] = block_sums_ms()
    print_table([("data", "fuse --normalize-by", "NumPy script", "time ratio", "fuse (train stats)"), *rows])
    print("one block's group moments, ms:", {k: round(v, 2) for k, v in results["block_sums_ms"].items()})
    print(f"results: {write_results('normalize_by', results)}")


if __name__ == "__main__":
    main()
