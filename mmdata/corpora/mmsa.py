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
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmdata.corpora.base import LoadProblem, LoadResult, PrecomputedRow, PrecomputedTable, register_corpus
from mmdata.corpora.csd import NonFinite, beyond_float32, nonfinite_error, sanitize_nonfinite
from mmdata.corpora.csd_labels import (
    LABEL_FIELDS_KEY, LABEL_NAMES_KEY, auxiliary_labels, extra_key_labels, label_number, row_labels_metadata,
)
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.formats.safe_pickle import load_pickle_safely
from mmdata.records import Sample
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
#: Per-sample keys that hold strings (one per sample, checked against the ids like the labels).
TEXT_KEYS = ("id", "raw_text", "annotations")
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


@dataclass(frozen=True)
class _Padding:
    """How a table's padded steps are found: by a lengths key, the text_bert mask, or leading zero steps."""

    lengths: str | None = None  # key of (N,) lengths: keep the first n steps
    mask: bool = False  # keep the steps whose text_bert attention mask is 1
    zeros_in: tuple[str, ...] = ()  # drop the leading steps that are zero in all of these keys
    kept_in: tuple[str, ...] = ()  # splits without the lengths key: their padding is kept

    def describe(self) -> str:
        if self.lengths and self.kept_in:
            return f"trimmed to {self.lengths}, except in {', '.join(self.kept_in)} (no {self.lengths}: kept)"
        if self.lengths:
            return f"trimmed to {self.lengths}"
        if self.mask:
            return "trimmed to the text_bert attention mask"
        if self.zeros_in:
            return f"leading steps zero in {'+'.join(self.zeros_in)} dropped"
        return "kept"

    def describe_split(self, split: str) -> str:
        """What was done in one split (a lengths key may be missing in some splits)."""
        if self.lengths and split in self.kept_in:
            return f"kept (no {self.lengths})"
        return _Padding(mask=self.mask, zeros_in=self.zeros_in, lengths=self.lengths).describe()


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


def _where(path: Path, split: str, key: str, i: int) -> str:
    """Where one sample's value of a split's key lies: `file [split]['key'][i]`."""
    return f"{path} [{split}][{key!r}][{i}]"


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


def _per_sample(values: np.ndarray) -> np.ndarray:
    """An (N, ...) array as (N, k) rows, k the product of its trailing dims (1 for (N,)); an empty
    split's (0, ...) array too, which `reshape(0, -1)` refuses."""
    return values.reshape(len(values), int(np.prod(values.shape[1:])) if values.ndim > 1 else 1)


def _finite_labels(values: Any, sample_id: str, where: str, result: LoadResult) -> list[float | None]:
    """One sample's label values as the numbers the file holds (`label_number`); NaN or inf are stored
    as null, and a load problem naming `where` says so (one per sample, as the csd loader skips a
    label row that is not finite with its reason)."""
    numbers = [label_number(v) for v in values]
    bad = [v for v in numbers if not math.isfinite(v)]
    if bad:
        result.problems.append(LoadProblem(sample_id, where, (
            f"{where}: label {numbers if len(numbers) > 1 else numbers[0]!r} is not finite; expected numbers; "
            "stored as null (fix the value in the file to keep it)")))
    return [v if math.isfinite(v) else None for v in numbers]


def _merged_label_names(*parts: dict[str, Any]) -> dict[str, Any]:
    """The `auxiliary_labels` metadata of several sources as one (names in order, fields merged)."""
    names = [name for part in parts for name in part.get(LABEL_NAMES_KEY, [])]
    fields = {name: field for part in parts for name, field in part.get(LABEL_FIELDS_KEY, {}).items()}
    return auxiliary_labels(names, fields)


def _lengths_padding(table: str, lengths: str | None, splits: dict[str, dict[str, Any]], path: Path) -> _Padding:
    """How a table with a lengths key is trimmed: split by split, each split that has `lengths` to it.
    A split without it keeps its padding, with a warning naming it (when other splits have it; an
    aligned file has it in none, and its padding is meant)."""
    if not lengths or not any(lengths in part for part in splits.values()):
        return _Padding()
    kept_in = tuple(name for name, part in splits.items() if lengths not in part)
    for name in kept_in:
        log.warning("%s: split %r has no %r (the other splits have it): %s keeps its padded steps in that split",
                    path, name, lengths, table)
    return _Padding(lengths=lengths, kept_in=kept_in)


def _report_bad_lengths(key: str, lengths: str, splits: dict[str, dict[str, Any]], rows: dict[str, tuple[str, int]],
                        path: Path, result: LoadResult) -> None:
    """A load problem for each loaded sample whose length in `lengths` is not a whole number in 0..L
    (L the padded length of `key`); its row of the table fails with the same reason."""
    for sample_id, (split, i) in rows.items():
        part = splits[split]
        if lengths in part:
            why = _bad_length(part, key, lengths, i)
            if why:
                result.problems.append(LoadProblem(sample_id, _where(path, split, lengths, i), why))


