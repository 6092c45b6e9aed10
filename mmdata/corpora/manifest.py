r"""Generic manifests: one row per sample in JSONL or CSV, naming media files and their text.

manifest.jsonl lines look like:
    {"id": "clip-001", "video": "videos/a.mp4", "start": 1.5, "end": 4.0, "text": "hello there", "label": 1, "split": "train"}
    {"image": "images/cat.jpg", "captions": ["a cat", "a cat on a mat"], "license": "cc-by"}
manifest.csv looks like (a comma-separated header row; `captions` cells are `|`-separated, `\|` is a literal `|`):
    id,image,captions,split
    cat-1,images/cat.jpg,a cat|a cat on a mat,train

Columns; every one is optional, but a row names at least one medium or one text:
    id                  sample id (string or integer). Default: the first media path without its suffix
                        (`images/cat`), plus `@<start>-<end>` for a segment; `line-<n>` for a text-only row.
                        A row whose default id an earlier row with other media took (`images/cat.png` after
                        `images/cat.jpg`) keeps its suffix (`images/cat.png`).
    image, audio, video media paths relative to the corpus root (the manifest's folder). A path that is not on
                        disk as written but is with `/` for `\` (a manifest written on Windows) or in the
                        other Unicode normal form (NFC/NFD, e.g. names from macOS) is read as it is on disk.
    start, end          segment bounds in seconds within audio/video (0 <= start < end), counted from the start of
                        the media file as a player or `ffmpeg -ss` counts them: a file whose time line starts after 0
                        (an MPEG-TS capture's 1.4 s, an MP4 cut from a stream) has its first timestamp added, so the
                        samples table holds the segment in the file's own time line (where decoders and tables put
                        frames) and `extra.media_start` records the start added.
    media_start         where the file's time line starts (seconds) when the row's start/end count from it; overrides
                        the start read from the file: 0 takes start/end as the file's own timestamps. Kept in `extra`,
                        as is `duration` (the medium's length), which `check` holds whole clips to.
    captions            a list of strings (JSONL) or one `|`-separated cell (CSV; `\|` for a `|` inside a caption;
                        a blank piece, `a dog| |`, is a blank caption, as in a JSONL list).
    caption             one caption.
    text                one text: the transcript of an audio/video row, else the caption of the row.
                        A row gives at most one of captions, caption and text. A blank caption or text is
                        left out, a problem of the row (errors table); a row with nothing else is left out.
    split               default `all`.
    label               a number or a numeric string (the primary label, e.g. a sentiment score).
    group_id            leakage group (default: the first media path, symlinked folders followed, so that one file
                        reached as `imgs/x.jpg` and `images/x.jpg` is one group; else the id).
    anything else       kept in `extra` (JSONL values as they are; CSV cells as strings, empty cells left out).
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    LoadProblem,
    LoadResult,
    _resolved,
    _resolved_file,
    expect_text,
    posix_path,
    read_csv_rows,
    read_text,
    register_corpus,
    safe_relative_path,
    short_repr,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.media.audio import SOUNDFILE_SUFFIXES
from mmdata.options import did_you_mean
from mmdata.records import Sample

log = logging.getLogger(__name__)

ManifestFormat = Literal["auto", "jsonl", "csv"]
MANIFEST_FILES = ("manifest.jsonl", "manifest.csv")
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
#: A `|` in a CSV `captions` cell separates captions unless escaped as `\|`.
_CAPTION_SEPARATOR = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class ManifestOptions:
    #: The manifest file relative to the corpus root (default: manifest.jsonl, manifest.csv, else the
    #: only `*.jsonl` or `*.csv` file in the root).
    manifest_file: str | None = None
    #: `auto` picks the format from the file suffix (`.jsonl`/`.ndjson` or `.csv`).
    file_format: ManifestFormat = "auto"
    #: Accept media paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@register_corpus("manifest", ManifestOptions)
def load_manifest(corpus_dir: Path, options: ManifestOptions, split: str | None) -> LoadResult:
    """A JSONL or CSV manifest with one row per sample (format in the module docstring).

    Example:
        >>> result = load_manifest(Path("/data/clips"), ManifestOptions(manifest_file="train.jsonl"), None)
        >>> result.samples[0].video, result.samples[0].start
        ('videos/a.mp4', 1.5)

    Raises:
        CorpusNotFoundError: no manifest file.
        CorpusFormatError: a malformed row, named `file:line` with what was expected and found (a row
            whose segment is empty or reversed, end <= start, is a load problem instead: left out).
        ConfigError: a split no row has, or an ambiguous manifest file.
    """
    path = find_manifest_file(corpus_dir, options.manifest_file)
    file_format = options.file_format if options.file_format != "auto" else _format_of(path)
    result = LoadResult(samples=[])
    rows = read_jsonl_rows(path, result.problems) if file_format == "jsonl" else _read_csv(path)
    seen: dict[str, int] = {}
    seen_media: dict[str, tuple[Any, ...]] = {}
    splits: set[str] = set()
    origins: dict[str, float] = {}
    for line, row in rows:
        sample = _row_to_sample(row, f"{path}:{line}", line, corpus_dir, options.allow_outside_root, result.problems)
        if sample is None:
            continue
        if sample.sample_id in seen and row.get("id") is None:
            sample = _with_suffixed_id(sample, seen_media.get(sample.sample_id))
        if sample.sample_id in seen:
            derived = "" if row.get("id") is not None else (
                "; this id comes from the row's media path, give the rows an 'id' column to keep both")
            result.problems.append(LoadProblem(
                sample.sample_id, f"{path}:{line}",
                f"duplicate sample id {sample.sample_id!r} (first on line {seen[sample.sample_id]}); row left out"
                + derived,
                REPEATED_ENTRY,
            ))
            continue
        seen[sample.sample_id] = line
        seen_media[sample.sample_id] = _media_of(sample)
        sample = _on_file_time_line(sample, row, f"{path}:{line}", corpus_dir, origins, result.problems)
        if sample is None:
            continue
        splits.add(sample.split)
        if split is None or sample.split == split:
            result.samples.append(sample)
    if split is not None and split not in splits and rows:
        raise ConfigError(f"no row of {path} has split {split!r}; splits there: {sorted(splits)}")
    _warn_near_misses(path, rows)
    return result


def _warn_near_misses(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """One warning per column that mmdata does not read but whose name is close to one it does
    (`img`, `caption_text`): kept in `extra`, its media or text would be lost without a word."""
    unknown = dict.fromkeys(c for _, row in rows for c in row if c not in KNOWN_COLUMNS | EXTRA_COLUMNS)
    for column in unknown:
        hint = did_you_mean(column, sorted(KNOWN_COLUMNS))
        if hint:
            log.warning("%s: column %r is not one mmdata reads, so it is kept in extra%s", path, column, hint)


def find_manifest_file(corpus_dir: Path, manifest_file: str | None = None) -> Path:
    """The manifest of a corpus root: the named file, a `manifest.jsonl|csv`, or the only JSONL/CSV file."""
    if manifest_file is not None:
        path = corpus_dir / manifest_file
        if not path.is_file():
            raise CorpusNotFoundError(f"manifest file not found: {path} (option manifest_file)")
        return path
    if not corpus_dir.is_dir():
        raise CorpusNotFoundError(f"corpus root not found: {corpus_dir}")
    for name in MANIFEST_FILES:
        if (corpus_dir / name).is_file():
            return corpus_dir / name
    found = sorted(p for p in corpus_dir.iterdir() if p.suffix.lower() in (".jsonl", ".ndjson", ".csv") and p.is_file())
    if not found:
        raise CorpusNotFoundError(f"no manifest (manifest.jsonl, manifest.csv or another *.jsonl/*.csv) in {corpus_dir}")
    if len(found) > 1:
        raise ConfigError(
            f"several possible manifests in {corpus_dir}: {[p.name for p in found]}; choose one with manifest_file=<name>"
        )
    return found[0]


def read_jsonl_rows(path: Path, problems: list[LoadProblem] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file.

    With `problems`, a line that is not valid UTF-8 is left out and reported there (one bad
    caption costs one row, recorded in the errors table); without, it fails the whole file.

    Raises:
        CorpusFormatError: `file:line:column: invalid JSON (...)` or a line that is not an object.
    """
    rows = []
    lines = read_text(path).split("\n") if problems is None else _utf8_lines(path, problems)
    for number, line in enumerate(lines, start=1):
        if line is None or not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise CorpusFormatError(f"{path}:{number}:{e.colno}: invalid JSON ({e.msg}) in {short_repr(line)}") from e
        except RecursionError as e:
            raise CorpusFormatError(f"{path}:{number}: JSON nested too deeply") from e
        if not isinstance(row, dict):
            raise CorpusFormatError(f"{path}:{number}: expected a JSON object per line, got {short_repr(row)}")
        rows.append((number, row))
    return rows


