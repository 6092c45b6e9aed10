"""COCO captions 2014/2017.

annotations/captions_val2017.json looks like:
    {"images": [{"id": 397133, "file_name": "000000397133.jpg", "width": 640, "height": 427, ...}],
     "annotations": [{"id": 370, "image_id": 397133, "caption": "A man is in a kitchen ..."}]}
Images live in `<split>/` (or `images/<split>/`, `images/`) beside `annotations/`; 2014 file names
are `COCO_val2014_000000391895.jpg`, 2017 ones `000000391895.jpg`, as each file's `file_name` says.
One sample per image with all its captions in annotation order (5 to 7 in real COCO), each stripped
of surrounding whitespace (real captions carry leading spaces and trailing newlines); sample_id = the
image id zero-padded to 12 digits, the same in both releases (the `karpathy` loader uses the same
ids for COCO images), and group_id = the image id.
Ids written as strings of digits (`"id": "397133"`, as some re-exports of these files have them)
are read as the integers they spell, so such a file gives the same samples as the release. A
`file_name` that carries its folder (`val2014/COCO_val2014_000000391895.jpg`) is not put under that
folder a second time.
Test images come without captions in `image_info_<split>.json` (test2014, test2015, test2017,
test-dev2017 with its images in `test2017/`): asking for such a split loads them, captionless.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    UNCAPTIONED_SPLITS_KEY,
    JsonLocator,
    LoadProblem,
    LoadResult,
    expect_text,
    given_image_dir,
    read_json,
    register_corpus,
    safe_relative_path,
    short_repr,
)
from mmdata.corpora.karpathy import LAYOUT_PROBES, is_file_quietly
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

ANNOTATION_DIRS = ("annotations", "")
IMAGE_DIR_CANDIDATES = ("{folder}", "images/{folder}", "images", "")
_RELEASE = re.compile(r"(\d{4})$")  # captions_train2014 -> 2014
# Annotation files of the same zips that hold no captions: named in errors when captions are missing.
OTHER_ANNOTATION_FILES = {
    "instances": "object detection boxes and masks", "person_keypoints": "person keypoints",
    "stuff": "stuff segmentation", "panoptic": "panoptic segmentation",
}


@dataclass(frozen=True)
class CocoOptions:
    #: Keep images that have no caption (with an empty caption list) instead of dropping them.
    keep_images_without_captions: bool = False
    #: Image folder relative to the corpus root (default: `<split>/`, then `images/<split>/`, `images/`).
    image_dir: str | None = None
    #: Accept image paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@register_corpus("coco", CocoOptions)
def load_coco(corpus_dir: Path, options: CocoOptions, split: str | None) -> LoadResult:
    """COCO captions 2014/2017 (`annotations/captions_<split>.json`), one sample per image.

    `split` names the file (`val2017`, `train2014`); None loads every caption file of one release.
    A test split (`test2014`, `test2017`, `test-dev2017`) has no captions file: its
    `image_info_<split>.json` gives the images, each loaded with no captions.

    Example:
        >>> result = load_coco(Path("/data/coco"), CocoOptions(), "val2017")
        >>> result.samples[0].captions[:1]
        ('A man is in a kitchen making pizzas.',)

    Raises:
        CorpusNotFoundError: no `captions_<split>.json` (nor `image_info_<split>.json`); the message
            lists the splits found and names an instances file that is there instead.
        CorpusFormatError: the JSON or one of its entries is malformed (`file:line:column: images[i]`),
            or it is not a captions file (an instances file renamed, say).
        ConfigError: split=None while caption files of several releases (2014 and 2017) are present.
    """
    result = LoadResult(samples=[])
    seen: dict[str, tuple[str, str]] = {}  # sample id -> (file, split) it was loaded from
    for split_name, path in _annotation_files(corpus_dir, split):
        _load_split(corpus_dir, path, split_name, options, result, seen)
    return result


def _annotation_files(corpus_dir: Path, split: str | None) -> list[tuple[str, Path]]:
    if split is not None:
        for name in (f"captions_{split}.json", f"image_info_{split}.json"):
            for folder in ANNOTATION_DIRS:
                path = corpus_dir / folder / name
                if path.is_file():
                    return [(split, path)]
        raise CorpusNotFoundError(
            f"COCO annotation file captions_{split}.json not found in {corpus_dir}/annotations or {corpus_dir}"
            + _found_instead(corpus_dir, split)
        )
    found = sorted({p for folder in ANNOTATION_DIRS for p in (corpus_dir / folder).glob("captions_*.json")})
    if not found:
        raise CorpusNotFoundError(
            f"no COCO caption files (annotations/captions_<split>.json) found in {corpus_dir}"
            + _found_instead(corpus_dir, None)
        )
    splits = [(p.stem.removeprefix("captions_"), p) for p in found]
    releases = sorted({m.group(1) for name, _ in splits if (m := _RELEASE.search(name))})
    if len(releases) > 1:
        # train2017 re-packs the 2014 images under the same ids: loading both would duplicate samples.
        raise ConfigError(
            f"{corpus_dir} holds caption files of several COCO releases ({', '.join(releases)}): "
            f"{[name for name, _ in splits]}; pass a split (e.g. --split val{releases[-1]}, or split='val{releases[-1]}')"
        )
    return splits


def _load_split(
    corpus_dir: Path, path: Path, split: str, options: CocoOptions, result: LoadResult, seen: dict[str, tuple[str, str]]
) -> None:
    data = read_json(path)
    locate = JsonLocator(path)
    if not isinstance(data, dict):
        raise CorpusFormatError(
            f"{locate.where()}: expected a JSON object with 'images' and 'annotations', got {type(data).__name__}"
        )
    images = _expect_list(data, "images", locate, "image objects (id, file_name)")
    # image_info_<split>.json lists test images only: no captions are published for them.
    images_only = path.name.startswith("image_info_")
    if images_only:  # recorded in the manifest: `check` expects no captions from these images
        result.metadata.setdefault(UNCAPTIONED_SPLITS_KEY, []).append(split)
    annotations = [] if images_only else _expect_list(data, "annotations", locate,
                                                      "caption objects (id, image_id, caption)")
    by_id = _index_images(images, locate, result)
    captions: dict[int, list[str]] = {i: [] for i in by_id}
    caption_ids: dict[int, list[int | None]] = {i: [] for i in by_id}
    seen_caption_ids: set[int] = set()
    for index, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            raise CorpusFormatError(f"{locate.where('annotations', index)}: expected an object, got {short_repr(ann)}")
        image_id = _as_int(ann.get("image_id"), "image_id", lambda: locate.where("annotations", index))
        caption, ann_id = ann.get("caption"), ann.get("id")
        if ann_id is not None:
            ann_id = _as_int(ann_id, "id", lambda: locate.where("annotations", index))
        if caption is None and not {"bbox", "segmentation", "keypoints"}.isdisjoint(ann):
            raise CorpusFormatError(
                f"{locate.where('annotations', index)}: expected a caption (id, image_id, caption), got an object "
                f"annotation with keys {sorted(ann)[:8]}; {path.name} looks like an instances or keypoints file: "
                "captions are in captions_<split>.json (annotations_trainval<year>.zip)"
            )
        caption = expect_text(caption, lambda: locate.where("annotations", index), "'caption'",
                              allow_empty=True).strip()
        if image_id not in by_id:
            result.problems.append(LoadProblem(
                None, locate.where("annotations", index), f"caption refers to unknown image id {image_id}; caption ignored"
            ))
            continue
        if ann_id is not None:
            if ann_id in seen_caption_ids:
                result.problems.append(LoadProblem(
                    _sample_id(image_id), locate.where("annotations", index),
                    f"duplicate caption id {ann_id}; the later caption is ignored",
                ))
                continue
            seen_caption_ids.add(ann_id)
        if not caption:
            result.problems.append(LoadProblem(
                _sample_id(image_id), locate.where("annotations", index),
                f"blank caption{'' if ann_id is None else f' (id {ann_id})'}; ignored",
            ))
            continue
        captions[image_id].append(caption)
        caption_ids[image_id].append(ann_id)
    image_dir = _image_dir(corpus_dir, split, options)
    join = _path_joiner(corpus_dir, image_dir, [image["file_name"] for _, image in by_id.values()])
    for image_id, (index, image) in by_id.items():
        sample_id = _sample_id(image_id)
        if not captions[image_id] and not options.keep_images_without_captions and not images_only:
            result.problems.append(LoadProblem(
                sample_id, locate.where("images", index),
                "image has no captions; dropped (keep_images_without_captions=true keeps it)",
            ))
            continue
        if sample_id in seen:
            first_file, first_split = seen[sample_id]
            captioned = f" and its {len(captions[image_id])} captions" if captions[image_id] else ""
            result.problems.append(LoadProblem(
                sample_id, locate.where("images", index),
                f"image id {image_id} is in {first_file} (split {first_split}) and in {path.name} (split {split}): "
                f"an image in two splits leaks between them; kept in {first_split}, this entry{captioned} left out "
                f"(remove it from one of the files, or extract one split with --split)",
                REPEATED_ENTRY,
            ))
            continue
        seen[sample_id] = (path.name, split)
        file_name = image["file_name"]
        rel = safe_relative_path(
            corpus_dir, join(file_name),
            where=lambda: locate.where("images", index), allow_outside=options.allow_outside_root,
        )
        result.samples.append(Sample(
            sample_id=sample_id,
            corpus="coco",
            split=split,
            group_id=str(image_id),
            image=rel,
            captions=tuple(captions[image_id]),
            extra={"image_id": image_id, "width": image.get("width"), "height": image.get("height"),
                   "caption_ids": caption_ids[image_id]},
        ))


def _expect_list(data: dict[str, Any], key: str, locate: JsonLocator, items: str) -> list[Any]:
    """`data[key]`, a list; a missing key is an error too (no captions would silently mean no samples)."""
    value = data.get(key)
    if not isinstance(value, list):
        got = type(value).__name__ if key in data else "no such key"
        raise CorpusFormatError(
            f"{locate.where()}: expected key {key!r} holding a list of {items}, got {got}; "
            "is this a COCO captions file (captions_<split>.json)?"
        )
    return value


def _index_images(images: list[Any], locate: JsonLocator, result: LoadResult) -> dict[int, tuple[int, dict[str, Any]]]:
    """image id -> (index in `images`, entry); a repeated id is a problem and its later entry is ignored."""
    by_id: dict[int, tuple[int, dict[str, Any]]] = {}
    for index, image in enumerate(images):
        if not isinstance(image, dict):
            raise CorpusFormatError(f"{locate.where('images', index)}: expected an object, got {short_repr(image)}")
        image_id = _as_int(image.get("id"), "id", lambda: locate.where("images", index))
        expect_text(image.get("file_name"), lambda: locate.where("images", index), "'file_name'")
        if image_id in by_id:
            result.problems.append(LoadProblem(
                _sample_id(image_id), locate.where("images", index),
                f"duplicate image id {image_id} (first at images[{by_id[image_id][0]}]); the later entry is left out",
                REPEATED_ENTRY,
            ))
            continue
        by_id[image_id] = (index, image)
    return by_id


def _found_instead(corpus_dir: Path, split: str | None) -> str:
    """A hint for a missing captions file: the splits that have one, or the other annotation files there."""
    splits = sorted({p.stem.removeprefix("captions_").removeprefix("image_info_")
                     for folder in ANNOTATION_DIRS for pattern in ("captions_*.json", "image_info_*.json")
                     for p in (corpus_dir / folder).glob(pattern)})
    hint = f"; splits found: {splits}" if splits else ""
    for prefix, holds in OTHER_ANNOTATION_FILES.items():
        others = sorted(p.name for folder in ANNOTATION_DIRS for p in (corpus_dir / folder).glob(f"{prefix}_*.json")
                        if split is None or p.stem == f"{prefix}_{split}")
        if others:
            hint += (f"; {others[0]} is there, but it holds {holds}, not captions: captions are in "
                     "captions_<split>.json (annotations_trainval<year>.zip)")
            break
    return hint


def _sample_id(image_id: int) -> str:
    return f"{image_id:012d}"


def _as_int(value: Any, key: str, where: Callable[[], str]) -> int:
    """An id: an integer, or a string of ASCII digits spelling one (`"397133"`, `"000000397133"`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise CorpusFormatError(f"{where()}: expected integer {key!r}, got {short_repr(value)}")


def _path_joiner(corpus_dir: Path, image_dir: str, file_names: list[str]) -> Callable[[str], str]:
    """How a `file_name` becomes a path under `image_dir`: joined to it, except that a file name starting
    with the folder(s) `image_dir` ends with (`val2014/COCO_val2014_...jpg` for `val2014` or `images/val2014`)
    is joined to the folder above them, unless the doubled path (`val2014/val2014/...`) is what is on disk."""
    if not image_dir:
        return lambda name: name
    parts = image_dir.split("/")
    # (the folders a file name may start with, the folder above them), the longest first
    tails = [("/".join(parts[-k:]) + "/", "".join(f"{p}/" for p in parts[:-k])) for k in range(len(parts), 0, -1)]

    def stripped(name: str) -> str | None:
        for tail, above in tails:
            if name.startswith(tail):
                return above + name
        return None

    probes = [name for name in file_names[:LAYOUT_PROBES] if stripped(name) is not None]
    if not probes or any(is_file_quietly(corpus_dir / image_dir / name) for name in probes):
        return lambda name: f"{image_dir}/{name}"
    return lambda name: stripped(name) or f"{image_dir}/{name}"


def _image_dir(corpus_dir: Path, split: str, options: CocoOptions) -> str:
    if options.image_dir is not None:
        return given_image_dir(options.image_dir)
    folder = split.replace("test-dev", "test")  # test-dev2017 is a subset of the test2017 images
    for pattern in IMAGE_DIR_CANDIDATES:
        candidate = pattern.format(folder=folder)
        if candidate and (corpus_dir / candidate).is_dir():
            return candidate
    return ""