def _bad_length(part: dict[str, Any], key: str, lengths: str, i: int) -> str | None:
    """Why row i's length in `lengths` cannot trim `key` (negative, above the padded length L, not a
    whole number), or None."""
    padded = np.shape(part[key])[1] if np.ndim(part[key]) > 1 else 0
    value = float(np.asarray(part[lengths][i]).reshape(-1)[0])
    if math.isfinite(value) and value.is_integer() and 0 <= value <= padded:
        return None
    return (f"{lengths} is {value:g}; expected a whole number of steps from 0 to {padded} (the padded length of "
            f"{key!r}); the sample's {key!r} row is left out (fix the length in the file)")


def _record_padding(result: LoadResult) -> None:
    """Loader metadata saying what each table did with the padding: overall, and split by split."""
    result.metadata["padding"] = {t.name: t.config["padding"] for t in result.tables}
    by_split = {t.name: t.config["padding_by_split"] for t in result.tables if "padding_by_split" in t.config}
    if by_split:
        result.metadata["padding_by_split"] = by_split


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


class _ArrayReader:
    """Slices one array key of the loaded pickle per sample, padding dropped (see `PrecomputedTable.read`)."""

    def __init__(self, key: str, padding: _Padding, splits: dict[str, dict[str, Any]],
                 rows: dict[str, tuple[str, int]], path: Path, nonfinite: NonFinite, tokens: bool):
        self.key, self.padding, self.splits, self.rows = key, padding, splits, rows
        self.path, self.nonfinite, self.tokens = path, nonfinite, tokens

    def __call__(self, sample_ids: Sequence[str]) -> Iterator[PrecomputedRow]:
        for sample_id in sample_ids:
            split_name, i = self.rows[sample_id]
            part = self.splits[split_name]
            where = _where(self.path, split_name, self.key, i)
            bad_length = _bad_length(part, self.key, self.padding.lengths, i) if self._trims(part) else None
            if bad_length:
                yield PrecomputedRow(sample_id, error=f"{_where(self.path, split_name, self.padding.lengths, i)}: "
                                     f"{bad_length}", path=str(self.path))
                continue
            values = np.asarray(part[self.key][i])
            if self.tokens:  # (3, Lt) ids / mask / types -> (Lt, 3)
                values = values.T.astype(np.int64)
            values = values.reshape(len(values), -1)[self._steps(part, i, len(values))]
            if not self.tokens:
                values, beyond = _as_float32(values)
                if beyond is not None:
                    yield PrecomputedRow(sample_id, error=_beyond_float32_error(where, beyond), path=str(self.path))
                    continue
            values, count = sanitize_nonfinite(values, self.nonfinite)
            if count and self.nonfinite == "error":
                yield PrecomputedRow(sample_id, error=nonfinite_error(count, where), path=str(self.path), nonfinite=count)
                continue
            yield PrecomputedRow(sample_id, values, nonfinite=count)

    def _trims(self, part: dict[str, Any]) -> bool:
        """Whether this split is trimmed to a lengths key (a split without it keeps its padding)."""
        return bool(self.padding.lengths) and self.padding.lengths in part

    def _steps(self, part: dict[str, Any], i: int, length: int) -> slice | np.ndarray:
        """The real (unpadded) steps of row i: a slice, or a boolean mask for the attention mask."""
        padding = self.padding
        if self._trims(part):  # the length was checked (`_bad_length`): a whole number in 0..L
            return slice(0, int(float(np.asarray(part[padding.lengths][i]).reshape(-1)[0])))
        if padding.mask:
            return np.asarray(part["text_bert"][i][1]) != 0
        if padding.zeros_in:
            return slice(min(_leading_zero_steps(np.asarray(part[key][i])) for key in padding.zeros_in), length)
        return slice(0, length)


def _as_float32(values: np.ndarray) -> tuple[np.ndarray, float | None]:
    """`values` as float32 (the dtype of mmdata's feature tables), and the first finite value of a wider
    float array that float32 cannot hold (it would become inf), or None."""
    with np.errstate(over="ignore"):  # a value beyond float32's range is reported by the caller, not warned about
        narrowed = values.astype(np.float32)
    return narrowed, beyond_float32(values, narrowed)


def _beyond_float32_error(where: str, value: float) -> str:
    """The error of a sample whose stored features exceed float32's range (as the csd loader words it)."""
    return (f"{where}: holds {value!r}, which exceeds the range of float32 (max {float(np.finfo(np.float32).max):.4g}), "
            "the dtype of mmdata's feature tables: it would be stored as inf; rescale the feature in the file")


