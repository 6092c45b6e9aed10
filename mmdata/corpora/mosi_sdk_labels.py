"""Labels of raw CMU-MOSI clips from the SDK's label sequence (`CMU_MOSI_Opinion_Labels.csd`).

Clip `<vid>_<k>` (k 1-based) of the raw release is segment k-1 of video `vid` in the SDK: row k-1
of key `vid`, or the one row of key `vid[k-1]` in a file the SDK already aligned. Each clip gets
that row's label (all values in extra["labels"] when there are several) and the segment's times in
the full video (extra["video_start"], extra["video_end"]; the clip's own start/end stay null, as
its features are timed in the clip). Clips without a row, videos missing from the file and rows
without a clip are load problems naming the file and the key. Rows of several values are named in
the loader metadata (`extra.loader.label_names`: CMU-MOSEI's seven for a MOSEI file, else
`label_0` ...), for `mmdata fuse --labels`.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

from mmdata.corpora.base import LoadProblem, LoadResult
from mmdata.corpora.csd_labels import dataset_named, label_rows, require_label_sequence, row_labels_metadata
from mmdata.errors import CorpusFormatError
from mmdata.formats.csd import CsdFile, key_order, split_key

if TYPE_CHECKING:
    from mmdata.corpora.mosi_raw_segments import _Segment as Segment

log = logging.getLogger(__name__)


def clip_id(video_id: str, number: int) -> str:
    """The raw release's name of clip `number` (1-based) of a video: `<vid>_<k>`."""
    return f"{video_id}_{number}"


def attach_sdk_labels(path: Path, segments: dict[str, Segment], result: LoadResult, dataset: str | None = None) -> None:
    """Label and full-video segment times of each clip from the SDK's label sequence.

    The file is read one video at a time (only videos with clips), as the SDK's files are large.
    Rows of several values are named in the loader metadata (`csd_labels.row_labels_metadata`), as
    the corpus `dataset` (default: what the file's name or metadata says) names them.
    """
    by_video: dict[str, list[Segment]] = {}
    for seg in segments.values():
        by_video.setdefault(seg.video_id, []).append(seg)
    with CsdFile(path) as csd:
        if csd.is_text():
            raise CorpusFormatError(f"{path}: holds words (root {csd.root_name!r}), expected the SDK's label sequence "
                                    "(numeric features, one row per segment); pass the label file as labels_file")
        shape = _feature_shape(csd)
        require_label_sequence(path, csd.root_name, False, shape, hint="pass the label file as labels_file")
        keys: dict[str, list[str]] = {}
        for key in sorted(csd.video_ids, key=key_order):
            keys.setdefault(split_key(key)[0], []).append(key)
        for video_id, video_segments in sorted(by_video.items()):
            if video_id not in keys:
                for seg in video_segments:
                    result.problems.append(LoadProblem(clip_id(video_id, seg.number), str(path), (
                        f"video {video_id!r} is not in the label file (root {csd.root_name!r}); expected key "
                        f"{video_id!r} or {seg.extra['sdk_key']!r}; label stays null")))
                continue
            rows = sdk_label_rows(csd, video_id, keys[video_id], result)
            for seg in sorted(video_segments, key=lambda seg: seg.number):
                if seg.number - 1 in rows and rows[seg.number - 1] is None:
                    del rows[seg.number - 1]  # a bad row, already reported for this clip by sdk_label_rows
                    continue
                row = rows.pop(seg.number - 1, None)
                if row is None:
                    result.problems.append(LoadProblem(clip_id(video_id, seg.number), csd.where(video_id), (
                        f"no label row {seg.number - 1} (key {seg.extra['sdk_key']!r}) for clip {seg.number} of video "
                        f"{video_id!r}; expected one row per segment in clip order; label stays null")))
                    continue
                values, interval = row
                seg.label = float(values[0])
                seg.extra["video_start"], seg.extra["video_end"] = float(interval[0]), float(interval[1])
                if len(values) > 1:
                    seg.extra["labels"] = [float(v) for v in values]
            for index in sorted(index for index, row in rows.items() if row is not None):
                result.problems.append(LoadProblem(clip_id(video_id, index + 1), csd.where(video_id), (
                    f"label row {index} (key {video_id}[{index}]) without a WAV or MP4 clip "
                    f"{clip_id(video_id, index + 1)}; dropped")))
        unused = len(set(keys) - set(by_video))
        if unused:
            log.warning("%s: %d videos of the label file have no clips in this corpus; ignored", path, unused)
        # What `export-csd` needs to write the labels back under the same file, root and key form.
        indexed = bool(keys) and all(split_key(key)[1] is not None for found in keys.values() for key in found)
        result.metadata["labels"] = {"file": path.name, "root_name": csd.root_name,
                                     "keys": "segments" if indexed else "videos",
                                     "metadata": json.loads(json.dumps(csd.metadata, default=str))}
        count = int(math.prod(shape)) if shape else 1
        result.metadata.update(row_labels_metadata(dataset or dataset_named(path.name, csd.metadata), count))


def _feature_shape(csd: CsdFile) -> tuple[int, ...] | None:
    """Trailing feature dims of the first key that has its datasets (a broken key costs only its own clips)."""
    for key in csd.video_ids:
        try:
            return tuple(csd.shapes(key)[0][1:])
        except CorpusFormatError:
            continue
    return None


def sdk_label_rows(csd: CsdFile, video_id: str, keys: list[str],
                   result: LoadResult) -> dict[int, tuple[list[float], list[float]] | None]:
    """Segment index -> (label values, [start, end]) of one video's keys, numbered as the `csd`
    loader numbers them (`csd_labels.label_rows`: float32 labels as the decimals the file holds).
    Rows that cannot be read, are not finite or end before they start are load problems naming
    the clip; a row that is not finite or reversed maps to None, so that its clip gets that one
    problem and not a second one for a missing row."""
    rows: dict[int, tuple[list[float], list[float]] | None] = {}
    segments = []
    # SDK-aligned keys (one segment each) are read one by one, so that one unreadable key costs only its segment.
    groups = [[key] for key in keys] if all(split_key(key)[1] is not None for key in keys) else [keys]
    for group in groups:
        try:
            segments += label_rows(csd, video_id, group, result, name=lambda i: clip_id(video_id, i + 1))
        except CorpusFormatError as e:
            result.problems.append(LoadProblem(None, csd.where(group[0] if len(group) == 1 else video_id),
                                               f"{e}; label stays null"))
    for clip, number, interval, values, where in segments:
        row, span = values.tolist(), interval.tolist()
        if not all(map(math.isfinite, row + span)) or span[1] < span[0]:
            result.problems.append(LoadProblem(clip, where, (
                f"label row {number} (key {video_id}[{number}]) is {row} over {span}; expected finite "
                "values and end >= start; skipped; the clip's label stays null")))
            rows[number] = None
            continue
        rows[number] = (row, span)
    return rows
