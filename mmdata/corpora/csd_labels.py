"""Label sequences of a `.csd` folder: which file holds the labels, its segments, its dataset.

    pick_labels(infos, options)              -> the label file's info (option `labels`, or '*label*')
    require_label_sequence(path, ...)        -> raises unless a file reads as a label sequence
    left_out(infos, options)                 -> label-like files `labels=none` leaves out
    label_segments(info, videos, result)     -> {vid[i]: (start, end, values, i)}, bad rows as problems
    bad_label_row(sample_id, i, ...)         -> why one label row is skipped (checked row by row), or None
    segment_ids(info)                        -> every segment id vid[i] the label file names
    mark_rows_by_segment(infos, labels)      -> flags the files keyed by those ids (read key by key)
    dataset_of(info)                         -> cmu-mosi / cmu-mosei from the file name or metadata
    label_row_names(dataset, count)          -> names of a row's values (MOSEI's 7, else label_0, ...)
    row_labels_metadata(dataset, count)      -> loader metadata naming them (rows of several values)
    extra_key_labels(samples, keys)          -> loader metadata naming the label keys samples hold
    auxiliary_labels(names, fields)          -> loader metadata naming any labels kept in `extra`
    value_at(extra, field)                   -> the value a `label_fields` path points at
    label_number(value) / label_numbers(arr) -> labels as the numbers their file holds (float32 2.8 -> 2.8)

Shared by the `csd` loader and `mmdata segment`, so that a label file means the same to both.

Auxiliary labels. A loader that keeps per-sample labels beyond `label` in `extra` (MOSEI's seven
values in extra["labels"], CH-SIMS's unimodal label_T/A/V) names them in its metadata, which the
manifest keeps as `extra.loader`; `mmdata fuse --labels` exports them from there:

    "label_names":  ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]   (order of --labels all)
    "label_fields": {"sentiment": ["labels", 0], "happy": ["labels", 1], ...}               (path into `extra`)

A CH-SIMS corpus records {"label_T": ["label_T"], ...}: the value is extra["label_T"].
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdata.alignment.core import EPSILON, valid_reference
from mmdata.corpora.base import LoadProblem, LoadResult
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.formats.csd import CsdFile, read_rows, split_key

if TYPE_CHECKING:
    from mmdata.corpora.csd import CsdOptions, _FileInfo
    from mmdata.records import Sample

#: Loader metadata keys (`LoadResult.metadata`, the manifest's `extra.loader`) naming the auxiliary labels.
LABEL_NAMES_KEY = "label_names"
LABEL_FIELDS_KEY = "label_fields"
#: The values of a CMU-MOSEI `All Labels` row, in order (CMU-MultimodalSDK's MOSEI README).
MOSEI_LABEL_NAMES = ("sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear")
#: The extra key holding every value of a label row of several (its first is also `label`).
ROW_LABELS_KEY = "labels"
_DATASETS = {"cmu-mosi": "cmu-mosi", "mosi": "cmu-mosi", "cmu-mosei": "cmu-mosei", "mosei": "cmu-mosei"}
_DATASET_PREFIX = re.compile(r"^cmu_(mosi|mosei)_", re.IGNORECASE)


def pick_labels(infos: list[_FileInfo], options: CsdOptions) -> _FileInfo | None:
    if options.labels == "none":
        return None
    if options.labels != "auto":
        for info in infos:
            if options.labels in (info.path.stem, info.path.name, info.root_name):
                require_label_sequence(info.path, info.root_name, info.is_text, info.feature_shape,
                                       hint=f"option labels={options.labels!r} names it; name the label file, or labels=none")
                return info
        raise ConfigError(f"option labels={options.labels!r} names no .csd file; files: {[i.path.name for i in infos]}")
    found = [i for i in infos if "label" in i.names and not i.is_text]
    if len(found) > 1:
        raise ConfigError(f"several label sequences found ({[i.path.name for i in found]}); choose one with labels=FILE_STEM")
    return found[0] if found else None


def require_label_sequence(path: Path, root_name: str, is_text: bool, feature_shape: tuple[int, ...] | None, *,
                           hint: str) -> None:
    """Raise unless the `.csd` at `path` reads as a label sequence: numbers, one value per interval.

    The SDK's label files hold one row per segment: (n, 1) sentiment in CMU-MOSI's
    `Opinion Segment Labels`, (n, 7) sentiment and six emotions in CMU-MOSEI's `All Labels`. So a
    file is taken as labels when its rows hold one value, or when its name or root name says
    'label' (as `labels=auto` picks them). Feature sequences (COVAREP 74, FACET 35, GloVe 300 per
    frame) would otherwise make every frame a segment and its first column the label.

    Raises:
        CorpusFormatError: words, or rows of several values in a file not named as labels.
    """
    if is_text:
        raise CorpusFormatError(f"{path}: not a label sequence: holds words (root {root_name!r}); expected numeric "
                                f"labels, one row per segment; {hint}")
    dim = int(np.prod(feature_shape)) if feature_shape else 1
    if dim != 1 and "label" not in f"{path.stem} {root_name}".lower():
        raise CorpusFormatError(
            f"{path}: not a label sequence: features of dim {dim} (root {root_name!r}), expected 1 label value per "
            "interval (or a file named as labels, e.g. CMU_MOSEI_Labels.csd with 7); "
            f"{hint}")


def left_out(infos: list[_FileInfo], options: CsdOptions) -> list[_FileInfo]:
    """With labels=none, the label-like files (`*label*`, not words) the option `tables` does not name.

    Loaded as a sequence they would fail (no modality to guess) or, keyed `vid[i]`, leave no video
    shared by every file; the user asked for no labels, so they are not read at all.
    """
    if options.labels != "none":
        return []
    named = {item.partition("=")[0].strip() for item in options.tables}
    return [i for i in infos if "label" in i.names and not i.is_text and i.path.stem not in named]


def label_number(value: Any) -> float:
    """A label as the number its file holds: a float32 0.1 becomes 0.1, not 0.10000000149 (which
    would fall on the other side of CH-SIMS's class boundaries at +-0.1 and +-0.7, where MMSA compares
    the float32 values). The shortest decimal that reads back as the same float32 is that number.
    Shared by the `mmsa`, `mult`, `csd` and `mosi-raw` loaders, so that one label reads alike in all."""
    return float(str(value)) if isinstance(value, (np.float16, np.float32)) else float(value)


def label_numbers(values: Any) -> np.ndarray:
    """A label array as float64 holding the numbers its file holds (`label_number` for each value
    of a float16/float32 array; wider arrays are converted as they are)."""
    array = np.asarray(values)
    if array.dtype in (np.float16, np.float32):
        return np.array([label_number(v) for v in array.reshape(-1)], dtype=np.float64).reshape(array.shape)
    return np.asarray(array, dtype=np.float64)


def label_segments(labels: _FileInfo, videos: list[str], result: LoadResult) -> dict[str, Any]:
    """`vid[i]` -> (start, end, label values, i) for every labelled, non-zero-length segment.

    Rows are checked one by one (`bad_label_row`): a bad row is a problem of its own segment
    `vid[i]` only, and the video's other segments keep their ids, as the SDK numbers them by row.
    """
    spans: dict[str, Any] = {}
    with CsdFile(labels.path) as csd:
        for video in videos:
            for sample_id, i, interval, values, where in label_rows(csd, video, labels.keys_by_base[video], result):
                why = bad_label_row(sample_id, i, interval, values, where)
                if why:
                    result.problems.append(LoadProblem(sample_id, where, why))
                else:
                    spans[sample_id] = (float(interval[0]), float(interval[1]), values, i)
    return spans


def bad_label_row(sample_id: str, i: int, interval: np.ndarray, values: np.ndarray, where: str) -> str | None:
    """Why label segment `sample_id` (row `i`, at `where`) is skipped, or None when it is a segment.

    The label sequence is not checked as a whole (`inspect_csd(..., labels=True)`): a non-finite,
    negative (before the video starts, as `formats.csd.check_intervals` refuses in feature files) or
    reversed interval, a zero-length one (which the SDK skips) or a non-finite value costs its row alone.
    """
    skipped = "skipped (the video's other segments keep their ids)"
    if not np.isfinite(interval).all():
        return (f"{where}: label segment {sample_id!r} spans {interval.tolist()}; expected finite seconds; {skipped}; "
                "fix that row's interval in the label file to keep the segment")
    if interval[0] < 0:
        return (f"{where}: label segment {sample_id!r} starts at {float(interval[0])!r} s, before the start of the "
                f"video; expected start >= 0; {skipped}; fix that row's interval in the label file to keep the segment")
    if not valid_reference(interval, EPSILON)[0]:
        return f"label segment {i} has zero length (at {float(interval[0])!r} s); skipped, as the SDK skips it"
    if interval[1] < interval[0]:
        return (f"{where}: label segment {sample_id!r} ends before it starts ({float(interval[0])!r} -> "
                f"{float(interval[1])!r} s); expected end > start; {skipped}; fix that row's interval in the label "
                "file to keep the segment")
    if not np.isfinite(values).all():
        return f"label segment {i} has a non-finite value {values.tolist()}; expected numbers; skipped"
    return None


def label_rows(
    csd: CsdFile, video: str, keys: list[str], result: LoadResult, name: Callable[[int], str] | None = None,
) -> Iterator[tuple[str, int, np.ndarray, np.ndarray, str]]:
    """(sample_id, i, [start, end], label values, where) per segment of one video's label keys.

    Keys the SDK already aligned (`vid[i]`, one row each) are the segments' ids as they stand: the
    SDK leaves gaps where it skipped an interval, so renumbering them by position would shift ids.
    Otherwise the rows of the video's keys are numbered in order (`vid` -> `vid[0]`, `vid[1]`, ...).
    `name(i)` names segment i's sample (default: its SDK key `vid[i]`). Values are float64 holding
    the numbers the file holds (`label_numbers`: a float32 2.8 is 2.8, as the `mmsa` loader reads it).
    """
    indexed = [(key, split_key(key)[1]) for key in keys]
    if all(i is not None for _, i in indexed):
        for key, i in indexed:
            entry = csd.read(key)
            if len(entry.intervals) != 1:
                result.problems.append(LoadProblem(name(i) if name else key, csd.where(key), (
                    f"label key {key!r} holds {len(entry.intervals)} rows; expected one row per SDK-aligned key "
                    "vid[i] (align the labels with a collapse function); skipped")))
                continue
            yield (name(i) if name else key), i, entry.intervals[0], \
                label_numbers(entry.features).reshape(-1), csd.where(key)
        return
    values, intervals = read_rows(csd, keys, sort=False)
    values = label_numbers(values).reshape(len(values), int(np.prod(values.shape[1:])))
    for i in range(len(intervals)):
        yield (name(i) if name else f"{video}[{i}]"), i, intervals[i], values[i], csd.where(video)


def segment_ids(labels: _FileInfo) -> set[str]:
    """Every segment id `vid[i]` the label file names, numbered as `label_rows` numbers them (rows
    skipped as bad included): SDK-aligned keys as they stand, else `vid[0]` .. `vid[n-1]` for the
    n rows of the video's keys. Only shapes are read."""
    ids: set[str] = set()
    with CsdFile(labels.path) as csd:
        for video, keys in labels.keys_by_base.items():
            if all(split_key(key)[1] is not None for key in keys):
                ids.update(keys)
            else:
                ids.update(f"{video}[{i}]" for i in range(sum(csd.shapes(key)[1][0] for key in keys)))
    return ids


