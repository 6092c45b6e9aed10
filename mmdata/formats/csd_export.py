"""`export_csd`: write a dataset's temporal tables back as `.csd` files the CMU-MultimodalSDK reads.

One file per table, one key per sample (`vid` for whole videos, `vid[i]` for segments), rows = the
sample's feature rows and intervals; a table `mmdata align` wrote is written in the SDK's aligned
form instead (with keys="sample"): one key per aligned row, `vid[i]` for reference interval i of sample `vid` (its `keys`
column; intervals dropped by the alignment leave their gap in the numbering), one row each. A table read from a .csd keeps its
file name, root name and metadata; other tables (`audio.covarep@text.words`, extractor outputs)
get `<table>.csd` with the table name as root. Word tables are written as bytes of shape (T, 1)
from their `words` column. When the samples are labelled segments (start, end, label), a label
file is written too: one key per video, one row per segment in segment order (the original label
file's name, root and metadata when the dataset came from `.csd` files), or, when the original
label file was one the SDK had aligned or a video's segments `vid[i]` skip a number (a label row
the loader left out), one key `vid[i]` of one row per segment, so the segment ids (gaps included)
survive a round trip. Tables are read one shard at a time, so memory
stays bounded.

Keys. `keys="sample"` (the default) writes each sample under its sample id, its intervals as they
are. `keys="sdk"` writes each under the SDK's key in `extra.sdk_key` (the mosi-raw loader records
`vid[k-1]` for clip `vid_k`) and puts its rows on the full video's time line, as in a file the SDK
aligned: a clip's rows (clip-relative times) are shifted by its segment start, taken from its
start/end, else from `extra.video_start` / `extra.video_end` (what the SDK's label file gives
mosi-raw), else from consecutive spans of its video's clip durations (`extra.duration`), and
clipped to that span with the SDK's rules so no row spills into the next segment. The label file
then holds, per video, the labels in clip order over those spans (keys `vid[i]` of one row each
when the labels came that way or a video's clips have gaps, so the ids survive a reload).
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmdata.alignment.core import overlap_pieces
from mmdata.errors import ConfigError, DatasetError
from mmdata.formats.csd import split_key, write_csd
from mmdata.records import duration_keys, media_durations
from mmdata.store.shards import read_shard
from mmdata.store.reader import Dataset, open_dataset

log = logging.getLogger(__name__)

DEFAULT_LABELS_ROOT = "labels"
KeyStyle = Literal["sample", "sdk"]
KEY_STYLES: tuple[KeyStyle, ...] = ("sample", "sdk")


@dataclass(frozen=True)
class _Place:
    """Where a sample goes in SDK-keyed files."""

    key: str  # its `extra.sdk_key`, e.g. "Xy9[0]"
    video: str  # the label file's key of its video ("Xy9")
    index: int  # i of `vid[i]`: its position among the video's segments
    span: tuple[float, float]  # [start, end] in seconds of the full video
    shift: float  # added to its feature intervals: clip-relative -> full-video seconds


def export_csd(dataset_dir: str | Path, csd_dir: str | Path, *, tables: list[str] | None = None,
               labels: bool = True, keys: KeyStyle = "sample") -> list[Path]:
    """Write temporal tables (default: all with intervals) and segment labels as `.csd` files.

    `keys`: "sample" writes sample ids as keys; "sdk" writes the SDK's keys (`extra.sdk_key`, e.g.
    `Xy9[0]` for the raw clip `Xy9_1`) on the full video's time line (see the module docstring).

    Example:
        >>> export_csd("out/mosi", "out/mosi-csd", tables=["audio.covarep@text.words"])
        >>> export_csd("out/mosi-raw", "out/mosi-csd", keys="sdk")

    Raises:
        ConfigError: `csd_dir` is the folder the dataset's corpus was read from (its files would be replaced).
        DatasetError: a named table is not a sequence table with intervals, has no shards or no feature at all;
            nothing to export; with keys="sdk", a sample without an SDK key, or whose place in its
            video is unknown.
    """
    if keys not in KEY_STYLES:
        raise ConfigError(f"keys={keys!r} is not one of {list(KEY_STYLES)}")
    dataset = open_dataset(dataset_dir)
    csd_dir = Path(csd_dir)
    refuse_corpus_root(dataset, csd_dir)
    places = _sdk_places(dataset) if keys == "sdk" else None
    names = tables or [n for n in dataset.table_names if _is_temporal(dataset, n)]
    for name in names:  # every table is checked before any file is written
        if not _is_temporal(dataset, name):
            spec = dataset.spec(name)
            what = "a pooled table" if spec.kind == "pooled" else "a sequence table without intervals"
            raise DatasetError(f"table {name!r} is {what}, not a sequence table with intervals; a .csd needs "
                               "per-row [start, end] intervals")
        dataset.table_files(name)  # raises when the manifest lists a table whose shards are gone
        _require_some_feature(dataset, name)
    written = []
    for name in names:
        entry = dataset.entry(name)
        from_csd = entry.extractor == "precomputed" and "root_name" in entry.config
        root = entry.config["root_name"] if from_csd else name
        metadata = {k: v for k, v in entry.config.get("metadata", {}).items() if k != "uuid"} if from_csd else {
            "computational sequence description": f"mmdata table {name} ({entry.source or entry.extractor})"}
        path = csd_dir / (entry.config["file"] if from_csd else f"{name}.csd")
        shape = tuple(entry.config.get("feature_shape") or ()) if from_csd else ()
        left_out: list[str] = []
        written.append(write_csd(path, root, _entries(dataset, name, shape, places, left_out), metadata))
        if left_out:
            log.warning("%s: %d samples have no feature in table %s (their failures are in the errors table) and are "
                        "not in it, e.g. %s", path, len(left_out), name, ", ".join(left_out[:3]))
    if labels:
        label_path = _export_labels(dataset, csd_dir, places)
        if label_path is not None:
            written.append(label_path)
    if not written:
        raise DatasetError(f"{dataset.root} has no sequence table with intervals and no labels: nothing to export "
                           f"as .csd (tables: {dataset.table_names}); align a table to a reference first "
                           "(`mmdata align DIR --reference TABLE`)")
    return written


def refuse_corpus_root(dataset: Dataset, csd_dir: Path) -> None:
    """Refuse to write into the folder the dataset's corpus was read from.

    The files written keep the names of the corpus's own `.csd` files (CMU_MOSI_COVAREP.csd, the
    label file), so they would replace the source: cut into segments, non-finite values zeroed, and
    the dataset could no longer be extracted again from it.

    Raises:
        ConfigError: `csd_dir` is the corpus root recorded in the dataset's manifest.
    """
    root = dataset.manifest.corpus_location()
    if root is not None and csd_dir.resolve() == root.resolve():
        raise ConfigError(f"{csd_dir} is the corpus folder {dataset.root} was read from; the export would replace "
                          "its own .csd files (same names) with the dataset's rows; choose a new or empty folder")


def _require_some_feature(dataset: Dataset, name: str) -> None:
    """Refuse a table whose every sample failed: its `.csd` would hold no key, and the SDK's `unify`
    (which keeps only the videos every sequence holds) would then drop every video of the folder."""
    entry = dataset.entry(name)
    if not entry.rows or entry.errors < entry.rows:
        return
    failures = [r for r in dataset.errors().to_pylist() if r["table"] == name]
    example = f"; e.g. {failures[0]['sample_id']}: {failures[0]['reason']}" if failures else ""
    raise DatasetError(
        f"table {name!r} has no feature for any of its {entry.rows} samples (all failed, see the errors table"
        f"{example}); its .csd would hold no video and the SDK would drop every video of the folder; extract the "
        "table again so that its samples succeed, or leave it out with --tables")


def _entries(dataset: Dataset, name: str, feature_shape: tuple[int, ...], places: dict[str, _Place] | None,
             left_out: list[str]) -> Iterator[tuple[str, Any, np.ndarray]]:
    """The (key, rows, intervals) entries of a table; samples without a feature go to `left_out`."""
    # (`segment` keeps the aligned rows' keys of the whole videos; its tables are keyed by segment)
    per_row_keys = places is None and dataset.entry(name).extractor == "align"
    dim = dataset.spec(name).dim  # the row width, also for a sample of no rows
    for shard in dataset.table_files(name):
        table = read_shard(shard)
        words = table.column("words").to_pylist() if "words" in table.column_names else None
        # An aligned table names its rows the SDK's way (`vid[i]`: reference interval i of sample vid):
        # written under those keys, one row each, as the SDK's align leaves a file.
        row_keys = table.column("keys").to_pylist() if per_row_keys and "keys" in table.column_names else None
        features = table.column("feature").to_pylist()
        intervals = table.column("intervals").to_pylist()
        for k, sample_id in enumerate(table.column("sample_id").to_pylist()):
            if features[k] is None:
                left_out.append(sample_id)
                continue
            ivs = np.asarray(intervals[k], dtype=np.float64).reshape(-1, 2)
            if words is not None:
                values: Any = np.asarray(words[k] or [], dtype=object).reshape(-1, 1)
            else:
                values = np.asarray(features[k], dtype=np.float32).reshape(len(ivs), dim or -1)
                if feature_shape and int(np.prod(feature_shape)) == values.shape[1]:
                    values = values.reshape(len(ivs), *feature_shape)
            if row_keys is not None:
                for j, key in enumerate(row_keys[k] or []):
                    yield key, values[j : j + 1], ivs[j : j + 1]
            elif places is None:
                yield sample_id, values, ivs
            else:
                yield _placed(places[sample_id], values, ivs)


def _placed(place: _Place, values: Any, intervals: np.ndarray) -> tuple[str, Any, np.ndarray]:
    """A sample's rows under its SDK key, shifted onto the video's time line and clipped to its span."""
    pieces = overlap_pieces(np.array([place.span]), intervals + place.shift)
    return place.key, values[pieces.row_index], pieces.intervals


def _export_labels(dataset: Dataset, csd_dir: Path, places: dict[str, _Place] | None) -> Path | None:
    samples = dataset.samples_table(columns=["sample_id", "group_id", "start", "end", "label", "extra"]).to_pylist()
    # per video: (segment order, key, label values, [start, end])
    by_video: dict[str, list[tuple[float, str, list[float], list[float]]]] = {}
    unplaced = 0
    for s in samples:
        if s["label"] is None:
            continue
        extra = json.loads(s["extra"]) if s["extra"] else {}
        values = extra.get("labels") or [s["label"]]
        if places is not None:
            place = places[s["sample_id"]]
            by_video.setdefault(place.video, []).append((place.index, place.key, values, list(place.span)))
        elif s["start"] is not None and s["end"] is not None:
            order = extra.get("segment", s["start"])
            by_video.setdefault(s["group_id"], []).append((order, s["sample_id"], values, [s["start"], s["end"]]))
        else:
            unplaced += 1
    if unplaced:
        log.warning("%d labelled samples have no start/end (whole clips), so the label file leaves them out; "
                    "export with --keys sdk (keys='sdk') to place raw clips on their videos' time lines", unplaced)
    if not by_video:
        return None
    source = dataset.manifest.extra.get("loader", {}).get("labels", {})
    root = source.get("root_name", DEFAULT_LABELS_ROOT)
    metadata = {k: v for k, v in source.get("metadata", {}).items() if k != "uuid"}
    ordered = [(video, sorted(segments, key=lambda r: r[0])) for video, segments in sorted(by_video.items())]
    # One key per video numbers its rows 0, 1, ... on reading; a video whose SDK keys have gaps
    # (a clip without a label, a label row the loader skipped) keeps its ids only as one key
    # `vid[i]` per segment.
    gaps = any(_has_gaps(video, segments, keyed_by_sample=places is None) for video, segments in ordered)
    if source.get("keys") == "segments" or gaps:
        entries: Iterator[tuple[str, Any, np.ndarray]] = (
            (key, np.asarray([values], dtype=np.float32), np.asarray([interval]))
            for _, segments in ordered for _, key, values, interval in segments)
    else:
        entries = ((video, np.asarray([r[2] for r in segments], dtype=np.float32), np.asarray([r[3] for r in segments]))
                   for video, segments in ordered)
    return write_csd(csd_dir / source.get("file", f"{DEFAULT_LABELS_ROOT}.csd"), root, entries, metadata)


def _has_gaps(video: str, segments: list[tuple[Any, str, list[float], list[float]]], *, keyed_by_sample: bool) -> bool:
    """Whether a video's segment numbers skip some (e.g. `vid[0]`, `vid[2]`), so that one key per video,
    whose rows a reader numbers 0, 1, ..., would rename its later segments.

    With sample keys this holds only for samples named `vid[i]` after their segment number (the
    `csd` loader's segments, whose label row i was skipped); other numbering says nothing about ids.
    """
    numbers = [order for order, *_ in segments]
    if numbers == list(range(len(segments))):
        return False
    if not keyed_by_sample:
        return True
    return all(isinstance(n, int) and key == f"{video}[{n}]" for n, key, *_ in segments)


def _sdk_places(dataset: Dataset) -> dict[str, _Place]:
    """Every sample's SDK key and span in its video (see the module docstring for the sources)."""
    table = dataset.samples_table(columns=["sample_id", "start", "end", "extra"])
    rows = table.to_pylist()
    for row, duration in zip(rows, media_durations(table.column("extra"), duration_keys(None))):  # NaN: none given
        row["duration"] = None if math.isnan(duration) else float(duration)
    # video -> [(i of vid[i], key, samples-table row, its extra)]
    by_video: dict[str, list[tuple[int, str, dict[str, Any], dict[str, Any]]]] = {}
    owners: dict[str, str] = {}
    for row in rows:
        extra = json.loads(row["extra"]) if row["extra"] else {}
        key = extra.get("sdk_key")
        video, index = split_key(key) if isinstance(key, str) else (None, None)
        if index is None:
            raise DatasetError(
                f"sample {row['sample_id']!r} has no SDK key (extra.sdk_key = {key!r}); --keys sdk needs a key "
                "'vid[i]' on every sample (the mosi-raw loader records them for the CMU-MOSI raw layout); "
                "export with --keys sample")
        if key in owners:
            raise DatasetError(f"samples {owners[key]!r} and {row['sample_id']!r} both have the SDK key {key!r}; "
                               "expected one sample per key; export with keys='sample'")
        owners[key] = row["sample_id"]
        by_video.setdefault(video, []).append((index, key, row, extra))
    places: dict[str, _Place] = {}
    for video, members in by_video.items():
        members.sort(key=lambda m: m[0])
        spans = [_known_span(row, extra) for _, _, row, extra in members]
        if all(span is None for span in spans):
            spans = _consecutive_spans(video, members)
        elif None in spans:  # laying these clips end to end would contradict the others' times
            _, key, row, _ = members[spans.index(None)]
            raise DatasetError(
                f"sample {row['sample_id']!r} (key {key!r}) has no segment times (start/end or extra.video_start/"
                f"video_end) while other clips of video {video!r} have them; expected times for every clip of a "
                "video (was its label row missing when the corpus was loaded?); export with keys='sample'")
        for (index, key, row, _), (span, shift) in zip(members, spans):
            places[row["sample_id"]] = _Place(key, video, index, span, shift)
    return places


def _known_span(row: dict[str, Any], extra: dict[str, Any]) -> tuple[tuple[float, float], float] | None:
    """(span, shift) from a cut segment's start/end (rows already in video time) or a clip's video_start/end."""
    if row["start"] is not None and row["end"] is not None:
        return (row["start"], row["end"]), 0.0
    start, end = _seconds(extra.get("video_start")), _seconds(extra.get("video_end"))
    return ((start, end), start) if start is not None and end is not None else None


def _consecutive_spans(video: str, members: list[tuple[int, str, dict[str, Any], dict[str, Any]]]
                       ) -> list[tuple[tuple[float, float], float]]:
    """Clips laid end to end in key order, from their durations: the best time line without segment times."""
    out, offset = [], 0.0
    for _, key, row, extra in members:
        duration = row["duration"]
        if duration is None:
            raise DatasetError(
                f"sample {row['sample_id']!r} (key {key!r}) has no place in video {video!r}: no start/end, no "
                "extra.video_start/video_end and no extra.duration or media duration, and --keys sdk writes rows in "
                "video time; load the corpus with the SDK's label file (mosi-raw -o labels_file="
                "CMU_MOSI_Opinion_Labels.csd records the segment times), or export with --keys sample")
        out.append(((offset, offset + duration), offset))
        offset += duration
    return out


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _is_temporal(dataset: Dataset, name: str) -> bool:
    spec = dataset.spec(name)
    return spec.kind == "sequence" and spec.intervals
