"""Peak memory of `extract` as the corpus grows: extraction streams, so it should not grow with N.

For each N (default 2,000 and 20,000; add 100,000 with --sizes), a COCO-layout corpus of N small
JPEGs (64x64, 2 captions each) is extracted with color-hist and pixel-stats, 2 decode workers, in a
fresh process. Reported per N: wall time, the peak RSS of the main process (getrusage), and the
peak summed RSS of the whole process tree (main + forkserver + decode workers, sampled from /proc
every 20 ms). The figure of merit is the ratio of peaks at the largest N to the smallest.

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
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", str(corpus), str(out)], stdout=subprocess.PIPE,
                               text=True)
    peak_tree = 0.0
    while process.poll() is None:
        peak_tree = max(peak_tree, tree_rss_mb(process.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    output = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"extraction of {num_images} images failed:\n{output}")
    child = json.loads(output.strip().splitlines()[-1])
    shutil.rmtree(out)
    return {"images": num_images, "seconds": seconds, "extract_seconds": child["seconds"],
            "main_peak_rss_mb": child["maxrss_mb"], "tree_peak_rss_mb": peak_tree}


def run_child(corpus: Path, out: Path) -> None:
    from mmdata.pipeline import extract

    start = time.perf_counter()
    report = extract("coco", corpus, out, extractors=list(EXTRACTORS), split="val2017", num_workers=2)
    assert all(t.rows == report.samples for t in report.tables)
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(Path(args.child[0]), Path(args.child[1]))
        return
    work = Path(tempfile.mkdtemp(prefix="mmdata-memory-bench-"))
    try:
        runs = [measure(n, work) for n in sorted(args.sizes)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    small, large = runs[0], runs[-1]
    results = {
        "extractors": list(EXTRACTORS), "image_size": SIZE, "runs": runs,
        "main_peak_ratio": large["main_peak_rss_mb"] / small["main_peak_rss_mb"],
        "tree_peak_ratio": large["tree_peak_rss_mb"] / small["tree_peak_rss_mb"],
    }
    rows = [("images", "seconds", "images/s", "main peak RSS MiB", "tree peak RSS MiB")]
    for r in runs:
        rows.append((str(r["images"]), f"{r['seconds']:.1f}", f"{r['images'] / r['extract_seconds']:.0f}",
                     f"{r['main_peak_rss_mb']:.0f}", f"{r['tree_peak_rss_mb']:.0f}"))
    print_table(rows)
    print(f"peak ratio {large['images']} / {small['images']} images: main {results['main_peak_ratio']:.2f}, "
          f"tree {results['tree_peak_ratio']:.2f}")
    print("results:", write_results("memory", results))


if __name__ == "__main__":
    main()
