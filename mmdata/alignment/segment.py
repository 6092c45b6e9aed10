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
video's temporal tables; when no row of the table overlaps it (the SDK gives it no key); or when
its video has no features in the source table. The first two rules (`segment_rules`) are the csd
loader's too, so that extracting with the label file gives the same tables and reasons.
Pooled tables (one vector per video) are skipped and named in the report: a whole-video summary
is no segment's feature; extract them again on the segmented dataset. Label segments of videos the
dataset lacks, and videos without a segment, are recorded as load problems (errors table
`loader`) and counted in the report. Everything is written into a hidden temporary directory
renamed onto OUTPUT_DIR at the end, so a failure leaves no half dataset.

Memory: a table is read one record batch (a few videos) at a time, in the source's order, and
written one output shard at a time. Output samples are sorted by id (`vid[i]`), which orders
videos as the source does except where one id is a prefix of another (`abc`, `abc-x`); a video cut
before its turn waits, cut, until the videos sorted before it are written.
"""
from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mmdata.alignment.core import EPSILON, overlap_pieces
from mmdata.alignment.dataset import batch_sequences, config_fingerprint, shard_row_batches
from mmdata.alignment.segment_rules import NO_ROW_ERROR, OVERRUN_ERROR, no_row_reason, overrun_reason
from mmdata.corpora.base import LoadProblem, LoadResult
# The csd loader's own label reading, so that a label file means the same here as at load time.
from mmdata.corpora.csd import UNASSIGNED_SPLIT, CsdOptions, inspect_csd, jsonable
from mmdata.corpora.csd_labels import (
    LABEL_FIELDS_KEY, LABEL_NAMES_KEY, dataset_of, label_segments, require_label_sequence, row_labels_metadata,
)
from mmdata.errors import CorpusNotFoundError, DatasetError
from mmdata.features.base import library_versions
from mmdata.formats.csd import CsdFile, split_key
from mmdata.formats.folds import read_folds, report_fold_coverage, resolve_folds_path
from mmdata.options import check_count, check_flag, dataset_path, optional_name_list, path_argument, short_repr
from mmdata.pipeline import samples_entry, write_samples
from mmdata.records import Sample, duration_keys, media_ends, samples_to_table, spoken_transcript
from mmdata.store import layout
from mmdata.store.arrays import interval_bounds, sequence_rows
from mmdata.store.lock import output_lock
from mmdata.store.manifest import Manifest, write_manifest
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import read_shard, shard_schema
from mmdata.store.tables import TableReport, claim_table, finish_table, shard_path
from mmdata.store.writer import FeatureBatchBuilder, check_replaceable, errors_table, staged_dir, write_table_atomic

#: Columns that hold one value per feature row and so follow the rows into the segments.
ROW_COLUMNS = ("keys", "words")
# One video's cut rows: sample id -> (features, intervals, {column: values}), or why it has none.
Cut = dict[str, "tuple[np.ndarray, np.ndarray, dict[str, list]] | _Failed"]


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

    def __repr__(self) -> str:
        lines = [f"output_dir={str(self.output_dir)!r}: {self.samples} segments of {self.videos} videos, "
                 f"{len(self.problems)} problems"]
        lines += [f"{t.name}: {t.rows} rows, {t.errors} failed ({self.empty.get(t.name, 0)} no row, "
                  f"{self.overrun.get(t.name, 0)} past the video's end)" for t in self.tables[:8]]
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
        labels: the label `.csd` (keys `vid` with one row per segment, or SDK-aligned keys `vid[i]`).
        tables: the tables to cut, as a list or a comma-separated string (default: every temporal
            table with intervals).
        folds: folds file (JSON or the SDK's *_std_folds.py) giving the splits, relative to the current
            directory or absolute; default: the videos' splits.
        shard_size: samples per shard (default: the source dataset's).
        force: replace an existing `output_dir`.

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
    with output_lock(output_dir, "segment"):  # one run at a time decides whether output_dir may be replaced
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
            table_report, report.empty[name], report.overrun[name] = _cut_table(out, cutter, order, segments)
            report.tables.append(table_report)
    for t in report.tables:
        t.path = output_dir / t.path.relative_to(tmp)
    return report


# --- samples ---------------------------------------------------------------------------------------

# One label segment: (sample_id `vid[i]`, start, end, label values, i).
Segment = tuple[str, float, float, np.ndarray, int]


def _whole_videos(source: Dataset) -> list[dict[str, Any]]:
    """The samples table's rows, refusing any that is not a whole video."""
    rows = source.samples_table().to_pylist()
    for row in rows:
        sample_id, why = row["sample_id"], None
        if split_key(sample_id)[1] is not None:
            why = "its id is an SDK segment id vid[i]"
        elif row["start"] is not None or row["end"] is not None:
            why = f"it spans {row['start']}..{row['end']} s"
        elif row["group_id"] not in (None, sample_id):
            why = f"it belongs to video {row['group_id']!r}"
        if why:
            raise DatasetError(
                f"sample {sample_id!r} of {source.root} is not a whole video ({why}); `segment` cuts whole videos "
                "(sample_id = video id, no start/end): extract the .csd folder with `-o labels=none` first")
    return rows


