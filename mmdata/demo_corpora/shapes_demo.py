"""A COCO-captions corpus of drawn shapes whose captions describe what is drawn.

Each image shows one shape on a light, slightly noisy background. Four attributes are drawn
independently: colour (COLORS), shape (circle, square, triangle), size (small, large) and position
(top left, top right, bottom left, bottom right, center). Each image gets `captions_per_image` captions
from different templates with synonyms ("a large red circle in the top left", "a big crimson disc
in the upper left corner", ...), so captions of one image share meaning, not wording.

Written as COCO 2017 captions (`mmdata extract coco` reads it with no options; split=None loads both):

    annotations/captions_train2017.json   {"info", "licenses", "images": [{"id", "file_name", "width",
    annotations/captions_val2017.json       "height", ...}], "annotations": [{"id", "image_id", "caption"}]}
    train2017/<id:012d>.jpg, val2017/<id:012d>.jpg
    attributes.csv                         image_id,split,color,shape,size,position (the truth)

    info = write_shapes_demo("demo/shapes", ShapesDemoConfig(num_train=1000, num_val=200))
"""
from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmdata.errors import ConfigError

log = logging.getLogger(__name__)

#: colour name -> (RGB, synonyms used in captions)
COLORS: dict[str, tuple[tuple[int, int, int], tuple[str, ...]]] = {
    "red": ((220, 30, 30), ("red", "crimson", "scarlet")),
    "green": ((30, 170, 40), ("green", "emerald", "grass green")),
    "blue": ((30, 60, 220), ("blue", "navy", "cobalt")),
    "yellow": ((235, 210, 20), ("yellow", "golden", "lemon")),
    "purple": ((140, 40, 170), ("purple", "violet", "plum")),
    "orange": ((245, 130, 20), ("orange", "amber", "tangerine")),
}
SHAPES: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc", "round dot", "round shape"),
    "square": ("square", "box", "block", "square tile"),
    "triangle": ("triangle", "three-sided shape", "pointed triangle", "wedge"),
}
SIZES: dict[str, tuple[str, ...]] = {"small": ("small", "little", "tiny"), "large": ("large", "big", "huge")}
POSITIONS: dict[str, tuple[tuple[float, float], tuple[str, ...]]] = {
    "top left": ((0.27, 0.27), ("top left", "upper left corner", "top left corner")),
    "top right": ((0.73, 0.27), ("top right", "upper right corner", "top right corner")),
    "bottom left": ((0.27, 0.73), ("bottom left", "lower left corner", "bottom left corner")),
    "bottom right": ((0.73, 0.73), ("bottom right", "lower right corner", "bottom right corner")),
    "center": ((0.5, 0.5), ("center", "middle", "centre")),
}
TEMPLATES = (
    "a {size} {color} {shape} in the {position}",
    "a {color} {shape} near the {position}",
    "there is a {size} {color} {shape} at the {position} of the picture",
    "{size} {color} {shape} drawn on a plain background, {position}",
    "the image shows a {color} {shape}, {size}, placed in the {position}",
    "one {color} {shape} sits in the {position}",
    "a plain picture with a {size} {shape} coloured {color} in the {position}",
)

_ARTICLE = re.compile(r"(^|\s)a ([aeiou])")


@dataclass(frozen=True)
class ShapesDemoConfig:
    """Size and content of the shapes corpus."""

    num_train: int = 1000
    num_val: int = 200
    captions_per_image: int = 5
    image_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_train < 1 or self.num_val < 1:
            raise ConfigError(f"num_train and num_val must be >= 1, got {self.num_train} and {self.num_val}")
        if not 1 <= self.captions_per_image <= len(TEMPLATES):
            raise ConfigError(f"captions_per_image must be in [1, {len(TEMPLATES)}], got {self.captions_per_image}")
        if self.image_size < 32:
            raise ConfigError(f"image_size must be >= 32 pixels, got {self.image_size}")


@dataclass
class ShapeImage:
    """The ground truth of one image."""

    image_id: int
    split: str
    color: str
    shape: str
    size: str
    position: str
    captions: list[str] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"{self.image_id:012d}.jpg"


