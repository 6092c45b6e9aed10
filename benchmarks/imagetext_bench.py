"""Image extraction: mmdata vs what a torchvision user writes, vs bare decode, vs bare model forward.

On N COCO-like JPEGs (640x480, quality 90, real photographic content), 2 workers:
  1. colour histogram: mmdata `extract` (end to end: parse annotations, decode at reduced size in
     2 processes, histogram, write Parquet) vs `torchvision.datasets.CocoCaptions` + `DataLoader(num_workers=2)`
     with the same feature definition computed the usual way (full PIL decode, Resize(128), np.histogram
     per channel, all inside the DataLoader workers). Reports the speed ratio and the feature difference.
  2. the same mmdata run vs the bare decode of those files at the same reduced scale (2 processes,
     nothing else): how close the pipeline gets to the decoder's own speed.
  3. resnet18 (random weights) embeddings: mmdata pipeline throughput vs the bare model forward on
     pre-decoded batches of the same size (same model, channels_last, inference_mode).

    python benchmarks/imagetext_bench.py [--images 2000] [--repeats 3] [--quick]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, make_coco_like_corpus, median_time, print_table, write_results  # noqa: E402

BINS = 16
DECODE_SIZE = 128
BATCH = 32
WORKERS = 2


# --- baseline: what a torchvision user writes ---------------------------------------------------------------


class HistogramTransform:
    """Colour histogram with mmdata's definition (bin = floor(v * bins / 256)), per channel summing to 1."""

    def __init__(self, bins: int):
        self.edges = np.linspace(0, 256, bins + 1)

    def __call__(self, img) -> np.ndarray:
        arr = np.asarray(img)
        hists = [np.histogram(arr[..., c], bins=self.edges)[0] for c in range(3)]
        return (np.concatenate(hists) / (arr.shape[0] * arr.shape[1])).astype(np.float32)


def _collate(batch):
    return np.stack([image for image, _ in batch]), [captions for _, captions in batch]


def torchvision_histograms(corpus: Path) -> np.ndarray:
    import torchvision.transforms as T
    from torch.utils.data import DataLoader
    from torchvision.datasets import CocoCaptions

    dataset = CocoCaptions(
        str(corpus / "val2017"), str(corpus / "annotations" / "captions_val2017.json"),
        transform=T.Compose([T.Resize(DECODE_SIZE), HistogramTransform(BINS)]),
    )
    loader = DataLoader(dataset, batch_size=BATCH, num_workers=WORKERS, collate_fn=_collate)
    return np.concatenate([features for features, _ in loader])


# --- mmdata --------------------------------------------------------------------------------------------------


def mmdata_histograms(corpus: Path, out: Path) -> np.ndarray:
    from mmdata.pipeline import extract
    from mmdata.store import open_dataset

    extract("coco", corpus, out, extractors=[f"color-hist:bins={BINS},decode_size={DECODE_SIZE}"],
            batch_size=BATCH, num_workers=WORKERS)
    column = open_dataset(out).table("image.color-hist").to_table().column("feature")
    return column.combine_chunks().flatten().to_numpy().reshape(len(column), -1)


def _decode_files(paths: list[Path]) -> int:
    from mmdata.media.image import open_image

    for path in paths:
        np.asarray(open_image(path, min_size=DECODE_SIZE))
    return len(paths)


def bare_decode(files: list[Path]) -> None:
    chunks = [files[i : i + BATCH] for i in range(0, len(files), BATCH)]
    with multiprocessing.get_context("forkserver").Pool(WORKERS) as pool:
        assert sum(pool.imap(_decode_files, chunks)) == len(files)


# --- resnet18 --------------------------------------------------------------------------------------------------


def bare_forward_seconds(corpus: Path, files: list[Path]) -> float:
    """Time only the model forward over pre-decoded batches of the same size as the pipeline's."""
    import torch

    from mmdata.features.base import create_extractor

    extractor = create_extractor("resnet18:weights=random")
    rows = [{"sample_id": f.stem, "image": f"val2017/{f.name}"} for f in files]
    decoded = [extractor.decode(row, corpus) for row in rows]
    batches = [decoded[i : i + BATCH] for i in range(0, len(decoded), BATCH)]
    extractor.compute(batches[0])  # load the model and warm up outside the timing
    with torch.inference_mode():
        start = time.perf_counter()
        for batch in batches:
            extractor.compute(batch)
        return time.perf_counter() - start