def _leading_zero_steps(values: np.ndarray) -> int:
    """How many steps at the start of an (L, ...) array are zero in every value (L when all are)."""
    nonzero = (values.reshape(len(values), -1) != 0).any(axis=1)
    return int(np.argmax(nonzero)) if nonzero.any() else len(values)


def _check_mask_length(splits: dict[str, dict[str, Any]], path: Path) -> None:
    """`text` (N, Lt, D) and `text_bert` (N, 3, Lt) must share Lt for the mask to select text steps."""
    for name, part in splits.items():
        text, tokens = np.shape(part.get("text", np.zeros((0, 0)))), np.shape(part["text_bert"])
        if tokens[:1] == (0,) and len(tokens) < 3:  # an empty split given as [] holds no steps to select
            continue
        if len(tokens) != 3 or tokens[1] < 2 or (len(text) >= 2 and text[1] != tokens[2]):
            raise CorpusFormatError(
                f"{path}: split {name!r} has text {text} and text_bert {tokens}; expected text (N, Lt, D) and "
                "text_bert (N, 3, Lt) with one Lt (ids, attention mask, segment ids); pass the option "
                "text_padding=keep to keep the padded steps without the mask")


def _table(name: str, key: str, padding: _Padding, axis: str, splits: dict[str, dict[str, Any]],
           rows: dict[str, tuple[str, int]], path: Path, options: PickleOptions, tokens: bool = False) -> PrecomputedTable:
    shapes = {s: _rows_shape(part, key, path, s) for s, part in splits.items()}
    if padding.lengths:
        for s, part in splits.items():
            if padding.lengths in part:
                _rows_shape(part, padding.lengths, path, s)
    # An empty split given as [] (shape (0,)) has no dims of its own; one saved as x[:0] keeps them and is checked.
    checked = [shape for shape in shapes.values() if shape != (0,)]
    dims = {shape[1] if tokens else int(np.prod(shape[2:])) for shape in checked if len(shape) >= 3}
    if len(dims) != 1 or any(len(shape) != 3 if tokens else len(shape) < 3 for shape in checked):
        raise CorpusFormatError(f"{path}: key {key!r} has shapes {shapes}; expected (N, L, D) arrays with one D across splits")
    spec = FeatureSpec(dim=dims.pop(), dtype="int64" if tokens else "float32", kind="sequence", item_axis=axis)
    config = {"file": path.name, "key": key, "lengths": padding.lengths, "padding": padding.describe(),
              "nonfinite": options.nonfinite, "shapes": {s: list(v) for s, v in shapes.items()}}
    if padding.kept_in:
        config["padding_by_split"] = {s: padding.describe_split(s) for s in splits}
    return PrecomputedTable(name=name, modality=name.split(".", 1)[0], source=f"{path.name} [{key!r}]", spec=spec,
                            read=_ArrayReader(key, padding, splits, rows, path, options.nonfinite, tokens), config=config)


def _read(corpus_dir: Path, options: PickleOptions, split: str | None) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The pickle's path and its splits: train/valid/test, then any other top-level key (e.g. `dev`),
    which is loaded as a split of its own name with a warning (dropping it would lose its samples)."""
    path = _pickle_path(corpus_dir, options.file)
    data = load_pickle_safely(path)
    if not isinstance(data, dict) or not any(s in data for s in SPLITS):
        keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise CorpusFormatError(f"{path}: expected a dict with keys {list(SPLITS)}, got {keys}")
    others = [key for key in data if key not in SPLITS]
    splits = {s: data[s] for s in SPLITS if s in data}
    for name, part in splits.items():
        if not isinstance(part, dict):
            raise CorpusFormatError(f"{path}: split {name!r} holds a {type(part).__name__}, expected a dict of arrays")
    for key in others:
        splits[_other_split(path, key, data[key])] = data[key]
    if split is not None:
        if split not in splits:
            raise CorpusFormatError(f"{path}: no split {split!r}; splits: {list(splits)}")
        splits = {split: splits[split]}
    return path, splits


def _other_split(path: Path, key: Any, part: Any) -> str:
    """A top-level key besides train/valid/test, checked to be a split (a dict of arrays under a text key)
    and named in a warning with its row count; its name becomes the samples' split."""
    if not isinstance(key, str) or not key or not isinstance(part, dict):
        what = f"a {type(part).__name__}" if not isinstance(part, dict) else f"a key of type {type(key).__name__}"
        raise CorpusFormatError(
            f"{path}: top-level key {key!r} holds {what}; expected splits {list(SPLITS)} (or others of a text name, "
            "e.g. 'dev'), each a dict of arrays; remove that key from the file or make it a split")
    log.warning("%s: top-level key %r (%s rows) is not one of %s; loaded as split %r", path, key,
                _row_count(part), "/".join(SPLITS), key)
    return key