def mark_rows_by_segment(sequences: list[_FileInfo], labels: _FileInfo) -> None:
    """Set `rows_by_segment` on the files keyed by the label's segment ids.

    Such a file (segment-level data, as the SDK writes after `align(labels)`, or `export-csd` of
    segments) has only keys `vid[i]`, and those of the labelled videos are all segment ids of the
    label file (a segment nothing overlaps may lack its key). Gathering a video's keys and cutting
    them by the segments again would count the rows of overlapping segments twice. Keys `vid[i]`
    that are no segment ids (a file the SDK aligned to words) are gathered and cut as before, and so
    are files whose keys `export-csd` recorded as rows of whole videos (`_FileInfo.row_keyed`), however
    few rows a video has.
    """
    candidates = [info for info in sequences if info.keyed_by_segment and not info.row_keyed]
    if not candidates:
        return
    ids, labelled = segment_ids(labels), set(labels.keys_by_base)
    for info in candidates:
        keys = [key for video, keys in info.keys_by_base.items() if video in labelled for key in keys]
        info.rows_by_segment = bool(keys) and all(key in ids for key in keys)


def dataset_of(labels: _FileInfo) -> str | None:
    """cmu-mosi / cmu-mosei when the label file's name or its metadata `dataset name` says so (and they agree)."""
    return dataset_named(labels.path.name, labels.metadata)


