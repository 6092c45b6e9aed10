"""Flickr caption files and the samples they give, shared by the `flickr30k` and `flickr8k` loaders.

Three formats, told by the first line whatever the file's name. Token files (Flickr30K's
`results_20130124.token`, Flickr8K's `Flickr8k.token.txt`; the index may have several digits: `#10`):
    1000092795.jpg#0<TAB>Two young guys with shaggy hair look at their hands while hanging out in the yard .
results.csv (Kaggle's Flickr30K) is pipe-separated with spaces, and one real row lacks its second `|`
(read as `number caption`, reported as a load problem):
    image_name| comment_number| comment
    1000092795.jpg| 0| Two young guys with shaggy hair look at their hands while hanging out in the yard .
captions.txt (Kaggle's Flickr30K and Flickr8K, with images in `Images/`) is a comma CSV, quoted where a
caption has a comma; a caption's number is its place among its image's rows (some copies have
`image_name,comment_number,comment`):
    image,caption
    1000092795.jpg,"Two young , White males are outside near many bushes ."
One sample per image, captions ordered by their index; sample_id = group_id = the file stem
(`1000092795`), as the `karpathy` loader gives Flickr images.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    LoadProblem,
    given_image_dir,
    read_text,
    safe_relative_path,
    short_repr,
)
from mmdata.corpora.karpathy import first_entries, is_file_quietly, parse_karpathy_file, require_split
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

CSV_HEADER = ("image_name", "comment_number", "comment")
#: Headers of the comma-separated captions files (Kaggle's captions.txt variants), lower-cased.
COMMA_HEADERS = (("image", "caption"), CSV_HEADER)
TOKEN_LINE = "'<image>#<n>\\t<caption>'"
#: Display names of the datasets a Karpathy split file may be of, for errors.
KARPATHY_DATASETS = {"coco": "COCO", "flickr30k": "Flickr30K", "flickr8k": "Flickr8K"}


@dataclass
class CaptionFile:
    """Captions per image name in first-appearance order: {name: {index: caption}}, with row problems."""

    path: Path
    captions: dict[str, dict[int, str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # image name -> first line
    problems: list[LoadProblem] = field(default_factory=list)

    def add(self, image: str, index: int, caption: str, line: int) -> None:
        if not caption:
            self.problems.append(LoadProblem(image_stem(image), f"{self.path}:{line}", "empty caption; row skipped"))
            return
        per_image = self.captions.setdefault(image, {})
        self.lines.setdefault(image, line)
        if index in per_image:
            self.problems.append(LoadProblem(
                image_stem(image), f"{self.path}:{line}", f"duplicate caption #{index} of {image}; the later one is ignored"
            ))
            return
        per_image[index] = caption

    def leave_out(self, image: str) -> dict[int, str]:
        """Remove an image's captions (an entry the loader cannot use); returns them."""
        return self.captions.pop(image)



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
                image_stem(image), f"{path}:{number}",
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
    if not image or image_stem(image) in ("", ".", ".."):
        raise CorpusFormatError(f"{path}:{number}: expected an image file name, got {short_repr(image)}")
    return image


def image_stem(image: str) -> str:
    """The sample id of an image file name: its stem (`1000092795.jpg` -> `1000092795`)."""
    return Path(image).stem


@dataclass(frozen=True)
class SplitAssignment:
    """The split each image loads in: `splits` maps image file names to splits (None: the corpus files
    carry none). An image not listed there is in split `unlisted`; with `unlisted_reason` (a function
    of the image name) it is also reported, where it is loaded."""

    splits: dict[str, str] | None = None
    unlisted: str = "all"
    unlisted_reason: Callable[[str], str] | None = None

    def split_of(self, image: str) -> str:
        return self.unlisted if self.splits is None else self.splits.get(Path(image).name, self.unlisted)

    def is_listed(self, image: str) -> bool:
        return self.splits is not None and Path(image).name in self.splits


