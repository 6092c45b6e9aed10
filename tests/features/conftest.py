"""A tiny COCO captions corpus in its native layout, for the extractor tests.

    <root>/annotations/captions_val2017.json
    <root>/val2017/000000000101.jpg ...      (small random JPEGs, 64-96 px)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

SPLIT = "val2017"
# image id -> (width, height, captions); the last image has no caption (COCO drops it by default).
IMAGES: dict[int, tuple[int, int, list[str]]] = {
    101: (96, 64, ["A dog runs on the grass.", "A brown dog playing outside.", "Dog, grass, sun!"]),
    102: (64, 80, ["Two cats sleep on a red sofa.", "Cats on a couch."]),
    103: (80, 80, ["A plate of food with broccoli."]),
    104: (72, 96, ["A man rides a bike down the street.", "Cyclist in a city.", "A person on a bicycle."]),
    105: (88, 72, []),
}


@dataclass
class FakeCoco:
    root: Path
    split: str
    #: sample_id -> captions, for the images that have any
    captions: dict[str, list[str]]
    #: sample_id -> image path (every image, captioned or not)
    images: dict[str, Path]
    uncaptioned: str

    def row(self, sample_id: str) -> dict[str, Any]:
        """A samples-table row as the COCO loader makes it."""
        return {
            "sample_id": sample_id,
            "image": str(self.images[sample_id].relative_to(self.root)),
            "captions": self.captions.get(sample_id, []),
            "transcript": None,
        }


def write_fake_coco(root: Path, split: str = SPLIT) -> FakeCoco:
    rng = np.random.default_rng(0)
    (root / "annotations").mkdir(parents=True)
    (root / split).mkdir()
    images, annotations, captions, paths = [], [], {}, {}
    for image_id, (width, height, texts) in IMAGES.items():
        file_name = f"{image_id:012d}.jpg"
        # Smooth colour gradients plus noise: realistic enough for JPEG, different per image.
        yy, xx = np.mgrid[0:height, 0:width]
        base = np.stack([xx * 255 / width, yy * 255 / height, (xx + yy) * 127 / (width + height)], axis=-1)
        pixels = np.clip(base + rng.normal(0, 25, base.shape) + rng.integers(0, 80, 3), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / split / file_name, quality=90)
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for text in texts:
            annotations.append({"id": 1000 + len(annotations), "image_id": image_id, "caption": text})
        sample_id = f"{image_id:012d}"
        paths[sample_id] = root / split / file_name
        if texts:
            captions[sample_id] = list(texts)
    data = {"info": {"description": "fake"}, "images": images, "annotations": annotations}
    (root / "annotations" / f"captions_{split}.json").write_text(json.dumps(data))
    uncaptioned = next(s for s in paths if s not in captions)
    return FakeCoco(root=root, split=split, captions=captions, images=paths, uncaptioned=uncaptioned)


@pytest.fixture
def fake_coco(tmp_path: Path) -> FakeCoco:
    return write_fake_coco(tmp_path / "coco")


@pytest.fixture(scope="module")
def module_fake_coco(tmp_path_factory: pytest.TempPathFactory) -> FakeCoco:
    """The same corpus, shared by the tests of one module (for fixtures that are slow to build on it)."""
    return write_fake_coco(tmp_path_factory.mktemp("features") / "coco")