def _utf8_lines(path: Path, problems: list[LoadProblem]) -> list[str | None]:
    """The lines of a file; one that is not valid UTF-8 becomes None and a LoadProblem naming `file:line`."""
    lines: list[str | None] = []
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as e:
            problems.append(LoadProblem(None, f"{path}:{number}", f"not valid UTF-8 (byte {raw[e.start]:#04x} at "
                                        f"column {e.start + 1}); row left out, re-encode the file as UTF-8"))
            lines.append(None)
    return lines


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    header, rows = read_csv_rows(path)
    if len(set(header)) != len(header):
        raise CorpusFormatError(f"{path}:1: repeated column names in the header {header}")
    if len(header) == 1 and any(sep in header[0] for sep in "\t;"):
        raise CorpusFormatError(
            f"{path}:1: the header {short_repr(header[0])} is one column; a CSV manifest is comma-separated"
        )
    # CSV cells are strings: empty cells mean "absent", captions are `|`-separated (`\|` is a literal `|`).
    out = []
    for line, row in rows:
        values: dict[str, Any] = {k: v for k, v in row.items() if v != ""}
        if "captions" in values:
            values["captions"] = _caption_pieces(values["captions"])
        out.append((line, values))
    return out


def _caption_pieces(cell: str) -> list[str]:
    """The captions of a CSV `captions` cell, split on `|` (`\\|` is a literal `|`) and stripped.

    A blank piece (`a dog| |`) is kept, so that `_texts` reports it as it does a blank caption of a
    JSONL list; a cell of blank pieces only (`|`) is one blank caption, reported the same way.
    """
    pieces = [c.replace("\\|", "|").strip() for c in _CAPTION_SEPARATOR.split(cell)]
    return pieces if any(pieces) else [""]


