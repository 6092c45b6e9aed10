"""A small gallery of samples: image thumbnails with their captions, transcripts with a waveform.

Samples are picked round-robin over the splits (first rows of each), so every split shows up.
Media come from the corpus root (paths in the samples table) or, in a shared dataset made with
`--media embed`, from the embedded `image_file`/`audio_file` columns. A file that cannot be read
gets a note instead of a picture, so the page never shows a broken image; a corpus root that is not
a directory is also logged once, as a warning.
"""
from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.corpora.base import resolve_media
from mmdata.errors import MediaError
from mmdata.media.files import media_file_problem
from mmdata.media.tar_members import tar_member
from mmdata.records import text_items
from mmdata.store.reader import Dataset

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = 240
_COLUMNS = ["sample_id", "split", "image", "audio", "video", "start", "end", "captions", "transcript", "label"]
_EMBEDDED = ("image_file", "audio_file")


@dataclass
class GalleryItem:
    """One sample of the gallery; pictures are encoded bytes with their MIME type."""

    sample_id: str
    split: str
    label: float | None
    texts: list[str]
    image: tuple[bytes, str] | None = None  # (JPEG bytes, "image/jpeg")
    waveform: tuple[bytes, str] | None = None  # (PNG bytes, "image/png")
    notes: list[str] = field(default_factory=list)  # media that could not be shown, and why


def gallery_items(dataset: Dataset, corpus_root: Path | None, max_items: int = 12) -> list[GalleryItem]:
    """Up to `max_items` samples with their thumbnails, waveforms and texts (`corpus_root` None: where
    the corpus lies is unknown, as for a shared dataset; its files are named, not shown)."""
    samples = dataset.samples()
    names = samples.schema.names
    columns = [c for c in _COLUMNS if c in names] + [c for c in _EMBEDDED if c in names]
    with dataset.reading():
        splits = samples.to_table(columns=["split"]).column("split").to_pylist()
        rows = samples.take(_pick(splits, max_items), columns=columns).to_pylist() if splits else []
    if corpus_root is None and any(_reads_corpus(row) for row in rows):
        log.warning("%s records no corpus location (a shared dataset): the gallery shows no pictures or waveforms "
                    "of the corpus's files; pass --corpus-root where the corpus lies", dataset.root)
    elif corpus_root is not None and not corpus_root.is_dir() and any(_reads_corpus(row) for row in rows):
        log.warning("corpus root %s is not a directory: the gallery shows no pictures or waveforms of its files; "
                    "pass --corpus-root where the corpus lies now", corpus_root)
    return [_item(row, corpus_root) for row in rows]


def _reads_corpus(row: dict[str, Any]) -> bool:
    """Whether the row's image or audio is read from the corpus (a path without embedded bytes)."""
    return any(row.get(c) and not (row.get(f"{c}_file") or {}).get("bytes") for c in ("image", "audio"))


def _pick(splits: list[str], max_items: int) -> list[int]:
    """Row positions, round-robin over splits in order of first appearance."""
    by_split: dict[str, list[int]] = {}
    for position, split in enumerate(splits):
        bucket = by_split.setdefault(split, [])
        if len(bucket) < max_items:
            bucket.append(position)
    picked: list[int] = []
    queues = list(by_split.values())
    while len(picked) < max_items and any(queues):
        for queue in queues:
            if queue and len(picked) < max_items:
                picked.append(queue.pop(0))
    return sorted(picked)


def _item(row: dict[str, Any], corpus_root: Path | None) -> GalleryItem:
    item = GalleryItem(row["sample_id"], row["split"], row.get("label"), text_items(row))
    if row.get("image"):
        try:
            item.image = (_thumbnail(row, corpus_root), "image/jpeg")
        except Exception as e:  # noqa: BLE001 - any unreadable image becomes a note on the page
            item.notes.append(f"image {row['image']}: {_reason(e)}")
    if row.get("audio"):
        try:
            item.waveform = (_waveform(row, corpus_root), "image/png")
        except Exception as e:  # noqa: BLE001 - any unreadable audio becomes a note on the page
            item.notes.append(f"audio {row['audio']}: {_reason(e)}")
    if row.get("video"):
        span = _span(row)
        item.notes.append(f"video {row['video']}{span}")
    return item


def _media_path(row: dict[str, Any], column: str, corpus_root: Path | None) -> Path:
    if corpus_root is None:
        raise FileNotFoundError("the corpus's location is not recorded here (a shared dataset keeps only its folder's "
                                "name); pass --corpus-root where it lies")
    path = resolve_media(corpus_root, row[column])
    problem = media_file_problem(path, column)  # a folder, a broken link, a FIFO (never opened), ...
    if problem is not None and tar_member(path) is None and not os.path.lexists(path):  # nothing there at all
        raise FileNotFoundError(f"not found at {path} (pass --corpus-root if the corpus moved)")
    if problem is not None:
        raise MediaError(problem)
    return path


def _thumbnail(row: dict[str, Any], corpus_root: Path | None) -> bytes:
    """A JPEG of at most THUMBNAIL_SIZE pixels a side. A file or embedded bytes decode as the
    extractors decode images (`media.image`: truncated data fails, 16-bit images keep their high
    bits; a large JPEG file decodes at a reduced scale)."""
    from mmdata.media.image import decode_image_bytes, open_image

    embedded = row.get("image_file")
    if embedded and embedded.get("bytes"):
        img = decode_image_bytes(embedded["bytes"], "the embedded image_file")
    else:
        img = open_image(_media_path(row, "image", corpus_root), min_size=THUMBNAIL_SIZE)
    img.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=82)
    return out.getvalue()


def _waveform(row: dict[str, Any], corpus_root: Path | None) -> bytes:
    from mmdata.report.plots import waveform_png

    embedded = row.get("audio_file")
    if embedded and embedded.get("bytes"):
        import soundfile

        try:
            samples, rate = soundfile.read(io.BytesIO(embedded["bytes"]), dtype="float32", always_2d=True)
        except soundfile.LibsndfileError as e:  # its text names the in-memory file object, not the file
            raise MediaError(f"the embedded audio_file cannot be decoded: {e.error_string}") from e
        return waveform_png(samples.mean(axis=1), int(rate), row.get("start") or 0.0)
    from mmdata.media.audio import load_audio

    segment = load_audio(_media_path(row, "audio", corpus_root), start=row.get("start"), end=row.get("end"), on_silence="allow")
    return waveform_png(np.asarray(segment.samples), segment.sample_rate, segment.offset)


def _span(row: dict[str, Any]) -> str:
    if row.get("start") is None and row.get("end") is None:
        return ""
    return f" [{row.get('start') or 0:.2f} s, {row['end']:.2f} s]" if row.get("end") is not None else f" from {row['start']:.2f} s"


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
