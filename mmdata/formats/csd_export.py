"""`export_csd`: write a dataset's temporal tables back as `.csd` files the CMU-MultimodalSDK reads.

One file per table, one key per sample (`vid` for whole videos, `vid[i]` for segments), rows = the
sample's feature rows and intervals; a table `mmdata align` wrote is written in the SDK's aligned
form instead (with keys="sample"): one key per aligned row, `vid[i]` for reference interval i of sample `vid` (its `keys`
column; intervals dropped by the alignment leave their gap in the numbering), one row each; so is a table
`extract csd` read back from such a file (`csd_export_keys`, which also says what the file records of
its keys for reading it back). A table read from a .csd keeps its
file name, root name, metadata and feature shape, also after `mmdata segment` (which copies them
into its config); other tables (`audio.covarep@text.words`, extractor outputs) get `<table>.csd`
with the table name as root. Every file written carries the metadata key `EXPORT_MARKER_KEY`
(`csd_folder`: the folder's lock, a killed export's leftovers, an earlier export's files), and
`TABLE_IDENTITY_KEY`: the table's name, for an aligned table its reference, and each whole video's
media end where the samples record it, so that `extract csd` reads the folder back under the same
table names (`X@REF` included) and cuts segments at the videos' real ends. Word
tables are written as bytes of shape (T, 1) from their `words` column. When the samples are labelled segments (start, end, label), a label
file is written too: one key per video, one row per segment in segment order (the original label
file's name, root and metadata when the dataset came from `.csd` files), or, when the original
label file was one the SDK had aligned or a video's segments `vid[i]` skip a number (a label row
the loader left out), one key `vid[i]` of one row per segment, so the segment ids (gaps included)
survive a round trip. The samples' splits go beside the files as the SDK's fold lists (`csd_folds`:
`standard_folds.json`, which every file written names), unless every sample is in split "all", so
that `extract csd` reads the folder back with its splits. Tables are streamed one record batch at a
time as NumPy views, so memory stays at about a batch. Segments that overlap are each written with all of their rows; the SDK's
align, which joins a video's `vid[i]` keys before cutting, reads such rows once per segment they
fall in, so the export warns.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mmdata.alignment.core import overlap_pieces
from mmdata.alignment.dataset import batch_sequences, shard_row_batches
from mmdata.errors import ConfigError, DatasetError
from mmdata.formats.csd import CSD_SUFFIX, split_key, write_csd
from mmdata.checks.aligned import aligned_reference
from mmdata.formats.csd_folder import (
    EXPORT_MARKER_KEY, TABLE_IDENTITY_KEY, earlier_folds_file, exporting_into, in_folder, kept_files_warning, publish,
    remove_stale_temporaries, staged_export,
)
from mmdata.formats.csd_folds import export_fold_lists, split_videos_warning, without_folds_record, write_folds_file
from mmdata.formats.csd_export_keys import (
    KEYS_COLUMN, keyed_rows, row_key_identity, samples_without_rows, writes_row_keys,
)
from mmdata.formats.csd_folder import earlier_exports, publish_interrupted, refuse_existing_files
from mmdata.formats.csd_export_overlaps import _warn_overlapping_segments
from mmdata.formats.csd_places import Place, sdk_places
from mmdata.options import check_choice, check_flag, dataset_path, optional_name_list, path_argument
from mmdata.records import duration_keys, media_ends
from mmdata.store.grown_samples import update_left_reason
from mmdata.store.layout import MANIFEST_NAME
from mmdata.store.reader import Dataset, open_dataset

log = logging.getLogger(__name__)

DEFAULT_LABELS_ROOT = "labels"
KeyStyle = Literal["sample", "sdk"]
KEY_STYLES: tuple[KeyStyle, ...] = ("sample", "sdk")


class CsdExport(list):
    """What `export_csd` wrote: the `.csd` paths (a list, in the order written), plus `folds` (the folds
    file written beside them, None without one), `warnings` (each also logged) and `removed` (the earlier
    export's files `force` removed)."""

    def __init__(self, paths: Iterable[Path] = ()):
        super().__init__(paths)
        self.folds: Path | None = None
        self.warnings: list[str] = []
        self.removed: list[Path] = []

    def warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)


