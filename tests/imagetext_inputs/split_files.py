"""Tiny image-text corpora for these tests: a Karpathy split file listing images (some twice) and a
Flickr30K token file, with real 10x10 JPEGs where the loaders look for them."""
from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import write_jpeg


def flickr_entry(name: str, split: str, *sentences: str) -> dict:
    """One `images[]` entry of a Flickr Karpathy file."""
    return {"filename": name, "split": split, "sentences": [{"raw": s, "tokens": s.split()} for s in sentences]}


def coco_entry(cocoid: int, split: str, *sentences: str, folder: str = "val2014") -> dict:
    """One `images[]` entry of `dataset_coco.json`, its image in the 2014 layout."""
    return {"filepath": folder, "filename": f"COCO_{folder}_{cocoid:012d}.jpg", "cocoid": cocoid, "split": split,
            "sentences": [{"raw": s, "tokens": s.split()} for s in sentences]}


def write_karpathy(root: Path, dataset: str, entries: list[dict]) -> Path:
    """`dataset_<dataset>.json` with `entries` (imgid numbered in order) and a JPEG per image."""
    root.mkdir(parents=True, exist_ok=True)
    for imgid, entry in enumerate(entries):
        entry["imgid"] = imgid
        image = (root / entry["filepath"] / entry["filename"] if dataset == "coco"
                 else root / "flickr30k-images" / entry["filename"])
        write_jpeg(image, seed=imgid)
    path = root / f"dataset_{dataset}.json"
    path.write_text(json.dumps({"dataset": dataset, "images": entries}, indent=1), encoding="utf-8")
    return path


def write_flickr_token(root: Path, names: list[str]) -> Path:
    """`results_20130124.token` with two captions per image, and the images in `flickr30k-images/`."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}#{k}\tcaption {k} of {name}" for name in names for k in range(2)]
    for n, name in enumerate(names):
        write_jpeg(root / "flickr30k-images" / name, seed=n)
    path = root / "results_20130124.token"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
