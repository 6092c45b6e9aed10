r"""Generic manifests: one row per sample in JSONL, a JSON array, CSV/TSV or Parquet, naming media files
and their text (reading the files: `mmdata.corpora.manifest_files`).

manifest.jsonl lines look like:
    {"id": "clip-001", "video": "videos/a.mp4", "start": 1.5, "end": 4.0, "text": "hello there", "label": 1, "split": "train"}
    {"image": "images/cat.jpg", "captions": ["a cat", "a cat on a mat"], "license": "cc-by"}
manifest.csv looks like (a comma-separated header row; `captions` cells are `|`-separated, `\|` is a literal `|`):
    id,image,captions,split
    cat-1,images/cat.jpg,a cat|a cat on a mat,train
or `;`-separated with decimal commas, as Excel writes it in some locales (`mmdata.corpora.manifest_csv`):
    id;image;captions;label
    cat-1;images/cat.jpg;a cat, sitting|a cat on a mat;-0,5

Columns (names read in any case, surrounding spaces ignored: `Image `, `ID`); every one is optional, but
a row names at least one medium or one text:
    id                  sample id (string or integer; a CSV cell as written: `007` stays `007`). Default: the first
                        media path without its suffix (`images/cat`), plus `@<start>-<end>` for a segment;
                        `line-<n>` for a text-only row.
                        A row whose default id an earlier row with other media took (`images/cat.png` after
                        `images/cat.jpg`) keeps its suffix (`images/cat.png`).
    image, audio, video media paths relative to the corpus root (the manifest's folder). A path that is not on
                        disk as written but is with `/` for `\` (a manifest written on Windows) or in the
                        other Unicode normal form (NFC/NFD, e.g. names from macOS) is read as it is on disk.
                        `~/` is the home folder (outside the root: allow_outside_root); a URL or a Windows
                        drive path (`C:\...`) is refused, naming the row.
    start, end          segment bounds in seconds within audio/video (0 <= start < end), counted from the start of
                        the media file as a player or `ffmpeg -ss` counts them: a file whose time line starts after 0
                        (an MPEG-TS capture's 1.4 s, an MP4 cut from a stream) has its first timestamp added, so the
                        samples table holds the segment in the file's own time line (where decoders and tables put
                        frames) and `extra.media_start` records the start added.
    media_start         where the file's time line starts (seconds) when the row's start/end count from it; overrides
                        the start read from the file: 0 takes start/end as the file's own timestamps. Kept in `extra`,
                        as is `duration` (the medium's length), which `check` holds whole clips to.
    captions            a list of strings (JSON, Parquet) or one `|`-separated cell (CSV; `\|` for a `|` inside a
                        caption; a blank piece, `a dog| |`, is a blank caption, as in a JSONL list); a CSV cell
                        holding a list as JSON or pandas' `to_csv` writes it (`['a cat', 'a mat']`) is that list.
    caption             one caption.
    text                one text: the transcript of an audio/video row, else the caption of the row.
                        A row gives at most one of captions, caption and text. A blank caption or text is
                        left out, a problem of the row (errors table); a row with nothing else is left out.
    split               default `all`.
    label               a number or a numeric string (the primary label, e.g. a sentiment score); NaN is refused.
                        In a `;`-separated CSV a decimal comma is read as a point (`-0,5`), in start/end too.
    group_id            leakage group (default: the first media path, symlinked folders followed, so that one file
                        reached as `imgs/x.jpg` and `images/x.jpg` is one group; else the id).
    anything else       kept in `extra` (JSON values as they are; CSV cells as strings, empty cells left out;
                        Parquet nulls left out, timestamps as ISO 8601 text).
"""
from __future__ import annotations