def export_csd(dataset_dir: str | Path | Dataset, csd_dir: str | Path, *, tables: list[str] | str | None = None,
               labels: bool = True, keys: KeyStyle = "sample", force: bool = False,
               remove_earlier_exports: bool = False) -> CsdExport:
    """Write temporal tables (default: all with intervals) and segment labels as `.csd` files, and the
    samples' splits as the SDK's fold lists beside them (`csd_folds`: `standard_folds.json`, unless every
    sample is in split "all"), which `extract csd` reads back when no `-o folds=` is given.

    Args:
        dataset_dir: the dataset directory, or a `Dataset` (`open_dataset`).
        csd_dir: the folder to write the `.csd` files (and the folds file) into.
        tables: a list of table names, or a comma-separated string of them (default: every sequence
            table with intervals).
        labels: also write the segment labels, as the SDK's label file.
        keys: "sample" writes sample ids as keys; "sdk" writes the SDK's keys (`extra.sdk_key`, e.g.
            `Xy9[0]` for the raw clip `Xy9_1`) on the full video's time line (see the module docstring).
        force: write into a `csd_dir` that already holds `.csd` files or a folds file (refused without
            it: the files keep the names of the corpus's own), replacing those of the same names, and
            remove the `.csd` files (and the folds file) an earlier export wrote there that this one does
            not replace (files it did not write are kept, with a warning).
        remove_earlier_exports: the same as `force` (its earlier name).

    Returns:
        A `CsdExport`: the `.csd` paths written, in order, with `folds`, `warnings` and `removed`.

    Example:
        >>> export_csd("out/mosi", "out/mosi-csd", tables=["audio.covarep@text.words"])
        >>> export_csd("out/mosi-raw", "out/mosi-csd", keys="sdk")

    Raises:
        ConfigError: an option of another value than it takes (`keys`, a flag that is not a bool, `tables`
            that are not names), or `csd_dir` is the folder the dataset's corpus was read from (its
            files would be replaced); `OutputPathError`, without `force`: `csd_dir` already holds
            `.csd` files.
        DatasetError: a named table is not a sequence table with intervals, is incomplete (an `extract` or
            `align` writing it runs now or was interrupted), has no shards or no feature at all;
            two tables (or a table and the labels) would be written to one file; nothing to export; with
            keys="sdk", a sample without an SDK key, or whose place in its video is unknown.
        DatasetBusyError: another export writes into `csd_dir` now.
        OSError: the system refused a write (a full disk, no permission), naming the file or `csd_dir`.

    The files are written into a hidden folder of `csd_dir` and moved in once all are written
    (`csd_folder.publish`): any of these, Ctrl-C or a kill leaves the files of `csd_dir` as they were.
    """
    check_choice("keys", keys, KEY_STYLES)
    check_flag("labels", labels)
    check_flag("force", force)
    check_flag("remove_earlier_exports", remove_earlier_exports)
    force = force or remove_earlier_exports
    tables = optional_name_list(tables, argument="tables")
    dataset = open_dataset(dataset_path(dataset_dir))
    csd_dir = path_argument(csd_dir, argument="csd_dir")
    refuse_corpus_root(dataset, csd_dir)  # first: force does not lift it
    if not publish_interrupted(csd_dir):  # (else the files there may be the killed export's: undone below)
        refuse_existing_files(csd_dir, force=force)
    places = sdk_places(dataset) if keys == "sdk" else None
    names = tables or [n for n in dataset.table_names if _is_temporal(dataset, n)]
    for name in names:  # every table is checked before any file is written
        if not _is_temporal(dataset, name):
            spec = dataset.spec(name)
            what = "a pooled table" if spec.kind == "pooled" else "a sequence table without intervals"
            raise DatasetError(f"table {name!r} is {what}, not a sequence table with intervals; a .csd needs "
                               "per-row [start, end] intervals")
        _require_complete(dataset, name)
        dataset.table_files(name)  # raises when the manifest lists a table whose shards are gone
        _require_some_feature(dataset, name)
    sequences = {name: _sequence_file(dataset, name) for name in names}
    _refuse_shared_files(dataset, sequences, _labels_source(dataset).get("file") if labels else None)
    video_ends = whole_video_media_ends(dataset)
    folds = export_fold_lists(dataset, places)
    with exporting_into(csd_dir):
        remove_stale_temporaries(csd_dir)  # a killed export's, first: one killed while publishing is undone
        refuse_existing_files(csd_dir, force=force)  # again, with the lock: an export may have finished meanwhile
        earlier_folds = earlier_folds_file(csd_dir) if force and not folds.lists else None
        with staged_export(csd_dir) as staging:
            try:
                written = _write_files(dataset, csd_dir, staging, sequences, places, labels, folds, video_ends)
                _warn_overlapping_segments(dataset, places, names, written)
                removed, kept = _publish(csd_dir, staging, written, force, earlier_folds)
            except OSError as e:
                raise in_folder(e, staging, csd_dir) from None
        written.removed = [csd_dir / name for name in removed]
        if kept:
            written.warn(kept_files_warning(csd_dir, kept))
    return written


