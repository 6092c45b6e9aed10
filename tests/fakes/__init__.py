"""Tiny corpora written in their native formats, each returning what a loader should find in it.

A writer takes a folder and returns a `FakeCorpus`: the corpus kind, its root, the samples a loader
must produce (`expected`), and `corrupt()`, which breaks one line of the annotation file and returns
the `file:line` an error must name. Writers register with `@register_fake(kind, variant)` so the
loader contract test (tests/corpora/test_contract.py) runs over every registered corpus kind.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ExpectedSample:
    """What a loader must produce for one sample (paths relative to the corpus root)."""

    image: str | None = None
    captions: tuple[str, ...] = ()
    split: str = "all"
    audio: str | None = None
    video: str | None = None
    transcript: str | None = None


@dataclass
class FakeCorpus:
    """A corpus written into a folder, and what loading it must give."""

    kind: str
    root: Path
    annotation_file: Path
    expected: dict[str, ExpectedSample]
    options: dict[str, Any] = field(default_factory=dict)
    split: str | None = None
    #: Breaks one line of the annotation file; returns the `file:line` the error must name.
    corrupt: Callable[[], str] = lambda: ""

    @property
    def num_examples(self) -> int:
        return len(self.expected)

    def pairs(self) -> dict[str, tuple[str | None, tuple[str, ...]]]:
        """sample_id -> (image path, captions)."""
        return {sid: (e.image, e.captions) for sid, e in self.expected.items()}


FakeWriter = Callable[[Path], FakeCorpus]
FAKE_CORPORA: dict[str, dict[str, FakeWriter]] = {}


def register_fake(kind: str, variant: str = "default") -> Callable[[FakeWriter], FakeWriter]:
    """Register `writer(root) -> FakeCorpus` as a fake of corpus `kind` (one per variant)."""

    def decorate(writer: FakeWriter) -> FakeWriter:
        variants = FAKE_CORPORA.setdefault(kind, {})
        if variant in variants:
            raise ValueError(f"fake {kind}/{variant} is already registered")
        variants[variant] = writer
        return writer

    return decorate


def load_fake_modules() -> dict[str, dict[str, FakeWriter]]:
    """Import every module of this package (registering their fakes) and return the registry."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return FAKE_CORPORA


def write_jpeg(path: Path, seed: int = 0, size: tuple[int, int] = (10, 10)) -> Path:
    """A real JPEG of random pixels (`size` = width, height), as torchvision's fakes write."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG")
    return path


def numbered_ids(videos: Iterable[str]) -> list[str]:
    """`<video>[k]` for each item's video in order, k counting that video's items so far (the timed-sentence ids)."""
    seen: dict[str, int] = {}
    ids = []
    for video in videos:
        ids.append(f"{video}[{seen.get(video, 0)}]")
        seen[video] = seen.get(video, 0) + 1
    return ids


def replace_line(path: Path, number: int, text: str) -> str:
    """Replace line `number` (1-based) of a text file; return `"<path>:<number>"`."""
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[number - 1] = text
    path.write_text("\n".join(lines), encoding="utf-8")
    return f"{path}:{number}"


def edit_json(path: Path, edit: Callable[[Any], object]) -> None:
    """Read a fake's JSON file, let `edit(data)` change it in place, and write it back indented by 2.

    Non-ASCII text is written as `\\uXXXX` escapes, so a test can put a lone surrogate (text no UTF-8 file can hold
    raw) into an entry and see what the loader makes of it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def append_rows(path: Path, *rows: str) -> int:
    """Append text lines to a fake's CSV file; the line number of the first (for `file:line` in expected errors)."""
    text = path.read_text(encoding="utf-8")
    first = len(text.splitlines()) + 1
    with path.open("a", encoding="utf-8") as f:
        if text and not text.endswith("\n"):  # `replace_line` writes no newline after the last line
            f.write("\n")
        f.writelines(row + "\n" for row in rows)
    return first


def samples_by_id(result) -> dict:
    """A loader result's samples by sample id."""
    return {s.sample_id: s for s in result.samples}
