"""CMU-MultimodalSDK computational sequences (a folder of `.csd` files) as a dataset (kind `csd`).

    CSD_DIR/
      CMU_MOSI_COVAREP.csd              root 'COAVAREP': data/<vid>/features (T, 74), intervals (T, 2)
      CMU_MOSI_TimestampedWords.csd     root may differ from the file name; words b'sp' are pauses
      CMU_MOSI_Opinion_Labels.csd       one row per opinion segment, sentiment in [-3, 3]
      folds.json                        optional: {"train": [video ids], "valid": [...], "test": [...]}

Samples. With a label sequence (option `labels`, default: the file whose name or root name
contains "label"), one sample per labelled segment: sample_id `vid[i]` (the SDK's name for the
i-th label interval; a label file the SDK already aligned, one key `vid[i]` of one row per
segment, keeps its keys as they are, gaps included), start/end = that interval, label = its first
value (all values in extra["labels"] when there are several, e.g. MOSEI's 7), group_id = the
video id. Without one, one sample per key of the files (`vid`, or `vid[i]` in files the SDK
already aligned). `labels=none` asks for that even when a label file lies in the folder: files
named like labels (`*label*`, not words) are then left out, neither samples nor tables (named in
the manifest, `extra.loader.left_out`), unless the option `tables` names them. That is the first
step of the SDK's canonical pipeline (align whole videos to words), after which `mmdata segment`
cuts the videos into the label segments. The split comes from the `folds` file (JSON, or the SDK's `*_std_folds.py` read
with `ast`, never run): `unassigned` for videos in no fold, `all` without a folds file; a warning
names videos in no fold and fold ids that are no video of the folder. The
transcript is the words of the segment without pause tokens (`sp`, in any case); extra["words"]
lists them with their times, pauses included (`[[word, start, end], ...]`, what the
`word-embeddings` extractor reads).

Tables. Every other file becomes a sequence table with intervals: per sample, the rows that
overlap the sample's interval clipped to it with the SDK's rules (what `align(labels)` without a
collapse gives; keys `vid[i]` of one video are gathered and sorted by start first, as the SDK
does); a whole-video sample keeps all rows. A file keyed by the label's segment ids instead (only
keys `vid[i]`, those of each labelled video all segment ids of the label file: segment-level data
as the SDK writes after aligning to the labels, or `export-csd` of segments) gives each segment
the rows of its own key, as the SDK's `get_tensors` reads them, so overlapping segments keep their
own rows instead of counting each other's twice. A segment gets no feature (null, and a row in the
errors table, `--on-error fail` stops there) where `mmdata segment` gives it none
(`alignment.segment_rules`): in every table when it runs past the end of its video by more than
SEGMENT_OVERRUN_TOLERANCE of its length (the video ends at the media duration an `export-csd` file
recorded, else, as an SDK .csd records none, where its rows end over all the sequence files, the
label file excluded; a shorter overrun keeps the rows up to that end), and in a table no row of which overlaps it (a pause in the words, a key the file
lacks: the SDK's align gives it no key there). Features are
stored as float32 (T, D), D the product of the trailing dims. Table names are `<modality>.<name>`
guessed from the file and root names (CMU_MOSI_COVAREP -> audio.covarep, CMU_MOSI_Visual_Facet_41
-> video.facet-41), or set with `tables=FILE_STEM=modality.name+...`; a file `export-csd` wrote
comes back under the table name it recorded (`audio.prosody@text.words` too, when the folder holds
its reference `text.words` or `text.words@text.words`; else as `audio.prosody-text-words`, with a warning). A word (or phone) file
becomes `text.words` (`text.phones`): feature (T, 1) = 1.0 for a pause token (`sp`) else 0.0, plus
a `words` column (list<string>) with the tokens themselves, from which word embeddings can be
computed and which `export-csd` writes back as bytes.

Bad input. Each key of each file is checked while loading: shapes (features (T, D...), intervals
(T, 2), same T, the file's feature dims), finite intervals with end >= start, starts sorted (or
sorted stably with `unsorted=sort`, as the SDK does). A bad video, and a video missing from some
file (the SDK's `unify`, but comparing ids exactly), is dropped from every table and reported as a
load problem naming the file and the video id. The label sequence is the exception: its rows are
segments numbered in file order, which may overlap or come in any order, and each row is checked
on its own (finite interval, end > start, not zero-length, finite values), so a bad row leaves out
only its segment `vid[i]` (a load problem naming the file and the segment) and the video's other
segments keep their ids. A label file loaded as a feature table (`tables=` with `labels=none`, or
beside another label file) is checked like any other table. -inf/NaN in features follow
`nonfinite`: error (the sample fails and is recorded in the errors table), zero (replaced, as MulT
and MMSA do on load) or keep; they are counted either way (manifest `extra.nonfinite_values`).

Dataset. The corpus a label file belongs to (cmu-mosi, cmu-mosei: its file name starts with
CMU_MOSI_ / CMU_MOSEI_, or its metadata `dataset name` says so), or the option `dataset`, is
recorded in the manifest (`extra.loader.dataset`): the corpus whose label range applies. A label
file of several values per row also names them there (`extra.loader.label_names`, and where each
lies, `label_fields`: extra["labels"][i]), for `mmdata fuse --labels`: CMU-MOSEI's `sentiment,
happy, sad, anger, surprise, disgust, fear` for a cmu-mosei file of seven, else `label_0` ...
`label_<k-1>` (see `csd_labels.label_row_names`).
"""
from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mmdata.alignment.core import overlap_pieces, unify_ids
from mmdata.alignment.segment_rules import NO_ROW_ERROR, OVERRUN_ERROR, no_row_reason, overrun_reason
from mmdata.corpora.base import LoadProblem, LoadResult, PrecomputedRow, PrecomputedTable, register_corpus
from mmdata.corpora.csd_labels import (
    dataset_of, label_segments, left_out, mark_rows_by_segment, pick_labels, row_labels_metadata,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.formats.csd import (
    SMALL_ARRAY_BYTES, CsdEntry, CsdFile, VideoRows, check_intervals, check_shapes, decode_words, read_all, read_rows,
    split_key,
)
from mmdata.formats.csd_folder import TABLE_IDENTITY_KEY
from mmdata.formats.folds import read_folds, report_fold_coverage, resolve_folds_path
from mmdata.records import MODALITIES, PAUSE_TOKENS, Sample, spoken_transcript
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

NonFinite = Literal["error", "zero", "keep"]
#: Bytes of small keys' rows that `inspect_csd` keeps per file for the table reader (see `_FileInfo.kept_rows`).
KEPT_ROWS_BYTES = 256 * 2**20
#: What joins an aligned table's name to its reference's (`X@REF`, as `mmdata align` names it).
ALIGNED_MARK = "@"
# Names a label file goes by (file name prefix, metadata `dataset name`) -> the `dataset` they imply.
UNASSIGNED_SPLIT = "unassigned"
_PREFIX = re.compile(r"^(cmu_)?(mosi|mosei|sims|pom|iemocap)_+", re.IGNORECASE)
# A raw CMU-MOSI clip id: `<vid>_<k>`, k 1-based (the SDK's segment `<vid>[k-1]`).
_CLIP_KEY = re.compile(r"^(?P<video>.+)_(?P<number>[1-9]\d*)$")
_MODALITY_WORDS = re.compile(r"^(visual|acoustic|audio|language|text|video|vision)[-_ ]+", re.IGNORECASE)
_MODALITY_HINTS = (
    ("audio", ("covarep", "coavarep", "opensmile", "smile", "acoustic", "audio", "mfcc", "egemaps", "is09",
               "eb10", "emobase", "wav2vec", "prosody")),
    ("video", ("facet", "openface", "visual", "vision", "video", "face")),
    ("text", ("glove", "bert", "word", "phone", "text", "language", "vectors")),
)


@dataclass(frozen=True)
class CsdOptions:
    #: File stem or root name of the label sequence; 'auto' = the one named like '*label*'; 'none' = no labels:
    #: whole-video samples, files named like '*label*' left out (unless `tables` names them).
    labels: str = "auto"
    #: Folds file (JSON {split: [video ids]} or the SDK's *_std_folds.py): absolute, relative to the current
    #: directory, else relative to the corpus dir.
    folds: str | None = None
    #: Table names per file: FILE_STEM=modality.name (join several with '+').
    tables: tuple[str, ...] = ()
    #: -inf/NaN in features: 'error' fails the sample, 'zero' replaces them, 'keep' stores them (counted always).
    nonfinite: NonFinite = "error"
    #: Rows not sorted by start time: 'error' reports the video, 'sort' sorts them stably (the SDK's behaviour).
    unsorted: Literal["error", "sort"] = "error"
    #: Which corpus this is (cmu-mosi, cmu-mosei, ch-sims, ...): sets the label range `mmdata check` enforces.
    dataset: str | None = None


@dataclass
class _FileInfo:
    path: Path
    root_name: str
    metadata: dict[str, Any]
    is_text: bool
    keys_by_base: dict[str, list[str]] = field(default_factory=dict)  # valid keys only
    bad_keys: set[str] = field(default_factory=set)  # keys that failed the checks
    feature_shape: tuple[int, ...] | None = None
    frame_rate: float | None = None
    #: Keyed by the label's segment ids (`vid[i]`, as the SDK writes after aligning to labels): each
    #: sample's rows are those of its own key, never the video's keys gathered and cut again.
    rows_by_segment: bool = False
    #: video -> (first start, last end) of the rows of its valid keys, from the intervals checked while
    #: inspecting a feature sequence (none for the label sequence, whose rows are not checked there).
    row_spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: video -> the rows of its valid keys, read while inspecting a feature sequence whose keys are all
    #: small (below SMALL_ARRAY_BYTES: a file aligned to words has a key per word), up to KEPT_ROWS_BYTES
    #: per file: the table reader takes them from here instead of looking each key up again.
    kept_rows: dict[str, VideoRows] = field(default_factory=dict)

    @property
    def names(self) -> str:
        return f"{self.path.stem} {self.root_name}".lower()

    @property
    def keyed_by_segment(self) -> bool:
        """Every key is an SDK-aligned `vid[i]` (a label file the SDK aligned: one key per segment)."""
        return bool(self.keys_by_base) and all(_is_segment_key(k) for keys in self.keys_by_base.values() for k in keys)


@register_corpus("csd", CsdOptions)
def load_csd(corpus_dir: Path, options: CsdOptions, split: str | None) -> LoadResult:
    """CMU-MultimodalSDK computational sequences (*.csd): segments (with labels) or videos, with temporal tables."""
    paths = sorted(p for p in corpus_dir.glob("*.csd") if p.is_file())
    if not paths:
        raise CorpusNotFoundError(f"no .csd files in {corpus_dir}; expected CMU-MultimodalSDK computational sequences")
    result = LoadResult(samples=[])
    # Every file is checked as a feature sequence first: which one holds the labels is known only after.
    infos = [inspect_csd(path, options, result.problems, labels=False) for path in paths]
    labels = pick_labels(infos, options)
    if labels is not None:
        labels = _inspect_as_labels(labels, infos, options, result)
    excluded = left_out(infos, options)
    if excluded:  # their bad keys are no problem of the samples
        infos = [i for i in infos if i not in excluded]
        result.problems = [p for p in result.problems if p.path not in {str(i.path) for i in excluded}]
    sequences = [i for i in infos if i is not labels]
    by_segments = labels is not None
    keys = {i.path.name: (list(i.keys_by_base) if by_segments else _all_keys(i)) for i in infos}
    unified = unify_ids(keys, by_base=by_segments)
    bad = {k.split("[")[0] if by_segments else k for i in infos for k in i.bad_keys}
    known = unified.missing.keys() | set(unified.kept)
    for vid, lacking in unified.missing.items():
        if vid not in bad:
            clip = _CLIP_KEY.match(vid)
            index = int(clip["number"]) - 1 if clip else 0
            hint = (f"; {vid!r} reads like raw clip {clip['number']} of video {clip['video']!r}, a segment the SDK "
                    f"keys {clip['video']}[{index}] (or as row {index} of key {clip['video']!r}): write its keys in "
                    "that form") if clip and clip["video"] in known else ""
            result.problems.append(LoadProblem(vid, str(corpus_dir / lacking[0]), (
                f"video {vid!r} is missing from {', '.join(lacking)}; expected every sequence to hold it "
                f"(dropped from all tables){hint}")))
    videos = [v for v in unified.kept if v not in bad]
    if labels is not None:
        mark_rows_by_segment(sequences, labels)
    folds = None
    if options.folds:
        folds_path = resolve_folds_path(options.folds, corpus_dir)
        folds = read_folds(folds_path)
        report_fold_coverage(folds_path, folds, {v.split("[")[0] for v in videos})
    spans = label_segments(labels, videos, result) if labels is not None else {v: None for v in videos}
    words = next((i for i in sequences if i.is_text and "phone" not in i.names), None)
    timed_words = _timed_words(words, spans, by_segments) if words is not None else {}
    for sample_id, span in spans.items():
        base = sample_id.split("[")[0]
        fold = folds.get(base, UNASSIGNED_SPLIT) if folds is not None else "all"
        if split is not None and fold != split:
            continue
        start, end, values, index = span if span is not None else (None, None, None, None)
        extra: dict[str, Any] = {"video_id": base}
        if index is not None:
            extra["segment"] = index
        if values is not None and len(values) > 1:
            extra["labels"] = [float(v) for v in values]
        transcript = None
        if sample_id in timed_words:
            extra["words"] = timed_words[sample_id]
            transcript = spoken_transcript(timed_words[sample_id])  # null for a segment lying in a pause
        result.samples.append(Sample(
            sample_id=sample_id, corpus="csd", split=fold, group_id=base, start=start, end=end,
            transcript=transcript, label=float(values[0]) if values is not None else None, extra=extra,
        ))
    if split is not None and not result.samples and spans:
        raise CorpusFormatError(f"{corpus_dir}: no samples in split {split!r}; the folds name train/valid/test")
    names = _table_names(sequences, options)
    spans = {s.sample_id: spans[s.sample_id] for s in result.samples}
    rules = _SegmentRules(labels.path, _video_ends(sequences)) if labels is not None else None
    result.tables = [_table(info, names[info.path.name], spans, by_segments, options, rules) for info in sequences]
    if labels is not None:
        result.metadata["labels"] = {"file": labels.path.name, "root_name": labels.root_name,
                                     "metadata": jsonable(labels.metadata),
                                     "keys": "segments" if labels.keyed_by_segment else "videos"}
    if excluded:
        result.metadata["left_out"] = [i.path.name for i in excluded]
    dataset = options.dataset or (dataset_of(labels) if labels is not None else None)
    if dataset:
        result.metadata["dataset"] = dataset
    if labels is not None:  # the names of a row's values, for `mmdata fuse --labels`
        result.metadata.update(row_labels_metadata(dataset, int(np.prod(labels.feature_shape or (1,)))))
    return result


def is_pause(word: str) -> bool:
    """A pause token (`sp`, `SP`, `<sil>`, ...), matched case-insensitively as the word extractors match it."""
    return word.lower() in PAUSE_TOKENS


def sanitize_nonfinite(values: np.ndarray, policy: NonFinite) -> tuple[np.ndarray, int]:
    """Count -inf/NaN in `values`; with 'zero' replace them by 0 (a copy). 'error'/'keep' leave them."""
    finite = np.isfinite(values)
    count = int(values.size - np.count_nonzero(finite))
    if count and policy == "zero":
        values = np.where(finite, values, 0).astype(values.dtype, copy=False)
    return values, count


def beyond_float32(source: np.ndarray, values: np.ndarray) -> float | None:
    """The first finite value of a wider `source` that became inf as float32 `values`, or None.
    Only a source holding non-finite float32 values is searched (one pass to find none)."""
    if source.dtype.kind != "f" or source.dtype.itemsize <= 4:
        return None
    overflowed = np.isinf(values)
    if not overflowed.any():
        return None
    overflowed &= np.isfinite(source.reshape(values.shape))
    return float(source.reshape(values.shape)[overflowed][0]) if overflowed.any() else None


def nonfinite_error(count: int, where: str) -> str:
    return (f"{where}: {count} non-finite values (-inf/NaN) in the features; expected finite values; "
            "pass the option nonfinite=zero to replace them with 0, or nonfinite=keep to store them")


@dataclass(frozen=True)
class _SegmentFailedRow(PrecomputedRow):
    """A label segment `segment_rules` leaves without a feature in a table, with the errors table's
    `error_type` that `mmdata segment` gives the same failure."""

    error_type: str = "CorpusFormatError"


@dataclass(frozen=True)
class _SegmentRules:
    """Why a label segment gets no feature in a table, as `mmdata segment` decides it (`segment_rules`):
    past the end of its video by more than SEGMENT_OVERRUN_TOLERANCE of its length (the video's end being
    where its rows end over all the sequence files: a .csd records no media duration), or no row of the
    table overlaps it."""

    labels: Path  # the label file, named in failures
    #: video -> (its end, where that end comes from): the media end `export-csd` recorded, else its last
    #: row end over the sequence files (absent: neither)
    video_end: dict[str, tuple[float, str]]

    def failure(self, table: str, info: _FileInfo, video: str, sample_id: str, span: Any,
                rows: int) -> PrecomputedRow | None:
        start, end = span[0], span[1]
        video_end, known_by = self.video_end.get(video, (math.nan, ""))
        why = overrun_reason(table, sample_id, start, end, self.labels.name, video, video_end, known_by)
        error_type = OVERRUN_ERROR
        if why is None and rows == 0:
            why = no_row_reason(table, sample_id, start, end, self.labels.name, video, info.row_spans.get(video))
            error_type = NO_ROW_ERROR
        if why is None:
            return None
        return _SegmentFailedRow(sample_id, error=why, path=str(self.labels), error_type=error_type)


def _video_ends(sequences: list[_FileInfo]) -> dict[str, tuple[float, str]]:
    """Each video's end and where it comes from: the media end an `export-csd` file recorded
    (`TABLE_IDENTITY_KEY`, the longest over the files), else its last row end over the sequence files
    (the label file is none of them), from the intervals `inspect_csd` checked; videos of neither are absent."""
    rows: dict[str, float] = {}
    recorded: dict[str, float] = {}
    for info in sequences:
        for video, (_, end) in info.row_spans.items():
            rows[video] = max(end, rows.get(video, -math.inf))
        for video, end in _recorded_media_ends(info).items():
            recorded[video] = max(end, recorded.get(video, -math.inf))
    ends = {video: (end, "where its rows end over the .csd files") for video, end in rows.items()}
    ends.update({video: (end, "its media duration, as export-csd recorded it") for video, end in recorded.items()})
    return ends


def _recorded_media_ends(info: _FileInfo) -> dict[str, float]:
    """{video: media end} that `export-csd` recorded in the file's metadata; {} for other files."""
    ends = _recorded_identity(info).get("media_ends")
    if not isinstance(ends, dict):
        return {}
    return {str(v): float(e) for v, e in ends.items()
            if isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e) and e >= 0}


