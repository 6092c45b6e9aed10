"""Flickr8K as released: `Flickr8k.token.txt` and the official split files, or Kaggle's copy.

The official text zip (`Flickr8k_text/`) holds, besides the expert and crowd judgements:
    Flickr8k.token.txt          1000268201_693b08cb0e.jpg#0<TAB>A child in a pink dress is climbing up ...
    Flickr8k.lemma.token.txt    the same captions lemmatized: read only where captions_file names it
    Flickr_8k.trainImages.txt   one image file name per line: 6,000 (devImages, testImages: 1,000 each)
and the images are in `Flicker8k_Dataset/` (sic: the official zip's spelling) or `Flickr8k_Dataset/`.
Kaggle's copy is `captions.txt` (`image,caption`) + `Images/`, without split files. The captions are
parsed as the `flickr30k` loader parses them (`flickr_captions.py`): one sample per image, captions in
index order, sample_id = group_id = the file stem (`1000268201_693b08cb0e`), as the `karpathy` loader
gives Flickr8K images.
Splits: `train`, `val` (Flickr_8k.devImages.txt: `val`, as Karpathy's dataset_flickr8k.json names it)
and `test`. An image with captions that no split file lists (the token file names 8,092 images, the
split files 8,000) is kept in split `unassigned`, with one warning naming the count, so that nothing is
dropped and `--split train/val/test` gives exactly the published splits. An image listed in two split
files keeps the first (train, dev, test order), the repeat reported. Without split files every image is
in split `all`; the option `karpathy_file` takes train/val/test from dataset_flickr8k.json instead (its
rules as in the `flickr30k` loader; images it does not list are in `unassigned` too).
Known quirk: Flickr8k.token.txt names `2258277193_586949ec62.jpg.1`, no file of the release; a name with
`.<n>` after the image suffix is left out, reported naming `file:line`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import REPEATED_ENTRY, LoadProblem, LoadResult, read_text, register_corpus, short_repr
from mmdata.corpora.flickr_captions import (
    CaptionFile,
    SplitAssignment,
    caption_samples,
    find_image_dir,
    image_stem,
    karpathy_splits,
    parse_captions_file,
    problems_in_split,
)
from mmdata.corpora.karpathy import SPLITS
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

TOKEN_FILE = "Flickr8k.token.txt"
CSV_FILE = "captions.txt"  # Kaggle's copy
TEXT_DIRS = ("", "Flickr8k_text", "Flickr8k_text/Flickr8k_text", "flickr8k")
IMAGE_DIRS = ("Flicker8k_Dataset", "Flickr8k_Dataset", "Flickr8k_Dataset/Flicker8k_Dataset",
              "Flicker8k_Dataset/Flicker8k_Dataset", "Images", "images", "")
#: The official split files, in the order that decides an image listed in two.
SPLIT_FILES = {"train": "Flickr_8k.trainImages.txt", "val": "Flickr_8k.devImages.txt",
               "test": "Flickr_8k.testImages.txt"}
UNASSIGNED = "unassigned"
LAYOUT_PROBES = 50  # images looked for to find the image folder
#: Flickr8K's image names (`1000268201_693b08cb0e.jpg`), unlike Flickr30K's (`1000092795.jpg`).
FLICKR8K_NAME = re.compile(r"\d+_[0-9a-f]{10}\.jpg")
#: An image name with a number after its suffix (`2258277193_586949ec62.jpg.1`): names no image file.
NUMBERED_NAME = re.compile(r"(.+\.(?:jpe?g|png))\.\d+", re.IGNORECASE)


@dataclass(frozen=True)
class Flickr8kOptions:
    #: Captions file relative to the root (default: `Flickr8k.token.txt`, then Kaggle's `captions.txt`, in the
    #: root or `Flickr8k_text/`); the lemmatized `Flickr8k.lemma.token.txt` is read only if named here.
    captions_file: str | None = None
    #: Folder of the Flickr_8k.{train,dev,test}Images.txt files, relative to the root (default: the captions
    #: file's folder, else the root or `Flickr8k_text/`).
    split_dir: str | None = None
    #: Karpathy split file relative to the root (`dataset_flickr8k.json`): splits from it, not the split files.
    karpathy_file: str | None = None
    #: Image folder relative to the root (default: found automatically, see IMAGE_DIRS).
    image_dir: str | None = None
    #: Accept image paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass
class SplitListing:
    """The official split files read: image file name -> split and `file:line`, with the repeats' problems."""

    files: dict[str, Path]  # split -> its file
    splits: dict[str, str] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)