def _read_labels(path: Path, videos: list[str]) -> tuple[Any, dict[str, list[Segment]], list[LoadProblem]]:
    """(label file info, video -> its segments, problems), the label file read as the csd loader reads it."""
    if not path.is_file():
        raise CorpusNotFoundError(f"label file not found: {path}; expected the SDK's label sequence "
                                  "(.csd, one row per segment, e.g. CMU_MOSI_Opinion_Labels.csd)")
    result = LoadResult(samples=[])
    # Read as labels whatever its name (the loader guesses labels from a `*label*` name): its rows are
    # segments in the SDK's file order, never time steps to be sorted.
    info = inspect_csd(path, CsdOptions(), result.problems, labels=True)
    require_label_sequence(path, info.root_name, info.is_text, info.feature_shape,
                           hint="pass the label file with --labels, e.g. CMU_MOSI_Opinion_Labels.csd")
    bad = {key.split("[")[0] for key in info.bad_keys}  # reported by inspect_csd; the loader drops the video too
    for video in sorted(set(info.keys_by_base) - set(videos) - bad):
        result.problems.append(LoadProblem(video, str(path), (
            f"video {video!r} has {_count_rows(path, info.keys_by_base[video])} label segments but the dataset has "
            "no such video; expected every labelled video among the samples (its segments are left out)")))
    for video in videos:
        if video not in info.keys_by_base and video not in bad:
            result.problems.append(LoadProblem(video, str(path), (
                f"video {video!r} has no label segment in {path.name}; expected one or more (no sample made from it)")))
    spans = label_segments(info, [v for v in videos if v in info.keys_by_base and v not in bad], result)
    segments: dict[str, list[Segment]] = {}
    for sample_id, (start, end, values, index) in spans.items():
        segments.setdefault(split_key(sample_id)[0], []).append((sample_id, start, end, values, index))
    return info, segments, result.problems


def _count_rows(path: Path, keys: list[str]) -> int:
    with CsdFile(path) as csd:
        return sum(csd.shapes(key)[1][0] for key in keys)


def _segment_samples(video: dict[str, Any], segments: list[Segment], split_of: dict[str, str] | None) -> Iterator[Sample]:
    """The samples of one video's segments, made as the csd loader makes labelled segments."""
    vid = video["sample_id"]
    extra = json.loads(video["extra"]) if video["extra"] else {}
    words = extra.pop("words", None)
    clipped = _clip_words(words, segments) if words is not None else [None] * len(segments)
    split = split_of.get(vid, UNASSIGNED_SPLIT) if split_of is not None else video["split"]
    for (sample_id, start, end, values, index), timed in zip(segments, clipped):
        sample_extra = {**extra, "video_id": vid, "segment": index}
        if len(values) > 1:
            sample_extra["labels"] = [float(v) for v in values]
        if timed is not None:
            sample_extra["words"] = timed
        yield Sample(
            sample_id=sample_id, corpus=video["corpus"], split=split, group_id=vid, image=video["image"],
            audio=video["audio"], video=video["video"], start=start, end=end, captions=tuple(video["captions"] or ()),
            # no transcript without word timings, none for a segment lying in a pause
            transcript=spoken_transcript(timed) if timed is not None else None, label=float(values[0]),
            extra=sample_extra,
        )