@dataclass
class ShapesDemoInfo:
    """What was written: the root and every image's attributes and captions."""

    root: Path
    images: list[ShapeImage] = field(default_factory=list)

    def split(self, name: str) -> list[ShapeImage]:
        return [image for image in self.images if image.split == name]


def write_shapes_demo(root: str | Path, config: ShapesDemoConfig | None = None) -> ShapesDemoInfo:
    """Write the shapes corpus under `root` as COCO 2017 captions (train2017 + val2017)."""
    config = config or ShapesDemoConfig()
    root = Path(root)
    rng = np.random.default_rng(config.seed)
    info = ShapesDemoInfo(root=root)
    next_id, next_caption = 1, 1
    for split, count in (("train2017", config.num_train), ("val2017", config.num_val)):
        (root / split).mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for _ in range(count):
            item = _draw_attributes(rng, next_id, split)
            item.captions = _captions(rng, item, config.captions_per_image)
            _render(item, rng, config.image_size).save(root / split / item.file_name, quality=92)
            images.append({"id": item.image_id, "file_name": item.file_name, "width": config.image_size,
                           "height": config.image_size, "license": 1, "date_captured": "2024-01-01 00:00:00"})
            for caption in item.captions:
                annotations.append({"id": next_caption, "image_id": item.image_id, "caption": caption})
                next_caption += 1
            info.images.append(item)
            next_id += 1
        _write_coco_json(root / "annotations" / f"captions_{split}.json", images, annotations)
    _write_attributes(root / "attributes.csv", info.images)
    log.info("wrote %d shape images to %s", len(info.images), root)
    return info


def _draw_attributes(rng: np.random.Generator, image_id: int, split: str) -> ShapeImage:
    return ShapeImage(
        image_id=image_id, split=split, color=str(rng.choice(list(COLORS))), shape=str(rng.choice(list(SHAPES))),
        size=str(rng.choice(list(SIZES))), position=str(rng.choice(list(POSITIONS))),
    )


def _captions(rng: np.random.Generator, item: ShapeImage, count: int) -> list[str]:
    templates = rng.choice(len(TEMPLATES), size=count, replace=False)
    out = []
    for index in templates:
        text = TEMPLATES[index].format(
            size=rng.choice(SIZES[item.size]), color=rng.choice(COLORS[item.color][1]),
            shape=rng.choice(SHAPES[item.shape]), position=rng.choice(POSITIONS[item.position][1]),
        )
        out.append(_ARTICLE.sub(r"\1an \2", text))  # "a amber" -> "an amber"
    return out


def _render(item: ShapeImage, rng: np.random.Generator, size: int):
    from PIL import Image, ImageDraw

    background = np.clip(rng.integers(200, 240) + rng.normal(0, 5, size=(size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    (fx, fy), _ = POSITIONS[item.position]
    half = size * (0.2 if item.size == "large" else 0.1) * float(rng.uniform(0.9, 1.1))
    cx = fx * size + float(rng.uniform(-2, 2))
    cy = fy * size + float(rng.uniform(-2, 2))
    color = tuple(int(np.clip(c + rng.integers(-15, 16), 0, 255)) for c in COLORS[item.color][0])
    if item.shape == "circle":
        draw.ellipse([cx - half, cy - half, cx + half, cy + half], fill=color)
    elif item.shape == "square":
        draw.rectangle([cx - half, cy - half, cx + half, cy + half], fill=color)
    else:
        draw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=color)
    return image


def _write_coco_json(path: Path, images: list[dict], annotations: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "info": {"description": "mmdata shapes demo", "version": "1.0", "year": 2024, "contributor": "mmdata",
                 "url": "", "date_created": "2024-01-01"},
        "licenses": [{"id": 1, "name": "CC0", "url": ""}],
        "images": images,
        "annotations": annotations,
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _write_attributes(path: Path, images: list[ShapeImage]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["image_id", "split", "color", "shape", "size", "position"])
        writer.writerows([i.image_id, i.split, i.color, i.shape, i.size, i.position] for i in images)
