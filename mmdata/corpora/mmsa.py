"""Processed-feature pickles of MMSA (kind `mmsa`) and MulT (kind `mult`), loaded without running code.

MMSA `Processed/unaligned_50.pkl` (also aligned_50, SIMS unaligned_39) looks like:
    {"train": {"id": ["vid$_$clip", ...], "raw_text": [...], "audio": (N, La, Da), "vision": (N, Lv, Dv),
               "text": (N, Lt, 768), "text_bert": (N, 3, Lt), "audio_lengths": (N,), "vision_lengths": (N,),
               "regression_labels": (N,), "regression_labels_T"/"_A"/"_V" (SIMS), "annotations", ...},
     "valid": {...}, "test": {...}}
MulT `mosi_data.pkl` / `mosi_data_noalign.pkl` looks like:
    {"train": {"vision": (N, L, 20), "text": (N, L, 300), "audio": (N, L, 5), "labels": (N, 1, 1),
               "id": (N, 3) bytes (video_id, start, end)}, "valid": ..., "test": ...}

One sample per row, split = the top-level key. MMSA: sample_id = the id (`video_id$_$clip_id`),
group_id = video_id, transcript = raw_text, label = regression_labels (unimodal SIMS labels,
classification label and annotation in extra; the unimodal keys the samples hold, label_T/A/V, are
named in the loader metadata, `extra.loader.label_names`, for `mmdata fuse --labels`). MulT:
sample_id = `video_id_start_end`, start/end from the id (`<split>_<row>` for a file without ids,
which MulT reads too), label = labels when it holds one value (else all of them in extra["labels"],
named for `fuse --labels`: IEMOCAP's (4, 2) one-hot pairs by emotion, `neutral`/`happy`/`sad`/`angry`,
each its pair's second value, 1 when the emotion is present; other shapes by position).

Tables (sequences without intervals: the pickles carry no times): `audio.mmsa`, `video.mmsa`
(truncated to audio_lengths / vision_lengths where the file gives them; the padding is dropped),
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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmdata.corpora.base import LoadProblem, LoadResult, PrecomputedRow, PrecomputedTable, register_corpus
from mmdata.corpora.csd import NonFinite, nonfinite_error, sanitize_nonfinite
from mmdata.corpora.csd_labels import auxiliary_labels, extra_key_labels
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.formats.safe_pickle import load_pickle_safely
from mmdata.records import Sample
from mmdata.store.metadata import FeatureSpec

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

    def describe(self) -> str:
        if self.lengths:
            return f"trimmed to {self.lengths}"
        if self.mask:
            return "trimmed to the text_bert attention mask"
        if self.zeros_in:
            return f"leading steps zero in {'+'.join(self.zeros_in)} dropped"
        return "kept"


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
    for split_name, part in splits.items():
        ids = [_text(v) for v in _column(part, "id", path, split_name)]
        labels = _column(part, "regression_labels", path, split_name).reshape(len(ids), -1)
        # The other per-sample numbers of the split, each column read and checked once: extra key -> values.
        extras = {name: _column(part, key, path, split_name).reshape(len(ids), -1)[:, 0]
                  for key, name in EXTRA_LABELS.items() if key in part}
        texts = _column(part, "raw_text", path, split_name) if "raw_text" in part else None
        annotations = _column(part, "annotations", path, split_name) if "annotations" in part else None
        for i, sample_id in enumerate(ids):
            if not _claim(rows, sample_id, split_name, i, path, result):
                continue
            video_id, _, clip_id = sample_id.partition(ID_SEPARATOR)
            extra: dict[str, Any] = {"video_id": video_id, "clip_id": clip_id}
            extra.update({name: _label(values[i]) for name, values in extras.items()})
            if annotations is not None:
                extra["annotation"] = _text(annotations[i])
            result.samples.append(Sample(
                sample_id=sample_id, corpus="mmsa", split=split_name, group_id=video_id,
                transcript=_text(texts[i]) if texts is not None else None, label=_label(labels[i, 0]), extra=extra,
            ))
    has_tokens = all("text_bert" in part for part in splits.values())
    by_mask = has_tokens and options.text_padding == "trim"
    if by_mask:
        _check_mask_length(splits, path)
    for name, (key, lengths, axis) in MMSA_TABLES.items():
        if all(key in part for part in splits.values()):
            given = lengths if lengths and all(lengths in part for part in splits.values()) else None
            padding = _Padding(mask=True) if key == "text" and by_mask else _Padding(lengths=given)
            result.tables.append(_table(name, key, padding, axis, splits, rows, path, options))
    if has_tokens:
        result.tables.append(_table("text.mmsa-tokens", "text_bert", _Padding(mask=by_mask), "token", splits, rows,
                                    path, options, tokens=True))
    result.metadata["padding"] = {t.name: t.config["padding"] for t in result.tables}
    result.metadata.update(extra_key_labels(result.samples, UNIMODAL_LABELS))  # for `fuse --labels`
    return result


def _label(value: Any) -> float:
    """A label as the number its file holds: a float32 0.1 becomes 0.1, not 0.10000000149 (which
    would fall on the other side of CH-SIMS's class boundaries at +-0.1 and +-0.7, where MMSA compares
    the float32 values)."""
    return float(str(value)) if isinstance(value, (np.float16, np.float32)) else float(value)


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
        labels = _column(part, "labels", path, split_name).reshape(len(raw_ids), -1)
        for i, raw in enumerate(raw_ids):
            parts = [_text(v) for v in np.asarray(raw, dtype=object).reshape(-1)]
            sample_id = "_".join(parts)
            if not _claim(rows, sample_id, split_name, i, path, result):
                continue
            start, end = (_seconds(parts[1]), _seconds(parts[2])) if len(parts) == 3 else (None, None)
            extra: dict[str, Any] = {"video_id": parts[0]}
            if labels.shape[1] > 1:
                extra["labels"] = np.asarray(part["labels"][i]).tolist()
            result.samples.append(Sample(
                sample_id=sample_id, corpus="mult", split=split_name, group_id=parts[0], start=start, end=end,
                label=_label(labels[i, 0]) if labels.shape[1] == 1 else None, extra=extra,
            ))
    keys = [key for key, _, _ in MULT_TABLES.values() if all(key in part for part in splits.values())]
    # Aligned files give every modality the same L: a step is padding only when all are zero there.
    aligned = len({np.shape(part[key])[1:2] for part in splits.values() for key in keys}) == 1
    for name, (key, _, axis) in MULT_TABLES.items():
        if key in keys:
            zeros_in = (tuple(keys) if aligned else (key,)) if options.left_padding == "trim-zeros" else ()
            result.tables.append(_table(name, key, _Padding(zeros_in=zeros_in), axis, splits, rows, path, options))
    result.metadata["padding"] = {t.name: t.config["padding"] for t in result.tables}
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
            values = np.asarray(part[self.key][i])
            if self.tokens:  # (3, Lt) ids / mask / types -> (Lt, 3)
                values = values.T.astype(np.int64)
            values = values.reshape(len(values), -1)[self._steps(part, i, len(values))]
            values, count = sanitize_nonfinite(values, self.nonfinite)
            where = f"{self.path} [{split_name}][{self.key!r}][{i}]"
            if count and self.nonfinite == "error":
                yield PrecomputedRow(sample_id, error=nonfinite_error(count, where), path=str(self.path), nonfinite=count)
                continue
            yield PrecomputedRow(sample_id, values, nonfinite=count)

    def _steps(self, part: dict[str, Any], i: int, length: int) -> slice | np.ndarray:
        """The real (unpadded) steps of row i: a slice, or a boolean mask for the attention mask."""
        padding = self.padding
        if padding.lengths:
            return slice(0, max(0, min(int(part[padding.lengths][i]), length)))
        if padding.mask:
            return np.asarray(part["text_bert"][i][1]) != 0
        if padding.zeros_in:
            return slice(min(_leading_zero_steps(np.asarray(part[key][i])) for key in padding.zeros_in), length)
        return slice(0, length)


def _leading_zero_steps(values: np.ndarray) -> int:
    """How many steps at the start of an (L, ...) array are zero in every value (L when all are)."""
    nonzero = (values.reshape(len(values), -1) != 0).any(axis=1)
    return int(np.argmax(nonzero)) if nonzero.any() else len(values)


def _check_mask_length(splits: dict[str, dict[str, Any]], path: Path) -> None:
    """`text` (N, Lt, D) and `text_bert` (N, 3, Lt) must share Lt for the mask to select text steps."""
    for name, part in splits.items():
        text, tokens = np.shape(part.get("text", np.zeros((0, 0)))), np.shape(part["text_bert"])
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
            _rows_shape(part, padding.lengths, path, s)
    dims = {shape[1] if tokens else int(np.prod(shape[2:])) for shape in shapes.values() if len(shape) >= 3}
    if len(dims) != 1 or any(len(shape) != 3 if tokens else len(shape) < 3 for shape in shapes.values()):
        raise CorpusFormatError(f"{path}: key {key!r} has shapes {shapes}; expected (N, L, D) arrays with one D across splits")
    spec = FeatureSpec(dim=dims.pop(), dtype="int64" if tokens else "float32", kind="sequence", item_axis=axis)
    config = {"file": path.name, "key": key, "lengths": padding.lengths, "padding": padding.describe(),
              "nonfinite": options.nonfinite, "shapes": {s: list(v) for s, v in shapes.items()}}
    return PrecomputedTable(name=name, modality=name.split(".", 1)[0], source=f"{path.name} [{key!r}]", spec=spec,
                            read=_ArrayReader(key, padding, splits, rows, path, options.nonfinite, tokens), config=config)


def _read(corpus_dir: Path, options: PickleOptions, split: str | None) -> tuple[Path, dict[str, dict[str, Any]]]:
    path = _pickle_path(corpus_dir, options.file)
    data = load_pickle_safely(path)
    if not isinstance(data, dict) or not any(s in data for s in SPLITS):
        keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise CorpusFormatError(f"{path}: expected a dict with keys {list(SPLITS)}, got {keys}")
    splits = {s: data[s] for s in SPLITS if s in data}
    for name, part in splits.items():
        if not isinstance(part, dict):
            raise CorpusFormatError(f"{path}: split {name!r} holds a {type(part).__name__}, expected a dict of arrays")
    if split is not None:
        if split not in splits:
            raise CorpusFormatError(f"{path}: no split {split!r}; splits: {list(splits)}")
        splits = {split: splits[split]}
    return path, splits


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
