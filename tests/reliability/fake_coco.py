"""Tiny COCO-captions corpora in the native layout, good or deliberately broken.

    corpus/annotations/captions_val2017.json   {"images": [...], "annotations": [...]}
    corpus/val2017/000000000001.jpg ...        small real JPEG/PNG files
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SPLIT = "val2017"


@dataclass
class FakeCoco:
    """What a fake corpus holds: its root and the sample ids expected to fail, with why."""

    root: Path
    ids: list[str]
    broken: dict[str, str] = field(default_factory=dict)  # sample id -> kind of breakage

    @property
    def good(self) -> list[str]:
        return [i for i in self.ids if i not in self.broken]


def sample_id(image_id: int) -> str:
    return f"{image_id:012d}"


def image_bytes(rng: np.random.Generator, fmt: str = "JPEG", size: int = 16) -> bytes:
    """A small real image: random colour blocks, so histograms differ between images."""
    blocks = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    pixels = np.kron(blocks, np.ones((size // 4, size // 4, 1), dtype=np.uint8))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def write_fake_coco(root: Path, num_images: int, *, seed: int = 0, size: int = 16) -> FakeCoco:
    """Write `num_images` good JPEGs with two captions each."""
    rng = np.random.default_rng(seed)
    image_dir = root / SPLIT
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        name = f"{image_id:012d}.jpg"
        (image_dir / name).write_bytes(image_bytes(rng, size=size))
        images.append({"id": image_id, "file_name": name, "width": size, "height": size})
        for k in range(2):
            annotations.append({"id": 10 * image_id + k, "image_id": image_id, "caption": f"picture {image_id} caption {k}"})
    write_annotations(root, images, annotations)
    return FakeCoco(root, [sample_id(i) for i in range(1, num_images + 1)])


def write_annotations(root: Path, images: list[dict], annotations: list[dict]) -> Path:
    path = root / "annotations" / f"captions_{SPLIT}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


def write_broken_coco(root: Path, *, seed: int = 0, first: int = 1) -> FakeCoco:
    """A corpus of 40 images of which 14 are broken: two of each kind (5% each), every other image
    from the `first`-th on.

    Kinds: corrupt JPEG (garbage after the header), truncated JPEG, corrupt PNG, truncated PNG,
    zero-byte file, missing file, a text file named .jpg. One good image is a PNG.
    """
    rng = np.random.default_rng(seed)
    corpus = write_fake_coco(root, 40, seed=seed)
    image_dir = root / SPLIT
    jpeg, png = image_bytes(rng), image_bytes(rng, "PNG")
    breakers = {
        "corrupt-jpeg": lambda p: p.write_bytes(jpeg[:20] + bytes(rng.integers(0, 256, 400, dtype=np.uint8))),
        "truncated-jpeg": lambda p: p.write_bytes(jpeg[: len(jpeg) // 2]),
        "corrupt-png": lambda p: p.write_bytes(png[:16] + b"\x00" * 200),
        "truncated-png": lambda p: p.write_bytes(png[: len(png) // 2]),
        "zero-bytes": lambda p: p.write_bytes(b""),
        "missing": lambda p: p.unlink(),
        "not-an-image": lambda p: p.write_text("hello, I am text\n"),
    }
    broken_ids = iter(corpus.ids[first::2])
    for kind, breaker in breakers.items():
        for _ in range(2):
            sid = next(broken_ids)
            breaker(image_dir / f"{sid}.jpg")
            corpus.broken[sid] = kind
    (image_dir / f"{corpus.ids[0]}.png").write_bytes(png)
    _rename_to_png(root, [i for i, kind in corpus.broken.items() if "png" in kind] + [corpus.ids[0]])
    return corpus


def _rename_to_png(root: Path, ids: list[str]) -> None:
    """Point the annotations of `ids` at `<id>.png` (moving the file when only the .jpg exists)."""
    path = root / "annotations" / f"captions_{SPLIT}.json"
    data = json.loads(path.read_text())
    for image in data["images"]:
        sid = sample_id(image["id"])
        if sid in ids:
            jpg, png = root / SPLIT / f"{sid}.jpg", root / SPLIT / f"{sid}.png"
            if not png.exists():
                jpg.rename(png)
            jpg.unlink(missing_ok=True)
            image["file_name"] = png.name
    path.write_text(json.dumps(data))
