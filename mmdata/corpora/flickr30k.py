"""Flickr30K captions: the official `results_20130124.token`, Kaggle's `results.csv` or `captions.txt`.

results_20130124.token lines look like (the index may have several digits: `#10`):
    1000092795.jpg#0<TAB>Two young guys with shaggy hair look at their hands while hanging out in the yard .
Kaggle's `results.csv` (`image_name| comment_number| comment`) and `captions.txt` (`image,caption`) are
read too; the first line tells the format, whatever the file's name (the parsers and their quirks are
in `flickr_captions.py`, shared with the `flickr8k` loader). One sample per image, captions ordered
by their index; sample_id = group_id = the file stem (`1000092795`), as the `karpathy` loader gives
Flickr images. These files carry no split: every sample is in split `all`
unless the option `karpathy_file` names a `dataset_flickr30k.json` to take train/val/test from (an
image listed there twice keeps its first split, as with the `karpathy` loader; an image not listed
there is kept in split `all`, reported, when no split or `all` is asked).
A Flickr8K folder (its `Flickr8k.token.txt`) is refused naming the `flickr8k` kind; a Kaggle copy of
Flickr8K (`captions.txt` + `Images/`) loads, with a warning naming that kind.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mmdata.corpora.base import LoadResult, register_corpus
from mmdata.corpora.flickr8k import flickr8k_layout_hint, looks_like_flickr8k
from mmdata.corpora.flickr_captions import (
    SplitAssignment,
    caption_samples,
    find_image_dir,
    karpathy_splits,
    parse_captions_file,
    problems_in_split,
)
from mmdata.corpora.karpathy import SPLITS
from mmdata.errors import ConfigError, CorpusNotFoundError

log = logging.getLogger(__name__)

TOKEN_FILES = ("results_20130124.token", "results.token", "captions.token")
CSV_FILES = ("results.csv", "captions.txt")
ANNOTATION_DIRS = ("", "annotations", "flickr30k_images", "flickr30k")
IMAGE_DIRS = ("flickr30k-images", "flickr30k_images/flickr30k_images", "flickr30k_images", "images", "Images", "")


@dataclass(frozen=True)
class Flickr30kOptions:
    #: Captions file relative to the root, in any of the formats above, told by its first line
    #: (default: the first of TOKEN_FILES, then CSV_FILES, in the root, `annotations/`, `flickr30k_images/`).
    captions_file: str | None = None
    #: Karpathy split file relative to the root (e.g. `dataset_flickr30k.json`) giving train/val/test.
    karpathy_file: str | None = None
    #: Image folder relative to the root (default: found automatically, see IMAGE_DIRS).
    image_dir: str | None = None
    #: Accept image paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False



@register_corpus("flickr30k", Flickr30kOptions)
def load_flickr30k(corpus_dir: Path, options: Flickr30kOptions, split: str | None) -> LoadResult:
    """Flickr30K captions (`results_20130124.token`, Kaggle's `results.csv`, `captions.txt`), one sample per image.

    `split`: none or `all` for every image; train/val/test/restval need the option `karpathy_file`.

    Example:
        >>> result = load_flickr30k(Path("/data/flickr30k"), Flickr30kOptions(), None)
        >>> len(result.samples), len(result.samples[0].captions)
        (31783, 5)

    Raises:
        CorpusNotFoundError: no captions file (or the named Karpathy file is missing); in a Flickr8K
            folder, the error names the `flickr8k` kind.
        CorpusFormatError: a malformed line, named `file:line` with what was expected and found.
        ConfigError: a split without `karpathy_file`, an unknown split or one the Karpathy file does not
            have, or a COCO `karpathy_file`.
    """
    _check_split(split, options.karpathy_file)
    wanted = None if split in (None, "all") else split
    path = _captions_path(corpus_dir, options.captions_file)
    parsed = parse_captions_file(path)
    _warn_if_flickr8k(path, list(parsed.captions))
    assignment, repeats = SplitAssignment(), []
    if options.karpathy_file is not None:
        splits, repeats = karpathy_splits(corpus_dir, options.karpathy_file, wanted, dataset="flickr30k",
                                          refused=("coco",))
        assignment = SplitAssignment(
            splits, unlisted_reason=lambda image: f"{image} is not in {options.karpathy_file}; kept with split 'all'")
    image_dir = find_image_dir(corpus_dir, list(parsed.captions)[:1], IMAGE_DIRS, options.image_dir)
    samples, problems = caption_samples(corpus_dir, parsed, assignment, wanted, corpus="flickr30k",
                                        image_dir=image_dir, allow_outside=options.allow_outside_root)
    return LoadResult(samples=samples, problems=problems_in_split(parsed.problems, assignment, wanted) + repeats
                      + problems)


def _warn_if_flickr8k(path: Path, images: list[str]) -> None:
    """Warn that a Flickr8K captions file (Kaggle's copy: `captions.txt` + `Images/`) is read as Flickr30K."""
    if looks_like_flickr8k(images):
        log.warning(
            "%s: the image names look like Flickr8K's (%s); `mmdata extract flickr8k` reads this copy too, "
            "with corpus 'flickr8k' and the official splits where the Flickr_8k.*Images.txt files are there",
            path, images[0])


def _check_split(split: str | None, karpathy_file: str | None) -> None:
    if split in (None, "all"):
        return
    if karpathy_file is None:
        raise ConfigError(
            f"split {split!r} asked, but Flickr30K caption files carry no split; pass the option "
            "karpathy_file=dataset_flickr30k.json to take splits from a Karpathy file, or no split"
        )
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; expected one of {['all', *SPLITS]}")


def _captions_path(corpus_dir: Path, captions_file: str | None) -> Path:
    if captions_file is not None:
        path = corpus_dir / captions_file
        if not path.is_file():
            raise CorpusNotFoundError(f"Flickr30K captions file not found: {path} (option captions_file)")
        return path
    for name in (*TOKEN_FILES, *CSV_FILES):
        for folder in ANNOTATION_DIRS:
            if (corpus_dir / folder / name).is_file():
                return corpus_dir / folder / name
    raise CorpusNotFoundError(
        f"no Flickr30K captions file ({', '.join(TOKEN_FILES + CSV_FILES)}) found in {corpus_dir} "
        f"or its {', '.join(d + '/' for d in ANNOTATION_DIRS if d)} folders; name one with captions_file=<path>"
        + flickr8k_layout_hint(corpus_dir)
    )