def mmdata_resnet(corpus: Path, out: Path) -> None:
    from mmdata.pipeline import extract

    extract("coco", corpus, out, extractors=["resnet18:weights=random"], batch_size=BATCH, num_workers=WORKERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--resnet-images", type=int, default=None, help="default: --images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 images, 1 repeat (smoke test)")
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.images, args.repeats = 200, 1
    n_resnet = args.resnet_images or args.images

    corpus = make_coco_like_corpus(args.images)
    files = sorted((corpus / "val2017").glob("*.jpg"))
    work = Path(tempfile.mkdtemp(prefix="mmdata-bench-"))
    out = work / "out"
    clear = lambda: shutil.rmtree(out, ignore_errors=True)  # noqa: E731

    t_tv, runs_tv = median_time(lambda: torchvision_histograms(corpus), args.repeats)
    t_mm, runs_mm = median_time(lambda: mmdata_histograms(corpus, out), args.repeats, setup=clear)
    t_dec, runs_dec = median_time(lambda: bare_decode(files), args.repeats)
    ours, theirs = mmdata_histograms(corpus, work / "check"), torchvision_histograms(corpus)
    l1 = np.abs(ours - theirs).reshape(len(ours), 3, BINS).sum(axis=2)  # per image and channel, in [0, 2]
    results = {
        "images": args.images,
        "repeats": args.repeats,
        "color_hist": {
            "torchvision_s": t_tv, "mmdata_s": t_mm, "bare_decode_s": t_dec,
            "torchvision_runs": runs_tv, "mmdata_runs": runs_mm, "bare_decode_runs": runs_dec,
            "speedup_vs_torchvision": t_tv / t_mm,
            "throughput_vs_bare_decode": t_dec / t_mm,
            "feature_l1_per_channel_mean": float(l1.mean()),
            "feature_l1_per_channel_max": float(l1.max()),
            "feature_abs_diff_max": float(np.abs(ours - theirs).max()),
        },
    }
    rows = [("measure", "seconds (median)", "images/s", "ratio"),
            ("torchvision CocoCaptions+DataLoader hist", f"{t_tv:.2f}", f"{args.images / t_tv:.0f}", ""),
            ("mmdata extract color-hist", f"{t_mm:.2f}", f"{args.images / t_mm:.0f}", f"{t_tv / t_mm:.2f}x vs torchvision"),
            ("bare decode (same scale, 2 procs)", f"{t_dec:.2f}", f"{args.images / t_dec:.0f}", f"mmdata = {t_dec / t_mm:.2f}x of it")]
    if not args.skip_resnet:
        resnet_corpus = corpus if n_resnet == args.images else make_coco_like_corpus(n_resnet)
        resnet_files = sorted((resnet_corpus / "val2017").glob("*.jpg"))
        t_fwd, runs_fwd = median_time(lambda: bare_forward_seconds(resnet_corpus, resnet_files), 1)
        fwd_runs = [bare_forward_seconds(resnet_corpus, resnet_files) for _ in range(args.repeats)]
        t_fwd = float(np.median(fwd_runs))
        t_pipe, runs_pipe = median_time(lambda: mmdata_resnet(resnet_corpus, out), args.repeats, setup=clear)
        results["resnet18"] = {"images": n_resnet, "bare_forward_s": t_fwd, "pipeline_s": t_pipe,
                               "bare_forward_runs": fwd_runs, "pipeline_runs": runs_pipe,
                               "throughput_ratio": t_fwd / t_pipe}
        rows += [("resnet18 bare forward (pre-decoded)", f"{t_fwd:.2f}", f"{n_resnet / t_fwd:.1f}", ""),
                 ("resnet18 mmdata pipeline", f"{t_pipe:.2f}", f"{n_resnet / t_pipe:.1f}", f"{t_fwd / t_pipe:.2f}x of bare forward")]
    else:
        previous = RESULTS_DIR / "imagetext.json"
        if previous.is_file() and "resnet18" in json.loads(previous.read_text()):
            results["resnet18"] = json.loads(previous.read_text())["resnet18"]  # kept from the last full run
    print_table(rows)
    print(f"feature difference vs torchvision: mean per-channel L1 {l1.mean():.4f}, max {l1.max():.4f} "
          f"(draft-mode DCT downscale vs PIL bilinear Resize)")
    print(f"results: {write_results('imagetext_quick' if args.quick else 'imagetext', results)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
