"""Word-level alignment at CMU-MOSI scale: the SDK's per-interval loop vs mmdata's vectorized alignment.

Synthetic data, deterministic (seeded), shaped like MOSI: 93 videos over ~4 h, 51,056 word tokens of
which ~16% are `sp` pauses (contiguous, sorted, shortest 7.5 ms), and 100 Hz 74-d float32 acoustic
frames (COVAREP-like). Both sides align the frames to the words with a mean collapse:
  baseline  `mmdata.alignment.reference.align_like_sdk`: the CMU-MultimodalSDK's algorithm restated
            (rows gathered per video and sorted with Python's sorted, then every word compared with
            every frame of its video, outputs keyed `vid[i]`, `np.average` collapse);
  mmdata    `mmdata.alignment.align_video` per video (searchsorted windows, exact SDK predicate on
            the candidates only, collapse in numpy).
Checks that keys and features are identical (bit for bit), reports medians of >= 3 warm runs
(default 5; mmdata's first call in a process, which loads its compiled sum kernel, is reported on
its own), the speed-up, and peak traced memory (tracemalloc) of one extra run of each. With --dataset it also
times `align_dataset` end to end on a dataset directory holding the same data (Parquet in, Parquet
out, one samples shard of 10 videos at a time) and reports the peak RSS of a fresh process doing it.

    python benchmarks/align_bench.py [--runs 5] [--videos 93] [--dataset] [--quick]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, print_table, write_results  # noqa: E402

from mmdata.alignment import align_video  # noqa: E402
from mmdata.alignment.reference import align_like_sdk, sdk_mean  # noqa: E402

MOSI = {"videos": 93, "hours": 4.0, "tokens": 51056, "pauses": 8287, "dim": 74, "rate": 100.0}
Sequence = dict[str, tuple[np.ndarray, np.ndarray]]  # video id -> (features, intervals)


def generate(videos: int, hours: float, tokens: int, pauses: int, dim: int, rate: float, seed: int = 0
             ) -> tuple[Sequence, Sequence]:
    """(words, frames) per video: words (T, 1) bytes with `sp`, frames (T, dim) float32 at `rate` Hz."""
    rng = np.random.default_rng(seed)
    durations = rng.uniform(0.4, 1.6, videos)
    durations *= hours * 3600 / durations.sum()
    counts = rng.multinomial(tokens, durations / durations.sum())
    words: Sequence = {}
    frames: Sequence = {}
    for v in range(videos):
        vid = f"vid{v:03d}_{rng.integers(1 << 30):08x}"
        n, duration = int(counts[v]), float(durations[v])
        is_pause = rng.random(n) < pauses / tokens
        lengths = np.where(is_pause, rng.uniform(0.0075, 0.6, n), rng.gamma(2.0, 0.15, n) + 0.02)
        ends = np.cumsum(lengths) * (duration / lengths.sum())
        starts = np.concatenate([[0.0], ends[:-1]])
        tokens_v = np.where(is_pause, b"sp", b"word").astype("S4").reshape(-1, 1)
        words[vid] = (tokens_v, np.stack([starts, ends], axis=1))
        count = int(duration * rate)
        frame_starts = np.arange(count) / rate
        frames[vid] = (rng.standard_normal((count, dim), dtype=np.float32),
                       np.stack([frame_starts, frame_starts + 1 / rate], axis=1))
    return words, frames


def run_baseline(words: Sequence, frames: Sequence) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return align_like_sdk({"words": words, "covarep": frames}, "words", [sdk_mean])["covarep"]


def run_mmdata(words: Sequence, frames: Sequence) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for vid, (_, intervals) in words.items():
        aligned = align_video(intervals, {"covarep": frames[vid]}, collapse="mean", on_missing="drop")
        out[vid] = (aligned.index, aligned.features["covarep"])
    return out


def compare(baseline: dict, ours: dict) -> dict[str, object]:
    """Same keys in the same order and bit-identical features?"""
    keys = [f"{vid}[{i}]" for vid, (index, _) in ours.items() for i in index]
    same_keys = keys == list(baseline)
    ours_features = np.concatenate([features for _, features in ours.values()])
    sdk_features = np.concatenate([baseline[k][1] for k in baseline])
    same_shape = ours_features.shape == sdk_features.shape
    return {
        "aligned_intervals": len(keys),
        "identical_keys": same_keys,
        "identical_features": bool(same_shape and np.array_equal(ours_features, sdk_features)),
        "max_abs_diff": float(np.abs(ours_features - sdk_features).max()) if same_shape and len(keys) else None,
    }


def traced_peak_mb(fn) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_dataset(words: Sequence, frames: Sequence, runs: int) -> dict[str, object]:
    """align_dataset end to end on a dataset directory written with the store API."""
    import pyarrow as pa

    from mmdata.alignment.dataset import align_dataset
    from mmdata.pipeline import fingerprint_ids
    from mmdata.records import Sample, samples_to_table
    from mmdata.store import layout
    from mmdata.store.manifest import Manifest, TableEntry, write_manifest
    from mmdata.store.metadata import FeatureSpec
    from mmdata.store.writer import FeatureBatchBuilder, write_table_atomic

    root = Path(tempfile.mkdtemp(prefix="align-bench-"))
    ids = sorted(words)
    shard_size = 10
    samples = samples_to_table([Sample(sample_id=v, corpus="csd", group_id=v) for v in ids])
    specs = {"text.words": (FeatureSpec(dim=1, kind="sequence", intervals=True, item_axis="word"), words),
             "audio.covarep": (FeatureSpec(dim=MOSI["dim"], kind="sequence", intervals=True, frame_rate=MOSI["rate"]), frames)}
    tables = {}
    for index, start in enumerate(range(0, len(ids), shard_size)):
        shard_ids = ids[start:start + shard_size]
        write_table_atomic(samples.slice(start, shard_size), layout.samples_dir(root) / layout.shard_name(index))
        for name, (spec, data) in specs.items():
            builder = FeatureBatchBuilder(spec, {"table": name})
            for v in shard_ids:
                values = (data[v][0] == b"sp").astype(np.float32) if name == "text.words" else data[v][0]
                builder.add(v, values, data[v][1])
            table = builder.build()
            if name == "text.words":
                words_column = [[w.decode() for w in data[v][0][:, 0]] for v in shard_ids]
                table = table.append_column("words", pa.array(words_column, pa.list_(pa.string())))
            write_table_atomic(table, layout.feature_dir(root, name) / layout.shard_name(index))
        tables.update({name: TableEntry(name, f"features/{name}", name.split(".")[0], "precomputed", {}, spec.to_json(),
                                        rows=len(ids), complete=True) for name, (spec, _) in specs.items()})
    write_manifest(root, Manifest(corpus={"kind": "csd", "root": "", "split": None, "options": {}},
                                  samples={"path": "samples", "rows": len(ids), "shard_size": shard_size,
                                           "fingerprint": fingerprint_ids(ids)}, tables=tables))
    def remove_outputs() -> None:  # each run aligns from scratch
        for folder in ("features", "errors"):
            for path in (root / folder).glob("*@*"):
                shutil.rmtree(path)

    seconds, times = median_time(lambda: align_dataset(root, "text.words", tables=["audio.covarep"]), runs,
                                 setup=remove_outputs)
    remove_outputs()
    # Peak RSS of a fresh process running the alignment (Arrow buffers are invisible to tracemalloc).
    # (ru_maxrss survives fork+exec, so read VmRSS / VmHWM from /proc after resetting the mark.)
    code = ("import re, sys; from mmdata.alignment.dataset import align_dataset; "
            "kib = lambda key: int(re.search(key + r':\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            "open('/proc/self/clear_refs', 'w').write('5'); before = kib('VmRSS'); "
            "align_dataset(sys.argv[1], 'text.words', tables=['audio.covarep']); print(before, kib('VmHWM'))")
    before, after = map(int, subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                                            check=True).stdout.split())
    parquet_mib = sum(p.stat().st_size for p in (root / "features" / "audio.covarep").glob("*.parquet")) / 2**20
    shutil.rmtree(root)
    return {"align_dataset_median_s": seconds, "align_dataset_times_s": times, "shard_size": shard_size,
            "frames_parquet_mib": parquet_mib, "peak_rss_mib": after / 1024, "rss_after_imports_mib": before / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--videos", type=int, default=MOSI["videos"])
    parser.add_argument("--dataset", action="store_true", help="also time align_dataset on a dataset directory")
    parser.add_argument("--quick", action="store_true", help="10 videos, 1 run (a smoke test, not a figure)")
    args = parser.parse_args()
    scale = (10 if args.quick else args.videos) / MOSI["videos"]
    config = {**MOSI, "videos": round(MOSI["videos"] * scale), "hours": MOSI["hours"] * scale,
              "tokens": round(MOSI["tokens"] * scale), "pauses": round(MOSI["pauses"] * scale)}
    runs = 1 if args.quick else max(3, args.runs)
    started = time.perf_counter()
    words, frames = generate(**config)
    data_mb = sum(f.nbytes + i.nbytes for f, i in frames.values()) / 2**20
    print(f"generated {config['videos']} videos, {sum(len(w) for w, _ in words.values())} words, "
          f"{sum(len(f) for f, _ in frames.values())} frames ({data_mb:.0f} MiB) in {time.perf_counter() - started:.1f} s")
    # The first call in a process loads the compiled sum kernel (numba's cache): timed on its own,
    # then the warm runs the median is taken over, as for the loop (which has nothing to load).
    started = time.perf_counter()
    run_mmdata(words, frames)
    first_call_s = time.perf_counter() - started
    ours_s, ours_times = median_time(lambda: run_mmdata(words, frames), runs)
    base_s, base_times = median_time(lambda: run_baseline(words, frames), runs)
    check = compare(run_baseline(words, frames), run_mmdata(words, frames))
    peaks = {"baseline": traced_peak_mb(lambda: run_baseline(words, frames)),
             "mmdata": traced_peak_mb(lambda: run_mmdata(words, frames))}
    results = {"config": config, "runs": runs, "data_mib": data_mb, "baseline_sdk_loop": {"median_s": base_s, "times_s": base_times,
               "peak_traced_mb": peaks["baseline"]}, "mmdata": {"median_s": ours_s, "times_s": ours_times,
               "first_call_s": first_call_s, "peak_traced_mb": peaks["mmdata"]}, "speedup": base_s / ours_s, "target_speedup": 50, **check}
    rows = [("method", "median s", "runs s", "peak memory MiB (traced)"),
            ("SDK per-interval loop", f"{base_s:.3f}", " ".join(f"{t:.2f}" for t in base_times), f"{peaks['baseline']:.0f}"),
            ("mmdata align_video", f"{ours_s:.3f}", " ".join(f"{t:.3f}" for t in ours_times), f"{peaks['mmdata']:.0f}"),
            ("  (its first call in a process)", f"{first_call_s:.3f}", "", "")]
    if args.dataset:
        results["dataset"] = bench_dataset(words, frames, runs)
        dataset = results["dataset"]
        rows.append(("mmdata align_dataset (Parquet in/out)", f"{dataset['align_dataset_median_s']:.3f}",
                     " ".join(f"{t:.2f}" for t in dataset["align_dataset_times_s"]),
                     f"peak RSS {dataset['peak_rss_mib']:.0f} (after imports {dataset['rss_after_imports_mib']:.0f})"))
    print_table(rows)
    print(f"speed-up {results['speedup']:.1f}x (target >= 50x); {check['aligned_intervals']} aligned intervals; "
          f"identical keys {check['identical_keys']}, identical features {check['identical_features']} "
          f"(max abs diff {check['max_abs_diff']})")
    path = write_results("align_quick" if args.quick else "align", results)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
