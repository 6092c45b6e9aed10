"""`segment_dataset`: cut a dataset of whole videos into label segments, the SDK's `align(labels)`.

    report = segment_dataset("out/mosi-videos", "out/mosi", "csd/CMU_MOSI_Opinion_Labels.csd")

The SDK's canonical MOSI pipeline aligns whole videos to the words first (`align(words, [avg])`:
each word row averages all the frames of the word) and only then cuts them into the opinion
segments (`align(labels)` without a collapse). Cutting first, as `mmdata extract` with a label file
does, averages only the frames inside the segment for a word straddling its boundary; this module
is the second step, so `extract -o labels=none` -> `align -r text.words` -> `segment` gives what
the SDK gives.

Input: a dataset whose samples are whole videos (sample_id = video id, no start/end), and a label
`.csd` read as the csd loader reads a label file, whatever its name (keys `vid` of one row per
segment, in file order, or keys `vid[i]` the SDK already aligned, kept as they are). Output: a new
dataset at OUTPUT_DIR with
  - samples: one per segment: sample_id `vid[i]`, group_id the video, start/end the segment,
    label its first value (all in extra["labels"] when several), the split from the folds file or
    the video's, media paths of the video (the segment of a longer file), words and transcript
    clipped to the segment, as the loader makes them;
  - for each temporal table (rows with intervals; `*@text.words` tables included): per segment
    the rows of its video that overlap it, clipped to it with the SDK's rules (`overlap_pieces`),
    sorted by start as the SDK sorts; the `words` and `keys` columns follow their rows, so a row
    the SDK named `vid[j]` keeps that key. The table keeps its name, modality and spec; the
    manifest records extractor `segment` and the source table (fingerprinted) in its config, with
    the file name, root name, metadata and feature shape of a table read from a `.csd`, which
    `export-csd` writes it back with.
A segment gets no feature (null, and a row in the table's errors table) in a table when it runs past
the end of its video by more than SEGMENT_OVERRUN_TOLERANCE of its length (the media rule of docs/corpora.md,
as in audio/video extraction; a shorter overrun keeps the rows up to the end), the video's end being
the media duration the samples record for the table's medium, else the last row end over the
video's temporal tables; when no row of the table overlaps it (the SDK gives it no key); when
its video has no features in the source table; or when its video's rows there hold a NaN time or
an interval ending before it starts (clipping would drop or keep them silently). The first two rules
(`segment_rules`) are the csd loader's too, so that extracting with the label file gives the same tables and reasons.
Pooled tables (one vector per video) are skipped and named in the report: a whole-video summary
is no segment's feature; extract them again on the segmented dataset. Label segments of videos the
dataset lacks, and videos without a segment, are recorded as load problems (errors table
`loader`) and counted in the report. Everything is written into a hidden temporary directory
renamed onto OUTPUT_DIR at the end, so a failure leaves no half dataset.

Memory: a table is read one record batch (a few videos) at a time, in the source's order, and
written one output shard at a time. Output samples are sorted by id (`vid[i]`), which orders
videos as the source does except where one id is a prefix of another (`abc`, `abc-x`); a video cut
before its turn waits, cut, until the videos sorted before it are written.

This module holds `segment_dataset`, its report, the new dataset's manifest and the loop that
writes each cut table (`_cut_table`); the rest lives in:
    mmdata.alignment.segment_samples   the whole videos and the label file read, one sample per segment
    mmdata.alignment.segment_cut       which tables are cut, where each video ends, one video's rows cut
    mmdata.alignment.segment_shards    a cut table's shards written in the samples' order, its provenance
The names moved there stay importable from here; `_cut_table` calls `_cut` through this module's
name, so replacing it here reaches the run.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmdata.alignment.core import EPSILON
from mmdata.alignment.segment_cut import (  # noqa: F401 - also re-exported from here
    ROW_COLUMNS, ROWS_END_ESTIMATE, Cut, _choose_tables, _cut, _Cutter, _Failed, _last_row_ends, _source_rows,
    _table_ends, _video_ends, _why_not_cuttable,
)
from mmdata.alignment.segment_samples import (  # noqa: F401 - also re-exported from here
    Segment, _clip, _clip_words, _count_rows, _read_labels, _segment_samples, _whole_videos,
)
from mmdata.alignment.segment_shards import (  # noqa: F401 - also re-exported from here
    CSD_IDENTITY_KEYS, _provenance, _ShardSink, _video_blocks,
)
from mmdata.alignment.write_errors import named_write_errors
from mmdata.corpora.base import LoadProblem
from mmdata.corpora.csd import jsonable
from mmdata.corpora.csd_labels import LABEL_FIELDS_KEY, LABEL_NAMES_KEY, dataset_of, row_labels_metadata
from mmdata.errors import DatasetError
from mmdata.formats.folds import read_folds, report_fold_coverage, resolve_folds_path
from mmdata.options import check_count, check_flag, dataset_path, optional_name_list, path_argument, short_repr
from mmdata.pipeline import samples_entry, write_samples
from mmdata.records import samples_to_table
from mmdata.store import layout
from mmdata.store.lock import output_lock
from mmdata.store.manifest import Manifest, records_extra, write_manifest
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import shard_schema
from mmdata.store.tables import TableReport, claim_table, finish_table
from mmdata.store.writer import check_replaceable, staged_dir


@dataclass(repr=False)
class SegmentReport:
    """What `segment_dataset` wrote, and what it could not use."""

    output_dir: Path
    samples: int  # segments written
    videos: int  # videos they come from
    problems: list[LoadProblem] = field(default_factory=list)  # also in the errors table `loader`
    tables: list[TableReport] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why it was not cut
    empty: dict[str, int] = field(default_factory=dict)  # table -> segments no row of it overlaps (failed)
    overrun: dict[str, int] = field(default_factory=dict)  # table -> segments failed: past the end of the video
    # table -> segments failed: their video's rows hold a NaN time or an interval ending before it starts
    bad_times: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        lines = [f"output_dir={str(self.output_dir)!r}: {self.samples} segments of {self.videos} videos, "
                 f"{len(self.problems)} problems"]
        lines += [f"{t.name}: {t.rows} rows, {t.errors} failed ({self.empty.get(t.name, 0)} no row, "
                  f"{self.overrun.get(t.name, 0)} past the video's end"
                  + (f", {self.bad_times[t.name]} bad times" if self.bad_times.get(t.name) else "") + ")"
                  for t in self.tables[:8]]
        if len(self.tables) > 8:
            lines.append(f"... {len(self.tables) - 8} more tables")
        if self.skipped:
            lines.append(f"skipped: {sorted(self.skipped)}")
        return short_repr(type(self).__name__, lines)


def segment_dataset(
    dataset_dir: str | Path | Dataset,
    output_dir: str | Path,
    labels: str | Path,
    *,
    tables: Sequence[str] | str | None = None,
    folds: str | Path | None = None,
    shard_size: int | None = None,
    force: bool = False,
) -> SegmentReport:
    """Write a new dataset at `output_dir` whose samples are the label segments of `dataset_dir`'s videos.

    Args:
        dataset_dir: the dataset of whole videos, or a `Dataset` (`open_dataset`).
        output_dir: the new dataset directory, one sample per label segment.
        labels: the label `.csd` (keys `vid` with one row per segment, or SDK-aligned keys `vid[i]`).
        tables: the tables to cut, as a list or a comma-separated string (default: every temporal
            table with intervals).
        folds: folds file (JSON or the SDK's *_std_folds.py) giving the splits, relative to the current
            directory or absolute; default: the videos' splits.
        shard_size: samples per shard (default: the source dataset's).
        force: replace an existing `output_dir`.

    Returns:
        A `SegmentReport`: segments and videos written, rows per table, tables skipped (pooled ones)
        and segments that got no feature, with why.

    Raises:
        ConfigError: `tables` that are not names, `shard_size` not a whole number >= 1, `force` not a
            bool, or a path that is not a str or Path (refused before anything is read).
        CorpusNotFoundError: no label or folds file there.
        DatasetError: samples that are not whole videos, a table that is not temporal or not complete,
            no segment of any video of the dataset, or `output_dir` exists (without force).

    Example:
        >>> segment_dataset("out/mosi-videos", "out/mosi", "csd/CMU_MOSI_Opinion_Labels.csd", folds="csd/folds.json")
    """
    dataset_dir = dataset_path(dataset_dir)
    output_dir, labels = path_argument(output_dir, argument="output_dir"), path_argument(labels, argument="labels")
    if folds is not None:
        folds = path_argument(folds, argument="folds")
    tables = optional_name_list(tables, argument="tables")
    check_count("shard_size", shard_size, optional=True)
    check_flag("force", force)
    source = open_dataset(dataset_dir)
    # One run at a time decides whether output_dir may be replaced; a full disk is named, in one line.
    with named_write_errors(output_dir), output_lock(output_dir, "segment"):
        return _segment_into(source, output_dir, Path(labels), folds, tables, force, shard_size)


def _segment_into(source: Dataset, output_dir: Path, labels: Path, folds: str | Path | None,
                  tables: Sequence[str] | None, force: bool, shard_size: int | None) -> SegmentReport:
    _check_output(source, output_dir, force)
    videos = _whole_videos(source)
    names, skipped = _choose_tables(source, tables)
    info, segments, problems = _read_labels(Path(labels), [v["sample_id"] for v in videos])
    folds_path = resolve_folds_path(folds) if folds is not None else None
    split_of = read_folds(folds_path) if folds_path is not None else None
    if split_of is not None:
        report_fold_coverage(folds_path, split_of, [v["sample_id"] for v in videos])
    samples = [s for video in videos for s in _segment_samples(video, segments.get(video["sample_id"], []), split_of)]
    if not samples:
        raise DatasetError(f"no label segment of {labels} falls on a video of {source.root} ({len(videos)} videos, "
                           f"first {[v['sample_id'] for v in videos[:3]]}); expected the label file of this corpus")
    table = samples_to_table(samples)
    size = shard_size or int(source.manifest.samples.get("shard_size", layout.DEFAULT_SHARD_SIZE))
    order = table.column("sample_id").to_pylist()
    report = SegmentReport(output_dir, len(order), len({s.group_id for s in samples}), problems, skipped=skipped)
    video_ends = _video_ends(source)
    with staged_dir(output_dir) as tmp:  # written there, moved onto output_dir when complete
        write_samples(tmp, table, problems, shard_size=size)
        write_manifest(tmp, _manifest(source, table, size, problems, info, Path(labels), folds_path, names, skipped))
        out = open_dataset(tmp)
        for name in names:
            cutter = _Cutter(source, name, Path(labels), _table_ends(source, name, video_ends))
            table_report, report.empty[name], report.overrun[name], report.bad_times[name] = _cut_table(
                out, cutter, order, segments)
            report.tables.append(table_report)
    for t in report.tables:
        t.path = output_dir / t.path.relative_to(tmp)
    return report


def _cut_table(out: Dataset, cutter: _Cutter, order: list[str],
               segments: dict[str, list[Segment]]) -> tuple[TableReport, int, int, int]:
    """Write table `cutter.name` of `out`, cut from the source's: (its report, segments failed for having
    no row of it, for running past the end of their video, for unusable times of their video's rows)."""
    source, name = cutter.source, cutter.name
    entry, spec = source.entry(name), source.spec(name)
    shards = layout.shard_files(source.table_dir(name))
    schema = shard_schema(shards[0])
    columns = {c: schema.field(c).type for c in ROW_COLUMNS if c in schema.names}
    provenance = _provenance(source, out, name, spec)
    claim_table(out, provenance, source=f"{name} of {source.root.name} cut into label segments", table_format=entry.format)
    sink = _ShardSink(out, name, provenance, columns)
    blocks = deque(_video_blocks(order))  # record shape: (video, [its sample ids in output order]) per video
    waiting: dict[str, Cut] = {}
    for video, row in _source_rows(source, name, shards, columns):
        if video in segments:
            waiting[video] = _cut(cutter, video, row, segments[video], columns)
        while blocks and blocks[0][0] in waiting:
            video_done, sample_ids = blocks.popleft()
            cut = waiting.pop(video_done)
            for sample_id in sample_ids:
                sink.add(sample_id, cut[sample_id])
    if blocks:
        raise DatasetError(f"table {name!r} of {source.root} has no row for video {blocks[0][0]!r}; the dataset is "
                           "inconsistent, re-run `mmdata extract`")
    sink.close()
    return finish_table(out, name, written=sink.written), sink.empty, sink.overrun, sink.bad_times


# --- the dataset -----------------------------------------------------------------------------------

def _manifest(source: Dataset, table: pa.Table, shard_size: int, problems: list[LoadProblem], info: Any,
              labels: Path, folds: str | Path | None, names: list[str], skipped: dict[str, str]) -> Manifest:
    loader = dict(source.manifest.extra.get("loader", {}))
    # What `export-csd` writes the segment labels back as, and `check` takes the label range from.
    loader["labels"] = {"file": labels.name, "root_name": info.root_name, "metadata": jsonable(info.metadata),
                        "keys": "segments" if info.keyed_by_segment else "videos"}
    dataset = loader.get("dataset") or dataset_of(info)
    if dataset:
        loader["dataset"] = dataset
    # The names of the values of this label file's rows (extra["labels"]), not the source's labels.
    for key in (LABEL_NAMES_KEY, LABEL_FIELDS_KEY):
        loader.pop(key, None)
    loader.update(row_labels_metadata(dataset, int(np.prod(info.feature_shape or (1,)))))
    return Manifest(
        corpus=dict(source.manifest.corpus),
        samples=samples_entry(table, shard_size, loader_errors=len(problems)),
        extra={"loader": loader, "segment": {
            "source": str(source.root.resolve()), "source_samples": source.manifest.samples["fingerprint"],
            "labels": {"path": str(labels.resolve()), "file": labels.name, "root_name": info.root_name},
            "folds": str(Path(folds).resolve()) if folds is not None else None, "epsilon": EPSILON,
            "tables": names, "skipped": skipped, "problems": len(problems)}},
    )


def _check_output(source: Dataset, output_dir: Path, force: bool) -> None:
    check_replaceable(output_dir, [source.root], force=force, marker=layout.MANIFEST_NAME, what="segment")
    if force and (output_dir / layout.MANIFEST_NAME).is_file() and not records_extra(output_dir, "segment"):
        raise DatasetError(
            f"output directory {output_dir} is a dataset that `mmdata segment` did not write (its "
            f"{layout.MANIFEST_NAME} records no segmentation: an `extract`, `align` or `share` output); force=True (--force) "
            "replaces only an earlier segment output: choose another path, or remove that dataset yourself")