@register_corpus("flickr8k", Flickr8kOptions)
def load_flickr8k(corpus_dir: Path, options: Flickr8kOptions, split: str | None) -> LoadResult:
    """Flickr8K (`Flickr8k.token.txt` + the official split files, or Kaggle's `captions.txt`), one sample per image.

    `split`: none or `all` for every image; `train`, `val` (the dev file), `test`, or `unassigned` (in no
    split file) need the split files or the option `karpathy_file`.

    Example:
        >>> result = load_flickr8k(Path("/data/flickr8k"), Flickr8kOptions(), "train")
        >>> len(result.samples), len(result.samples[0].captions)
        (6000, 5)

    Raises:
        CorpusNotFoundError: no captions file (or a named split folder or Karpathy file is missing).
        CorpusFormatError: a malformed line, named `file:line` with what was expected and found.
        ConfigError: a split the split files (or the Karpathy file) do not give, or a Karpathy file of
            another dataset.
    """
    wanted = _check_split(split)
    path = _captions_path(corpus_dir, options.captions_file)
    assignment, listing, repeats = _split_assignment(corpus_dir, path, options, wanted)
    parsed = parse_captions_file(path)
    left_out = _leave_out_numbered_names(parsed)
    probes = list(parsed.captions)[:LAYOUT_PROBES]
    image_dir = find_image_dir(corpus_dir, probes, IMAGE_DIRS, options.image_dir)
    samples, problems = caption_samples(corpus_dir, parsed, assignment, wanted, corpus="flickr8k",
                                        image_dir=image_dir, allow_outside=options.allow_outside_root)
    uncaptioned = [] if listing is None else _listed_without_captions(listing, parsed, wanted)
    result = LoadResult(samples=samples, problems=problems_in_split(parsed.problems + left_out, assignment, wanted)
                        + repeats + problems + uncaptioned)
    result.metadata = _sources(path, listing, options.karpathy_file)
    unassigned = _warn_unassigned(samples, options.karpathy_file)
    if unassigned:
        result.metadata[UNASSIGNED] = unassigned
    return result


def flickr8k_layout_hint(corpus_dir: Path) -> str:
    """`; this looks like Flickr8K ...` where `corpus_dir` holds Flickr8K's official files, else '' (for
    the errors of the other Flickr loaders)."""
    found = [f"{folder}/{TOKEN_FILE}".lstrip("/") for folder in TEXT_DIRS
             if (corpus_dir / folder / TOKEN_FILE).is_file()]
    found += [f"{folder}/" for folder in IMAGE_DIRS[:4] if (corpus_dir / folder).is_dir()]
    if not found:
        return ""
    return (f"; this looks like Flickr8K ({found[0]} is there): use the corpus kind flickr8k "
            "(`mmdata extract flickr8k ...`)")


def looks_like_flickr8k(images: list[str]) -> bool:
    """Whether the first image names of a captions file are all Flickr8K's (`<digits>_<10 hex>.jpg`)."""
    probes = images[:LAYOUT_PROBES]
    return bool(probes) and all(FLICKR8K_NAME.fullmatch(Path(image).name) for image in probes)


def read_split_files(folder: Path, wanted: str | None) -> SplitListing:
    """Read the official split files in `folder` (one image file name a line; blank lines, surrounding
    spaces and CRLF ends are fine). An image listed again keeps its first split; the repeat is reported
    where it concerns split `wanted` (None: every split).

    Raises:
        CorpusFormatError: a line that is not one file name, named `file:line`.
    """
    listing = SplitListing({split: folder / name for split, name in SPLIT_FILES.items()
                            if (folder / name).is_file()})
    for split, path in listing.files.items():
        for number, line in enumerate(read_text(path).split("\n"), start=1):
            name = line.strip()
            if not name:
                continue
            if len(name.split()) != 1:
                raise CorpusFormatError(
                    f"{path}:{number}: expected one image file name per line (e.g. 1000268201_693b08cb0e.jpg), "
                    f"got {short_repr(line)}; is this a split file?")
            name, where = name.rsplit("/", 1)[-1], f"{path}:{number}"
            if name in listing.splits:
                problem = _repeat_problem(name, listing.splits[name], listing.lines[name], split, where, wanted)
                if problem is not None:
                    listing.problems.append(problem)
                continue
            listing.splits[name], listing.lines[name] = split, where
    return listing