class _SequenceReader:
    """Reads one file's rows for a list of sample ids, one video at a time (see `PrecomputedTable.read`).

    With label segments (`rules`), a segment past the end of its video, or one no row of the file
    overlaps, gets a failed row instead (null feature, errors-table row), as `mmdata segment` gives it.
    """

    def __init__(self, info: _FileInfo, spans: dict[str, Any], by_segments: bool, options: CsdOptions,
                 table: str = "", rules: _SegmentRules | None = None):
        self.info, self.path, self.is_text = info, info.path, info.is_text
        self.spans, self.by_segments, self.options = spans, by_segments, options
        self.table, self.rules = table, rules

    def __call__(self, sample_ids: Sequence[str]) -> Iterator[PrecomputedRow]:
        with CsdFile(self.path) as csd:
            position = 0
            while position < len(sample_ids):
                video = self._video_of(sample_ids[position])
                group = [position]
                while position + len(group) < len(sample_ids) and self._video_of(sample_ids[position + len(group)]) == video:
                    group.append(position + len(group))
                yield from self._rows(csd, video, [sample_ids[i] for i in group])
                position += len(group)

    def _video_of(self, sample_id: str) -> str:
        return sample_id.split("[")[0] if self.by_segments else sample_id

    def _rows(self, csd: CsdFile, video: str, sample_ids: list[str]) -> Iterator[PrecomputedRow]:
        pieces = _sample_rows(csd, self.info, video, sample_ids, self.spans, self.by_segments,
                              sort=self.options.unsorted == "sort")
        for sample_id, features, intervals, where in pieces:
            failed = None
            if self.rules is not None and self.by_segments:
                failed = self.rules.failure(self.table, self.info, video, sample_id, self.spans[sample_id],
                                            len(features))
            yield failed or self._row(sample_id, features, intervals, where)

    def _row(self, sample_id: str, features: np.ndarray, intervals: np.ndarray, where: str) -> PrecomputedRow:
        """One sample's stored row: words as pause flags (T, 1) plus the tokens, else float32 (T, D)."""
        words = decode_words(features) if self.is_text else None
        if words is not None:
            values = np.asarray([[is_pause(w)] for w in words], np.float32).reshape(-1, 1)
        else:
            with np.errstate(over="ignore"):  # a value beyond float32's range is reported below, not warned about
                values = np.asarray(features, dtype=np.float32).reshape(len(features), int(np.prod(features.shape[1:])))
            beyond = beyond_float32(features, values)
            if beyond is not None:
                return PrecomputedRow(sample_id, error=(
                    f"{where}: holds {beyond!r}, beyond the range of float32 (max {float(np.finfo(np.float32).max):.4g}), "
                    "the dtype of mmdata's feature tables: it would be stored as inf; rescale the feature in the file"),
                    path=where)
        picked, count = sanitize_nonfinite(values, self.options.nonfinite)
        if count and self.options.nonfinite == "error":
            return PrecomputedRow(sample_id, error=nonfinite_error(count, where), path=where, nonfinite=count)
        columns = {"words": words} if words is not None else {}
        return PrecomputedRow(sample_id, picked, intervals, columns=columns, nonfinite=count)