def dataset_named(file_name: str, metadata: dict[str, Any]) -> str | None:
    """cmu-mosi / cmu-mosei when a `.csd` file's name or its metadata `dataset name` says so (and they agree)."""
    found: set[str | None] = set()
    prefix = _DATASET_PREFIX.match(file_name)
    if prefix:
        found.add(_DATASETS[prefix[1].lower()])
    name = metadata.get("dataset name")
    if isinstance(name, str):
        found.add(_DATASETS.get(re.sub(r"[\s_]+", "-", name.strip().lower())))
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def label_row_names(dataset: str | None, count: int) -> list[str]:
    """Names of the `count` values of a label row: CMU-MOSEI's seven (`MOSEI_LABEL_NAMES`) for a
    cmu-mosei file of seven, else `label_0` .. `label_<count-1>`, which say no more than the
    position (the SDK's files carry no names of their own)."""
    if dataset == "cmu-mosei" and count == len(MOSEI_LABEL_NAMES):
        return list(MOSEI_LABEL_NAMES)
    return [f"label_{i}" for i in range(count)]


def row_labels_metadata(dataset: str | None, count: int) -> dict[str, Any]:
    """Loader metadata naming the values of label rows of `count` values (kept in extra["labels"]);
    empty for rows of one value, which is `label` itself."""
    if count < 2:
        return {}
    names = label_row_names(dataset, count)
    return auxiliary_labels(names, {name: [ROW_LABELS_KEY, i] for i, name in enumerate(names)})


def extra_key_labels(samples: Sequence[Sample], keys: Sequence[str]) -> dict[str, Any]:
    """Loader metadata naming the label keys of `extra` (of `keys`, in that order) that some sample
    holds, each its own path (CH-SIMS' label_T/A/V in the `mmsa` and `mmsa-raw` loaders)."""
    held = [key for key in keys if any(key in sample.extra for sample in samples)]
    return auxiliary_labels(held, {key: [key] for key in held})


def value_at(extra: Any, field: Sequence[str | int]) -> Any:
    """The value at `field` (a `label_fields` path: keys and list positions) in a parsed `extra`;
    None where the path ends early (a missing key, a short list, another shape)."""
    value = extra
    for step in field:
        if isinstance(value, dict) and isinstance(step, str):
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return None
    return value


def auxiliary_labels(names: list[str], fields: dict[str, list[str | int]]) -> dict[str, Any]:
    """Loader metadata naming auxiliary labels: their names in export order, and where each lies in
    a sample's `extra` (a path of keys and list positions); empty when there are none."""
    if not names:
        return {}
    return {LABEL_NAMES_KEY: list(names), LABEL_FIELDS_KEY: {name: list(fields[name]) for name in names}}
