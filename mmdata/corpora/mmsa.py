"""Processed-feature pickles of MMSA (kind `mmsa`) and MulT (kind `mult`), loaded without running code.

MMSA `Processed/unaligned_50.pkl` (also aligned_50, SIMS unaligned_39) looks like:
    {"train": {"id": ["vid$_$clip", ...], "raw_text": [...], "audio": (N, La, Da), "vision": (N, Lv, Dv),
               "text": (N, Lt, 768), "text_bert": (N, 3, Lt), "audio_lengths": (N,), "vision_lengths": (N,),
               "regression_labels": (N,), "regression_labels_T"/"_A"/"_V" (SIMS), "annotations", ...},
     "valid": {...}, "test": {...}}
MulT `mosi_data.pkl` / `mosi_data_noalign.pkl` looks like:
    {"train": {"vision": (N, L, 20), "text": (N, L, 300), "audio": (N, L, 5), "labels": (N, 1, 1),
               "id": (N, 3) bytes (video_id, start, end)}, "valid": ..., "test": ...}

One sample per row, split = the top-level key (a key besides train/valid/test, e.g. `dev`, is a split of
its own name, with a warning; an empty split loads as no samples). MMSA: sample_id = the id
(`video_id$_$clip_id`, or a (video_id, clip_id) pair joined so), group_id = video_id, transcript =
raw_text, label = regression_labels ((N,), (N, 1, 1), or (N, k) with all k values in extra["labels"]
and the first as label; a NaN/inf label is null and a load problem; unimodal SIMS labels,
classification label and annotation in extra; the unimodal keys the samples hold, label_T/A/V, are
named in the loader metadata, `extra.loader.label_names`, for `mmdata fuse --labels`). MulT:
sample_id = `video_id_start_end`, start/end from the id (`<split>_<row>` for a file without ids,
which MulT reads too), label = labels when it holds one value (else all of them in extra["labels"],
named for `fuse --labels`: IEMOCAP's (4, 2) one-hot pairs by emotion, `neutral`/`happy`/`sad`/`angry`,
each its pair's second value, 1 when the emotion is present; other shapes by position).

Tables (sequences without intervals: the pickles carry no times): `audio.mmsa`, `video.mmsa`
(truncated to audio_lengths / vision_lengths where the file gives them, split by split: a split
without them keeps its padding, with a warning and `padding_by_split` in the table config; a length
below 0 or above the padded length is a load problem and leaves that sample's row out),
`text.mmsa` (the `text` BERT features), `text.mmsa-tokens` (text_bert as int64 (Lt, 3) rows of
input_id, attention_mask, token_type_id); `audio.mult`, `video.mult`, `text.mult`.

Padding. MMSA pads `text` and `text_bert` with zeros to Lt; the attention mask (text_bert[:, 1])
marks the real tokens, [CLS] and [SEP] included. By default (option text_padding=trim) both text
tables keep only the steps whose mask is 1, so each sample has its own token count and the two
tables stay step-aligned; text_padding=keep keeps all Lt steps (as MMSA's models read them). An
aligned file (no *_lengths) keeps audio/vision at their L steps either way, so use keep there to
fuse the three step by step. MulT files are left-zero-padded and carry no lengths, so by default
(left_padding=keep) every step stays; left_padding=trim-zeros drops the leading steps that are zero
in every modality of the file when the modalities share L (aligned files), else the leading all-zero
rows of each modality: a heuristic, since a real all-zero step (a frame without a face in FACET,
an out-of-vocabulary word) at the start is dropped too. Each table's config (`padding`) and the
loader metadata (`extra.loader.padding`) say what was done.

-inf/NaN follow the `nonfinite` option as in the csd loader (MulT audio holds -inf; MulT and MMSA
zero it on load).

Pickles can run code when loaded; these are read with `mmdata.formats.safe_pickle`, which admits
only numpy arrays and plain containers.

This module holds the options and the two loaders (samples, their ids and labels); the rest lives in:
    mmdata.corpora.mmsa_pickle   reading the pickle: its splits and their per-sample columns, checked
    mmdata.corpora.mmsa_tables   the feature tables read from it, and what each does with the padding
The names moved there stay importable from here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmdata.corpora.base import LoadResult, register_corpus
from mmdata.corpora.csd import NonFinite
from mmdata.corpora.csd_labels import (
    LABEL_FIELDS_KEY, LABEL_NAMES_KEY, auxiliary_labels, extra_key_labels, row_labels_metadata,
)
from mmdata.corpora.mmsa_pickle import (  # noqa: F401 - also re-exported from here
    SPLITS, TEXT_KEYS, _claim, _column, _finite_labels, _id_count, _number_rows, _numbers, _other_split,
    _per_sample, _pickle_path, _read, _row_count, _rows_shape, _seconds, _text, _where,
)
from mmdata.corpora.mmsa_tables import (  # noqa: F401 - also re-exported from here
    _ArrayReader, _Padding, _as_float32, _bad_length, _beyond_float32_error, _check_mask_length,
    _leading_zero_steps, _lengths_padding, _record_padding, _report_bad_lengths, _table,
)
from mmdata.errors import CorpusFormatError
from mmdata.records import Sample

log = logging.getLogger(__name__)

ID_SEPARATOR = "$_$"
# table name -> (array key, lengths key or None, item axis)
MMSA_TABLES = {
    "audio.mmsa": ("audio", "audio_lengths", "time"),
    "video.mmsa": ("vision", "vision_lengths", "time"),
    "text.mmsa": ("text", None, "token"),
}
#: MulT's IEMOCAP labels are (N, 4, 2): per emotion, in this order (MulT's `eval_iemocap`), a one-hot
#: (absent, present) pair; MulT trains on its argmax, so an emotion's label is the pair's second value.
IEMOCAP_EMOTIONS = ("neutral", "happy", "sad", "angry")
MULT_TABLES = {
    "audio.mult": ("audio", None, "time"),
    "video.mult": ("vision", None, "time"),
    "text.mult": ("text", None, "token"),
}


@dataclass(frozen=True)
class PickleOptions:
    #: The pickle, relative to the corpus dir or absolute (default: the only *.pkl in it or in Processed/).
    file: str | None = None
    #: -inf/NaN in features: 'error' fails the sample, 'zero' replaces them, 'keep' stores them (counted always).
    nonfinite: NonFinite = "error"
    #: Which corpus this is (cmu-mosi, cmu-mosei, ch-sims, ...): sets the label range `mmdata check` enforces.
    dataset: str | None = None


@dataclass(frozen=True)
class MmsaOptions(PickleOptions):
    #: Zero padding of `text`/`text_bert`: 'trim' keeps the steps whose attention mask is 1, 'keep' all Lt steps.
    text_padding: Literal["trim", "keep"] = "trim"


@dataclass(frozen=True)
class MultOptions(PickleOptions):
    #: MulT's left zero padding (no lengths in the file): 'keep' every step, or 'trim-zeros' (a heuristic, see above).
    left_padding: Literal["keep", "trim-zeros"] = "keep"


#: Per-sample numbers of an MMSA split kept in `extra`: pickle key -> extra key (SIMS' unimodal labels).
EXTRA_LABELS = {"regression_labels_T": "label_T", "regression_labels_A": "label_A", "regression_labels_V": "label_V",
                "classification_labels": "classification_label"}
#: The extra keys of SIMS' unimodal labels, which the loader metadata names for `mmdata fuse --labels`.
UNIMODAL_LABELS = ("label_T", "label_A", "label_V")


@register_corpus("mmsa", MmsaOptions)
def load_mmsa(corpus_dir: Path, options: MmsaOptions, split: str | None) -> LoadResult:
    """MMSA processed pickle ({train,valid,test: {text, text_bert, audio, vision, lengths, labels, id}})."""
    path, splits = _read(corpus_dir, options, split)
    result = LoadResult(samples=[])
    rows: dict[str, tuple[str, int]] = {}
    label_counts = set()
    for split_name, part in splits.items():
        ids = _mmsa_ids(part, path, split_name)
        labels = _mmsa_labels(part, path, split_name)
        label_counts.add(labels.shape[1])
        # The other per-sample numbers of the split, each column read and checked once: pickle key -> (extra key, values).
        extras = {key: (name, _per_sample(_column(part, key, path, split_name))[:, 0])
                  for key, name in EXTRA_LABELS.items() if key in part}
        texts = _column(part, "raw_text", path, split_name) if "raw_text" in part else None
        annotations = _column(part, "annotations", path, split_name) if "annotations" in part else None
        for i, (sample_id, video_id, clip_id) in enumerate(ids):
            if not _claim(rows, sample_id, split_name, i, path, result):
                continue
            extra: dict[str, Any] = {"video_id": video_id, "clip_id": clip_id}
            for key, (name, values) in extras.items():
                extra[name] = _finite_labels([values[i]], sample_id, _where(path, split_name, key, i), result)[0]
            if annotations is not None:
                extra["annotation"] = _text(annotations[i])
            values = _finite_labels(labels[i], sample_id, _where(path, split_name, "regression_labels", i), result)
            if len(values) > 1:  # (N, k) labels: all k kept, the first is `label` (as `mult` keeps them)
                extra["labels"] = values
            result.samples.append(Sample(
                sample_id=sample_id, corpus="mmsa", split=split_name, group_id=video_id,
                transcript=_text(texts[i]) if texts is not None else None, label=values[0], extra=extra,
            ))
    has_tokens = all("text_bert" in part for part in splits.values())
    by_mask = has_tokens and options.text_padding == "trim"
    if by_mask:
        _check_mask_length(splits, path)
    for name, (key, lengths, axis) in MMSA_TABLES.items():
        if all(key in part for part in splits.values()):
            padding = _Padding(mask=True) if key == "text" and by_mask else _lengths_padding(name, lengths, splits, path)
            result.tables.append(_table(name, key, padding, axis, splits, rows, path, options))  # checks the shapes
            if padding.lengths:
                _report_bad_lengths(key, padding.lengths, splits, rows, path, result)
    if has_tokens:
        result.tables.append(_table("text.mmsa-tokens", "text_bert", _Padding(mask=by_mask), "token", splits, rows,
                                    path, options, tokens=True))
    _record_padding(result)
    # for `fuse --labels`: SIMS' unimodal labels, and the values of (N, k) label rows
    result.metadata.update(_merged_label_names(
        extra_key_labels(result.samples, UNIMODAL_LABELS),
        row_labels_metadata(options.dataset, max(label_counts, default=1))))
    return result


def _mmsa_ids(part: dict[str, Any], path: Path, split: str) -> list[tuple[str, str, str]]:
    """(sample_id, video_id, clip_id) of each row of an MMSA split. An id is a string `video$_$clip`
    (MMSA's form, bytes decoded as UTF-8) or a (video_id, clip_id) pair (a (N, 2) array, a list of
    tuples), which joins to `video$_$clip`; any other shape is a format error naming the row."""
    out = []
    for i, raw in enumerate(_column(part, "id", path, split)):
        parts = [_text(v) for v in np.asarray(raw, dtype=object).reshape(-1)]
        if len(parts) == 1:
            video_id, _, clip_id = parts[0].partition(ID_SEPARATOR)
            out.append((parts[0], video_id, clip_id))
        elif len(parts) == 2:
            out.append((ID_SEPARATOR.join(parts), parts[0], parts[1]))
        else:
            raise CorpusFormatError(
                f"{path}: split {split!r} row {i}: id {parts!r:.120} has {len(parts)} parts; expected a string "
                f"'video_id{ID_SEPARATOR}clip_id' or a (video_id, clip_id) pair per sample; check the file's 'id' key")
    return out


#: Shapes of MMSA's regression_labels, described for errors: (N,), (N, k) or MMSA's (N, 1, 1).
LABEL_SHAPES = "(N,) labels, (N, k) rows of k values (the first is the label) or (N, 1, 1)"


def _mmsa_labels(part: dict[str, Any], path: Path, split: str) -> np.ndarray:
    """regression_labels of an MMSA split as (N, k) rows; shapes other than (N,), (N, k), (N, 1, 1) are refused."""
    values = _column(part, "regression_labels", path, split)
    shape = values.shape
    if not (len(shape) in (1, 2) or shape[1:] == (1, 1)) or (len(shape) == 2 and shape[1] == 0):
        raise CorpusFormatError(f"{path}: split {split!r} key 'regression_labels' has shape {shape}; expected "
                                f"{LABEL_SHAPES}")
    return _per_sample(values)


def _merged_label_names(*parts: dict[str, Any]) -> dict[str, Any]:
    """The `auxiliary_labels` metadata of several sources as one (names in order, fields merged)."""
    names = [name for part in parts for name in part.get(LABEL_NAMES_KEY, [])]
    fields = {name: field for part in parts for name, field in part.get(LABEL_FIELDS_KEY, {}).items()}
    return auxiliary_labels(names, fields)


@register_corpus("mult", MultOptions)
def load_mult(corpus_dir: Path, options: MultOptions, split: str | None) -> LoadResult:
    """MulT processed pickle ({train,valid,test: {vision, text, audio, labels, id}})."""
    path, splits = _read(corpus_dir, options, split)
    result = LoadResult(samples=[])
    rows: dict[str, tuple[str, int]] = {}
    for split_name, part in splits.items():
        if "id" not in part:  # MulT reads the id as optional (meta = None); number the rows instead
            _number_rows(part, split_name, path)
            result.metadata["ids"] = "the file has no 'id': samples are numbered <split>_<row>"
        raw_ids = _column(part, "id", path, split_name)
        labels = _per_sample(_column(part, "labels", path, split_name))
        for i, raw in enumerate(raw_ids):
            parts = [_text(v) for v in np.asarray(raw, dtype=object).reshape(-1)]
            sample_id = "_".join(parts)
            if not _claim(rows, sample_id, split_name, i, path, result):
                continue
            start, end = (_seconds(parts[1]), _seconds(parts[2])) if len(parts) == 3 else (None, None)
            extra: dict[str, Any] = {"video_id": parts[0]}
            values = _finite_labels(labels[i], sample_id, _where(path, split_name, "labels", i), result)
            if labels.shape[1] > 1:  # kept in its own shape: IEMOCAP's (4, 2) pairs stay pairs
                extra["labels"] = np.array(values, dtype=object).reshape(np.shape(part["labels"])[1:]).tolist()
            result.samples.append(Sample(
                sample_id=sample_id, corpus="mult", split=split_name, group_id=parts[0], start=start, end=end,
                label=values[0] if labels.shape[1] == 1 else None, extra=extra,
            ))
    keys = [key for key, _, _ in MULT_TABLES.values() if all(key in part for part in splits.values())]
    # Aligned files give every modality the same L: a step is padding only when all are zero there.
    aligned = len({np.shape(part[key])[1:2] for part in splits.values() for key in keys}) == 1
    for name, (key, _, axis) in MULT_TABLES.items():
        if key in keys:
            zeros_in = (tuple(keys) if aligned else (key,)) if options.left_padding == "trim-zeros" else ()
            result.tables.append(_table(name, key, _Padding(zeros_in=zeros_in), axis, splits, rows, path, options))
    _record_padding(result)
    result.metadata.update(_positional_labels(splits, path))  # for `fuse --labels`
    return result


def _positional_labels(splits: dict[str, dict[str, Any]], path: Path) -> dict[str, Any]:
    """Loader metadata naming the values of MulT label arrays of several values per sample (kept
    whole in extra["labels"]): IEMOCAP's emotions (`IEMOCAP_EMOTIONS`) for an `iemocap*` file of
    one-hot (4, 2) pairs, else by position, `label_<i>` or `label_<i>_<j>` at extra["labels"][i][j]
    (the files do not say what each position means, so neither do the names)."""
    shapes = {np.shape(part["labels"])[1:] for part in splits.values() if "labels" in part and len(part["labels"])}
    if len(shapes) != 1:
        return {}
    (shape,) = shapes
    if int(np.prod(shape)) < 2:
        return {}
    if shape == (len(IEMOCAP_EMOTIONS), 2) and path.name.lower().startswith("iemocap"):
        odd = _first_not_one_hot(splits)
        if odd is None:
            names = list(IEMOCAP_EMOTIONS)
            return auxiliary_labels(names, {name: ["labels", i, 1] for i, name in enumerate(names)})
        note = {"labels": f"IEMOCAP label pairs are not all one-hot ({odd}): named by position"}
    else:
        note = {}
    positions = list(np.ndindex(*shape))
    names = ["label_" + "_".join(str(i) for i in position) for position in positions]
    return {**note, **auxiliary_labels(names, {name: ["labels", *map(int, position)]
                                               for name, position in zip(names, positions)})}


def _first_not_one_hot(splits: dict[str, dict[str, Any]]) -> str | None:
    """Where the first (absent, present) label pair that is not [1, 0] or [0, 1] lies, or None."""
    for split_name, part in splits.items():
        pairs = np.asarray(part["labels"], dtype=np.float64)
        one_hot = ((pairs == 0) | (pairs == 1)).all(axis=-1) & (pairs.sum(axis=-1) == 1)
        if not one_hot.all():
            row, emotion = map(int, np.argwhere(~one_hot)[0])
            return f"[{split_name!r}]['labels'][{row}][{emotion}] = {pairs[row, emotion].tolist()}"
    return None