import logging
import math
import os
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    LoadProblem,
    LoadResult,
    _resolved,
    _resolved_file,
    expect_text,
    posix_path,
    register_corpus,
    safe_relative_path,
    short_repr,
)
from mmdata.corpora.manifest_csv import check_delimiter
from mmdata.corpora.manifest_files import (
    ManifestFormat,
    check_encoding,
    find_manifest_file,
    format_of,
    read_manifest_rows,
    row_location,
)
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.media.audio import SOUNDFILE_SUFFIXES
from mmdata.media.files import is_regular_file
from mmdata.options import did_you_mean
from mmdata.records import Sample

log = logging.getLogger(__name__)

MEDIA_COLUMNS = ("image", "audio", "video")
TEXT_COLUMNS = ("captions", "caption", "text")
KNOWN_COLUMNS = frozenset(("id", "split", "label", "group_id", "start", "end", *MEDIA_COLUMNS, *TEXT_COLUMNS))
#: Columns mmdata reads that stay in `extra` too (`check` reads them there: `mmdata.records.START_KEYS`).
EXTRA_COLUMNS = frozenset(("media_start", "duration"))
#: Media the segment decoders read from 0 s whatever the file says (libsndfile: `mmdata.media.audio`).
_STARTS_AT_ZERO = frozenset(SOUNDFILE_SUFFIXES)
#: Audio and video files of one row whose time lines start further apart than this (seconds) cannot
#: share one segment.
_ORIGIN_TOLERANCE = 1e-3
#: A media path that is a URL (`https://...`, `file:///...`) rather than a file under the root.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: A Windows absolute path (`C:\data\cat.jpg`), which names no file under the root on another system.
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
#: A decimal comma (`0,5`), as spreadsheets write numbers where `,` is the decimal separator.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")


@dataclass(frozen=True)
class ManifestOptions:
    #: The manifest file relative to the corpus root (default: manifest.jsonl, .csv, .tsv, else the only
    #: `*.jsonl`, `*.csv` or `*.tsv` file in the root, else manifest.json, .parquet).
    manifest_file: str | None = None
    #: `auto` picks the format from the file suffix (`.jsonl`/`.ndjson`, `.json`, `.csv`, `.tsv`, `.parquet`).
    file_format: ManifestFormat = "auto"
    #: Accept media paths outside the corpus root (`../`, absolute, `~/`, symlinks out).
    allow_outside_root: bool = False
    #: The text encoding of a JSONL/JSON/CSV/TSV file (a UTF-16 file is read by its byte order mark):
    #: `cp1252` for Excel's plain "CSV" on Windows.
    encoding: str = "utf-8"
    #: What separates the cells of a CSV/TSV file: `auto` (a `sep=X` first line, else tabs in a TSV, else
    #: `;` where the header names its columns only so, else `,`), `,`/`comma`, `;`/`semicolon` or `tab`.
    delimiter: str = "auto"


