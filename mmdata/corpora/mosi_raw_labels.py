"""Label files of the `mosi-raw` layouts "cmu" and "mosei": which file labels the clips, and the label
CSV (`segment_id,label` or `video_id,segment,label`, further numeric columns kept as further labels).
The SDK's label sequence (.csd) is read by `mmdata.corpora.mosi_sdk_labels`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mmdata.corpora.base import LoadProblem, LoadResult, expect, parse_number, read_csv_rows
from mmdata.corpora.csd_labels import auxiliary_labels
from mmdata.corpora.mosi_raw_segments import _is_number, _parse_segment_name
from mmdata.corpora.mosi_sdk_labels import clip_id
from mmdata.errors import CorpusNotFoundError
from mmdata.records import DURATION_KEYS, MODALITY_DURATION_KEYS

if TYPE_CHECKING:
    from mmdata.corpora.mosi_raw import MosiRawOptions

log = logging.getLogger(__name__)

CMU_LABEL_FILES = ("labels.csv", "Labels/OpinionLevelSentiment.csv", "CMU_MOSI_Opinion_Labels.csd")
# MOSEI's raw release has no segment labels (Raw/Labels holds per-annotator AMT output): only a CSV of one's own.
MOSEI_LABEL_FILES = ("labels.csv",)


def _label_file(corpus_dir: Path, options: MosiRawOptions, defaults: tuple[str, ...] = CMU_LABEL_FILES,
                required: bool = True) -> Path | None:
    """The label file: the option labels_file, else the first of `defaults` in the root. None (with a
    warning) when there is none and labels are not `required` (nor `options.require_labels`)."""
    candidates = (options.labels_file,) if options.labels_file else defaults
    path = next((corpus_dir / c for c in candidates if (corpus_dir / c).is_file()), None)
    if path is None:
        if options.labels_file or (options.require_labels and required):
            raise CorpusNotFoundError(
                f"{corpus_dir}: no label file ({', '.join(candidates)}); expected a CSV with a header "
                "'segment_id,label' or 'video_id,segment,label', or the SDK's CMU_MOSI_Opinion_Labels.csd; "
                "pass labels_file=..., or require_labels=false"
            )
        log.warning("%s: no label file (%s); labels stay null; pass labels_file=PATH to name one",
                    corpus_dir, ", ".join(candidates))
    return path


#: Columns of a labels CSV that say which clip a row labels, and its main label.
_LABEL_KEY_COLUMNS = ("segment_id", "video_id", "segment", "label")
#: `extra` keys this loader sets itself: a labels CSV column of such a name is not a further label.
#: (the duration keys among them: `check` reads a clip's length there).
_RESERVED_EXTRA = ("labels", "sdk_key", "segment", "video_start", "video_end", "words", *DURATION_KEYS,
                   *MODALITY_DURATION_KEYS.values())


def _read_cmu_labels(path: Path, result: LoadResult) -> dict[str, tuple[float, str, dict[str, float]]]:
    """clip id -> (label, `file:line`, further labels). A `segment_id` is read as `<vid>_<k>` (so
    `vid_01` is clip `vid_1`, as its file name is); a second row for the same clip is a load problem,
    the first stays. Further columns whose every value is a number (or empty), e.g. MOSEI's emotions
    `happy,sad,...`, are further labels, kept in `extra` by their column names and named in the loader
    metadata (`label_names`, for `mmdata fuse --labels`); other columns are left out with a warning."""
    header, rows = read_csv_rows(path)
    by_segment = "segment_id" in header
    expect("label" in header and (by_segment or {"video_id", "segment"} <= set(header)), f"{path}:1",
           f"expected a header with 'segment_id,label' or 'video_id,segment,label', got {','.join(header)!r}")
    further = _numeric_columns(path, header, rows)
    out: dict[str, tuple[float, str, dict[str, float]]] = {}
    for line, row in rows:
        where = f"{path}:{line}"
        if by_segment:
            parsed = _parse_segment_name(row["segment_id"])
            sample_id = clip_id(*parsed) if parsed else row["segment_id"]
        else:
            expect(_is_number(row["segment"]), where, f"expected a 1-based segment number, got {row['segment']!r}")
            sample_id = clip_id(row["video_id"], int(row["segment"]))
        label = parse_number(row["label"], where, "label", required=True)
        if sample_id in out:
            result.problems.append(LoadProblem(sample_id, where, (
                f"second label row for {sample_id!r} (first at {out[sample_id][1]}); ignored")))
            continue
        values = {c: parse_number(row[c].strip(), where, c) for c in further if (row.get(c) or "").strip()}
        out[sample_id] = (label, where, values)
    if further:
        result.metadata.update(auxiliary_labels(further, {c: [c] for c in further}))
    return out


def _numeric_columns(path: Path, header: list[str], rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    """The further columns of a labels CSV whose every value is a number or empty (a warning names the others)."""
    numeric, other = [], []
    for column in header:
        if column in _LABEL_KEY_COLUMNS or column in _RESERVED_EXTRA:
            continue
        values = [(row.get(column) or "").strip() for _, row in rows]
        (numeric if all(not v or _is_float(v) for v in values) else other).append(column)
    if other:
        log.warning("%s: columns %s hold values that are no numbers: not kept as labels", path, other)
    return numeric


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
