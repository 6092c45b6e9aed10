"""Karpathy split files for COCO, Flickr30K and Flickr8K (`dataset_coco.json`, `dataset_flickr30k.json`, ...).

dataset_coco.json looks like (Flickr files have no `filepath` and no `cocoid`):
    {"dataset": "coco", "images": [{"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg",
      "imgid": 0, "cocoid": 391895, "split": "test", "sentids": [770337, ...],
      "sentences": [{"raw": "A man with a red helmet ...", "tokens": [...], "imgid": 0, "sentid": 770337}]}]}
One sample per image with its sentences' `raw` text in file order, stripped of surrounding whitespace
(a blank one is a problem and is left out, and its id with it from `extra.sentids`, which stays aligned
with the captions; `tokens` are Karpathy's lower-cased, punctuation-free version, not used). Splits are
train/val/test/restval (restval: the rest of COCO val2014, usually trained on; `restval_as_train=true`
maps it to train, giving the 113,287 training images of the COCO split). An image listed twice keeps
its first entry (and split), the later one reported: a leak where the two entries load in different
splits, a duplicate where in one (restval and train are one with restval_as_train=true); the
`flickr30k` loader takes splits from these files by the same rule (`first_entries`). Problems of an
entry are reported only where it is loaded (or, for a repeat, where either entry is).
COCO images are found as the file names them (`val2014/COCO_val2014_000000391895.jpg`), or, where
only the 2017 release is on disk, as `train2017/000000391895.jpg` or `val2017/...` (the val2014
images are spread over both).
Ids: COCO uses the cocoid zero-padded to 12 digits, as the `coco` loader does, so the two kinds join;
Flickr uses the file stem (`1000092795`), as the `flickr30k` loader does. group_id: the cocoid or the stem.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import (
    REPEATED_ENTRY,
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
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

KARPATHY_FILES = ("dataset_coco.json", "dataset_flickr30k.json", "dataset_flickr8k.json")
ANNOTATION_DIRS = ("", "annotations", "karpathy", "caption_datasets")
SPLITS = ("train", "val", "test", "restval")
# Where each dataset's images usually sit; the first folder holding one of the first listed images wins.
COCO_IMAGE_DIRS = ("", "images", "coco")
# The 2017 release re-packs the 2014 images as `<folder>/<cocoid:012d>.jpg`.
COCO_2017_FOLDERS = ("train2017", "val2017")
LAYOUT_PROBES = 50  # images looked for to find the layout (the first few may be missing from a download)
FLICKR_IMAGE_DIRS = (
    "images", "Images", "flickr30k-images", "flickr30k_images/flickr30k_images", "flickr30k_images",
    "Flicker8k_Dataset", "Flickr8k_Dataset", "",
)


@dataclass(frozen=True)
class KarpathyOptions:
    #: The split file, relative to the corpus root (default: the one `dataset_*.json` found in the
    #: root, `annotations/`, `karpathy/` or `caption_datasets/`).
    annotation_file: str | None = None
    #: Treat `restval` images as `train` (their split becomes train; `extra.karpathy_split` keeps restval).
    restval_as_train: bool = False
    #: Image folder relative to the root (default: found automatically, see COCO_IMAGE_DIRS / FLICKR_IMAGE_DIRS);
    #: for COCO, the folder holding `train2014/`, `val2014/` (or `train2017/`, `val2017/`).
    image_dir: str | None = None
    #: Keep images without sentences (empty caption list) instead of dropping them.
    keep_images_without_captions: bool = False
    #: Accept image paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass(frozen=True)
class KarpathyImage:
    """One validated `images[]` entry of a split file."""

    index: int
    filename: str
    filepath: str | None
    split: str
    captions: tuple[str, ...]
    imgid: int | None
    sentids: list[Any]
    cocoid: int | None
    #: The entry's own problems (a blank sentence, a sentence naming another image): reported only
    #: where the entry is loaded, so that a split not asked for adds nothing to the errors table.
    problems: tuple[LoadProblem, ...] = ()


@dataclass
class KarpathyFile:
    """A parsed split file: its dataset name and images in file order (each with its own problems)."""

    path: Path
    dataset: str
    locate: JsonLocator
    images: list[KarpathyImage] = field(default_factory=list)

    @property
    def is_coco(self) -> bool:
        return self.dataset == "coco"

    def sample_id(self, image: KarpathyImage) -> str:
        if self.is_coco:
            return f"{image.cocoid:012d}"
        return Path(image.filename).stem


@register_corpus("karpathy", KarpathyOptions)
def load_karpathy(corpus_dir: Path, options: KarpathyOptions, split: str | None) -> LoadResult:
    """Karpathy split files (`dataset_coco.json`, `dataset_flickr30k.json`, `dataset_flickr8k.json`).

    `split` is one of train/val/test/restval (None: all).

    Example:
        >>> result = load_karpathy(Path("/data/coco"), KarpathyOptions(restval_as_train=True), "train")
        >>> len(result.samples)  # 82,783 train + 30,504 restval in the real file
        113287

    Raises:
        CorpusNotFoundError: no split file in the corpus root.
        CorpusFormatError: the JSON or an entry is malformed (`file:line:column: images[i]`).
        ConfigError: an unknown split, a split no entry has, or several split files and no
            `annotation_file` option.
    """
    wanted = _check_split(split, options.restval_as_train)
    parsed = parse_karpathy_file(find_karpathy_file(corpus_dir, options.annotation_file))
    require_split(parsed, wanted, restval_as_train=options.restval_as_train)
    entries, repeats = first_entries(parsed, wanted, restval_as_train=options.restval_as_train)
    result = LoadResult(samples=[], problems=repeats)
    layout = _image_layout(corpus_dir, parsed, options.image_dir)
    if layout.coco2017 is not None:
        _warn_coco2017_overlap(parsed)
    locate = parsed.locate
    for entry in entries:
        image, image_split = entry.image, entry.split
        if wanted is not None and image_split != wanted:
            continue
        sample_id = parsed.sample_id(image)
        result.problems.extend(image.problems)
        if not image.captions and not options.keep_images_without_captions:
            result.problems.append(LoadProblem(
                sample_id, locate.where("images", image.index),
                "image has no sentences; dropped (keep_images_without_captions=true keeps it)",
            ))
            continue
        relative = layout.relative(image)
        if relative is None:
            result.problems.append(LoadProblem(
                sample_id, locate.where("images", image.index),
                f"image not found: neither {layout.coco2017_candidates(image)} exists (the COCO 2017 layout "
                f"found for {_file_path(image)}); dropped",
            ))
            continue
        rel = safe_relative_path(
            corpus_dir, relative, where=lambda: locate.where("images", image.index),
            allow_outside=options.allow_outside_root,
        )
        extra: dict[str, Any] = {"dataset": parsed.dataset, "imgid": image.imgid, "sentids": image.sentids,
                                 "karpathy_split": image.split}
        if parsed.is_coco:
            extra["cocoid"] = image.cocoid
        result.samples.append(Sample(
            sample_id=sample_id,
            corpus="karpathy",
            split=image_split,
            group_id=str(image.cocoid) if parsed.is_coco else sample_id,
            image=rel,
            captions=image.captions,
            extra=extra,
        ))
    return result


@dataclass(frozen=True)
class KarpathyEntry:
    """An image's first entry in a split file and the split it loads in (its Karpathy split, or
    `train` for `restval` with restval_as_train=true)."""

    image: KarpathyImage
    split: str


def loaded_split(karpathy_split: str, restval_as_train: bool) -> str:
    """The split an entry of Karpathy split `karpathy_split` loads in."""
    return "train" if restval_as_train and karpathy_split == "restval" else karpathy_split


def require_split(parsed: KarpathyFile, wanted: str | None, *, restval_as_train: bool = False) -> None:
    """Refuse a split no entry of the file has (Flickr's files have no `restval`), as the manifest loader
    does, rather than load nothing and leave the reason unsaid.

    Raises:
        ConfigError: `wanted` is not the split of any entry.
    """
    if wanted is None or not parsed.images:
        return
    present = sorted({loaded_split(image.split, restval_as_train) for image in parsed.images})
    if wanted not in present:
        raise ConfigError(f"no entry of {parsed.path} has split {wanted!r}; splits there: {present}")


def first_entries(parsed: KarpathyFile, wanted: str | None, *,
                  restval_as_train: bool = False) -> tuple[list[KarpathyEntry], list[LoadProblem]]:
    """The first entry of each image in file order, and the problems of the later entries of an image.

    The first entry wins in every loader that reads a split file (`karpathy`, and `flickr30k` with
    karpathy_file), so an image listed in test and then in train stays in test. A later entry is
    reported when it concerns split `wanted` (None: every split), i.e. when it or the first entry
    is in that split; one between two other splits says nothing about the dataset loaded.
    """
    firsts: dict[str, KarpathyEntry] = {}
    problems: list[LoadProblem] = []
    for image in parsed.images:
        sample_id = parsed.sample_id(image)
        entry = KarpathyEntry(image, loaded_split(image.split, restval_as_train))
        first = firsts.get(sample_id)
        if first is None:
            firsts[sample_id] = entry
        elif wanted is None or wanted in (first.split, entry.split):
            problems.append(_repeat_problem(parsed, sample_id, first, entry, wanted))
    return list(firsts.values()), problems


def _repeat_problem(parsed: KarpathyFile, sample_id: str, first: KarpathyEntry, repeat: KarpathyEntry,
                    wanted: str | None) -> LoadProblem:
    """The problem of an entry repeating an image: a duplicate within one split (the splits the entries
    load in, so restval and train are one with restval_as_train=true), a leak between two. When the
    first entry's split is not the one loaded, no row comes from either entry: an entry left out
    (not a `REPEATED_ENTRY`, whose sample has a row)."""
    where = parsed.locate.where("images", repeat.image.index)
    first_at = f"duplicate image {sample_id!r} (first at images[{first.image.index}])"
    karpathy = _karpathy_splits_named(first, repeat)
    if first.split == repeat.split:  # a duplicate: the first entry is loaded whenever this one would be
        return LoadProblem(sample_id, where, f"{first_at} of split {repeat.split!r}{karpathy} left out",
                           REPEATED_ENTRY)
    leak = (f"{first_at}: it is in split {first.split!r} there and in {repeat.split!r} here{karpathy}, "
            f"a leak between them; kept in {first.split!r}")
    if wanted is None or first.split == wanted:
        return LoadProblem(sample_id, where, f"{leak}, this entry left out", REPEATED_ENTRY)
    return LoadProblem(sample_id, where, f"{leak}, which split {wanted!r} leaves out, so the image is in no "
                       "split loaded; this entry left out (list each image once, in one split)")


def _karpathy_splits_named(first: KarpathyEntry, repeat: KarpathyEntry) -> str:
    """` (Karpathy split 'restval' there, 'train' here)` where an entry loads in another split than its
    Karpathy split; empty otherwise."""
    if (first.image.split, repeat.image.split) == (first.split, repeat.split):
        return ""
    return f" (Karpathy split {first.image.split!r} there, {repeat.image.split!r} here)"


def _warn_coco2017_overlap(parsed: KarpathyFile) -> None:
    """Warn that the Karpathy split is read over the 2017 release, whose train2017 holds most of
    Karpathy's val/test images (both are cut from val2014): a model trained on `coco -s train2017`
    has seen them."""
    log.warning(
        "%s: the images are in the COCO 2017 layout (train2017/, val2017/); Karpathy's val and test images come "
        "from val2014 and sit mostly in train2017, so a model trained on `coco --split train2017` has seen the "
        "Karpathy test images; train on this file's train split (restval_as_train=true) to compare with "
        "Karpathy-split results", parsed.path)


def find_karpathy_file(corpus_dir: Path, annotation_file: str | None = None) -> Path:
    """The split file of a corpus: `annotation_file` (relative to the root) or the one found.

    Raises:
        CorpusNotFoundError: the named file or any split file is missing.
        ConfigError: several split files are found and none is named.
    """
    if annotation_file is not None:
        path = corpus_dir / annotation_file
        if not path.is_file():
            raise CorpusNotFoundError(f"Karpathy split file not found: {path} (option annotation_file)")
        return path
    found = [corpus_dir / folder / name for folder in ANNOTATION_DIRS for name in KARPATHY_FILES
             if (corpus_dir / folder / name).is_file()]
    if not found:
        raise CorpusNotFoundError(
            f"no Karpathy split file ({', '.join(KARPATHY_FILES)}) found in {corpus_dir} "
            f"or its {', '.join(d + '/' for d in ANNOTATION_DIRS if d)} folders"
        )
    if len(found) > 1:
        raise ConfigError(
            f"several Karpathy split files in {corpus_dir}: {[str(p.relative_to(corpus_dir)) for p in found]}; "
            "choose one with the option annotation_file=<path>"
        )
    return found[0]


def parse_karpathy_file(path: Path) -> KarpathyFile:
    """Parse and validate a split file strictly (every entry, whatever split is asked for).

    Raises:
        CorpusFormatError: a malformed entry, named `file:line:column: images[i].field`.
    """
    data = read_json(path)
    locate = JsonLocator(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise CorpusFormatError(
            f"{locate.where()}: expected a JSON object with an 'images' list (a Karpathy split file), "
            f"got {short_repr(data, 60)}"
        )
    dataset = _dataset_name(data, path, locate)
    parsed = KarpathyFile(path=path, dataset=dataset, locate=locate)
    for index, entry in enumerate(data["images"]):
        parsed.images.append(_parse_image(entry, index, parsed))
    return parsed


def _parse_image(entry: Any, index: int, parsed: KarpathyFile) -> KarpathyImage:
    locate = parsed.locate

    def where(*steps: str | int) -> str:
        return locate.where("images", index, *steps)

    if not isinstance(entry, dict):
        raise CorpusFormatError(f"{where()}: expected an object, got {short_repr(entry)}")
    filename = expect_text(entry.get("filename"), lambda: where("filename"), "'filename'")
    filepath = None
    if not parsed.is_coco and Path(filename).stem in ("", ".", ".."):
        raise CorpusFormatError(f"{where('filename')}: expected an image file name, got {short_repr(filename)}")
    if parsed.is_coco:
        filepath = expect_text(entry.get("filepath"), lambda: where("filepath"), "'filepath' (e.g. 'val2014')")
    split = entry.get("split")
    if split not in SPLITS:
        raise CorpusFormatError(f"{where('split')}: expected 'split' in {list(SPLITS)}, got {short_repr(split)}")
    imgid = _optional_int(entry, "imgid", where)
    cocoid = _optional_int(entry, "cocoid", where)
    if parsed.is_coco and cocoid is None:
        raise CorpusFormatError(f"{where('cocoid')}: expected integer 'cocoid' in a COCO split file, got nothing")
    sentids = entry.get("sentids", [])
    if not isinstance(sentids, list):
        raise CorpusFormatError(f"{where('sentids')}: expected a list of sentence ids, got {short_repr(sentids)}")
    sentences = entry.get("sentences")
    if not isinstance(sentences, list):
        raise CorpusFormatError(f"{where('sentences')}: expected a list of sentences, got {short_repr(sentences)}")
    captions, blank, problems = [], [], []
    sample_id = f"{cocoid:012d}" if parsed.is_coco else Path(filename).stem
    for number, sentence in enumerate(sentences):
        if not isinstance(sentence, dict):
            raise CorpusFormatError(
                f"{where('sentences', number)}: expected an object with 'raw', got {short_repr(sentence)}"
            )
        raw = expect_text(sentence.get("raw"), lambda: where("sentences", number, "raw"), "'raw'", allow_empty=True)
        if raw.strip():
            captions.append(raw.strip())
        else:
            blank.append(number)
            problems.append(LoadProblem(sample_id, where("sentences", number, "raw"), "blank sentence; ignored"))
        owner = sentence.get("imgid")
        if imgid is not None and owner is not None and owner != imgid:
            problems.append(LoadProblem(
                sample_id, where("sentences", number),
                f"sentence names imgid {short_repr(owner)} but sits in image imgid {imgid}; kept with this image",
            ))
    if blank and len(sentids) == len(sentences):  # sentids[k] names captions[k], as the sentences stand
        sentids = [sentid for number, sentid in enumerate(sentids) if number not in blank]
    return KarpathyImage(index, filename, filepath, split, tuple(captions), imgid, sentids, cocoid, tuple(problems))


def _optional_int(entry: dict[str, Any], key: str, where: Any) -> int | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise CorpusFormatError(f"{where(key)}: expected integer {key!r}, got {short_repr(value)}")
    return value


def _dataset_name(data: dict[str, Any], path: Path, locate: JsonLocator) -> str:
    name = data.get("dataset")
    if name is None:
        stem = path.stem.removeprefix("dataset_")
        images = data["images"]
        return "coco" if stem == "coco" or (images and isinstance(images[0], dict) and "cocoid" in images[0]) else stem
    return expect_text(name, lambda: locate.where("dataset"), "'dataset' (coco, flickr30k or flickr8k)")


def _check_split(split: str | None, restval_as_train: bool) -> str | None:
    if split is None:
        return None
    if split not in SPLITS:
        raise ConfigError(f"unknown Karpathy split {split!r}; expected one of {list(SPLITS)} (or none for all)")
    if split == "restval" and restval_as_train:
        raise ConfigError("split 'restval' is empty with restval_as_train=true (restval images are in 'train')")
    return split


@dataclass(frozen=True)
class ImageLayout:
    """Where a split file's images are: under `base`, as the file names them, or (COCO 2017) as
    `<base>/<train2017|val2017>/<cocoid:012d>.jpg`, with `coco2017` mapping each file name found to its folder."""

    base: str
    coco2017: dict[str, str] | None = None

    def relative(self, image: KarpathyImage) -> str | None:
        """The image's path relative to the corpus root; None: not in the COCO 2017 folders."""
        if self.coco2017 is None:
            relative = _file_path(image)
        else:
            name = f"{image.cocoid:012d}.jpg"
            if name not in self.coco2017:
                return None
            relative = f"{self.coco2017[name]}/{name}"
        return f"{self.base}/{relative}" if self.base else relative

    def coco2017_candidates(self, image: KarpathyImage) -> str:
        base = f"{self.base}/" if self.base else ""
        return " nor ".join(f"{base}{folder}/{image.cocoid:012d}.jpg" for folder in COCO_2017_FOLDERS)


def _file_path(image: KarpathyImage) -> str:
    return f"{image.filepath}/{image.filename}" if image.filepath else image.filename


def _image_layout(corpus_dir: Path, parsed: KarpathyFile, image_dir: str | None) -> ImageLayout:
    image_dir = None if image_dir is None else given_image_dir(image_dir)
    candidates = (image_dir,) if image_dir is not None else (
        COCO_IMAGE_DIRS if parsed.is_coco else FLICKR_IMAGE_DIRS)
    probes = parsed.images[:LAYOUT_PROBES]
    for candidate in candidates:
        if any(is_file_quietly(corpus_dir / candidate / _file_path(image)) for image in probes):
            return ImageLayout(candidate)
    if parsed.is_coco:  # the images as the 2017 release names them, listed once (a stat per image is slow)
        for candidate in candidates:
            names = _coco2017_names(corpus_dir / candidate)
            if names and any(f"{image.cocoid:012d}.jpg" in names for image in parsed.images):
                return ImageLayout(candidate, names)
    if image_dir is not None:
        return ImageLayout(image_dir)
    if parsed.is_coco:
        return ImageLayout("")
    return ImageLayout(next((c for c in candidates if c and (corpus_dir / c).is_dir()), ""))


def _coco2017_names(folder: Path) -> dict[str, str]:
    """File name -> `train2017`/`val2017` for the files of those folders under `folder`."""
    names: dict[str, str] = {}
    for release_folder in COCO_2017_FOLDERS:
        try:
            with os.scandir(folder / release_folder) as entries:
                for entry in entries:
                    names.setdefault(entry.name, release_folder)
        except OSError:  # no such folder (or unreadable): nothing found there
            continue
    return names


def is_file_quietly(path: Path) -> bool:
    """`path.is_file()`, False also for names the file system refuses (too long, bad bytes)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