@register_corpus("manifest", ManifestOptions)
def load_manifest(corpus_dir: Path, options: ManifestOptions, split: str | None) -> LoadResult:
    """A JSONL, JSON, CSV/TSV or Parquet manifest with one row per sample (format in the module docstring).

    Example:
        >>> result = load_manifest(Path("/data/clips"), ManifestOptions(manifest_file="train.jsonl"), None)
        >>> result.samples[0].video, result.samples[0].start
        ('videos/a.mp4', 1.5)

    Raises:
        CorpusNotFoundError: no manifest file.
        CorpusFormatError: a malformed row, named `file:line` with what was expected and found (a row
            whose segment is empty or reversed, end <= start, is a load problem instead: left out).
        ConfigError: a split no row has, an ambiguous manifest file, an unknown encoding or delimiter.
    """
    check_encoding(options.encoding)
    path = find_manifest_file(corpus_dir, options.manifest_file)
    file_format = options.file_format if options.file_format != "auto" else format_of(path)
    delimiter = check_delimiter(options.delimiter, file_format)
    result = LoadResult(samples=[])
    rows = read_manifest_rows(path, file_format, options.encoding, result.problems, KNOWN_COLUMNS | EXTRA_COLUMNS,
                              delimiter)
    unit = "row" if file_format == "parquet" else "line"
    seen: dict[str, int] = {}
    seen_media: dict[str, tuple[Any, ...]] = {}
    splits: set[str] = set()
    origins: dict[str, float] = {}
    for line, row in rows:
        where = row_location(path, file_format, line)
        sample = _row_to_sample(row, where, line, corpus_dir, options.allow_outside_root, result.problems)
        if sample is None:
            continue
        if sample.sample_id in seen and row.get("id") is None:
            sample = _with_suffixed_id(sample, seen_media.get(sample.sample_id))
        if sample.sample_id in seen:
            derived = "" if row.get("id") is not None else (
                "; this id comes from the row's media path, give the rows an 'id' column to keep both")
            result.problems.append(LoadProblem(
                sample.sample_id, where,
                f"duplicate sample id {sample.sample_id!r} (first on {unit} {seen[sample.sample_id]}); row left out"
                + derived,
                REPEATED_ENTRY,
            ))
            continue
        seen[sample.sample_id] = line
        seen_media[sample.sample_id] = _media_of(sample)
        sample = _on_file_time_line(sample, row, where, corpus_dir, origins, result.problems)
        if sample is None:
            continue
        splits.add(sample.split)
        if split is None or sample.split == split:
            result.samples.append(sample)
    if split is not None and split not in splits and rows:
        raise ConfigError(f"no row of {path} has split {split!r}; splits there: {sorted(splits)}"
                          + did_you_mean(split, sorted(splits)))
    _warn_near_misses(path, rows)
    _warn_split_spellings(path, splits)
    return result


def _warn_split_spellings(path: Path, splits: set[str]) -> None:
    """One warning per split written in several cases (`Train` and `train`): they load as separate
    splits, as written, which is rarely what the rows meant."""
    spellings: dict[str, list[str]] = {}
    for name in sorted(splits):
        spellings.setdefault(name.strip().casefold(), []).append(name)
    for names in spellings.values():
        if len(names) > 1:
            log.warning("%s: splits %s differ only in case or spaces and load as separate splits; write them alike",
                        path, names)


