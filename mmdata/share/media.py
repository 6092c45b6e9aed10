"""Embedding media files into the samples table (`mmdata share --media embed`).

The samples table keeps its path columns (its schema is what every mmdata stage reads) and gains
one column per embedded medium, `<column>_file: struct<bytes: binary, path: string>`, what
`datasets.Image` and `datasets.Audio` store:

    image "val2017/000000000100.jpg"   -> image_file {"bytes": <the JPEG as it is>, "path": "val2017/000000000100.jpg"}
    audio "wav/clip.wav" (whole file)  -> audio_file {"bytes": <the file as it is>, "path": "wav/clip.wav"}
    audio "wav/talk.wav", start 1.5, end 3.0
                                       -> audio_file {"bytes": <FLAC of that segment, mono>,
                                                      "path": "wav/talk.wav@1.500-3.000.flac"}

A file outside the corpus root (an absolute path) is read from there and named as the share publishes
its path (`<outside corpus>/x.jpg`, `share.redact`).

Images are never re-encoded. Audio is copied as it is when the row is a whole soundfile-readable
file (decoded once first, as `extract` reads it, so a truncated or garbage file is not shared as
if it were sound); a segment, or audio inside a container (MP4, ...), is decoded and stored as FLAC, so each
row holds exactly its own sound (a segment of a long recording holds that segment only, never the
whole recording). The FLAC keeps the samples of a 16-bit source exactly; a source of more bits
(24/32-bit or float WAV) is stored with 24 bits, FLAC's most, rather than cut to 16. A file that
cannot be read, or an image that does not decode
(truncated, corrupt), leaves a null and is reported. Sharing a share again keeps its embedded
files; a cell it left null is reported again (`missing_kept_media`).
"""
from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from mmdata.corpora.base import resolve_media
from mmdata.errors import MediaError
from mmdata.media.files import media_file_problem
from mmdata.media.tar_members import read_media_bytes, tar_member
from mmdata.share.hf import MEDIA_TYPE, MediaKind

log = logging.getLogger(__name__)

#: Columns of the samples table that can be embedded, and their `datasets` type.
EMBEDDABLE: dict[str, MediaKind] = {"image": "image", "audio": "audio"}
EMBEDDED_SUFFIX = "_file"
_RAW_AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3"})
#: Source sample formats (soundfile subtypes) finer than 16 bits: their segments are stored as 24-bit FLAC.
_FINER_THAN_16_BITS = frozenset({"PCM_24", "PCM_32", "FLOAT", "DOUBLE"})


@dataclass(frozen=True)
class MissingMedia:
    """A media file that could not be embedded (its cell is left null)."""

    sample_id: str
    column: str
    path: str
    reason: str


def media_columns(table: pa.Table) -> dict[str, MediaKind]:
    """The embeddable columns that name at least one file in `table`."""
    return {c: kind for c, kind in EMBEDDABLE.items() if c in table.column_names and table.column(c).null_count < len(table)}


def embedded_columns(table: pa.Table) -> dict[str, MediaKind]:
    """The path columns whose files `table` already holds (a samples table shared with media='embed')."""
    return {c: kind for c, kind in EMBEDDABLE.items() if embedded_name(c) in table.column_names}


def embedded_name(column: str) -> str:
    """The column that holds the embedded files of a path column (`image` -> `image_file`)."""
    return f"{column}{EMBEDDED_SUFFIX}"


def embed_media(table: pa.Table, corpus_root: Path, columns: dict[str, MediaKind],
                published: Callable[[str], str] = str) -> tuple[pa.Table, list[MissingMedia]]:
    """Append `<column>_file` with the embedded files of each path column in `columns` (see the module
    docstring); each file is read from its path, and its `path` field is that path as `published`
    gives it (a share names no folder of the producer's machine: `share.redact`)."""
    missing: list[MissingMedia] = []
    rows = table.select(["sample_id", "start", "end", *columns]).to_pylist()
    for column in columns:
        cells = []
        for row in rows:
            relative = row[column]
            if relative is None:
                cells.append(None)
                continue
            try:
                cells.append(_embed_one(column, relative, row, corpus_root, published(relative)))
            except (OSError, MediaError) as e:
                missing.append(MissingMedia(row["sample_id"], column, relative, str(e)))
                log.warning("cannot embed %s of sample %s: %s", column, row["sample_id"], e)
                cells.append(None)
        table = table.append_column(pa.field(embedded_name(column), MEDIA_TYPE), pa.array(cells, MEDIA_TYPE))
    return table, missing