def _publish(csd_dir: Path, staging: Path, written: CsdExport, force: bool,
             earlier_folds: Path | None) -> tuple[list[str], list[Path]]:
    """Every file is whole: move them over the earlier ones (the folds file last) and, with `force`, remove
    the earlier export's other files, as one change that a kill cannot leave half made (`publish`).
    `written` then names the files in `csd_dir`. Returns (the names removed, the files kept)."""
    names = [p.name for p in written] + ([written.folds.name] if written.folds is not None else [])
    removed, kept = earlier_exports(csd_dir, names) if force else ([], [])
    if earlier_folds is not None:
        removed.append(earlier_folds.name)
    published = publish(staging, csd_dir, names, removed)
    written[:] = published[:len(written)]
    if written.folds is not None:
        written.folds = published[-1]
    return removed, kept


def _write_files(dataset: Dataset, csd_dir: Path, staging: Path, sequences: dict[str, _SequenceFile],
                 places: dict[str, Place] | None, labels: bool, folds: Any,
                 video_ends: dict[str, dict[str, float]]) -> CsdExport:
    """Write every table's file, the label file and the folds file into `staging` (their names those they
    get in `csd_dir`, which the warnings name): the `CsdExport` of the paths in `staging`."""
    written = CsdExport()
    for name, sequence in sequences.items():
        left_out: list[str] = []
        videos: set[str] = set()
        path = csd_dir / sequence.file
        row_keys = writes_row_keys(dataset, name, sdk_keys=places is not None)
        empty = samples_without_rows(dataset, name) if row_keys else []
        entries = _noting_videos(_entries(dataset, name, sequence.feature_shape, places, row_keys, left_out), videos)
        identity = {**table_identity(dataset, name, video_ends if places is None else {}),
                    **row_key_identity(row_keys, empty)}
        metadata = {**without_folds_record(sequence.metadata), EXPORT_MARKER_KEY: name,
                    TABLE_IDENTITY_KEY: identity, **folds.record()}
        written.append(write_csd(staging / sequence.file, sequence.root, entries, metadata))
        if left_out:
            written.warn(f"{path}: {len(left_out)} samples have no feature in table {name} (their failures are in "
                         f"the errors table) and are not in it, e.g. {', '.join(left_out[:3])}")
        keyless = sorted({s.split("[")[0] for s in empty} - {v.split("[")[0] for v in videos})
        if keyless:
            written.warn(f"{path}: {len(keyless)} videos have no row at all in table {name} (e.g. "
                         f"{', '.join(keyless[:3])}), so no key; the file records them and `extract csd` reads "
                         "them back empty, but the SDK's unify drops such a video from every sequence")
        absent = sorted({split_key(sample_id)[0] for sample_id in left_out} - videos)
        if absent:
            written.warn(f"{path}: {len(absent)} videos have no feature at all in table {name} and no key in the "
                         f"file ({', '.join(absent[:3])}); reading the folder back, `mmdata extract csd` (as the "
                         "SDK's unify) leaves such a video out of every table")
    if labels:
        label_path = _export_labels(dataset, staging, places, folds.record())
        if label_path is not None:
            written.append(label_path)
    if not written:
        raise DatasetError(f"{dataset.root} has no sequence table with intervals and no labels: nothing to export "
                           f"as .csd (tables: {dataset.table_names}); align a table to a reference first "
                           "(`mmdata align DIR --reference TABLE`)")
    if folds.lists:
        written.folds = write_folds_file(staging, folds)
        if folds.split_videos:
            written.warn(split_videos_warning(csd_dir / written.folds.name, folds.split_videos))
    return written


