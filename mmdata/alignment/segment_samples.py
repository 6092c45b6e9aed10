"""The samples of a segmented dataset: the source's whole videos (`_whole_videos`), the label file
read as the csd loader reads it (`_read_labels`), and one sample per label segment, its words and
transcript clipped to it (`_segment_samples`).

`_clip` clips rows to segments with the SDK's rules; the words here and the table rows cut in
`mmdata.alignment.segment_cut` are clipped alike.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.alignment.core import overlap_pieces
from mmdata.corpora.base import LoadProblem, LoadResult
# The csd loader's own label reading, so that a label file means the same here as at load time.
from mmdata.corpora.csd import UNASSIGNED_SPLIT, CsdOptions, inspect_csd
from mmdata.corpora.csd_labels import label_segments, require_label_sequence
from mmdata.errors import CorpusNotFoundError, DatasetError
from mmdata.formats.csd import CsdFile, split_key
from mmdata.records import Sample, spoken_transcript
from mmdata.store.reader import Dataset


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
            hint = ("; a manifest of whole videos: give each row a group_id equal to its id (a manifest's default "
                    "group is the media path)" if why.startswith("it belongs to video") else "")
            raise DatasetError(
                f"sample {sample_id!r} of {source.root} is not a whole video ({why}); `segment` cuts whole videos "
                f"(sample_id = video id, no start/end): extract the .csd folder with `-o labels=none` first{hint}")
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


def _clip_words(words: list[list[Any]], segments: list[Segment]) -> list[list[list[Any]]]:
    """Per segment, the video's timed words [[word, start, end], ...] overlapping it, clipped to it."""
    intervals = np.array([[w[1], w[2]] for w in words], dtype=np.float64).reshape(-1, 2)
    return [[[words[r][0], float(a), float(b)] for r, (a, b) in zip(rows, clipped)]
            for rows, clipped in _clip(segments, intervals)]


def _clip(segments: list[Segment], intervals: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per segment, (rows overlapping it, their intervals clipped to it) with the SDK's rules."""
    return overlap_pieces(np.array([[s[1], s[2]] for s in segments]), intervals).per_reference()
