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
already aligned), except for keys that name rows of a sample (`csd_keys`): an aligned table
`export-csd` wrote (`vid[i]` per row of sample `vid`), or SDK-aligned `vid[i]` beside files keyed
by whole video, gathered into sample `vid` as the SDK's unify and align read them, with a `keys`
column naming each row's key. `labels=none` asks for that even when a label file lies in the folder: files
named like labels (`*label*`, not words) are then left out, neither samples nor tables (named in
the manifest, `extra.loader.left_out`), unless the option `tables` names them. That is the first
step of the SDK's canonical pipeline (align whole videos to words), after which `mmdata segment`
cuts the videos into the label segments. The split comes from the `folds` file (JSON, or the SDK's `*_std_folds.py` read
with `ast`, never run), else from the folds file `export-csd` wrote beside its files (`csd_splits`):
`unassigned` for videos in no fold, `all` without a folds file; a warning
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

This module holds the loader (`load_csd`, its options) and the inspection of each file
(`inspect_csd`); the rest lives in:
    mmdata.corpora.csd_tables        the sequence tables: each sample's rows, segment failures, non-finite values
    mmdata.corpora.csd_table_names   what each file's table is called
    mmdata.corpora.csd_labels        the label sequence: which file, its segments, its dataset
    mmdata.corpora.csd_keys          which sample each key belongs to (row keys `vid[i]`, mixed folders)
    mmdata.corpora.csd_splits        which split each sample is in (the option folds, or an export's folds file)
The names moved to the first two stay importable from here.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmdata.alignment.core import unify_ids
from mmdata.corpora.base import LoadProblem, LoadResult, register_corpus
from mmdata.corpora.csd_keys import assign_samples, sample_of
from mmdata.corpora.csd_labels import (
    dataset_of, label_segments, left_out, mark_rows_by_segment, pick_labels, row_labels_metadata,
)
from mmdata.corpora.csd_splits import NO_FOLDS_SPLIT, UNASSIGNED_SPLIT, read_csd_folds  # noqa: F401 - re-exported
from mmdata.corpora.csd_table_names import ALIGNED_MARK, _table_names  # noqa: F401 - also re-exported from here
from mmdata.corpora.csd_tables import (  # noqa: F401 - also re-exported from here
    NonFinite, _SegmentRules, _table, _timed_words, _video_ends, beyond_float32, is_pause, jsonable, nonfinite_error,
    sanitize_nonfinite,
)
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.formats.csd import (
    SMALL_ARRAY_BYTES, CsdEntry, CsdFile, VideoRows, check_intervals, check_shapes, read_all, split_key,
)
from mmdata.records import Sample, spoken_transcript

log = logging.getLogger(__name__)

#: Bytes of small keys' rows that `inspect_csd` keeps per file for the table reader (see `_FileInfo.kept_rows`).
KEPT_ROWS_BYTES = 256 * 2**20
# A raw CMU-MOSI clip id: `<vid>_<k>`, k 1-based (the SDK's segment `<vid>[k-1]`).
_CLIP_KEY = re.compile(r"^(?P<video>.+)_(?P<number>[1-9]\d*)$")


@dataclass(frozen=True)
class CsdOptions:
    #: File stem or root name of the label sequence; 'auto' = the one named like '*label*'; 'none' = no labels:
    #: whole-video samples, files named like '*label*' left out (unless `tables` names them).
    labels: str = "auto"
    #: Folds file (JSON {split: [video ids]} or the SDK's *_std_folds.py): absolute, relative to the current
    #: directory, else relative to the corpus dir (default: the folds file export-csd wrote, when the files record one).
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
    #: sample -> its keys, for a file whose keys are rows of samples (`csd_keys.assign_samples`: an aligned
    #: table `export-csd` wrote, or SDK-aligned keys beside whole videos); None: each key is a sample.
    keys_by_sample: dict[str, list[str]] | None = None
    #: How a key names its sample (`csd_keys.sample_of`): the key itself unless `keys_by_sample` is set.
    samples_by: str = "key"
    #: The samples of `keys_by_sample` are segments (keys `vid[k][i]`): each reads the rows of its own keys.
    segment_rows: bool = False

    @property
    def names(self) -> str:
        return f"{self.path.stem} {self.root_name}".lower()

    @property
    def row_keyed(self) -> bool:
        """Whether the keys are rows of samples, which come back with a `keys` column naming each row's key."""
        return self.keys_by_sample is not None

    def keys_of(self, sample_id: str) -> list[str]:
        """The keys holding a sample's rows (none for a sample of no row that `export-csd` recorded)."""
        return self.keys_by_sample.get(sample_id, []) if self.keys_by_sample is not None else [sample_id]

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
    folds = read_csd_folds(corpus_dir, options.folds, [(i.path, i.metadata) for i in infos])
    labels = pick_labels(infos, options)
    if labels is not None:
        labels = _inspect_as_labels(labels, infos, options, result)
    excluded = left_out(infos, options)
    if excluded:  # their bad keys are no problem of the samples
        infos = [i for i in infos if i not in excluded]
        result.problems = [p for p in result.problems if p.path not in {str(i.path) for i in excluded}]
    sequences = [i for i in infos if i is not labels]
    by_segments = labels is not None
    assign_samples(sequences, by_segments=by_segments)
    keys = {i.path.name: (_all_videos(i) if by_segments else _all_samples(i)) for i in infos}
    unified = unify_ids(keys, by_base=by_segments)
    bad = {k.split("[")[0] if by_segments else sample_of(k, i.samples_by) for i in infos for k in i.bad_keys}
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
    spans = label_segments(labels, videos, result) if labels is not None else {v: None for v in videos}
    if folds is not None:
        folds.report_coverage(videos, spans)
    word_files = [i for i in sequences if i.is_text and "phone" not in i.names]
    words = next((i for i in word_files if not i.row_keyed), word_files[0] if word_files else None)
    timed_words = _timed_words(words, spans, by_segments) if words is not None else {}
    for sample_id, span in spans.items():
        base = sample_id.split("[")[0]
        fold = folds.split(sample_id) if folds is not None else NO_FOLDS_SPLIT
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
    if folds is not None and folds.exported:  # the splits came with the folder, not from an option
        result.metadata["folds_file"] = folds.path.name
    dataset = options.dataset or (dataset_of(labels) if labels is not None else None)
    if dataset:
        result.metadata["dataset"] = dataset
    if labels is not None:  # the names of a row's values, for `mmdata fuse --labels`
        result.metadata.update(row_labels_metadata(dataset, int(np.prod(labels.feature_shape or (1,)))))
    return result


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


def _all_videos(info: _FileInfo) -> list[str]:
    """The videos a file holds, read with labels: those of its keys, and of the samples it recorded empty."""
    if info.keys_by_sample is None:
        return list(info.keys_by_base)
    return list(dict.fromkeys([*info.keys_by_base, *(s.split("[")[0] for s in info.keys_by_sample)]))


def _all_samples(info: _FileInfo) -> list[str]:
    """The samples a file holds, read without labels: its keys, or the samples its row keys name."""
    if info.keys_by_sample is not None:
        return list(info.keys_by_sample)
    return [k for keys in info.keys_by_base.values() for k in keys]


def _is_segment_key(key: str) -> bool:
    return split_key(key)[1] is not None
