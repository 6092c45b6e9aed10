"""Flickr30K captions: the official `results_20130124.token`, Kaggle's `results.csv` or `captions.txt`.

results_20130124.token lines look like (the index may have several digits: `#10`):
    1000092795.jpg#0<TAB>Two young guys with shaggy hair look at their hands while hanging out in the yard .
results.csv (Kaggle) is pipe-separated with spaces, and one real row lacks its second `|` (read as
`number caption`, reported as a load problem):
    image_name| comment_number| comment
    1000092795.jpg| 0| Two young guys with shaggy hair look at their hands while hanging out in the yard .
captions.txt (Kaggle, with images in `Images/`) is a comma CSV, quoted where a caption has a comma; a
caption's number is its place among its image's rows (some copies have `image_name,comment_number,comment`):
    image,caption
    1000092795.jpg,"Two young , White males are outside near many bushes ."
The first line tells the format, whatever the file's name. One sample per image, captions ordered
by their index; sample_id = group_id = the file stem (`1000092795`), as the `karpathy` loader gives
Flickr images. These files carry no split: every sample is in split `all`
unless the option `karpathy_file` names a `dataset_flickr30k.json` to take train/val/test from (an
image listed there twice keeps its first split, as with the `karpathy` loader; an image not listed
there is kept in split `all`, reported, when no split or `all` is asked).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    LoadProblem,
    LoadResult,
    given_image_dir,
    read_text,
    register_corpus,
    safe_relative_path,
    short_repr,
)
from mmdata.corpora.karpathy import SPLITS, first_entries, is_file_quietly, parse_karpathy_file, require_split
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

TOKEN_FILES = ("results_20130124.token", "results.token", "captions.token")
CSV_FILES = ("results.csv", "captions.txt")
ANNOTATION_DIRS = ("", "annotations", "flickr30k_images", "flickr30k")
IMAGE_DIRS = ("flickr30k-images", "flickr30k_images/flickr30k_images", "flickr30k_images", "images", "Images", "")
CSV_HEADER = ("image_name", "comment_number", "comment")
#: Headers of the comma-separated captions files (Kaggle's captions.txt variants), lower-cased.
COMMA_HEADERS = (("image", "caption"), CSV_HEADER)
TOKEN_LINE = "'<image>#<n>\\t<caption>'"


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


@dataclass
class CaptionFile:
    """Captions per image name in first-appearance order: {name: {index: caption}}, with row problems."""

    path: Path
    captions: dict[str, dict[int, str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # image name -> first line
    problems: list[LoadProblem] = field(default_factory=list)

    def add(self, image: str, index: int, caption: str, line: int) -> None:
        if not caption:
            self.problems.append(LoadProblem(_stem(image), f"{self.path}:{line}", "empty caption; row skipped"))
            return
        per_image = self.captions.setdefault(image, {})
        self.lines.setdefault(image, line)
        if index in per_image:
            self.problems.append(LoadProblem(
                _stem(image), f"{self.path}:{line}", f"duplicate caption #{index} of {image}; the later one is ignored"
            ))
            return
        per_image[index] = caption


@register_corpus("flickr30k", Flickr30kOptions)
def load_flickr30k(corpus_dir: Path, options: Flickr30kOptions, split: str | None) -> LoadResult:
    """Flickr30K captions (`results_20130124.token`, Kaggle's `results.csv`, `captions.txt`), one sample per image.

    `split`: none or `all` for every image; train/val/test/restval need the option `karpathy_file`.

    Example:
        >>> result = load_flickr30k(Path("/data/flickr30k"), Flickr30kOptions(), None)
        >>> len(result.samples), len(result.samples[0].captions)
        (31783, 5)

    Raises:
        CorpusNotFoundError: no captions file (or the named Karpathy file is missing).
        CorpusFormatError: a malformed line, named `file:line` with what was expected and found.
        ConfigError: a split without `karpathy_file`, an unknown split or one the Karpathy file does not
            have, or a COCO `karpathy_file`.
    """
    _check_split(split, options.karpathy_file)
    wanted = None if split in (None, "all") else split
    path = _captions_path(corpus_dir, options.captions_file)
    parsed = parse_captions_file(path)
    splits, repeats = _karpathy_splits(corpus_dir, options.karpathy_file, wanted)
    result = LoadResult(samples=[], problems=_problems_in_split(parsed.problems, splits, wanted) + repeats)
    image_dir = _image_dir(corpus_dir, next(iter(parsed.captions), None), options.image_dir)
    seen: dict[str, str] = {}
    for image, by_index in parsed.captions.items():
        sample_id, where = _stem(image), f"{path}:{parsed.lines[image]}"
        if sample_id in seen:
            result.problems.append(LoadProblem(
                sample_id, where, f"{image} and {seen[sample_id]} give the same sample id {sample_id!r}; {image} left out",
                REPEATED_ENTRY,
            ))
            continue
        seen[sample_id] = image
        image_split = "all" if splits is None else splits.get(Path(image).name, "all")
        if wanted is not None and image_split != wanted:
            continue
        if splits is not None and Path(image).name not in splits:  # reported only where it is kept
            result.problems.append(LoadProblem(
                sample_id, where, f"{image} is not in {options.karpathy_file}; kept with split 'all'"
            ))
        rel = safe_relative_path(
            corpus_dir, f"{image_dir}/{image}" if image_dir else image, where=where,
            allow_outside=options.allow_outside_root,
        )
        numbers = sorted(by_index)
        result.samples.append(Sample(
            sample_id=sample_id,
            corpus="flickr30k",
            split=image_split,
            group_id=sample_id,
            image=rel,
            captions=tuple(by_index[n] for n in numbers),
            extra={"caption_numbers": numbers},
        ))
    return result


def parse_captions_file(path: Path) -> CaptionFile:
    """Parse a captions file in the format its first non-blank line shows: the `results.csv` or a
    comma-separated header, else `<image>#<n>\\t<caption>` lines (a `.csv` file must have a header)."""
    first = _first_line(path)
    if tuple(f.strip() for f in first.split("|")) == CSV_HEADER:
        return parse_results_csv(path)
    if tuple(f.strip().lower() for f in first.split(",")) in COMMA_HEADERS:
        return parse_comma_csv(path)
    return parse_results_csv(path) if path.suffix.lower() == ".csv" else parse_token_file(path)


def parse_token_file(path: Path) -> CaptionFile:
    """Parse `<image>#<n>\\t<caption>` lines: split on the first tab (a tab inside a caption stays) and
    on the last `#` (so `#10` works); blank lines are skipped.

    Raises:
        CorpusFormatError: `file:line: expected '<image>#<n>\\t<caption>', got '...'`.
    """
    parsed = CaptionFile(path)
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        image, hash_sign, index = key.strip().rpartition("#")
        if not tab or not hash_sign or not image or not (index.isascii() and index.isdigit()):
            raise CorpusFormatError(f"{path}:{number}: expected {TOKEN_LINE}, got {short_repr(line)}")
        parsed.add(_image_name(image, path, number), int(index), caption.strip(), number)
    return parsed


def parse_results_csv(path: Path) -> CaptionFile:
    """Parse Kaggle's `results.csv` (`image_name| comment_number| comment`). A row missing a `|`
    (a known quirk of the real file) becomes a problem naming `file:line`, not a crash.

    Raises:
        CorpusFormatError: a wrong header, a row with no `|`, or a non-integer comment_number.
    """
    parsed = CaptionFile(path)
    header_seen = False
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split("|", 2)
        if not header_seen:
            if tuple(f.strip() for f in line.split("|")) != CSV_HEADER:
                raise CorpusFormatError(
                    f"{path}:{number}: expected the header {'| '.join(CSV_HEADER)!r}, got {short_repr(line)}"
                )
            header_seen = True
            continue
        if len(fields) == 1:
            raise CorpusFormatError(
                f"{path}:{number}: expected 'image_name| comment_number| comment', got {short_repr(line)}"
            )
        image = _image_name(fields[0].strip(), path, number)
        if len(fields) == 2:
            repaired = _MISSING_PIPE.match(fields[1])
            parsed.problems.append(LoadProblem(
                _stem(image), f"{path}:{number}",
                f"expected 3 '|'-separated fields (image_name| comment_number| comment), found 2 in "
                f"{short_repr(line)}; " + ("read as comment_number and comment (the known row of Kaggle's file "
                                           "missing its second '|')" if repaired else
                                           "row skipped (add the missing '|' to keep it)"),
            ))
            if repaired is None:
                continue
            fields = [fields[0], repaired.group(1), repaired.group(2)]
        index = fields[1].strip()
        if not (index.isascii() and index.isdigit()):
            raise CorpusFormatError(
                f"{path}:{number}: expected an integer comment_number, got {short_repr(fields[1])} in {short_repr(line)}"
            )
        parsed.add(image, int(index), fields[2].strip(), number)
    if not header_seen:
        raise CorpusFormatError(f"{path}:1: empty file, expected the header {'| '.join(CSV_HEADER)!r}")
    return parsed


#: The second field of a results.csv row whose second '|' is missing: "<number> <comment>"
#: (Kaggle's file has one: `2199200615.jpg| 4   A dog runs across the grass .`).
_MISSING_PIPE = re.compile(r"^\s*(\d+)\s+(\S.*)$")


def parse_comma_csv(path: Path) -> CaptionFile:
    """Parse a comma-separated captions file with the header `image,caption` (a caption's number is
    its place among its image's rows) or `image_name,comment_number,comment`. A caption is the rest
    of the row, so an unquoted comma inside it is kept.

    Raises:
        CorpusFormatError: a wrong header, a row with too few fields or a non-integer comment_number.
    """
    parsed = CaptionFile(path)
    reader = csv.reader(io.StringIO(read_text(path)), strict=True)
    header: tuple[str, ...] | None = None
    rows_per_image: dict[str, int] = {}
    end = 0
    try:
        for values in reader:
            number, end = end + 1, reader.line_num  # the row's first and last line
            if end != number:  # captions are one line: a row over several has a quote left open
                raise CorpusFormatError(
                    f"{path}:{number}: a quoted field runs on to line {end}; expected one row per line "
                    f"(is a '\"' not closed?), got {short_repr(','.join(values))}"
                )
            if not any(v.strip() for v in values):
                continue
            if header is None:
                header = tuple(v.strip().lower() for v in values)
                if header not in COMMA_HEADERS:
                    raise CorpusFormatError(
                        f"{path}:{number}: expected the header 'image,caption' or "
                        f"'image_name,comment_number,comment', got {short_repr(','.join(values))}"
                    )
                continue
            if len(values) < len(header):
                raise CorpusFormatError(
                    f"{path}:{number}: expected {','.join(header)!r}, got {short_repr(','.join(values))}"
                )
            image = _image_name(values[0].strip(), path, number)
            if len(header) == 2:
                index = rows_per_image.get(image, 0)
                rows_per_image[image] = index + 1
            else:
                text = values[1].strip()
                if not (text.isascii() and text.isdigit()):
                    raise CorpusFormatError(
                        f"{path}:{number}: expected an integer comment_number, got {short_repr(values[1])}"
                    )
                index = int(text)
            parsed.add(image, index, ",".join(values[len(header) - 1:]).strip(), number)
    except csv.Error as e:
        raise CorpusFormatError(f"{path}:{reader.line_num}: {e}") from e
    if header is None:
        raise CorpusFormatError(f"{path}:1: empty file, expected the header 'image,caption'")
    return parsed


def _first_line(path: Path) -> str:
    """The first non-blank line of a text file (enough of it to tell a header), or ''."""
    with path.open(encoding="utf-8-sig", errors="replace") as f:
        for line in f:
            if line.strip():
                return line[:200]
    return ""


def _image_name(image: str, path: Path, number: int) -> str:
    if not image or _stem(image) in ("", ".", ".."):
        raise CorpusFormatError(f"{path}:{number}: expected an image file name, got {short_repr(image)}")
    return image


def _stem(image: str) -> str:
    return Path(image).stem


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
    )


def _karpathy_splits(corpus_dir: Path, karpathy_file: str | None,
                     wanted: str | None) -> tuple[dict[str, str] | None, list[LoadProblem]]:
    """(image file name -> Karpathy split, or None without a Karpathy file; the file's problems).

    An image listed twice keeps its first entry's split, as the `karpathy` loader does (`first_entries`);
    the problems are the repeats that concern split `wanted` (None: every split). The file's sentences
    are not read here (the captions come from the captions file), so their problems are not reported.

    Raises:
        CorpusNotFoundError: the file is missing.
        ConfigError: a COCO split file, or `wanted` is the split of no entry (Flickr's file has no restval).
    """
    if karpathy_file is None:
        return None, []
    path = corpus_dir / karpathy_file
    if not path.is_file():
        raise CorpusNotFoundError(f"Karpathy split file not found: {path} (option karpathy_file)")
    parsed = parse_karpathy_file(path)
    if parsed.is_coco:  # no file name would match: every image would land in split 'all'
        raise ConfigError(
            f"{path} is the Karpathy split file of COCO (option karpathy_file); Flickr30K's is dataset_flickr30k.json"
        )
    require_split(parsed, wanted)
    entries, repeats = first_entries(parsed, wanted)
    return {Path(entry.image.filename).name: entry.split for entry in entries}, repeats


def _problems_in_split(problems: list[LoadProblem], splits: dict[str, str] | None,
                       wanted: str | None) -> list[LoadProblem]:
    """The captions file's problems of images in split `wanted` (all of them for no split): a row of an
    image the split leaves out says nothing about the dataset loaded, and the errors table would count
    it as an entry left out."""
    if wanted is None or splits is None:
        return list(problems)
    split_of = {_stem(name): split for name, split in splits.items()}
    return [p for p in problems if p.sample_id is None or split_of.get(p.sample_id, "all") == wanted]


def _image_dir(corpus_dir: Path, first_image: str | None, image_dir: str | None) -> str:
    if image_dir is not None:
        return given_image_dir(image_dir)
    if first_image is not None:
        for candidate in IMAGE_DIRS:
            if is_file_quietly(corpus_dir / candidate / first_image):
                return candidate
    return next((c for c in IMAGE_DIRS if c and (corpus_dir / c).is_dir()), "")