def _sample_rows(
    csd: CsdFile, info: _FileInfo, video: str, sample_ids: list[str], spans: dict[str, Any], by_segments: bool, *,
    sort: bool,
) -> Iterator[tuple[str, np.ndarray, np.ndarray, str]]:
    """(sample_id, its feature rows, their intervals, where) for one video's samples, in order.

    A file keyed by the label's segments (`info.rows_by_segment`) gives each sample the rows of its
    own key. Otherwise the video's keys are gathered (sorted by start when there are several, or
    with `sort`) and cut by the samples' segments with the SDK's rules; a whole-video sample keeps
    every row.
    """
    if by_segments and info.rows_by_segment:
        yield from _own_key_rows(csd, info, video, sample_ids, sort=sort)
        return
    keys = info.keys_by_base[video] if by_segments else [video]
    features, intervals = _read_keys(csd, info, keys, sort=sort or len(keys) > 1)
    if by_segments:
        segments = np.array([spans[s][:2] for s in sample_ids], dtype=np.float64).reshape(-1, 2)
        parts: Any = overlap_pieces(segments, intervals).per_reference()
    else:
        parts = [(slice(None), intervals)]
    where = csd.where(video)
    for sample_id, (rows, clipped) in zip(sample_ids, parts):
        yield sample_id, features[rows], clipped, where