def _warn_near_misses(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """One warning per column that mmdata does not read but whose name is close to one it does
    (`img`, `caption_text`): kept in `extra`, its media or text would be lost without a word."""
    read = KNOWN_COLUMNS | EXTRA_COLUMNS  # built once, not once per cell (1.5 million in 300,000 rows)
    unknown = dict.fromkeys(c for _, row in rows for c in row if c not in read)
    for column in unknown:
        hint = did_you_mean(column, sorted(KNOWN_COLUMNS))
        if hint:
            log.warning("%s: column %r is not one mmdata reads, so it is kept in extra%s", path, column, hint)


def _row_to_sample(row: dict[str, Any], where: str, line: int, corpus_dir: Path, allow_outside: bool,
                   problems: list[LoadProblem]) -> Sample | None:
    """The row's sample; None when its only text is blank (a problem in `problems`, as a COCO blank caption)."""
    media = {}
    for column in MEDIA_COLUMNS:
        if row.get(column) is not None:
            value = _local_path(expect_text(row[column], where, f"{column!r} (a media path)"), column, where)
            value = _spelling_on_disk(corpus_dir, value)
            media[column] = safe_relative_path(corpus_dir, value, where=where, allow_outside=allow_outside)
    start, end = _seconds(row, "start", where), _seconds(row, "end", where)
    if (start is not None or end is not None) and not (media.get("audio") or media.get("video")):
        raise CorpusFormatError(f"{where}: 'start'/'end' need an 'audio' or 'video' path in the same row")
    if start is not None and end is not None and end <= start:
        problems.append(_empty_segment_problem(row, media, start, end, where, line))
        return None
    captions, transcript, blank = _texts(row, where, has_av=bool(media.get("audio") or media.get("video")))
    if not media and not captions and transcript is None and not blank:
        given = [c for c in TEXT_COLUMNS if c in row]
        if given:
            blank = [f"{given[0]!r} is empty"]
        else:
            unknown = [c for c in row if c not in KNOWN_COLUMNS]
            hints = "".join(did_you_mean(c, MEDIA_COLUMNS + TEXT_COLUMNS) for c in unknown)
            raise CorpusFormatError(
                f"{where}: expected at least one of {list(MEDIA_COLUMNS + TEXT_COLUMNS)}, got columns "
                f"{sorted(row)[:12]}" + (f" ({hints.removeprefix('; ')})" if hints else ""))
    sample_id = _identifier(row.get("id"), where, "'id'")
    if sample_id is None:
        sample_id = _default_id(media, start, end, line)
    if blank and not media and not captions and transcript is None:
        problems.append(LoadProblem(sample_id, where, f"{'; '.join(blank)}: the row names no medium and no other "
                                    "text; row left out"))
        return None
    problems.extend(LoadProblem(sample_id, where, f"{what}; ignored") for what in blank)
    group_id = _identifier(row.get("group_id"), where, "'group_id'")
    first_media = next((media[c] for c in MEDIA_COLUMNS if c in media), None)
    split = expect_text(row["split"], where, "'split'") if row.get("split") is not None else "all"
    return Sample(
        sample_id=sample_id,
        corpus="manifest",
        split=split,
        group_id=group_id or (first_media and _path_on_disk(corpus_dir, first_media)) or sample_id,
        image=media.get("image"),
        audio=media.get("audio"),
        video=media.get("video"),
        start=start,
        end=end,
        captions=captions,
        transcript=transcript,
        label=_label(row.get("label"), where),
        extra={k: v for k, v in row.items() if k not in KNOWN_COLUMNS},
    )


def _on_file_time_line(sample: Sample, row: dict[str, Any], where: str, corpus_dir: Path, origins: dict[str, float],
                       problems: list[LoadProblem]) -> Sample | None:
    """`sample` with its segment moved onto its media file's time line: the row counts seconds from the
    start of the file (`media_start`, else the file's first timestamp, `media_time_origin`), decoders and
    tables from the file's timestamps. None (a problem in `problems`) when the row's audio and video
    files start at different times, which one segment cannot follow. A row without a segment is kept
    as it is (the whole file is read)."""
    if sample.start is None and sample.end is None:
        return sample
    given = _number(row.get("media_start"), where, "'media_start' (seconds)")
    if given is not None and given < 0:
        raise CorpusFormatError(f"{where}: expected 'media_start' >= 0 seconds, got {given}")
    if given is None:
        files = dict.fromkeys(p for p in (sample.video, sample.audio) if p)
        starts = {p: origins[p] if p in origins else origins.setdefault(p, media_time_origin(corpus_dir / p))
                  for p in files}
        if max(starts.values()) - min(starts.values()) > _ORIGIN_TOLERANCE:
            problems.append(LoadProblem(sample.sample_id, where, (
                f"the audio and video files' time lines start at {starts[sample.audio]:g} s and "
                f"{starts[sample.video]:g} s, so one segment cannot be both; row left out, give it a 'media_start' "
                "column (the time its start/end count from, in both files' timestamps) or one row per file")))
            return None
        given = starts[next(iter(files))]
        if given == 0:
            return sample
    return replace(sample, start=(sample.start or 0.0) + given, end=None if sample.end is None else sample.end + given,
                   extra={**sample.extra, "media_start": row.get("media_start", round(given, 6))})


def media_time_origin(path: Path) -> float:
    """Where `path`'s time line starts (seconds): the container's first timestamp, as `ffmpeg -ss` and
    players count from it (an MPEG-TS file's 1.4 s muxing delay, an MP4 cut with its timestamps kept);
    0 for audio the decoders read from 0 (WAV, FLAC, MP3, ...), a start before 0 (encoder priming), and a
    file that cannot be opened (extraction reports it), and a path that is no regular file (a FIFO would
    make the open wait forever)."""
    if path.suffix.lower() in _STARTS_AT_ZERO or not is_regular_file(path):
        return 0.0
    import av

    try:
        with av.open(str(path)) as container:
            start = container.start_time
    except (av.FFmpegError, ValueError, OSError):
        return 0.0
    return max(0.0, start / 1e6) if start is not None else 0.0


def _path_on_disk(corpus_dir: Path, relative: str) -> str:
    """`relative` (a media path inside the root) as the file sits under the resolved root, symlinked
    folders followed: `imgs/x.jpg` with `imgs -> images` is `images/x.jpg`. The default group id, so
    that the split-leak check sees one file reached by two spellings; the media column keeps the path
    as spelled. A path outside the root (allow_outside_root=true) is kept as it is."""
    if os.path.isabs(relative):
        return relative
    root = _resolved(str(corpus_dir))
    resolved = _resolved_file(os.path.join(str(corpus_dir), relative))
    if not resolved.startswith(root.rstrip(os.sep) + os.sep):
        return relative
    return posix_path(os.path.relpath(resolved, root))


def _empty_segment_problem(row: dict[str, Any], media: dict[str, str], start: float, end: float, where: str,
                           line: int) -> LoadProblem:
    """The load problem of a row whose segment is empty or reversed (end <= start): the row is left out,
    the others load (as the csd loader leaves out one such segment)."""
    sample_id = _identifier(row.get("id"), where, "'id'") or _default_id(media, start, end, line)
    kind = "zero-length" if end == start else "reversed"
    return LoadProblem(sample_id, where, f"{kind} segment: expected end > start, got start={start} end={end}; "
                       "row left out, fix its 'start'/'end' (seconds)")


def _texts(row: dict[str, Any], where: str, *, has_av: bool) -> tuple[tuple[str, ...], str | None, list[str]]:
    """(captions, transcript, blank): the row's text, and what it held that is blank (left out,
    a problem of the row: one blank caption costs that caption, as in COCO files)."""
    given = [c for c in TEXT_COLUMNS if row.get(c) is not None]
    if len(given) > 1:
        raise CorpusFormatError(f"{where}: expected at most one of {list(TEXT_COLUMNS)}, got {given}")
    if not given:
        return (), None, []
    value = row[given[0]]
    if given[0] == "captions":
        if not isinstance(value, list):
            raise CorpusFormatError(f"{where}: expected 'captions' as a list of strings, got {short_repr(value)}")
        texts = [expect_text(c, where, "each of 'captions'", allow_empty=True) for c in value]
        blank = [f"blank caption #{i + 1} of 'captions'" for i, c in enumerate(texts) if not c.strip()]
        return tuple(c for c in texts if c.strip()), None, blank
    text = expect_text(value, where, repr(given[0]), allow_empty=True)
    if not text.strip():
        return (), None, [f"blank {given[0]!r}"]
    if given[0] == "text" and has_av:
        return (), text, []
    return (text,), None, []


def _seconds(row: dict[str, Any], column: str, where: str) -> float | None:
    value = _number(row.get(column), where, f"{column!r} (seconds)")
    if value is not None and value < 0:
        raise CorpusFormatError(f"{where}: expected {column!r} >= 0 seconds, got {value}")
    return value


def _label(value: Any, where: str) -> float | None:
    """The row's numeric label; a class name is refused with the way to keep it."""
    try:
        return _number(value, where, "'label'")
    except CorpusFormatError as e:
        if not isinstance(value, str) or _parsed_float(value) is not None or _DECIMAL_COMMA.fullmatch(value.strip()):
            raise  # NaN, inf or a decimal comma: its own hint says what to write
        raise CorpusFormatError(
            f"{e}; 'label' is the sample's numeric target (a score, or a class index); keep a class name in a "
            "column of another name (e.g. 'category'), which goes to the sample's `extra`") from None


def _number(value: Any, where: str, what: str) -> float | None:
    if value is None:
        return None
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if abs(value) < 1e308 else math.inf
    elif isinstance(value, str):
        number = _parsed_float(value)
    if number is None or not math.isfinite(number):
        hint = ""
        if number is not None:
            hint = "; leave the cell empty (null) where there is no value"
        elif isinstance(value, str) and _DECIMAL_COMMA.fullmatch(value.strip()):
            hint = f"; write the decimal separator as '.' ({value.strip().replace(',', '.')})"
        raise CorpusFormatError(f"{where}: expected {what} as a finite number, got {short_repr(value)}{hint}")
    return number


def _parsed_float(text: str) -> float | None:
    if "_" in text:  # float() reads "1_0" as 10
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _local_path(value: str, column: str, where: str) -> str:
    """`value` as a path to look up under the root, `~/` expanded; a URL or a Windows drive path, which
    name no file there, is refused with what to write instead."""
    text = value.strip()
    if _URL.match(text):
        raise CorpusFormatError(
            f"{where}: expected {column!r} as a file path relative to the corpus root, got the URL {short_repr(text)}; "
            "download the files under the corpus root and give their paths")
    if _WINDOWS_DRIVE.match(text) and os.name != "nt":
        raise CorpusFormatError(
            f"{where}: expected {column!r} as a path relative to the corpus root, got the Windows path "
            f"{short_repr(text)}; write it relative to the manifest's folder (e.g. images/cat.jpg)")
    return os.path.expanduser(value) if value.startswith("~") else value


def _spelling_on_disk(corpus_dir: Path, path: str) -> str:
    """`path`, or the spelling of it that exists on disk: `/` for `\\` (a manifest written on Windows), or
    the other Unicode normal form (names written on macOS are NFD, typed ones usually NFC). Plain
    ASCII paths cost nothing; others one `lexists` each, and only when not found as written."""
    if path.isascii() and "\\" not in path:
        return path
    if os.path.lexists(os.path.join(corpus_dir, path)):
        return path
    slashed = path.replace("\\", "/") if os.sep == "/" else path
    for candidate in (slashed, unicodedata.normalize("NFC", slashed), unicodedata.normalize("NFD", slashed)):
        if candidate != path and os.path.lexists(os.path.join(corpus_dir, candidate)):
            return candidate
    return slashed


def _identifier(value: Any, where: str, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return expect_text(value, where, f"{what} (a string or an integer)").strip()


def _default_id(media: dict[str, str], start: float | None, end: float | None, line: int, *,
                suffix: bool = False) -> str:
    first = next((media[c] for c in MEDIA_COLUMNS if c in media), None)
    if first is None:
        return f"line-{line:06d}"
    base = PurePosixPath(first).with_suffix("").as_posix() if PurePosixPath(first).suffix and not suffix else first
    if start is None and end is None:
        return base
    return f"{base}@{start or 0.0:.3f}-{'' if end is None else f'{end:.3f}'}"


def _media_of(sample: Sample) -> tuple[Any, ...]:
    return sample.image, sample.audio, sample.video, sample.start, sample.end


def _with_suffixed_id(sample: Sample, earlier_media: tuple[Any, ...] | None) -> Sample:
    """A sample whose default id an earlier row took: the same id when that row named the same media
    (a repeated row, reported as such), else the id with the media path's suffix kept."""
    if earlier_media is None or earlier_media == _media_of(sample):
        return sample
    media = {c: getattr(sample, c) for c in MEDIA_COLUMNS if getattr(sample, c) is not None}
    suffixed = _default_id(media, sample.start, sample.end, 0, suffix=True)
    if suffixed == sample.sample_id:
        return sample
    return replace(sample, sample_id=suffixed)