def _row_to_sample(row: dict[str, Any], where: str, line: int, corpus_dir: Path, allow_outside: bool,
                   problems: list[LoadProblem]) -> Sample | None:
    """The row's sample; None when its only text is blank (a problem in `problems`, as a COCO blank caption)."""
    media = {}
    for column in MEDIA_COLUMNS:
        if row.get(column) is not None:
            value = _spelling_on_disk(corpus_dir, expect_text(row[column], where, f"{column!r} (a media path)"))
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
    file that cannot be opened (extraction reports it)."""
    if path.suffix.lower() in _STARTS_AT_ZERO:
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
        raise CorpusFormatError(
            f"{e}; 'label' is the sample's numeric target (a score, or a class index); keep a class name in a "
            "column of another name (e.g. 'category'), which goes to the sample's `extra`") from None


def _number(value: Any, where: str, what: str) -> float | None:
    if value is None:
        return None
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if abs(value) < 1e308 else math.inf
    elif isinstance(value, str) and "_" not in value:  # float() reads "1_0" as 10
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise CorpusFormatError(f"{where}: expected {what} as a finite number, got {short_repr(value)}")
    return number


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


def _format_of(path: Path) -> Literal["jsonl", "csv"]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise ConfigError(f"cannot tell the format of manifest {path.name!r} from its suffix; pass file_format=jsonl|csv")