def _check_split(split: str | None) -> str | None:
    """The split asked (None for every image).

    Raises:
        ConfigError: `dev` (named `val` here), or a split no source of Flickr8K gives.
    """
    if split in (None, "all"):
        return None
    if split == "dev":
        raise ConfigError(
            f"split 'dev' is named 'val' here, as Karpathy's dataset_flickr8k.json names it "
            f"({SPLIT_FILES['val']}); pass --split val")
    if split not in (*SPLITS, UNASSIGNED):
        raise ConfigError(f"unknown split {split!r}; expected one of {['all', 'train', 'val', 'test', UNASSIGNED]}")
    return split


def _captions_path(corpus_dir: Path, captions_file: str | None) -> Path:
    """The captions file: `captions_file` as given, else the first found (never a lemmatized one).

    Raises:
        CorpusNotFoundError: none found (naming a lemmatized file that is there), or the named one missing.
    """
    if captions_file is not None:
        path = corpus_dir / captions_file
        if not path.is_file():
            raise CorpusNotFoundError(f"Flickr8K captions file not found: {path} (option captions_file)")
        if "lemma" in path.name.lower():
            log.warning("%s holds the lemmatized captions; reading them as asked (option captions_file), where "
                        "%s holds the captions as written", path, TOKEN_FILE)
        return path
    for name in (TOKEN_FILE, CSV_FILE):
        for folder in TEXT_DIRS:
            if (corpus_dir / folder / name).is_file():
                return corpus_dir / folder / name
    lemma = [p for folder in TEXT_DIRS if (corpus_dir / folder).is_dir()
             for p in sorted((corpus_dir / folder).glob("*lemma*"))]
    raise CorpusNotFoundError(
        f"no Flickr8K captions file ({TOKEN_FILE}, {CSV_FILE}) found in {corpus_dir} or its "
        f"{', '.join(d + '/' for d in TEXT_DIRS if d)} folders"
        + (f"; {lemma[0].name} holds the lemmatized captions, read only where captions_file names it" if lemma else "")
        + "; name the captions file with captions_file=<path>"
    )


def _split_assignment(corpus_dir: Path, captions_path: Path, options: Flickr8kOptions,
                      wanted: str | None) -> tuple[SplitAssignment, SplitListing | None, list[LoadProblem]]:
    """Where the splits come from: the Karpathy file named, else the official split files found, else none
    (every image in `all`); with the split files' listing and the repeats' problems.

    Raises:
        ConfigError: `wanted` is a split the source does not give.
    """
    if options.karpathy_file is not None:
        splits, repeats = karpathy_splits(corpus_dir, options.karpathy_file, wanted, dataset="flickr8k",
                                          refused=("coco", "flickr30k"), extra_splits=(UNASSIGNED,))
        return SplitAssignment(splits, unlisted=UNASSIGNED), None, repeats
    folder = _split_folder(corpus_dir, captions_path, options.split_dir)
    if folder is None:
        if wanted is not None:
            raise ConfigError(
                f"split {wanted!r} asked, but no Flickr8K split file ({', '.join(SPLIT_FILES.values())}) is next to "
                f"{captions_path} or in {corpus_dir}'s {', '.join(d + '/' for d in TEXT_DIRS if d)} folders; add "
                "them (from the official Flickr8k_text zip; option split_dir), pass the option "
                "karpathy_file=dataset_flickr8k.json, or ask no split")
        return SplitAssignment(), None, []
    listing = read_split_files(folder, wanted)
    missing = [name for split, name in SPLIT_FILES.items() if split not in listing.files]
    if (wanted in SPLIT_FILES and wanted not in listing.files) or wanted == "restval":
        raise ConfigError(f"split {wanted!r} asked, but {folder} has no {SPLIT_FILES.get(wanted, 'split file for it')}; "
                          f"splits there: {[*listing.files, UNASSIGNED]}")
    if missing:
        log.warning("%s has no %s; the images of those splits are in split %r", folder, " or ".join(missing),
                    UNASSIGNED)
    return SplitAssignment(listing.splits, unlisted=UNASSIGNED), listing, listing.problems