def count_media_files(table: pa.Table, columns: dict[str, MediaKind]) -> int:
    """How many files the path `columns` of `table` name (the cells `embed_media` tries to embed)."""
    return sum(len(table) - table.column(c).null_count for c in columns)


def missing_kept_media(table: pa.Table, kept: dict[str, MediaKind]) -> list[MissingMedia]:
    """The files a shared samples table names but does not hold (its `<column>_file` cell is null):
    the share it comes from could not read them, and a share made from it lacks them too."""
    missing = []
    for column in kept:
        rows = table.select(["sample_id", column, embedded_name(column)]).to_pylist()
        missing += [MissingMedia(row["sample_id"], column, row[column],
                                 "not embedded in the share this one was made from (it could not be read there)")
                    for row in rows if row[column] is not None and row[embedded_name(column)] is None]
    return missing


def _embed_one(column: str, relative: str, row: dict[str, Any], corpus_root: Path, name: str) -> dict[str, Any]:
    """The embedded file of one cell: read from `relative` (under `corpus_root`), named `name`."""
    path = resolve_media(corpus_root, relative)
    _require_media_file(path, column)
    whole = row["start"] is None and row["end"] is None
    if column == "image":
        _require_decodable_image(path)
        return {"bytes": read_media_bytes(path, "image"), "path": name}  # a file, or a member of a tar
    if whole and path.suffix.lower() in _RAW_AUDIO_SUFFIXES:
        _require_decodable_audio(path)
        return {"bytes": path.read_bytes(), "path": name}
    return {"bytes": _flac_segment(path, row["start"], row["end"]), "path": _segment_name(name, row)}


def _require_media_file(path: Path, column: str) -> None:
    """Refuse a path that is no readable file before anything reads it, saying what it is (a folder,
    a broken link, a FIFO, which is never opened, ...: `media_file_problem`).

    Raises:
        MediaError: the reason; where nothing is at the path, with the hint for a corpus that moved.
    """
    problem = media_file_problem(path, column)
    if problem is None:
        return
    if tar_member(path) is None and not os.path.lexists(path):  # nothing there (a tar member: the tar says why)
        problem = f"{problem}; pass the corpus root (--corpus-root) if it moved"
    raise MediaError(problem)


def _require_decodable_image(path: Path) -> None:
    """Decode the image once, as `extract` does (JPEGs at their smallest DCT scale, which still reads
    every coefficient, so a truncated file fails): a corrupt or truncated file shared as it is would
    stop `datasets` at that row.

    Raises:
        MediaError: the file cannot be decoded; the message names it.
    """
    from mmdata.media.image import open_image

    open_image(path, min_size=1)


def _require_decodable_audio(path: Path) -> None:
    """Decode the whole file once, with the reader `extract` uses: a truncated or garbage file copied
    as it is would stop `datasets` at its row (a segment is decoded anyway, to cut it to FLAC).

    Raises:
        MediaError: the file cannot be decoded; the message names it.
    """
    from mmdata.media.audio import load_audio

    load_audio(path, on_silence="allow")


def _flac_segment(path: Path, start: float | None, end: float | None) -> bytes:
    import soundfile

    from mmdata.media.audio import load_audio

    segment = load_audio(path, start=start, end=end, on_silence="allow")
    buffer = io.BytesIO()
    soundfile.write(buffer, segment.samples, segment.sample_rate, format="FLAC", subtype=_flac_subtype(path))
    return buffer.getvalue()


def _flac_subtype(path: Path) -> str:
    """PCM_24 for a source finer than 16 bits (so its segments lose nothing FLAC can hold), else PCM_16."""
    import soundfile

    if path.suffix.lower() not in _RAW_AUDIO_SUFFIXES:  # a container's audio (AAC, ...): decoded by PyAV
        return "PCM_16"
    try:
        subtype = soundfile.info(str(path)).subtype
    except RuntimeError:  # soundfile cannot read it (mmdata's own WAV reader did): 16 bits, as before
        return "PCM_16"
    return "PCM_24" if subtype in _FINER_THAN_16_BITS else "PCM_16"


def _segment_name(relative: str, row: dict[str, Any]) -> str:
    if row["start"] is None and row["end"] is None:
        return f"{relative}.flac"
    start = 0.0 if row["start"] is None else row["start"]
    end = "end" if row["end"] is None else f"{row['end']:.3f}"
    return f"{relative}@{start:.3f}-{end}.flac"
