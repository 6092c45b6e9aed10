"""COCO captions 2014/2017.

annotations/captions_val2017.json looks like:
    {"images": [{"id": 397133, "file_name": "000000397133.jpg", "width": 640, "height": 427, ...}],
     "annotations": [{"id": 370, "image_id": 397133, "caption": "A man is in a kitchen ..."}]}
Images live in `<split>/` (or `images/<split>/`) beside `annotations/`. One sample per image with
all its captions in annotation order; sample_id = the image id zero-padded to 12 digits.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    expect,
    read_json,
    register_corpus,
    safe_relative_path,
)
from mmdata.errors import CorpusNotFoundError
from mmdata.records import Sample

ANNOTATION_DIRS = ("annotations", "")
IMAGE_DIR_CANDIDATES = ("{split}", "images/{split}", "images", "")


@dataclass(frozen=True)
class CocoOptions:
    #: Keep images that have no caption (with an empty caption list) instead of dropping them.
    keep_images_without_captions: bool = False
    #: Image folder relative to the corpus root (default: `<split>/`, then `images/<split>/`, `images/`).
    image_dir: str | None = None
    allow_outside_root: bool = False


@register_corpus("coco", CocoOptions)
def load_coco(corpus_dir: Path, options: CocoOptions, split: str | None) -> LoadResult:
    """COCO captions 2014/2017 (`annotations/captions_<split>.json`), one sample per image."""
    files = _annotation_files(corpus_dir, split)
    result = LoadResult(samples=[])
    for split_name, path in files:
        _load_split(corpus_dir, path, split_name, options, result)
    return result


def _annotation_files(corpus_dir: Path, split: str | None) -> list[tuple[str, Path]]:
    if split is not None:
        for folder in ANNOTATION_DIRS:
            path = corpus_dir / folder / f"captions_{split}.json"
            if path.is_file():
                return [(split, path)]
        raise CorpusNotFoundError(
            f"COCO annotation file captions_{split}.json not found in {corpus_dir}/annotations or {corpus_dir}"
        )
    found = sorted({p for folder in ANNOTATION_DIRS for p in (corpus_dir / folder).glob("captions_*.json")})
    if not found:
        raise CorpusNotFoundError(
            f"no COCO caption files (annotations/captions_<split>.json) found in {corpus_dir}"
        )
    return [(p.stem.removeprefix("captions_"), p) for p in found]


def _load_split(corpus_dir: Path, path: Path, split: str, options: CocoOptions, result: LoadResult) -> None:
    data = read_json(path)
    expect(isinstance(data, dict), path, f"expected a JSON object with 'images' and 'annotations', got {type(data).__name__}")
    images = data.get("images")
    annotations = data.get("annotations", [])
    expect(isinstance(images, list), path, "expected key 'images' holding a list")
    expect(isinstance(annotations, list), path, "expected key 'annotations' holding a list")
    image_dir = _image_dir(corpus_dir, split, options)
    by_id: dict[int, dict[str, Any]] = {}
    for index, image in enumerate(images):
        where = f"{path}: images[{index}]"
        expect(isinstance(image, dict), where, f"expected an object, got {image!r:.80}")
        image_id, file_name = image.get("id"), image.get("file_name")
        expect(isinstance(image_id, int) and not isinstance(image_id, bool), where, f"expected integer 'id', got {image_id!r:.80}")
        expect(isinstance(file_name, str) and file_name != "", where, f"expected string 'file_name', got {file_name!r:.80}")
        if image_id in by_id:
            result.problems.append(LoadProblem(_sample_id(image_id), where, f"duplicate image id {image_id}; the later entry is ignored"))
            continue
        by_id[image_id] = image
    captions: dict[int, list[str]] = {i: [] for i in by_id}
    caption_ids: dict[int, list[int]] = {i: [] for i in by_id}
    for index, ann in enumerate(annotations):
        where = f"{path}: annotations[{index}]"
        expect(isinstance(ann, dict), where, f"expected an object, got {ann!r:.80}")
        image_id, caption = ann.get("image_id"), ann.get("caption")
        expect(isinstance(image_id, int) and not isinstance(image_id, bool), where, f"expected integer 'image_id', got {image_id!r:.80}")
        expect(isinstance(caption, str), where, f"expected string 'caption', got {caption!r:.80}")
        if image_id not in by_id:
            result.problems.append(LoadProblem(None, where, f"caption refers to unknown image id {image_id}"))
            continue
        captions[image_id].append(caption)
        caption_ids[image_id].append(ann.get("id"))
    for image_id, image in by_id.items():
        if not captions[image_id] and not options.keep_images_without_captions:
            result.problems.append(LoadProblem(
                _sample_id(image_id), f"{path}", "image has no captions; dropped (keep_images_without_captions=true keeps it)"
            ))
            continue
        rel = safe_relative_path(
            corpus_dir, f"{image_dir}/{image['file_name']}" if image_dir else image["file_name"],
            where=f"{path}: image {image_id}", allow_outside=options.allow_outside_root,
        )
        result.samples.append(Sample(
            sample_id=_sample_id(image_id),
            corpus="coco",
            split=split,
            group_id=str(image_id),
            image=rel,
            captions=tuple(captions[image_id]),
            extra={"image_id": image_id, "width": image.get("width"), "height": image.get("height"),
                   "caption_ids": caption_ids[image_id]},
        ))


def _sample_id(image_id: int) -> str:
    return f"{image_id:012d}"


def _image_dir(corpus_dir: Path, split: str, options: CocoOptions) -> str:
    if options.image_dir is not None:
        return options.image_dir.strip("/")
    for pattern in IMAGE_DIR_CANDIDATES:
        candidate = pattern.format(split=split)
        if candidate and (corpus_dir / candidate).is_dir():
            return candidate
    return ""