def _split_folder(corpus_dir: Path, captions_path: Path, split_dir: str | None) -> Path | None:
    """The folder holding the split files: `split_dir`, else the captions file's, the root or `Flickr8k_text/`.

    Raises:
        CorpusNotFoundError: `split_dir` holds none of them.
    """
    def holds_split_files(folder: Path) -> bool:
        return any((folder / name).is_file() for name in SPLIT_FILES.values())

    if split_dir is not None:
        folder = corpus_dir / split_dir
        if not holds_split_files(folder):
            raise CorpusNotFoundError(
                f"no Flickr8K split file ({', '.join(SPLIT_FILES.values())}) in {folder} (option split_dir)")
        return folder
    return next((f for f in (captions_path.parent, *(corpus_dir / d for d in TEXT_DIRS)) if holds_split_files(f)),
                None)


def _repeat_problem(name: str, first: str, first_where: str, split: str, where: str,
                    wanted: str | None) -> LoadProblem | None:
    """The problem of a split-file line repeating an image, where it concerns split `wanted`: a duplicate
    within one split, a leak between two (the first split kept, as the Karpathy loaders keep it)."""
    if wanted is not None and wanted not in (first, split):
        return None
    if first == split:
        return LoadProblem(image_stem(name), where, f"{name} is listed again (first at {first_where}); this line "
                           "ignored", REPEATED_ENTRY)
    leak = (f"{name} is in split {first!r} ({first_where}) and in {split!r} here, a leak between them; kept in "
            f"{first!r}")
    if wanted is None or wanted == first:
        return LoadProblem(image_stem(name), where, f"{leak}, this line ignored", REPEATED_ENTRY)
    return LoadProblem(image_stem(name), where, f"{leak}, which split {wanted!r} leaves out, so the image is in no "
                       "split loaded; this line ignored (list each image in one split file)")


def _leave_out_numbered_names(parsed: CaptionFile) -> list[LoadProblem]:
    """Leave out the captions of names with a number after the image suffix (Flickr8k.token.txt's
    `2258277193_586949ec62.jpg.1`, no file of the release), one problem each naming `file:line`."""
    problems = []
    for image in [i for i in parsed.captions if NUMBERED_NAME.fullmatch(i)]:
        named = NUMBERED_NAME.fullmatch(image).group(1)
        captions = parsed.leave_out(image)
        problems.append(LoadProblem(
            image_stem(named), f"{parsed.path}:{parsed.lines[image]}",
            f"{image!r} is not an image file name (expected a name ending in .jpg; {TOKEN_FILE} of the official "
            f"release names this one, which is no file of its images); its {len(captions)} captions left out",
        ))
    return problems


def _listed_without_captions(listing: SplitListing, parsed: CaptionFile, wanted: str | None) -> list[LoadProblem]:
    """A problem for each image a split file of split `wanted` lists that has no caption (no sample)."""
    captioned = {Path(image).name for image in parsed.captions}
    return [LoadProblem(image_stem(name), listing.lines[name],
                        f"{name} is listed in split {split!r} but has no caption in {parsed.path.name}; left out")
            for name, split in listing.splits.items()
            if name not in captioned and wanted in (None, split)]


def _sources(captions_path: Path, listing: SplitListing | None, karpathy_file: str | None) -> dict[str, Any]:
    """The files read, for the manifest (`extra.loader`): names only, so a shared dataset shows no path."""
    metadata: dict[str, Any] = {"captions_file": captions_path.name}
    if karpathy_file is not None:
        metadata["karpathy_file"] = karpathy_file
    if listing is not None:
        metadata["split_files"] = {split: path.name for split, path in listing.files.items()}
    return metadata


def _warn_unassigned(samples: list[Sample], karpathy_file: str | None) -> int:
    """Warn once about the images loaded in split `unassigned` (the release has some); returns their count."""
    unassigned = [s.sample_id for s in samples if s.split == UNASSIGNED]
    if unassigned:
        log.warning("%d images with captions are in no split %s (e.g. %s); kept in split %r (--split train, val or "
                    "test leaves them out)", len(unassigned), f"of {karpathy_file}" if karpathy_file else "file",
                    unassigned[0], UNASSIGNED)
    return len(unassigned)