def _own_key_rows(csd: CsdFile, info: _FileInfo, video: str, sample_ids: list[str], *,
                  sort: bool) -> Iterator[tuple[str, np.ndarray, np.ndarray, str]]:
    """Each segment's rows from its own key `vid[i]`, as the SDK's `get_tensors` reads aligned data;
    no rows for a segment the file has no key for (the SDK's align writes none where nothing overlaps;
    the table's reader then gives it no feature, `_SegmentRules`)."""
    present = set(info.keys_by_base[video])
    for sample_id in sample_ids:
        if sample_id in present:
            features, intervals = _read_keys(csd, info, [sample_id], sort=sort)
            yield sample_id, features, intervals, csd.where(sample_id)
        else:
            empty = np.empty((0, *(info.feature_shape or (1,))), dtype="S1" if info.is_text else np.float32)
            yield sample_id, empty, np.empty((0, 2), dtype=np.float64), csd.where(video)


def _read_keys(csd: CsdFile, info: _FileInfo, keys: list[str], *, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """`read_rows` of one video's keys, from the rows `inspect_csd` kept when it kept them."""
    kept = info.kept_rows.get(keys[0].split("[")[0])
    if kept is not None and kept.holds(keys):
        return kept.rows(keys, sort=sort)
    return read_rows(csd, keys, sort=sort)


def inspect_csd(path: Path, options: CsdOptions, problems: list[LoadProblem], *,
                labels: bool | None = None) -> _FileInfo:
    """Check each key of a `.csd` file (bad keys become `problems`) and index the valid ones by video.

    A feature sequence (`labels=False`) is checked row by row here: finite intervals, end >= start,
    and starts sorted unless the option `unsorted=sort`; a bad key leaves its video out. The label
    sequence (`labels=True`) is checked for shapes only: its rows are segments, numbered `vid[i]` in
    file order as the SDK numbers them (segments may overlap or come in any order), and each row is
    checked on its own by `csd_labels.label_segments`, so that a bad row costs its segment alone.
    `labels=None` takes a file named like labels (`*label*`, not words) as the label sequence; the
    `csd` loader passes False until it has picked the label file, so that a label file loaded as a
    feature table (option `tables`) is checked like any other table.

    Each key is looked up once. A feature sequence's videos whose keys are all small keep their rows
    (`_FileInfo.kept_rows`, up to KEPT_ROWS_BYTES): the table reader then reads none of them again.
    """
    with CsdFile(path) as csd:
        info = _FileInfo(path, csd.root_name, csd.metadata, csd.is_text())
        if labels is None:
            labels = "label" in info.names and not info.is_text
        budget = KEPT_ROWS_BYTES if not labels else 0
        video, read = None, {}  # the video whose keys come now (keys are sorted by video), its keys' rows
        for key in csd.video_ids:
            base = key.split("[")[0]
            if base != video:
                _keep_rows(info, video, read)
                video, read = base, {}
            try:
                intervals, features = _check_key(csd, key, info, options, rows_checked=not labels)
            except CorpusFormatError as e:
                problems.append(LoadProblem(key, str(path), f"{e}; video {base!r} is left out of every table"))
                info.bad_keys.add(key)
                continue
            info.keys_by_base.setdefault(base, []).append(key)
            if read is not None and intervals is not None and _nbytes(features) < min(SMALL_ARRAY_BYTES, budget):
                read[key] = CsdEntry(read_all(features), intervals)
                budget -= read[key].features.nbytes + intervals.nbytes
            else:
                read = None  # a key not read: the video's rows come from the file
            if intervals is not None and len(intervals):
                first, last = info.row_spans.get(base, (np.inf, -np.inf))
                info.row_spans[base] = (min(first, float(intervals[:, 0].min())),
                                        max(last, float(intervals[:, 1].max())))
            if info.frame_rate is None and intervals is not None and not info.is_text and len(intervals) >= 3:
                info.frame_rate = _frame_rate(intervals)
        _keep_rows(info, video, read)
    return info


def _keep_rows(info: _FileInfo, video: str | None, read: dict[str, CsdEntry] | None) -> None:
    """Keep the rows read of a video's keys when every valid key of it was read."""
    if video is None or not read or list(read) != info.keys_by_base.get(video):
        return
    rows = VideoRows.join(read)
    if rows is not None:
        info.kept_rows[video] = rows


def _nbytes(dataset: Any) -> int:
    """Bytes a dataset's values take in memory (without reading them)."""
    return int(np.prod(dataset.shape or (0,))) * dataset.dtype.itemsize


def _check_key(csd: CsdFile, key: str, info: _FileInfo, options: CsdOptions, *,
               rows_checked: bool) -> tuple[np.ndarray | None, Any]:
    """Check one key's shapes (and, when `rows_checked`, its intervals row by row); its intervals
    when they were read (None for a label sequence, whose rows `label_segments` checks) and its
    features dataset (not read)."""
    features, intervals_data = csd.datasets(key)
    features_shape = features.shape
    check_shapes(csd.where(key), features_shape, intervals_data.shape)
    if info.feature_shape is None:
        info.feature_shape = tuple(features_shape[1:])
    elif tuple(features_shape[1:]) != info.feature_shape:
        raise CorpusFormatError(f"{csd.where(key)}: features have shape {features_shape}, expected "
                                f"(T, {', '.join(map(str, info.feature_shape))}) like the file's other videos")
    if not rows_checked:
        return None, features
    intervals = np.asarray(read_all(intervals_data), dtype=np.float64)
    check_intervals(csd.where(key), intervals, require_sorted=options.unsorted == "error",
                    sort_hint="pass the option unsorted=sort to sort rows by start time as the SDK does")
    return intervals, features


def _inspect_as_labels(labels: _FileInfo, infos: list[_FileInfo], options: CsdOptions, result: LoadResult) -> _FileInfo:
    """The picked label file inspected again as the label sequence (its rows checked one by one
    later, by `label_segments`), in place of its inspection as a feature sequence and its problems."""
    problems: list[LoadProblem] = []
    relabelled = inspect_csd(labels.path, options, problems, labels=True)
    result.problems = [p for p in result.problems if p.path != str(labels.path)] + problems
    infos[infos.index(labels)] = relabelled
    return relabelled


def _frame_rate(intervals: np.ndarray) -> float | None:
    steps = np.diff(np.sort(intervals[:, 0]))
    step = float(np.median(steps))
    if step <= 0 or np.abs(steps - step).max() > 1e-3 * step + 1e-9:
        return None
    return round(1.0 / step, 6)


def _all_keys(info: _FileInfo) -> list[str]:
    return [k for keys in info.keys_by_base.values() for k in keys]


def _timed_words(words: _FileInfo, spans: dict[str, Any], by_segments: bool) -> dict[str, list[list[Any]]]:
    """sample_id -> [[word, start, end], ...]: the sample's words (pauses included), clipped to it."""
    out: dict[str, list[list[Any]]] = {}
    by_video: dict[str, list[str]] = {}
    for sample_id in spans:
        by_video.setdefault(sample_id.split("[")[0] if by_segments else sample_id, []).append(sample_id)
    with CsdFile(words.path) as csd:
        for video, sample_ids in by_video.items():
            for sample_id, tokens, intervals, _ in _sample_rows(csd, words, video, sample_ids, spans, by_segments,
                                                                 sort=True):
                out[sample_id] = [[t, float(a), float(b)] for t, (a, b) in zip(decode_words(tokens), intervals)]
    return out


def _table(info: _FileInfo, name: str, spans: dict[str, Any], by_segments: bool, options: CsdOptions,
           rules: _SegmentRules | None = None) -> PrecomputedTable:
    modality = name.split(".", 1)[0]
    dim = 1 if info.is_text else int(np.prod(info.feature_shape or (1,)))
    spec = FeatureSpec(dim=dim, kind="sequence", intervals=True, frame_rate=info.frame_rate,
                       item_axis="word" if info.is_text else "time")
    config = {"file": info.path.name, "root_name": info.root_name, "metadata": jsonable(info.metadata),
              "feature_shape": list(info.feature_shape or ()), "words": info.is_text, "nonfinite": options.nonfinite,
              "unsorted": options.unsorted, "samples": "segments" if by_segments else "keys"}
    return PrecomputedTable(
        name=name, modality=modality, source=f"{info.path.name} (root {info.root_name!r})", spec=spec,
        read=_SequenceReader(info, spans, by_segments, options, name, rules), config=config,
        extra_columns={"words": pa.list_(pa.string())} if info.is_text else {},
    )


def _table_names(infos: list[_FileInfo], options: CsdOptions) -> dict[str, str]:
    """{file name: table name}: the option `tables`, else the name `export-csd` recorded in the file,
    else one guessed from the file and root names; an aligned name `X@REF` whose reference does not
    come back too becomes a plain name (`_unlinked_name`), with a warning."""
    overrides = _table_overrides(options)
    chosen = {info.path.name: overrides.get(info.path.stem) or _recorded_name(info) or _guess_name(info)
              for info in infos}
    coming_back = set(chosen.values())
    names: dict[str, str] = {}
    for info in infos:
        name = chosen[info.path.name]
        if info.path.stem not in overrides:
            name = _linked_or_plain(info, name, coming_back)
        clash = next((f for f, n in names.items() if n == name), None)
        if clash:
            raise CorpusFormatError(f"{info.path.name} and {clash} would both become table {name!r}; "
                                    f"name them with the option tables={info.path.stem}=<modality>.<name>")
        names[info.path.name] = name
    return names


def _table_overrides(options: CsdOptions) -> dict[str, str]:
    """{file stem: table name} from the option `tables` (FILE_STEM=modality.name)."""
    overrides = {}
    for item in options.tables:
        stem, sep, name = item.partition("=")
        if not sep or name.split(".", 1)[0] not in MODALITIES or "." not in name:
            raise ConfigError(f"option tables: expected FILE_STEM=modality.name with modality in {list(MODALITIES)}, got {item!r}")
        overrides[stem.strip()] = name.strip()
    return overrides


def _recorded_identity(info: _FileInfo) -> dict[str, Any]:
    """What `export-csd` recorded of the table a file holds (`TABLE_IDENTITY_KEY`); {} for other files."""
    identity = info.metadata.get(TABLE_IDENTITY_KEY)
    return identity if isinstance(identity, dict) else {}


def _recorded_name(info: _FileInfo) -> str | None:
    """The table name `export-csd` recorded (a usable `modality.name`), so that the table comes back
    under the name it was exported from; None for files without one (the SDK's own: guessed)."""
    name = _recorded_identity(info).get("name")
    if isinstance(name, str) and "." in name and name.split(".", 1)[0] in MODALITIES and "/" not in name:
        return name
    return None


def _linked_or_plain(info: _FileInfo, name: str, coming_back: set[str]) -> str:
    """`name` as it is, unless it is an aligned `X@REF` whose reference comes back under no name (neither
    REF nor REF@REF among the tables read): then a plain name, since `check` and `fuse` would look for
    a reference the dataset lacks."""
    if ALIGNED_MARK not in name:
        return name
    reference = _recorded_identity(info).get("reference")
    if not isinstance(reference, str) or not name.endswith(ALIGNED_MARK + reference):
        reference = name.rpartition(ALIGNED_MARK)[2]
    if reference in coming_back or f"{reference}{ALIGNED_MARK}{reference}" in coming_back:
        return name
    plain = _unlinked_name(name)
    log.warning("%s: table %r is aligned to %r, which is not in the folder (no file holds table %r or %r); read as "
                "%r instead, unaligned; export the reference with it to keep the link", info.path, name, reference,
                reference, f"{reference}{ALIGNED_MARK}{reference}", plain)
    return plain


def _unlinked_name(name: str) -> str:
    """An aligned name as a plain one: `audio.prosody@text.words` -> `audio.prosody-text-words`."""
    modality, _, rest = name.partition(".")
    return f"{modality}.{re.sub(r'[^a-z0-9]+', '-', rest.lower()).strip('-') or 'features'}"


def _guess_name(info: _FileInfo) -> str:
    """A table name from the file and root names (CMU_MOSI_COVAREP -> audio.covarep), for files that
    record none."""
    if info.is_text:
        return "text.phones" if "phone" in info.names else "text.words"
    modality = next((m for m, hints in _MODALITY_HINTS if any(h in info.names for h in hints)), None)
    if modality is None:
        raise CorpusFormatError(f"{info.path}: cannot tell the modality of root {info.root_name!r}; name its table "
                                f"with the option tables={info.path.stem}=audio.<name> (or video./text.)")
    slug = _MODALITY_WORDS.sub("", _PREFIX.sub("", info.path.stem))
    return f"{modality}.{re.sub(r'[^a-z0-9]+', '-', slug.lower()).strip('-') or 'features'}"


def _is_segment_key(key: str) -> bool:
    return split_key(key)[1] is not None


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
