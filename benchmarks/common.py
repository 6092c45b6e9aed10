"""Shared helpers for the benchmarks: timing with medians, peak memory, real-photo JPEG corpora, results."""
from __future__ import annotations

import json
import os
import platform
import random
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DATA_DIR = Path(os.environ.get("MMDATA_BENCH_DATA", Path.home() / ".cache" / "mmdata" / "bench-data"))
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "colorwheel")


def median_time(fn: Callable[[], Any], repeats: int = 3, setup: Callable[[], Any] | None = None,
                clock: Callable[[], float] = time.perf_counter) -> tuple[float, list[float]]:
    """Median time of `fn` over `repeats` runs (setup, if given, runs untimed before each): wall
    seconds, or those of another `clock` such as `time.process_time`."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times), times


#: Seconds `shuffled_rounds` pauses before each timed call: threads the call before left spinning (BLAS, decoders,
#: worker pools winding down) settle instead of slowing the next.
SETTLE_S = 0.3


def shuffled_rounds(calls: dict[str, Callable[[], Any]], rounds: int, seed: int = 0,
                    settle_s: float = SETTLE_S) -> dict[str, list[float]]:
    """Wall seconds of each call over `rounds` rounds, each round running every call once in a shuffled order
    (seeded: the same orders each run) after a `settle_s` pause, so that every method sees the same machine load."""
    wall: dict[str, list[float]] = {key: [] for key in calls}
    order = random.Random(seed)
    for _ in range(rounds):
        for key in order.sample(list(calls), len(calls)):
            time.sleep(settle_s)
            start = time.perf_counter()
            calls[key]()
            wall[key].append(time.perf_counter() - start)
    return wall


def median_cpu_time(fn: Callable[[], Any], repeats: int = 3, setup: Callable[[], Any] | None = None) -> float:
    """Median CPU seconds (user + system, every thread of this process) of `fn` over `repeats` runs."""
    return median_time(fn, repeats, setup, clock=time.process_time)[0]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_coco_like_corpus(num_images: int, *, width: int = 640, height: int = 480, quality: int = 90, seed: int = 0) -> Path:
    """A COCO-2017-layout corpus of `num_images` JPEGs with real photographic content (random crops
    of scikit-image's bundled photographs, flipped and rescaled), 5 captions each. Cached on disk."""
    import skimage.data
    from PIL import Image

    root = DATA_DIR / f"coco-{num_images}-{width}x{height}-q{quality}-s{seed}"
    marker = root / ".complete"
    if marker.is_file():
        return root
    (root / "val2017").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = [_as_rgb(getattr(skimage.data, name)()) for name in PHOTOS]
    images, annotations = [], []
    for index in range(num_images):
        photo = photos[index % len(photos)]
        h, w = photo.shape[:2]
        scale = rng.uniform(0.5, 1.0)
        ch, cw = max(16, int(h * scale)), max(16, int(w * scale))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = photo[top : top + ch, left : left + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        image_id = index + 1
        file_name = f"{image_id:012d}.jpg"
        Image.fromarray(np.ascontiguousarray(crop)).resize((width, height), Image.BILINEAR).save(
            root / "val2017" / file_name, quality=quality
        )
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for k in range(5):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "caption": f"photo {index % len(photos)} crop {index} caption {k}"})
    (root / "annotations" / "captions_val2017.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    marker.touch()
    return root


def _as_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return array[..., :3]


def write_results(name: str, results: dict[str, Any], path: Path | None = None) -> Path:
    """Write `results` with the machine's description to `path` (default: results/<name>.json)."""
    path = path or RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results = {
        "benchmark": name,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        **results,
    }
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return path


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