#: Where a video's end comes from when the samples record no media duration (`_table_ends`).
ROWS_END_ESTIMATE = (
    "only estimated from where its rows end over the dataset's tables, as the samples record no media duration; "
    "give the recordings' lengths: a `duration` column in mosi-raw's segments.csv, or extract the corpus again "
    "(mosi-raw records the WAV/MP4 lengths of whole recordings)")




def _clip_words(words: list[list[Any]], segments: list[Segment]) -> list[list[list[Any]]]:
    """Per segment, the video's timed words [[word, start, end], ...] overlapping it, clipped to it."""
    intervals = np.array([[w[1], w[2]] for w in words], dtype=np.float64).reshape(-1, 2)
    return [[[words[r][0], float(a), float(b)] for r, (a, b) in zip(rows, clipped)]
            for rows, clipped in _clip(segments, intervals)]


# --- tables ----------------------------------------------------------------------------------------

def _choose_tables(source: Dataset, tables: Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    """(tables to cut, {table: why it is skipped}); a table named in `tables` must be cuttable, and is
    cut once however often it is named."""
    skipped = {}
    chosen = list(dict.fromkeys(tables or source.table_names))
    for name in chosen:
        why = _why_not_cuttable(source, name)
        if why and tables:
            raise DatasetError(f"table {name!r} of {source.root} cannot be cut into segments: {why}")
        if why:
            skipped[name] = why
    return [n for n in chosen if n not in skipped], skipped


def _why_not_cuttable(source: Dataset, name: str) -> str | None:
    entry, spec = source.entry(name), source.spec(name)  # an unknown name raises, listing the tables
    if spec.kind != "sequence":
        return ("pooled, one vector per video: a whole-video summary is no segment's feature; "
                "extract it again on the segmented dataset")
    if not spec.intervals or spec.dim is None:
        return "its rows have no intervals or no fixed width, so they cannot be clipped to a segment"
    if not entry.complete or not layout.shard_files(source.table_dir(name)):
        return f"incomplete (an interrupted run); finish it in {source.root} first"
    return None


def _cut_table(out: Dataset, cutter: _Cutter, order: list[str],
               segments: dict[str, list[Segment]]) -> tuple[TableReport, int, int]:
    """Write table `cutter.name` of `out`, cut from the source's: (its report, segments failed for having
    no row of it, segments failed for running past the end of their video)."""
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
    return finish_table(out, name, written=sink.written), sink.empty, sink.overrun


def _source_rows(source: Dataset, name: str, shards: list[Path], columns: dict[str, pa.DataType]) -> Iterator[tuple[str, Any]]:
    """(video, (features, intervals, {column: values}) or None) per row, a record batch at a time, in the
    samples table's order (checked)."""
    ids = iter(source.samples_table(columns=["sample_id"]).column(0).to_pylist())
    dim = source.spec(name).dim
    for path in shards:
        for batch in shard_row_batches(path):
            values = {c: batch.column(c).to_pylist() for c in columns}
            for k, (video, rows) in enumerate(zip(batch.column("sample_id").to_pylist(), batch_sequences(batch, dim))):
                expected = next(ids, None)
                if video != expected:
                    raise DatasetError(f"table {name!r} of {source.root} holds {video!r} where the samples table has "
                                       f"{expected!r} ({path.name}); the dataset is inconsistent, re-run `mmdata extract`")
                yield video, None if rows is None else (*rows, {c: values[c][k] for c in columns})


@dataclass(frozen=True)
class _Failed:
    """A segment that gets no feature in a table (null, with this errors-table row)."""

    kind: Literal["missing", "overrun", "empty"]  # no source features / past the video's end / no row overlaps it
    error_type: str
    path: str
    reason: str


@dataclass(frozen=True)
class _Cutter:
    """What cutting one table into segments needs, and why a segment gets no feature in it: past the
    end of its video (the media rule of audio/video extraction), or no row overlaps it (the SDK's
    align gives it no key)."""

    source: Dataset
    name: str
    labels: Path  # the label file, named in failures
    video_end: dict[str, tuple[float, str]]  # video -> (its end in seconds for this table, where it comes from)

    def no_features(self, video: str) -> _Failed:
        return _Failed("missing", "DatasetError", str(self.source.root), (
            f"video {video!r} has no features in {self.name!r} of the source dataset (see its errors); nothing to cut"))

    def overrun(self, segment: Segment, video: str) -> _Failed | None:
        """A segment running past its video's end by more than SEGMENT_OVERRUN_TOLERANCE of its length;
        a shorter overrun is kept, its rows stopping where the video's do (`segment_rules`, the rule
        the csd loader applies too)."""
        sample_id, start, end = segment[:3]
        video_end, known_by = self.video_end.get(video, (math.nan, ""))
        why = overrun_reason(self.name, sample_id, start, end, self.labels.name, video, video_end, known_by)
        return None if why is None else _Failed("overrun", OVERRUN_ERROR, str(self.labels), why)

    def no_row(self, segment: Segment, video: str, intervals: np.ndarray) -> _Failed:
        sample_id, start, end = segment[:3]
        span = (float(intervals[:, 0].min()), float(intervals[:, 1].max())) if len(intervals) else None
        return _Failed("empty", NO_ROW_ERROR, str(self.labels),
                       no_row_reason(self.name, sample_id, start, end, self.labels.name, video, span))


def _cut(cutter: _Cutter, video: str, row: Any, segments: list[Segment], columns: dict[str, pa.DataType]) -> Cut:
    """One video's rows per segment: those overlapping it, clipped to it (the SDK's `align(labels)`),
    or why the segment has none."""
    if row is None:
        return {s[0]: cutter.no_features(video) for s in segments}
    features, intervals, values = row
    cut: Cut = {}
    for segment, (rows, clipped) in zip(segments, _clip(segments, intervals)):
        failed = cutter.overrun(segment, video) or (None if len(rows) else cutter.no_row(segment, video, intervals))
        cut[segment[0]] = failed or (features[rows], clipped, {c: [values[c][r] for r in rows] for c in columns})
    return cut


def _clip(segments: list[Segment], intervals: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per segment, (rows overlapping it, their intervals clipped to it) with the SDK's rules."""
    return overlap_pieces(np.array([[s[1], s[2]] for s in segments]), intervals).per_reference()


# --- where each video ends ---------------------------------------------------------------------------

def _video_ends(source: Dataset) -> dict[str, float]:
    """Each video's last row end over every temporal table of the source (its tables' intervals only):
    how long its recordings run where the samples record no media duration; videos of no row are absent."""
    ends: dict[str, float] = {}
    for name in source.table_names:
        if _why_not_cuttable(source, name) is not None:
            continue
        for path in layout.shard_files(source.table_dir(name)):
            shard = read_shard(path, columns=["sample_id", "intervals"])
            for video, end in zip(shard.column("sample_id").to_pylist(), _last_row_ends(shard.column("intervals"))):
                if not math.isnan(end):
                    ends[video] = max(float(end), ends.get(video, -math.inf))
    return ends


def _last_row_ends(intervals: pa.ChunkedArray) -> np.ndarray:
    """Per sample, the latest end among its rows' intervals (NaN for a null or empty sequence)."""
    offsets, rows = sequence_rows(intervals)
    return interval_bounds(offsets, rows)[1]


def _table_ends(source: Dataset, name: str, video_ends: dict[str, float]) -> dict[str, tuple[float, str]]:
    """Each video's end for table `name`: the duration the samples record for the table's medium (as
    `mmdata check` takes it, `records.duration_keys`), else its last row end over the source's tables."""
    samples = source.samples_table(columns=["sample_id", "extra"])
    durations = media_ends(samples.column("extra"), duration_keys(source.entry(name).modality))
    ends: dict[str, tuple[float, str]] = {}
    for video, duration in zip(samples.column("sample_id").to_pylist(), durations):
        if math.isfinite(duration):
            ends[video] = (float(duration), "its media duration")
        elif video in video_ends:
            ends[video] = (video_ends[video], ROWS_END_ESTIMATE)
    return ends


def _video_blocks(order: list[str]) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    for sample_id in order:
        video = split_key(sample_id)[0]
        if not blocks or blocks[-1][0] != video:
            blocks.append((video, []))
        blocks[-1][1].append(sample_id)
    return blocks


class _ShardSink:
    """Rows of one output table, written as shard k once it holds the rows of samples shard k."""

    def __init__(self, out: Dataset, name: str, provenance: dict[str, Any], columns: dict[str, pa.DataType]):
        self.out, self.name, self.provenance, self.columns = out, name, provenance, columns
        self.sizes = list(out.manifest.samples["shards"])  # rows of each samples shard
        self.index = self.written = self.empty = self.overrun = 0
        self._start()

    def _start(self) -> None:
        self.builder = FeatureBatchBuilder(self.out.spec(self.name), self.provenance)
        self.values: dict[str, list[Any]] = {c: [] for c in self.columns}
        self.errors: list[dict[str, Any]] = []

    def add(self, sample_id: str, cut: Any) -> None:
        """One segment's rows (features, intervals, {column: values}), or its failure."""
        if isinstance(cut, _Failed):
            self.builder.add(sample_id, None)
            self.errors.append({"table": self.name, "sample_id": sample_id, "path": cut.path, "stage": "segment",
                                "error_type": cut.error_type, "reason": cut.reason})
            self.empty += cut.kind == "empty"
            self.overrun += cut.kind == "overrun"
        else:
            features, intervals, _ = cut
            self.builder.add(sample_id, features, intervals)
        for c in self.columns:
            self.values[c].append(None if isinstance(cut, _Failed) else cut[2][c])
        if len(self.builder) == self.sizes[self.index]:
            self._write()

    def close(self) -> None:
        while self.index < len(self.sizes):  # an empty samples table still has one (empty) shard
            self._write()

    def _write(self) -> None:
        table = self.builder.build()
        for c, arrow_type in self.columns.items():
            table = table.append_column(pa.field(c, arrow_type), pa.array(self.values[c], arrow_type))
        if self.errors:
            write_table_atomic(errors_table(self.errors), layout.errors_dir(self.out.root, self.name) / layout.shard_name(self.index))
        write_table_atomic(table, shard_path(self.out, self.name, self.index))
        self.index += 1
        self.written += 1
        self._start()


#: Config keys of a table read from a `.csd` (`extract csd`) that `export-csd` writes it back with: its
#: file name, root name, metadata and feature shape (copied, so that a cut table keeps them).
CSD_IDENTITY_KEYS = ("file", "root_name", "metadata", "feature_shape")


def _provenance(source: Dataset, out: Dataset, name: str, spec: Any) -> dict[str, Any]:
    entry = source.entry(name)
    extra = out.manifest.extra["segment"]
    config = {"table": name, "labels": extra["labels"]["file"], "epsilon": EPSILON,
              "source": {"extractor": entry.extractor, "source": entry.source, "rows": entry.rows,
                         "config": config_fingerprint(entry.config), "samples": source.manifest.samples["fingerprint"]}}
    if "root_name" in entry.config:
        config.update({key: entry.config[key] for key in CSD_IDENTITY_KEYS if key in entry.config})
    return {"table": name, "modality": entry.modality, "extractor": "segment", "config": config,
            "spec": spec.to_json(), "versions": library_versions(("mmdata", "numpy", "pyarrow")),
            "samples_fingerprint": out.manifest.samples["fingerprint"]}


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
    if force and (output_dir / layout.MANIFEST_NAME).is_file() and not _written_by_segment(output_dir):
        raise DatasetError(
            f"output directory {output_dir} is a dataset that `mmdata segment` did not write (its "
            f"{layout.MANIFEST_NAME} records no segmentation: an `extract`, `align` or `share` output); force=True (--force) "
            "replaces only an earlier segment output: choose another path, or remove that dataset yourself")


def _written_by_segment(dataset_dir: Path) -> bool:
    """Whether the dataset's manifest holds the record only `segment` writes (`extra.segment`)."""
    try:
        extra = json.loads((dataset_dir / layout.MANIFEST_NAME).read_text(encoding="utf-8")).get("extra")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(extra, dict) and "segment" in extra
