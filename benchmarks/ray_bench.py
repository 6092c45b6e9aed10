"""Ray Data executor vs the local executor: throughput on the same machine and corpus, identical output.

On N COCO-like JPEGs (640x480, real photographic content), 2 decode workers each, batch 32:
  1. colour histogram (decode-bound: the work is in the decode tasks);
  2. resnet18 with random weights (model-bound: the work is in the compute actor / main process).

Timed: `extract_features` (the samples table is prepared beforehand, untimed, the same for both).
Runs of the two executors interleave (local, ray, ray, local, ...) and every figure is a median.
Start-up is reported on its own:
  - `ray.init` of a local instance (once per process);
  - the first Ray extraction (worker processes start and import mmdata), reported apart;
  - the fixed cost of one extraction, from runs over a 32-image corpus: the local executor's pool
    start and model load, Ray Data's planning, its first scheduling steps and, for a model, the
    actor's start and model load.
Throughput: `whole` = N / median seconds of the full run (start-up of the execution included);
`steady` = (N - 32) / (median T(N) - median T(32)), the images per second an executor adds once
its fixed cost is paid; `ray/local` ratios compare the two. The output tables of a Ray run and a
local run are compared for equality (values, schema, metadata).

    python benchmarks/ray_bench.py [--images 2000] [--model-images 200] [--repeats 5] [--quick]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_coco_like_corpus, print_table, write_results  # noqa: E402

BATCH = 32
WORKERS = 2
SMALL = 32  # images in the corpus that measures the fixed cost of one extraction
EXECUTORS = ("local", "ray")


def timed_extract(corpus: Path, out: Path, spec: str, executor: str, shard_size: int) -> float:
    from mmdata.features.base import create_extractor
    from mmdata.pipeline import extract_features, prepare_dataset

    dataset = prepare_dataset("coco", corpus, out, split="val2017", shard_size=shard_size)
    extractor = create_extractor(spec)
    start = time.perf_counter()
    extract_features(dataset, [extractor], batch_size=BATCH, num_workers=WORKERS, executor=executor)
    return time.perf_counter() - start


def same_output(table: str, a: Path, b: Path) -> bool:
    from mmdata.store import open_dataset

    left, right = open_dataset(a), open_dataset(b)
    return (left.table(table).to_table().equals(right.table(table).to_table(), check_metadata=True)
            and left.errors().equals(right.errors()))


def compare(spec: str, images: int, repeats: int, work: Path, shard_size: int) -> dict:
    from mmdata.features.base import create_extractor

    table = create_extractor(spec).table_name
    corpora = {images: make_coco_like_corpus(images), SMALL: make_coco_like_corpus(SMALL)}
    first_ray = timed_extract(corpora[images], work / "ray-first", spec, "ray", shard_size)
    runs: dict[tuple[str, int], list[float]] = {(e, n): [] for e in EXECUTORS for n in corpora}
    for k in range(repeats):
        for n, corpus in corpora.items():
            for executor in EXECUTORS if k % 2 == 0 else EXECUTORS[::-1]:
                out = work / f"{executor}-{n}-{k}"
                runs[executor, n].append(timed_extract(corpus, out, spec, executor, shard_size))
                if k:  # keep the first outputs of each executor to compare them
                    shutil.rmtree(out)
    median = {key: statistics.median(times) for key, times in runs.items()}
    whole = {e: images / median[e, images] for e in EXECUTORS}
    steady = {e: (images - SMALL) / max(median[e, images] - median[e, SMALL], 1e-9) for e in EXECUTORS}
    return {
        "extractor": spec, "images": images, "repeats": repeats,
        "identical_output": same_output(table, work / f"ray-{images}-0", work / f"local-{images}-0")
        and same_output(table, work / "ray-first", work / f"local-{images}-0"),
        "local_s": runs["local", images], "ray_s": runs["ray", images],
        "local_small_s": runs["local", SMALL], "ray_small_s": runs["ray", SMALL],
        "ray_first_s": first_ray,
        "local_fixed_s": median["local", SMALL], "ray_fixed_s": median["ray", SMALL],
        "local_images_per_s": whole["local"], "ray_images_per_s": whole["ray"],
        "ray_over_local": whole["ray"] / whole["local"],
        "local_steady_images_per_s": steady["local"], "ray_steady_images_per_s": steady["ray"],
        "ray_over_local_steady": steady["ray"] / steady["local"],
        "ray_first_over_local": median["local", images] / first_ray,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--model-images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200 / 64 images, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.images, args.model_images, args.repeats = 200, 64, 3

    import ray

    start = time.perf_counter()
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    startup = time.perf_counter() - start
    results = {"ray_init_s": startup, "workers": WORKERS, "batch_size": BATCH, "small_images": SMALL, "cases": []}
    work = Path(tempfile.mkdtemp(prefix="mmdata-ray-bench-"))
    try:
        cases = [("color-hist", args.images), ("resnet18:weights=random", args.model_images)]
        for spec, images in cases:
            case_dir = work / spec.split(":")[0]
            results["cases"].append(compare(spec, images, args.repeats, case_dir, shard_size=1000))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        ray.shutdown()
    rows = [("extractor", "images", "local img/s", "ray img/s", "ray/local", "local steady", "ray steady",
             "ray/local steady", "fixed s local/ray", "ray 1st run s", "identical")]
    for c in results["cases"]:
        rows.append((c["extractor"], str(c["images"]), f"{c['local_images_per_s']:.1f}", f"{c['ray_images_per_s']:.1f}",
                     f"{c['ray_over_local']:.2f}", f"{c['local_steady_images_per_s']:.1f}",
                     f"{c['ray_steady_images_per_s']:.1f}", f"{c['ray_over_local_steady']:.2f}",
                     f"{c['local_fixed_s']:.2f}/{c['ray_fixed_s']:.2f}", f"{c['ray_first_s']:.2f}",
                     str(c["identical_output"])))
    print(f"ray.init (local instance, {WORKERS} CPUs): {startup:.1f} s")
    print_table(rows)
    print("results:", write_results("ray" + ("_quick" if args.quick else ""), results))


if __name__ == "__main__":
    main()
