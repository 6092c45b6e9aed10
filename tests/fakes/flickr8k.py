"""Fake Flickr8K corpora as they unzip: the official `Flickr8k_text/` (token file, lemmatized token file,
split files) + `Flicker8k_Dataset/`, or Kaggle's `captions.txt` + `Images/`, with real JPEGs.

The returned `FakeCorpus.expected` holds the samples a loader must yield for no split; `official_names`
names the images the way the release does (`1000268201_693b08cb0e.jpg`).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line, write_jpeg
from tests.fakes.imagetext import caption_text

Layout = Literal["official", "kaggle"]
SPLIT_FILE_NAMES = {"train": "Flickr_8k.trainImages.txt", "val": "Flickr_8k.devImages.txt",
                    "test": "Flickr_8k.testImages.txt"}
#: The token file's known entry that names no image of the release.
NUMBERED_NAME = "2258277193_586949ec62.jpg.1"


def official_name(i: int) -> str:
    """A Flickr8K-style image name: `<digits>_<10 hex digits>.jpg`."""
    return f"{1000268201 + 1013 * i}_{(0x693b08cb0e + 7919 * i) % 16 ** 10:010x}.jpg"


def write_fake_flickr8k(
    root: Path,
    layout: Layout = "official",
    *,
    splits: tuple[str | None, ...] = ("train", "train", "val", "test"),
    captions_per_image: int = 5,
    image_dir: str | None = None,
    numbered_name: bool = False,
    missing_images: tuple[int, ...] = (),
    split_file_ending: str = "\n",
) -> FakeCorpus:
    """One image per entry of `splits` (None: listed in no split file, so in split `unassigned`).

    Official: `Flickr8k_text/Flickr8k.token.txt` (the first image's captions written in reverse index
    order), a lemmatized `Flickr8k.lemma.token.txt` whose captions differ, the split files (lines ended by
    `split_file_ending`, then two blank lines) and JPEGs in `Flicker8k_Dataset/`. Kaggle: `captions.txt`
    and `Images/`, every sample in split `all`. `numbered_name` adds the token file's
    `2258277193_586949ec62.jpg.1` captions; `missing_images` are indexes whose JPEG is not written.
    """
    official = layout == "official"
    image_dir = image_dir if image_dir is not None else ("Flicker8k_Dataset" if official else "Images")
    rows: list[tuple[str, int, str]] = []
    expected: dict[str, ExpectedSample] = {}
    for i, split in enumerate(splits):
        name = official_name(i)
        stem = name.removesuffix(".jpg")
        if i not in missing_images:
            write_jpeg(root / image_dir / name, seed=i)
        captions = tuple(caption_text(stem, k) for k in range(captions_per_image))
        order = reversed(range(captions_per_image)) if i == 0 and official else range(captions_per_image)
        rows += [(name, k, captions[k]) for k in order]
        split_name = "all" if not official else (split or "unassigned")
        expected[stem] = ExpectedSample(image=f"{image_dir}/{name}" if image_dir else name, captions=captions,
                                        split=split_name)
    if numbered_name:
        rows += [(NUMBERED_NAME, k, f"A numbered name's caption {k} .") for k in range(5)]
    if official:
        path = _write_official_text(root / "Flickr8k_text", rows, splits, split_file_ending)
        bad_line = 2
    else:
        path, bad_line = root / "captions.txt", 3
        root.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["image", "caption"])
            writer.writerows([name, caption] for name, _, caption in rows)
    return FakeCorpus("flickr8k", root, path, expected,
                      corrupt=lambda: replace_line(path, bad_line, "a line with no separator at all"))


def _write_official_text(folder: Path, rows: list[tuple[str, int, str]], splits: tuple[str | None, ...],
                         split_file_ending: str) -> Path:
    """The official text files in `folder`; returns the token file."""
    folder.mkdir(parents=True, exist_ok=True)
    token = folder / "Flickr8k.token.txt"
    token.write_text("".join(f"{name}#{k}\t{caption}\n" for name, k, caption in rows), encoding="utf-8")
    lemma = folder / "Flickr8k.lemma.token.txt"
    lemma.write_text("".join(f"{name}#{k}\tlemma {k} of {name}\n" for name, k, _ in rows), encoding="utf-8")
    for split, file_name in SPLIT_FILE_NAMES.items():
        names = [official_name(i) for i, s in enumerate(splits) if s == split]
        (folder / file_name).write_bytes(
            ("".join(n + split_file_ending for n in names) + split_file_ending * 2).encode("utf-8"))
    return token


for _layout in ("official", "kaggle"):
    register_fake("flickr8k", _layout)(lambda root, layout=_layout: write_fake_flickr8k(root, layout))
