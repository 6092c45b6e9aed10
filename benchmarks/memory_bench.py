"""Peak memory of `extract` as the corpus grows: extraction streams, so it should not grow with N.

For each N (default 2,000 and 20,000; add 100,000 with --sizes), a COCO-layout corpus of N small
JPEGs (64x64, 2 captions each) goes through `mmdata extract` (color-hist and pixel-stats, 2 decode
workers) in fresh processes, one per stage, so that each stage's peak is its own:
  prepare   the loader parses the annotations and writes the samples table (`prepare_dataset`);
  extract   the feature tables are computed from the samples table (`extract_features`).
Reported per N and stage: wall time, the peak RSS of the stage's process (getrusage) and the peak
summed RSS of its whole process tree (+ forkserver + decode workers, sampled from /proc every
20 ms). The figures of merit are the ratios of peaks at the largest N to the smallest.

    python benchmarks/memory_bench.py [--sizes 2000 20000 100000]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, print_table, write_results  # noqa: E402

SIZE = 64
EXTRACTORS = ("color-hist", "pixel-stats")


def make_tiny_corpus(num_images: int, seed: int = 0) -> Path:
    """N 64x64 JPEGs of random colour blocks in the COCO 2017 layout (cached on disk)."""
    import numpy as np
    from PIL import Image

    root = DATA_DIR / f"coco-tiny-{num_images}-{SIZE}-s{seed}"
    if (root / ".complete").is_file():
        return root
    (root / "val2017").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        blocks = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        pixels = np.kron(blocks, np.ones((SIZE // 4, SIZE // 4, 1), dtype=np.uint8))
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
        name = f"{image_id:012d}.jpg"
        (root / "val2017" / name).write_bytes(buffer.getvalue())
        images.append({"id": image_id, "file_name": name, "width": SIZE, "height": SIZE})
        annotations += [{"id": 2 * image_id + k, "image_id": image_id, "caption": f"image {image_id} caption {k}"}
                        for k in range(2)]
    (root / "annotations").mkdir(exist_ok=True)
    (root / "annotations" / "captions_val2017.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    (root / ".complete").touch()
    return root


def tree_rss_mb(pid: int) -> float:
    """Summed VmRSS of `pid` and all its descendants (MiB), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        stack += children.get(current, [])
        try:
            with open(f"/proc/{current}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0) / 1024
        except OSError:
            continue
    return total


def measure(num_images: int, work: Path) -> dict:
    corpus = make_tiny_corpus(num_images)
    out = work / f"out-{num_images}"
    result: dict = {"images": num_images}
    for stage in STAGES:
        process = subprocess.Popen([sys.executable, __file__, "--child", stage, str(corpus), str(out)],
                                   stdout=subprocess.PIPE, text=True)
        peak_tree = 0.0
        while process.poll() is None:
            peak_tree = max(peak_tree, tree_rss_mb(process.pid))
            time.sleep(0.02)
        output = process.stdout.read()
        if process.returncode != 0:
            raise SystemExit(f"{stage} of {num_images} images failed:\n{output}")
        child = json.loads(output.strip().splitlines()[-1])
        result[stage] = {"seconds": child["seconds"], "peak_rss_mb": child["maxrss_mb"], "tree_peak_rss_mb": peak_tree}
    shutil.rmtree(out)
    return result


STAGES = ("prepare", "extract")


def run_child(stage: str, corpus: Path, out: Path) -> None:
    from mmdata.features.base import create_extractor
    from mmdata.pipeline import extract_features, prepare_dataset
    from mmdata.store import open_dataset

    start = time.perf_counter()
    if stage == "prepare":
        prepare_dataset("coco", corpus, out, split="val2017")
    else:
        reports = extract_features(open_dataset(out), [create_extractor(e) for e in EXTRACTORS], num_workers=2)
        assert all(r.rows == reports[0].rows for r in reports)
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--child", nargs=3, metavar=("STAGE", "CORPUS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    work = Path(tempfile.mkdtemp(prefix="mmdata-memory-bench-"))
    try:
        runs = [measure(n, work) for n in sorted(args.sizes)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    small, large = runs[0], runs[-1]
    ratios = {f"{stage}_{kind}_ratio": large[stage][kind] / small[stage][kind]
              for stage in STAGES for kind in ("peak_rss_mb", "tree_peak_rss_mb")}
    results = {"extractors": list(EXTRACTORS), "image_size": SIZE, "runs": runs, "ratios": ratios,
               "ratio_of": [small["images"], large["images"]]}
    rows = [("images", "stage", "seconds", "images/s", "peak RSS MiB", "tree peak RSS MiB")]
    for r in runs:
        for stage in STAGES:
            m = r[stage]
            rows.append((str(r["images"]), stage, f"{m['seconds']:.1f}", f"{r['images'] / m['seconds']:.0f}",
                         f"{m['peak_rss_mb']:.0f}", f"{m['tree_peak_rss_mb']:.0f}"))
    print_table(rows)
    print(f"peak ratios {large['images']} / {small['images']} images: "
          + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    print("results:", write_results("memory", results))


if __name__ == "__main__":
    main()
