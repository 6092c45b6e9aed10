"""CLIP embeddings: mmdata's `clip` / `clip-text` vs the transformers loop a user writes, vs the bare forward.

Data: N COCO-like JPEGs (640x480, quality 90, crops of scikit-image's photographs, 5 captions each), and a
CLIP of ViT-B/32's size with random weights (`CLIPConfig()`'s defaults: vision 12 layers x 768, patch 32 on
224 px; text 12 layers x 512, 77 positions, 49,408-token embedding; 512-d projections: ~151 M parameters),
saved with `save_pretrained` beside a CLIP-style BPE tokenizer learned offline (the captions tokenize into
~10 tokens, start and end included: fewer than real COCO captions' ~15). Both are cached in the benchmark
data directory. Same features on every side: projected embeddings, L2-normalized, float32, on the CPU.

  loop          what a transformers user writes: read captions_val2017.json, then for the images, in
                batches of 32: PIL open + convert("RGB"), `CLIPProcessor` (with `CLIPImageProcessorPil`,
                transformers' PIL backend, the preprocessing mmdata reproduces), `get_image_features`;
                for the captions, in batches of 128: tokenizer (padding, truncation), `get_text_features`.
                Results kept in memory.
  dataloader    images only: the same with a torch `Dataset` that opens and preprocesses each image,
                under `DataLoader(batch_size=32, num_workers=2)` (what a careful user writes).
  mmdata        `mmdata.pipeline.extract("coco", ...)` with `clip:model=DIR` (images) or
                `clip-text:model=DIR,level=caption` (captions), each run into a fresh dataset
                directory: parse the annotations, write the samples table, decode (resize + crop) with
                the defaults' choice of where (measured on the first batch) and, for images, once more
                with 2 decode workers; the forward in the main process; write the feature table.
  bare forward  `get_image_features` on the loop's preprocessed pixel batches of 32, `get_text_features`
                on its tokenized batches of 128: the model alone, the bound for both.

Every method runs once untimed first (warm-up: file cache, mmdata's model load and weight hashing, which
it does once per process; the loop's model is loaded once, timed apart), then the methods are interleaved
over the rounds (each round runs every method once, in a shuffled order, after a 0.3 s pause). Reports
medians, images/s and captions/s, mmdata's throughput over the loop's and over the bare forward's, and the
largest absolute difference between mmdata's tables and the loop's vectors (from the warm-up runs).

    python benchmarks/clip_bench.py [--images 500] [--repeats 3] [--out results/clip.json] [--quick]
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repository root: the tests' CLIP tokenizer writer
from common import DATA_DIR, RESULTS_DIR, make_coco_like_corpus, print_table, shuffled_rounds, write_results  # noqa: E402
from tests.fakes.clip_model import write_bpe_files  # noqa: E402

IMAGE_BATCH = 32
#: Captions per forward pass: clip-text's default `encode_batch_size`.
TEXT_BATCH = 128
WORKERS = 2
MAX_TOKENS = 77
#: What the benchmark's BPE tokenizer learns its merges from: the corpus's caption words, and some
#: COCO-like sentences.
TOKENIZER_TEXTS = [
    "photo crop caption", "a photo of an astronaut", "a cat sitting on a table", "a cup of coffee on a saucer",
    "a dog runs on the grass", "two cats sleep on a red sofa", "a man rides a bike down the street",
    "a plate of food with broccoli", "a rocket on the launch pad", "stars and galaxies in the deep field",
]
IMAGE_METHODS = {"loop": "transformers loop (CLIPProcessor, PIL backend), batches of 32",
                 "dataloader": "transformers + DataLoader(num_workers=2), batches of 32",
                 "mmdata": "mmdata extract clip, defaults",
                 "mmdata_2": "mmdata extract clip, 2 decode workers",
                 "bare": "bare get_image_features on preprocessed batches of 32"}
TEXT_METHODS = {"loop": "transformers loop (tokenizer), batches of 128",
                "mmdata": "mmdata extract clip-text level=caption, defaults",
                "bare": "bare get_text_features on tokenized batches of 128"}


# --- the model -------------------------------------------------------------------------------------------------


def write_random_clip(seed: int = 0) -> Path:
    """A CLIP checkpoint of ViT-B/32's size with random weights, as `save_pretrained` writes one, with a
    CLIP-style BPE tokenizer (cached; written once)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    model_dir = DATA_DIR / f"clip-vit-b32-random-s{seed}"
    if (model_dir / ".complete").is_file():
        return model_dir
    shutil.rmtree(model_dir, ignore_errors=True)
    model_dir.mkdir(parents=True)
    write_bpe_files(model_dir, TOKENIZER_TEXTS, vocab_size=1000)
    tokenizer = CLIPTokenizer.from_pretrained(str(model_dir), model_max_length=MAX_TOKENS)
    tokenizer.save_pretrained(str(model_dir))
    # CLIPConfig's defaults are ViT-B/32's; the text tower's special tokens are this tokenizer's (the
    # pooled text output is taken at the end token).
    config = CLIPConfig(text_config={"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                                     "pad_token_id": tokenizer.pad_token_id})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        CLIPModel(config).eval().save_pretrained(str(model_dir))
    CLIPImageProcessor().save_pretrained(str(model_dir))
    (model_dir / ".complete").touch()
    return model_dir


@dataclass
class Reference:
    """transformers' own pieces, loaded once from the checkpoint directory."""

    model: Any
    processor: Any  # CLIPProcessor: CLIPImageProcessorPil + the checkpoint's tokenizer


def load_reference(model_dir: Path) -> Reference:
    import torch
    from transformers import AutoTokenizer, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    processor = CLIPProcessor(image_processor=CLIPImageProcessorPil.from_pretrained(str(model_dir)),
                              tokenizer=AutoTokenizer.from_pretrained(str(model_dir)))
    return Reference(model, processor)


def _unit_rows(output: Any) -> np.ndarray:
    """Projected embeddings (transformers 5: the output's `pooler_output`), L2-normalized, as NumPy."""
    import torch

    vectors = getattr(output, "pooler_output", output)
    return torch.nn.functional.normalize(vectors, dim=-1).numpy()


# --- the user's loop -------------------------------------------------------------------------------------------


def read_annotations(corpus: Path) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
    """The images (by id) and each image's captions in annotation order, as a user reads them."""
    annotations = json.loads((corpus / "annotations" / "captions_val2017.json").read_text())
    images = sorted(annotations["images"], key=lambda image: image["id"])
    captions: dict[int, list[str]] = {image["id"]: [] for image in images}
    for annotation in annotations["annotations"]:
        captions[annotation["image_id"]].append(annotation["caption"].strip())
    return images, captions


def loop_images(ref: Reference, corpus: Path) -> np.ndarray:
    import torch
    from PIL import Image

    images, _ = read_annotations(corpus)
    out = []
    for start in range(0, len(images), IMAGE_BATCH):
        batch = [Image.open(corpus / "val2017" / image["file_name"]).convert("RGB")
                 for image in images[start : start + IMAGE_BATCH]]
        pixels = ref.processor(images=batch, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            out.append(_unit_rows(ref.model.get_image_features(pixel_values=pixels)))
    return np.concatenate(out)


class ClipImages:
    """A map-style torch Dataset: each item opened and preprocessed where the DataLoader asks for it."""

    def __init__(self, corpus: Path, images: list[dict[str, Any]], image_processor: Any):
        self.paths = [corpus / "val2017" / image["file_name"] for image in images]
        self.image_processor = image_processor

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        from PIL import Image

        image = Image.open(self.paths[index]).convert("RGB")
        return self.image_processor(images=image, return_tensors="pt")["pixel_values"][0]


def dataloader_images(ref: Reference, corpus: Path) -> np.ndarray:
    import torch
    from torch.utils.data import DataLoader

    images, _ = read_annotations(corpus)
    loader = DataLoader(ClipImages(corpus, images, ref.processor.image_processor), batch_size=IMAGE_BATCH,
                        num_workers=WORKERS)
    out = []
    with torch.inference_mode():
        for pixels in loader:
            out.append(_unit_rows(ref.model.get_image_features(pixel_values=pixels)))
    return np.concatenate(out)


def loop_captions(ref: Reference, corpus: Path) -> np.ndarray:
    """Every caption's vector, image by image (by id), in annotation order."""
    import torch

    _, captions = read_annotations(corpus)
    texts = [caption for image_captions in captions.values() for caption in image_captions]
    out = []
    for start in range(0, len(texts), TEXT_BATCH):
        inputs = ref.processor(text=texts[start : start + TEXT_BATCH], padding=True, truncation=True,
                               max_length=MAX_TOKENS, return_tensors="pt")
        with torch.inference_mode():
            out.append(_unit_rows(ref.model.get_text_features(input_ids=inputs["input_ids"],
                                                              attention_mask=inputs["attention_mask"])))
    return np.concatenate(out)


# --- the bound: the model alone --------------------------------------------------------------------------------


def preprocessed_images(ref: Reference, corpus: Path) -> list[Any]:
    from PIL import Image

    images, _ = read_annotations(corpus)
    batches = []
    for start in range(0, len(images), IMAGE_BATCH):
        batch = [Image.open(corpus / "val2017" / image["file_name"]).convert("RGB")
                 for image in images[start : start + IMAGE_BATCH]]
        batches.append(ref.processor(images=batch, return_tensors="pt")["pixel_values"])
    return batches


def tokenized_captions(ref: Reference, corpus: Path) -> list[Any]:
    _, captions = read_annotations(corpus)
    texts = [caption for image_captions in captions.values() for caption in image_captions]
    return [ref.processor(text=texts[start : start + TEXT_BATCH], padding=True, truncation=True,
                          max_length=MAX_TOKENS, return_tensors="pt")
            for start in range(0, len(texts), TEXT_BATCH)]


def bare_image_forward(ref: Reference, batches: list[Any]) -> None:
    import torch

    with torch.inference_mode():
        for pixels in batches:
            ref.model.get_image_features(pixel_values=pixels)


def bare_text_forward(ref: Reference, batches: list[Any]) -> None:
    import torch

    with torch.inference_mode():
        for inputs in batches:
            ref.model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])


# --- mmdata ----------------------------------------------------------------------------------------------------


def run_mmdata(corpus: Path, output: Path, spec: str, num_workers: int | None) -> str | None:
    """One extraction into a fresh dataset directory; returns where it decoded (the executor's decision)."""
    from mmdata.pipeline import extract

    shutil.rmtree(output, ignore_errors=True)
    report = extract("coco", corpus, output, extractors=[spec], batch_size=IMAGE_BATCH, num_workers=num_workers,
                     progress=False)
    assert report.ok and report.tables[0].errors == 0, report
    return report.tables[0].decoded_in


def read_table_vectors(output: Path, table: str) -> np.ndarray:
    """A table's vectors, sample by sample (sorted ids); at caption level, each sample's captions in order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from mmdata.store import open_dataset

    rows = open_dataset(output).table(table).to_table()
    values = rows.take(pc.sort_indices(rows, sort_keys=[("sample_id", "ascending")])).column("feature").combine_chunks()
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):  # a sequence: one vector per caption
        values = values.flatten()
    return values.flatten().to_numpy(zero_copy_only=False).reshape(-1, values.type.list_size)


# --- measuring -------------------------------------------------------------------------------------------------


Timings = tuple[dict[str, Any], dict[str, float], dict[str, list[float]]]


def interleaved(calls: dict[str, Callable[[], Any]], repeats: int, seed: int = 0) -> Timings:
    """Each call once untimed-for-the-median (its output and first-run seconds kept), then `repeats`
    rounds, each running every call once in a shuffled order after a pause: (outputs, first-run
    seconds, wall seconds of each round)."""
    outputs, first = {}, {}
    for key, call in calls.items():
        start = time.perf_counter()
        outputs[key] = call()
        first[key] = time.perf_counter() - start
    return outputs, first, shuffled_rounds(calls, repeats, seed)


def max_abs_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    return float(np.abs(ours - theirs).max())


def measure(corpus: Path, model_dir: Path, repeats: int, work: Path) -> dict[str, Any]:
    import torch

    start = time.perf_counter()
    ref = load_reference(model_dir)
    load_s = time.perf_counter() - start
    images, captions = read_annotations(corpus)
    n_images, n_captions = len(images), sum(len(c) for c in captions.values())
    pixel_batches, token_batches = preprocessed_images(ref, corpus), tokenized_captions(ref, corpus)
    image_spec, text_spec = f"clip:model={model_dir}", f"clip-text:model={model_dir},level=caption"
    decided: list[str | None] = []
    calls: dict[str, Callable[[], Any]] = {
        "image/loop": lambda: loop_images(ref, corpus),
        "image/dataloader": lambda: dataloader_images(ref, corpus),
        "image/mmdata": lambda: decided.append(run_mmdata(corpus, work / "mmdata", image_spec, None)),
        "image/mmdata_2": lambda: run_mmdata(corpus, work / "mmdata_2", image_spec, WORKERS),
        "image/bare": lambda: bare_image_forward(ref, pixel_batches),
        "text/loop": lambda: loop_captions(ref, corpus),
        "text/mmdata": lambda: run_mmdata(corpus, work / "mmdata_text", text_spec, None),
        "text/bare": lambda: bare_text_forward(ref, token_batches),
    }
    load_before = os.getloadavg()[0]
    outputs, first, runs = interleaved(calls, repeats)
    load_after = os.getloadavg()[0]

    # The warm-up runs' outputs (every later run writes the same tables into the same directories).
    loop_image_vectors, loop_caption_vectors = outputs["image/loop"], outputs["text/loop"]
    differences = {
        "image_mmdata_vs_loop": max_abs_difference(read_table_vectors(work / "mmdata", "image.clip"),
                                                   loop_image_vectors),
        "image_mmdata_2_vs_loop": max_abs_difference(read_table_vectors(work / "mmdata_2", "image.clip"),
                                                     loop_image_vectors),
        "image_dataloader_vs_loop": max_abs_difference(outputs["image/dataloader"], loop_image_vectors),
        "caption_mmdata_vs_loop": max_abs_difference(read_table_vectors(work / "mmdata_text", "text.clip-text.caption"),
                                                     loop_caption_vectors),
    }
    seconds = {key: statistics.median(times) for key, times in runs.items()}
    tokens = [int(mask.sum()) for batch in token_batches for mask in batch["attention_mask"]]
    return {
        "images": n_images, "captions": n_captions, "repeats": repeats,
        "image_batch": IMAGE_BATCH, "text_batch": TEXT_BATCH, "workers": WORKERS,
        "torch_threads": torch.get_num_threads(),
        "model": {"parameters": sum(p.numel() for p in ref.model.parameters()),
                  "vision": _tower(ref.model.config.vision_config), "text": _tower(ref.model.config.text_config),
                  "projection_dim": ref.model.config.projection_dim,
                  "tokens_per_caption_mean": float(np.mean(tokens))},
        "methods": {**{f"image/{k}": v for k, v in IMAGE_METHODS.items()},
                    **{f"text/{k}": v for k, v in TEXT_METHODS.items()}},
        "seconds": seconds, "runs_s": runs, "first_run_s": first, "transformers_model_load_s": load_s,
        "images_per_s": {key: n_images / s for key, s in seconds.items() if key.startswith("image/")},
        "captions_per_s": {key: n_captions / s for key, s in seconds.items() if key.startswith("text/")},
        # Throughput of mmdata over another method's (> 1: mmdata is faster).
        "ratios": {
            "image_mmdata_vs_loop": seconds["image/loop"] / seconds["image/mmdata"],
            "image_mmdata_vs_dataloader": seconds["image/dataloader"] / seconds["image/mmdata"],
            "image_mmdata_2_vs_loop": seconds["image/loop"] / seconds["image/mmdata_2"],
            "image_mmdata_2_vs_dataloader": seconds["image/dataloader"] / seconds["image/mmdata_2"],
            "image_mmdata_vs_bare_forward": seconds["image/bare"] / seconds["image/mmdata"],
            "image_mmdata_2_vs_bare_forward": seconds["image/bare"] / seconds["image/mmdata_2"],
            "caption_mmdata_vs_loop": seconds["text/loop"] / seconds["text/mmdata"],
            "caption_mmdata_vs_bare_forward": seconds["text/bare"] / seconds["text/mmdata"],
        },
        "feature_max_abs_diff": differences,
        "mmdata_decoded_in": sorted({str(d).split(" (")[0] for d in decided}), "mmdata_decision_example": decided[-1],
        "load_average_1min": [load_before, load_after],
    }


def _tower(config: Any) -> dict[str, int]:
    return {"layers": config.num_hidden_layers, "width": config.hidden_size, "heads": config.num_attention_heads,
            "mlp": config.intermediate_size}


def print_summary(results: dict[str, Any]) -> None:
    seconds, ratios = results["seconds"], results["ratios"]
    rows = [("method", "seconds (median)", "per second", "mmdata's throughput over it")]
    for key, label in IMAGE_METHODS.items():
        seconds_of = seconds[f"image/{key}"]
        versus = {"loop": ratios["image_mmdata_vs_loop"], "dataloader": ratios["image_mmdata_vs_dataloader"],
                  "bare": ratios["image_mmdata_vs_bare_forward"]}.get(key)
        rows.append((label, f"{seconds_of:.2f}", f"{results['images'] / seconds_of:.1f} img/s",
                     f"{versus:.2f}x" if versus is not None else ""))
    for key, label in TEXT_METHODS.items():
        seconds_of = seconds[f"text/{key}"]
        versus = {"loop": ratios["caption_mmdata_vs_loop"], "bare": ratios["caption_mmdata_vs_bare_forward"]}.get(key)
        rows.append((label, f"{seconds_of:.2f}", f"{results['captions'] / seconds_of:.0f} captions/s",
                     f"{versus:.2f}x" if versus is not None else ""))
    print_table(rows)
    print(f"mmdata with 2 decode workers: {ratios['image_mmdata_2_vs_loop']:.2f}x the loop, "
          f"{ratios['image_mmdata_2_vs_bare_forward']:.2f}x the bare forward; defaults decoded in "
          f"{', '.join(results['mmdata_decoded_in'])}")
    print("feature max |difference| vs the loop: " + ", ".join(
        f"{key} {value:.2e}" for key, value in results["feature_max_abs_diff"].items()))
    print("first runs (s): " + ", ".join(f"{k} {v:.2f}" for k, v in results["first_run_s"].items())
          + f"; transformers model load {results['transformers_model_load_s']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None,
                        help=f"where the JSON goes (default {RESULTS_DIR / 'clip.json'}; "
                             "with --quick, a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="16 images, 1 repeat (a smoke test, not a figure)")
    args = parser.parse_args()
    if args.quick:
        args.images, args.repeats = 16, 1
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # loading and saving the checkpoint would draw bars

    corpus = make_coco_like_corpus(args.images)
    model_dir = write_random_clip()
    work = Path(tempfile.mkdtemp(prefix="mmdata-clip-bench-"))
    try:
        results = measure(corpus, model_dir, args.repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_summary(results)
    out = args.out or (Path(tempfile.mkdtemp(prefix="mmdata-clip-quick-")) / "clip_quick.json" if args.quick
                       else RESULTS_DIR / "clip.json")
    print(f"results: {write_results('clip_quick' if args.quick else 'clip', results, path=out)}")


if __name__ == "__main__":
    main()
