"""Ray Data executor vs the local executor: throughput on the same machine and corpus, identical output.

On N COCO-like JPEGs (640x480, real photographic content), 2 decode workers each, batch 32:
  1. colour histogram (decode-bound: the work is in the decode tasks);
  2. resnet18 with random weights (model-bound: the work is in the compute actor / main process).
Ray's start-up is reported on its own: `ray.init` of a local instance, the first extraction
(worker processes importing mmdata, the actor loading the model), and the fixed cost of one Ray
Data execution (warm Ray minus local over 32 images: scheduling, actor creation, model loading). Throughput = images /
seconds of `extract_features` (the samples table is prepared beforehand, untimed, the same for
both); `ray_over_local` uses the warm runs as they are, `ray_over_local_steady` subtracts the
fixed per-execution cost. Output tables are compared for equality.

    python benchmarks/ray_bench.py [--images 2000] [--model-images 200] [--repeats 2] [--quick]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_coco_like_corpus, print_table, write_results  # noqa: E402

BATCH = 32
WORKERS = 2


def timed_extract(corpus: Path, out: Path, spec: str, executor: str, shard_size: int) -> float:
    from mmdata.features.base import create_extractor
    from mmdata.pipeline import extract_features, prepare_dataset

    dataset = prepare_dataset("coco", corpus, out, split="val2017", shard_size=shard_size)
    extractor = create_extractor(spec)
    start = time.perf_counter()
    extract_features(dataset, [extractor], batch_size=BATCH, num_workers=WORKERS, executor=executor)
    return time.perf_counter() - start


def execution_overhead(spec: str, work: Path) -> float:
    """What one Ray Data execution adds to a tiny table (32 images): warm Ray minus local, best of 2."""
    corpus = make_coco_like_corpus(32)
    times: dict[str, list[float]] = {"ray": [], "local": []}
    for k in range(3):
        for executor in ("ray", "local"):
            out = work / f"overhead-{executor}-{k}"
            times[executor].append(timed_extract(corpus, out, spec, executor, shard_size=1000))
            shutil.rmtree(out)
    return max(0.0, min(times["ray"][1:]) - min(times["local"][1:]))


def compare(spec: str, corpus: Path, images: int, repeats: int, work: Path, shard_size: int) -> dict:
    from mmdata.features.base import create_extractor
    from mmdata.store import open_dataset

    table = create_extractor(spec).table_name
    runs: dict[str, list[float]] = {"local": [], "ray": []}
    for executor in ("ray", "local", "ray", "local") + ("ray", "local") * max(0, repeats - 1):
        out = work / f"{executor}-{len(runs[executor])}"
        runs[executor].append(timed_extract(corpus, out, spec, executor, shard_size))
        if len(runs[executor]) > 1:
            shutil.rmtree(out)
    same = (open_dataset(work / "ray-0").table(table).to_table()
            .equals(open_dataset(work / "local-0").table(table).to_table(), check_metadata=True))
    local = min(runs["local"])
    ray_cold, ray_warm = runs["ray"][0], min(runs["ray"][1:])
    overhead = execution_overhead(spec, work)
    return {
        "ray_execution_overhead_s": overhead,
        "ray_over_local_steady": local / max(ray_warm - overhead, 1e-9),
        "extractor": spec, "images": images, "identical_output": same,
        "local_s": runs["local"], "ray_s": runs["ray"],
        "local_images_per_s": images / local, "ray_first_images_per_s": images / ray_cold,
        "ray_images_per_s": images / ray_warm, "ray_over_local": local / ray_warm,
        "ray_first_over_local": local / ray_cold,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--model-images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="200 / 64 images, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.images, args.model_images, args.repeats = 200, 64, 1

    import ray

    start = time.perf_counter()
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    startup = time.perf_counter() - start
    results = {"ray_init_s": startup, "workers": WORKERS, "batch_size": BATCH, "cases": []}
    work = Path(tempfile.mkdtemp(prefix="mmdata-ray-bench-"))
    try:
        cases = [("color-hist", args.images), ("resnet18:weights=random", args.model_images)]
        for spec, images in cases:
            corpus = make_coco_like_corpus(images)
            case_dir = work / spec.split(":")[0]
            results["cases"].append(compare(spec, corpus, images, args.repeats, case_dir, shard_size=1000))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        ray.shutdown()
    rows = [("extractor", "images", "local img/s", "ray 1st img/s", "ray img/s", "ray/local", "exec overhead s",
             "ray/local steady", "identical")]
    for c in results["cases"]:
        rows.append((c["extractor"], str(c["images"]), f"{c['local_images_per_s']:.1f}",
                     f"{c['ray_first_images_per_s']:.1f}", f"{c['ray_images_per_s']:.1f}",
                     f"{c['ray_over_local']:.2f}", f"{c['ray_execution_overhead_s']:.2f}",
                     f"{c['ray_over_local_steady']:.2f}", str(c["identical_output"])))
    print(f"ray.init (local instance, {WORKERS} CPUs): {startup:.1f} s")
    print_table(rows)
    print("results:", write_results("ray" + ("_quick" if args.quick else ""), results))


if __name__ == "__main__":
    main()