@dataclass(frozen=True)
class _SequenceFile:
    """How one table is written: file name, root name, metadata and feature shape."""

    file: str
    root: str
    metadata: dict[str, Any]
    feature_shape: tuple[int, ...]  # () = rows of the table's dim


def _sequence_file(dataset: Dataset, name: str) -> _SequenceFile:
    """A table read from a .csd (`extract csd`, and `segment`, which copies what it read into its
    config) keeps its file name, root name, metadata and feature shape; others get `<table>.csd`
    with the table name as root."""
    entry = dataset.entry(name)
    config = entry.config
    if isinstance(config.get("root_name"), str) and isinstance(config.get("file"), str):
        metadata = {k: v for k, v in (config.get("metadata") or {}).items() if k != "uuid"}
        return _SequenceFile(config["file"], config["root_name"], metadata, tuple(config.get("feature_shape") or ()))
    description = f"mmdata table {name} ({entry.source or entry.extractor})"
    return _SequenceFile(f"{name}{CSD_SUFFIX}", name, {"computational sequence description": description}, ())


def table_identity(dataset: Dataset, name: str, video_ends: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What `extract csd` needs to give the table back as it was (`TABLE_IDENTITY_KEY`): its name, the
    reference of an aligned table (an `align` output, or `segment`'s cut of one), and the media end of
    each whole video for the table's modality (none recorded: no key)."""
    entry = dataset.entry(name)
    identity: dict[str, Any] = {"name": name}
    reference = aligned_reference(name, entry.extractor, entry.config)
    if reference is not None:
        identity["reference"] = reference
    ends = video_ends.get(entry.modality)
    if ends:
        identity["media_ends"] = ends
    return identity


def whole_video_media_ends(dataset: Dataset) -> dict[str, dict[str, float]]:
    """{modality: {video: where its medium ends}} for the whole-video samples (no start/end) whose
    `extra` records a media duration (`records.media_ends`, the keys `check` and `segment` read for that
    modality). Segments and clips record no video's length, so a segmented dataset gives none."""
    samples = dataset.samples_table(columns=["sample_id", "start", "end", "extra"])
    whole = [s is None and e is None for s, e in zip(samples.column("start").to_pylist(), samples.column("end").to_pylist())]
    if not any(whole):
        return {}
    ids = samples.column("sample_id").to_pylist()
    out: dict[str, dict[str, float]] = {}
    for modality in {dataset.entry(n).modality for n in dataset.table_names}:
        ends = media_ends(samples.column("extra"), duration_keys(modality))
        found = {ids[i]: float(ends[i]) for i in range(len(ids)) if whole[i] and math.isfinite(ends[i])}
        if found:
            out[modality] = found
    return out


def _refuse_shared_files(dataset: Dataset, sequences: dict[str, _SequenceFile], labels_file: str | None) -> None:
    """Two tables (or a table and the labels) written to one file would leave only the last one."""
    owners: dict[str, str] = {}
    targets = [(name, s.file) for name, s in sequences.items()] + ([("the labels", labels_file)] if labels_file else [])
    for name, file in targets:
        if file in owners:
            raise DatasetError(
                f"{dataset.root}: {owners[file]} and {name} would both be written to {file} (the .csd file they "
                "were read from); expected one file per table; leave one out (--tables, or --no-labels for the "
                "label file), or export them into separate folders")
        owners[file] = name


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


def _require_complete(dataset: Dataset, name: str) -> None:
    """Refuse a table the manifest marks incomplete: its `.csd` would lack the videos of its unfinished
    shards, and the SDK's `unify` would then drop those videos from every sequence of the folder. Why it
    is incomplete: the samples an `extract --update` added, or the update unfinished
    (`grown_samples.update_left_reason`, as the other readers say it), else the `extract` or `align`
    writing it runs now or was interrupted."""
    if dataset.entry(name).complete:
        return
    reason = update_left_reason(dataset, name)
    if reason is not None:
        raise DatasetError(f"{reason}; its .csd would lack the videos it has no rows for: complete the table first, "
                           "or leave it out (--tables)")
    raise DatasetError(
        f"table {name!r} of {dataset.root} is incomplete ({MANIFEST_NAME} marks it so: the `mmdata extract` or "
        "`mmdata align` writing it runs now or was interrupted); its .csd would lack the videos of its unfinished "
        "shards; run that command again to finish it, or leave the table out (--tables)")


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


def _noting_videos(entries: Iterator[tuple[str, Any, np.ndarray]], videos: set[str]) -> Iterator[tuple[str, Any, np.ndarray]]:
    """The entries as they are, each key's video added to `videos`."""
    for key, values, intervals in entries:
        videos.add(split_key(key)[0])
        yield key, values, intervals


def _entries(dataset: Dataset, name: str, feature_shape: tuple[int, ...], places: dict[str, Place] | None,
             per_row_keys: bool, left_out: list[str]) -> Iterator[tuple[str, Any, np.ndarray]]:
    """The (key, rows, intervals) entries of a table; samples without a feature go to `left_out`.

    Streamed a record batch (a few samples) at a time as NumPy views of its Arrow buffers, each
    entry written before the next is read: memory stays at about one batch, whatever the table's size.
    """
    # (`segment` keeps the aligned rows' keys of the whole videos; its tables are keyed by segment)
    dim = dataset.spec(name).dim  # the row width, also for a sample of no rows
    for shard in dataset.table_files(name):
        for batch in shard_row_batches(shard):
            yield from _batch_entries(batch, dim, feature_shape, places, per_row_keys, left_out)


def _batch_entries(batch: pa.RecordBatch, dim: int | None, feature_shape: tuple[int, ...],
                   places: dict[str, Place] | None, per_row_keys: bool,
                   left_out: list[str]) -> Iterator[tuple[str, Any, np.ndarray]]:
    columns = batch.schema.names
    words = batch.column("words").to_pylist() if "words" in columns else None
    # An aligned table names its rows the SDK's way (`vid[i]`: reference interval i of sample vid):
    # written under those keys, one row each, as the SDK's align leaves a file.
    row_keys = batch.column(KEYS_COLUMN).to_pylist() if per_row_keys and KEYS_COLUMN in columns else None
    for k, (sample_id, rows) in enumerate(zip(batch.column("sample_id").to_pylist(), batch_sequences(batch, dim))):
        if rows is None:
            left_out.append(sample_id)
            continue
        features, ivs = rows
        if words is not None:
            values: Any = np.asarray(words[k] or [], dtype=object).reshape(-1, 1)
        else:
            values = _shaped(features.astype(np.float32, copy=False), feature_shape)
        if row_keys is not None:
            yield from keyed_rows(row_keys[k] or [], values, ivs)
        elif places is None:
            yield sample_id, values, ivs
        else:
            yield _placed(places[sample_id], values, ivs)


def _shaped(features: np.ndarray, feature_shape: tuple[int, ...]) -> np.ndarray:
    """(T, D) rows as the source file's (T, *feature_shape) when that holds D values."""
    if feature_shape and int(np.prod(feature_shape)) == features.shape[1]:
        return features.reshape(len(features), *feature_shape)
    return features


def _placed(place: Place, values: Any, intervals: np.ndarray) -> tuple[str, Any, np.ndarray]:
    """A sample's rows under its SDK key, shifted onto the video's time line and clipped to its span."""
    pieces = overlap_pieces(np.array([place.span]), intervals + place.shift)
    return place.key, values[pieces.row_index], pieces.intervals


def _export_labels(dataset: Dataset, csd_dir: Path, places: dict[str, Place] | None,
                   folds_record: dict[str, str]) -> Path | None:
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
    source = _labels_source(dataset)
    root = source.get("root_name", DEFAULT_LABELS_ROOT)
    metadata = {**{k: v for k, v in without_folds_record(source.get("metadata", {})).items() if k != "uuid"},
                EXPORT_MARKER_KEY: "labels", **folds_record}
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


def _labels_source(dataset: Dataset) -> dict[str, Any]:
    """What the loader (or `segment`) recorded of the label file the samples' labels came from."""
    return dataset.manifest.extra.get("loader", {}).get("labels", {})


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


def _is_temporal(dataset: Dataset, name: str) -> bool:
    spec = dataset.spec(name)
    return spec.kind == "sequence" and spec.intervals