def _row_count(part: dict[str, Any]) -> str:
    """How many rows a split holds, by its ids, labels or audio ('?' when none says)."""
    for key in ("id", "regression_labels", "labels", "audio"):
        if key in part and np.ndim(part[key]) > 0:
            return str(len(part[key]))
    return "?"


def _pickle_path(corpus_dir: Path, file: str | None) -> Path:
    if file is not None:
        path = Path(file) if Path(file).is_absolute() else corpus_dir / file
        if not path.is_file():
            raise CorpusNotFoundError(f"pickle file not found: {path}")
        return path
    found = sorted(p for folder in (corpus_dir, corpus_dir / "Processed") for p in folder.glob("*.pkl") if p.is_file())
    if len(found) != 1:
        what = "no .pkl file" if not found else f"several .pkl files ({[p.name for p in found]})"
        raise CorpusNotFoundError(f"{what} in {corpus_dir} or its Processed/; name one with the option file=NAME.pkl")
    return found[0]


def _column(part: dict[str, Any], key: str, path: Path, split: str) -> np.ndarray:
    """One value per sample of `key` (ids and texts as objects, labels as numbers), checked against the ids."""
    if key not in part:
        raise CorpusFormatError(f"{path}: split {split!r} has no key {key!r}; keys: {sorted(map(str, part))}")
    n = _id_count(part, path, split)
    values = np.asarray(part[key], dtype=object) if key in TEXT_KEYS else _numbers(part, key, path, split)
    if values.ndim == 0:
        raise CorpusFormatError(f"{path}: split {split!r} key {key!r} holds one {type(part[key]).__name__}, expected "
                                "a list or array with one entry per sample")
    if len(values) != n:
        raise CorpusFormatError(f"{path}: split {split!r} key {key!r} has {len(values)} rows, expected {n} (one per id)")
    return values


def _number_rows(part: dict[str, Any], split: str, path: Path) -> None:
    """Give a MulT split without ids the ids `<split>_<row>`, counting the rows of its labels or features."""
    for key in ("labels", "audio", "vision", "text"):
        if key in part and hasattr(part[key], "__len__"):
            part["id"] = np.array([f"{split}_{i}" for i in range(len(part[key]))], dtype=object)
            return
    raise CorpusFormatError(f"{path}: split {split!r} has no key 'id' and no 'labels' or features to count its rows; "
                            f"keys: {sorted(map(str, part))}")


def _numbers(part: dict[str, Any], key: str, path: Path, split: str) -> np.ndarray:
    """`part[key]` as a float64 array (a float16/32 array as it is, so that `_label` reads each value as
    the number written); a key holding anything but numbers is a format error naming it."""
    value = part[key]
    if isinstance(value, np.ndarray) and value.dtype in (np.float16, np.float32):
        return value
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise CorpusFormatError(f"{path}: split {split!r} key {key!r} holds values that are not numbers ({e}); "
                                "expected a numeric array with one label per sample") from e


def _id_count(part: dict[str, Any], path: Path, split: str) -> int:
    if "id" not in part:
        raise CorpusFormatError(f"{path}: split {split!r} has no key 'id'; keys: {sorted(map(str, part))}")
    ids = np.asarray(part["id"], dtype=object)
    if ids.ndim == 0:
        raise CorpusFormatError(f"{path}: split {split!r} key 'id' holds one {type(part['id']).__name__}, expected a "
                                "list or array of sample ids")
    return len(ids)


def _rows_shape(part: dict[str, Any], key: str, path: Path, split: str) -> tuple[int, ...]:
    """The shape of array key `key` of a split: one row per id, the same shape for every row."""
    try:
        shape = np.shape(part[key])
    except ValueError as e:  # rows of different shapes (a ragged list)
        raise CorpusFormatError(f"{path}: split {split!r} key {key!r} is ragged (its rows differ in shape: {e}); "
                                "expected one (N, L, ...) array per split, padded to one L") from e
    n = _id_count(part, path, split)
    if not shape or shape[0] != n:
        raise CorpusFormatError(f"{path}: split {split!r} key {key!r} has {shape[0] if shape else 0} rows (shape "
                                f"{shape}), expected {n} (one per id)")
    return shape


def _claim(rows: dict[str, tuple[str, int]], sample_id: str, split: str, index: int, path: Path, result: LoadResult) -> bool:
    if sample_id in rows:
        first = rows[sample_id]
        result.problems.append(LoadProblem(sample_id, str(path), (
            f"id {sample_id!r} of {split}[{index}] already appeared at {first[0]}[{first[1]}]; the later row is skipped")))
        return False
    rows[sample_id] = (split, index)
    return True


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _seconds(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