def caption_samples(corpus_dir: Path, parsed: CaptionFile, assignment: SplitAssignment, wanted: str | None, *,
                    corpus: str, image_dir: str, allow_outside: bool) -> tuple[list[Sample], list[LoadProblem]]:
    """One sample per image of `parsed` in split `wanted` (None: every split), its captions ordered by
    their index, and the problems met: two names with one stem (the later left out), unlisted images
    where `assignment` reports them.

    Raises:
        CorpusFormatError: an image path outside the corpus root without `allow_outside`.
    """
    samples: list[Sample] = []
    problems: list[LoadProblem] = []
    seen: dict[str, str] = {}
    for image, by_index in parsed.captions.items():
        sample_id, where = image_stem(image), f"{parsed.path}:{parsed.lines[image]}"
        if sample_id in seen:
            problems.append(LoadProblem(
                sample_id, where,
                f"{image} and {seen[sample_id]} give the same sample id {sample_id!r}; {image} left out", REPEATED_ENTRY,
            ))
            continue
        seen[sample_id] = image
        image_split = assignment.split_of(image)
        if wanted is not None and image_split != wanted:
            continue
        if assignment.unlisted_reason is not None and assignment.splits is not None \
                and not assignment.is_listed(image):  # reported only where it is kept
            problems.append(LoadProblem(sample_id, where, assignment.unlisted_reason(image)))
        rel = safe_relative_path(
            corpus_dir, f"{image_dir}/{image}" if image_dir else image, where=where, allow_outside=allow_outside,
        )
        numbers = sorted(by_index)
        samples.append(Sample(
            sample_id=sample_id,
            corpus=corpus,
            split=image_split,
            group_id=sample_id,
            image=rel,
            captions=tuple(by_index[n] for n in numbers),
            extra={"caption_numbers": numbers},
        ))
    return samples, problems


def problems_in_split(problems: list[LoadProblem], assignment: SplitAssignment,
                      wanted: str | None) -> list[LoadProblem]:
    """The captions file's problems of images in split `wanted` (all of them for no split): a row of an
    image the split leaves out says nothing about the dataset loaded, and the errors table would count
    it as an entry left out."""
    if wanted is None or assignment.splits is None:
        return list(problems)
    split_of = {image_stem(name): split for name, split in assignment.splits.items()}
    return [p for p in problems if p.sample_id is None or split_of.get(p.sample_id, assignment.unlisted) == wanted]


def find_image_dir(corpus_dir: Path, probes: list[str], candidates: tuple[str, ...], image_dir: str | None) -> str:
    """The image folder: `image_dir` as given, else the first candidate holding one of the `probes`
    (image names), else the first candidate folder there, else the root."""
    if image_dir is not None:
        return given_image_dir(image_dir)
    for candidate in candidates:
        if any(is_file_quietly(corpus_dir / candidate / name) for name in probes):
            return candidate
    return next((c for c in candidates if c and (corpus_dir / c).is_dir()), "")


def karpathy_splits(corpus_dir: Path, karpathy_file: str, wanted: str | None, *, dataset: str, refused: tuple[str, ...],
                    extra_splits: tuple[str, ...] = ()) -> tuple[dict[str, str], list[LoadProblem]]:
    """(image file name -> Karpathy split; the file's problems) for the `karpathy_file` option of a
    loader of `dataset` (`flickr30k`, `flickr8k`); `extra_splits` are the loader's own names for images
    the file does not list, which no entry has.

    An image listed twice keeps its first entry's split, as the `karpathy` loader does (`first_entries`);
    the problems are the repeats that concern split `wanted` (None: every split). The file's sentences
    are not read here (the captions come from the captions file), so their problems are not reported.

    Raises:
        CorpusNotFoundError: the file is missing.
        ConfigError: a split file of a dataset in `refused` (no file name would match: every image
            would be unlisted), or `wanted` is the split of no entry (Flickr's files have no restval).
    """
    path = corpus_dir / karpathy_file
    if not path.is_file():
        raise CorpusNotFoundError(f"Karpathy split file not found: {path} (option karpathy_file)")
    parsed = parse_karpathy_file(path)
    if parsed.dataset in refused:
        raise ConfigError(
            f"{path} is the Karpathy split file of {KARPATHY_DATASETS.get(parsed.dataset, parsed.dataset)} "
            f"(option karpathy_file); {KARPATHY_DATASETS[dataset]}'s is dataset_{dataset}.json"
        )
    if wanted not in extra_splits:
        require_split(parsed, wanted)
    entries, repeats = first_entries(parsed, wanted)
    return {Path(entry.image.filename).name: entry.split for entry in entries}, repeats
