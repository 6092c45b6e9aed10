"""Fake image-text corpora in their native formats: COCO captions JSON, Karpathy split JSON,
Flickr30K `results_20130124.token` / Kaggle `results.csv`, and generic JSONL/CSV manifests.

Like torchvision's test fakes: a few 10x10 real JPEGs plus the annotation file, returning the
(image, captions) pairs a loader must yield. JSON is written indented so that line numbers mean something.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Literal

import numpy as np

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line, write_jpeg

KarpathyDataset = Literal["coco", "flickr30k", "flickr8k"]
KARPATHY_IMAGE_DIRS = {"coco": "", "flickr30k": "flickr30k-images", "flickr8k": "Flicker8k_Dataset"}


def caption_text(image: int | str, k: int) -> str:
    """A caption with punctuation, quotes and non-ASCII text, distinct per image and index."""
    return f"Image {image}, caption {k}: a \"café\" scene — {'with a dog' if k % 2 else 'in the rain'}."


def write_fake_coco(
    root: Path,
    *,
    split: str = "val2017",
    captions_per_image: tuple[int, ...] = (5, 6, 7),
    uncaptioned: int = 0,
    image_dir: str | None = None,
    first_id: int = 100,
) -> FakeCorpus:
    """`annotations/captions_<split>.json` + one JPEG per image in `<split>/` (or `image_dir`).

    Annotations are interleaved across images (as in real COCO) so grouping must keep file order.
    `uncaptioned` extra images have no caption; they are not in `expected` (dropped by default).
    """
    folder = split if image_dir is None else image_dir
    image_ids = [first_id + 7 * i for i in range(len(captions_per_image) + uncaptioned)]
    images = [{"id": i, "file_name": f"{i:012d}.jpg", "width": 10, "height": 10} for i in image_ids]
    for n, image in enumerate(images):
        write_jpeg(root / folder / image["file_name"], seed=n)
    annotations, expected_captions = [], {i: [] for i in image_ids}
    for k in range(max(captions_per_image, default=0)):
        for image_id, count in zip(image_ids, captions_per_image):
            if k < count:
                text = caption_text(image_id, k)
                annotations.append({"image_id": image_id, "id": 1000 + len(annotations), "caption": text})
                expected_captions[image_id].append(text)
    path = root / "annotations" / f"captions_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"info": {"description": "fake COCO"}, "licenses": [], "images": images, "annotations": annotations}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    expected = {
        f"{i:012d}": ExpectedSample(image=f"{folder}/{i:012d}.jpg", captions=tuple(expected_captions[i]), split=split)
        for i in image_ids[: len(captions_per_image)]
    }
    return FakeCorpus("coco", root, path, expected, split=split,
                      corrupt=lambda: replace_line(path, 4, '  "images": [}'))


def write_fake_karpathy(
    root: Path,
    dataset: KarpathyDataset = "coco",
    *,
    splits: tuple[str, ...] = ("train", "val", "test", "restval", "train"),
    captions_per_image: int = 5,
) -> FakeCorpus:
    """`dataset_<dataset>.json` + JPEGs where the dataset keeps them (COCO: `train2014/`, `val2014/`;
    Flickr30K: `flickr30k-images/`; Flickr8K: `Flicker8k_Dataset/`)."""
    images, expected, sentid = [], {}, 0
    for imgid, split in enumerate(splits):
        if dataset == "coco":
            cocoid = 391895 + 13 * imgid
            filepath = "train2014" if split == "train" else "val2014"
            filename = f"COCO_{filepath}_{cocoid:012d}.jpg"
            image_path, sample_id = f"{filepath}/{filename}", f"{cocoid:012d}"
            entry = {"filepath": filepath, "filename": filename, "cocoid": cocoid}
        else:
            filename = f"{1000092795 + 1013 * imgid}.jpg"
            image_path = f"{KARPATHY_IMAGE_DIRS[dataset]}/{filename}"
            sample_id = filename.removesuffix(".jpg")
            entry = {"filename": filename}
        captions = tuple(caption_text(sample_id, k) for k in range(captions_per_image))
        sentences = [{"tokens": c.lower().split(), "raw": c, "imgid": imgid, "sentid": sentid + k}
                     for k, c in enumerate(captions)]
        entry.update({"imgid": imgid, "split": split, "sentids": [s["sentid"] for s in sentences],
                      "sentences": sentences})
        sentid += captions_per_image
        images.append(entry)
        write_jpeg(root / image_path, seed=imgid)
        expected[sample_id] = ExpectedSample(image=image_path, captions=captions, split=split)
    path = root / f"dataset_{dataset}.json"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "dataset": dataset}, indent=2, ensure_ascii=False), encoding="utf-8")
    return FakeCorpus("karpathy", root, path, expected, corrupt=lambda: replace_line(path, 3, '    "filepath": ]'))


def write_fake_flickr30k(
    root: Path,
    file_format: Literal["token", "csv"] = "token",
    *,
    num_images: int = 3,
    captions_per_image: int = 5,
    image_dir: str = "flickr30k-images",
) -> FakeCorpus:
    """`results_20130124.token` (`<name>#<n>\\t<caption>`) or Kaggle `results.csv` + JPEGs in `image_dir`."""
    names = [f"{1000092795 + 1013 * i}.jpg" for i in range(num_images)]
    expected, lines = {}, []
    for n, name in enumerate(names):
        write_jpeg(root / image_dir / name, seed=n)
        stem = name.removesuffix(".jpg")
        captions = tuple(caption_text(stem, k) for k in range(captions_per_image))
        expected[stem] = ExpectedSample(image=f"{image_dir}/{name}" if image_dir else name, captions=captions)
        if file_format == "token":
            lines += [f"{name}#{k}\t{c}" for k, c in enumerate(captions)]
        else:
            lines += [f"{name}| {k}| {c}" for k, c in enumerate(captions)]
    if file_format == "token":
        path, bad_line = root / "results_20130124.token", 2
    else:
        path, bad_line = root / "results.csv", 3
        lines.insert(0, "image_name| comment_number| comment")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return FakeCorpus("flickr30k", root, path, expected,
                      corrupt=lambda: replace_line(path, bad_line, "a line with no separator at all"))


MANIFEST_COLUMNS = ("id", "image", "audio", "video", "start", "end", "captions", "caption", "text", "split",
                    "label", "group_id", "license")


def write_fake_manifest(
    root: Path, file_format: Literal["jsonl", "csv"] = "jsonl", *, with_video: bool = True
) -> FakeCorpus:
    """`manifest.jsonl` or `manifest.csv` naming two JPEGs, segments of a WAV and (optionally) an MP4.

    Rows cover explicit and derived ids, captions lists, one caption, text as transcript, segments,
    labels, group ids and an extra column.
    """
    import soundfile as sf

    write_jpeg(root / "images" / "cat.jpg", seed=1)
    write_jpeg(root / "images" / "dog.jpg", seed=2)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    t = np.arange(16000) / 16000
    sf.write(str(root / "audio" / "a.wav"), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    rows: list[dict] = [
        {"id": "cat-1", "image": "images/cat.jpg", "captions": ["a cat", "a cat on a mat"], "split": "train",
         "license": "cc-by"},
        {"image": "images/dog.jpg", "caption": "a dog, running", "split": "val"},
        {"id": "clip-1", "audio": "audio/a.wav", "start": 0.25, "end": 0.75, "text": "hello there",
         "label": 1.5, "split": "train"},
        {"audio": "audio/a.wav", "start": 0.75, "end": 1.0, "text": "general kenobi", "split": "test"},
    ]
    expected = {
        "cat-1": ExpectedSample(image="images/cat.jpg", captions=("a cat", "a cat on a mat"), split="train"),
        "images/dog": ExpectedSample(image="images/dog.jpg", captions=("a dog, running",), split="val"),
        "clip-1": ExpectedSample(audio="audio/a.wav", transcript="hello there", split="train"),
        "audio/a@0.750-1.000": ExpectedSample(audio="audio/a.wav", transcript="general kenobi", split="test"),
    }
    if with_video:
        from tests.fakes.av import write_mp4

        write_mp4(root / "video" / "v.mp4", [(255, 0, 0), (0, 0, 255)], fps=4, frames_per_color=2, size=(16, 16))
        rows.append({"id": 7, "video": "video/v.mp4", "text": "a red square", "group_id": "v"})
        expected["7"] = ExpectedSample(video="video/v.mp4", transcript="a red square")
    if file_format == "jsonl":
        path, bad_line = root / "manifest.jsonl", 2
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path, bad_line = root / "manifest.csv", 3
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(MANIFEST_COLUMNS)
            for r in rows:
                cells = {k: "|".join(v) if isinstance(v, list) else v for k, v in r.items()}
                writer.writerow(["" if cells.get(c) is None else cells[c] for c in MANIFEST_COLUMNS])
    return FakeCorpus("manifest", root, path, expected,
                      corrupt=lambda: replace_line(path, bad_line, '{"broken": ' if file_format == "jsonl" else "x,y"))


register_fake("coco")(write_fake_coco)
for _dataset in ("coco", "flickr30k", "flickr8k"):
    register_fake("karpathy", _dataset)(lambda root, d=_dataset: write_fake_karpathy(root, d))
for _format in ("token", "csv"):
    register_fake("flickr30k", _format)(lambda root, f=_format: write_fake_flickr30k(root, f))
for _format in ("jsonl", "csv"):
    register_fake("manifest", _format)(lambda root, f=_format: write_fake_manifest(root, f))
