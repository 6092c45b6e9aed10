"""The feature tables of the processed pickles of `mmsa` and `mult` (`mmdata.corpora.mmsa`): one per
array key, each read lazily per sample with its padding dropped as the loader chose (lengths keys,
the text_bert attention mask, leading zero steps, or none), and the checks on shapes and lengths.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdata.corpora.base import LoadProblem, LoadResult, PrecomputedRow, PrecomputedTable
from mmdata.corpora.csd import NonFinite, beyond_float32, nonfinite_error, sanitize_nonfinite
from mmdata.corpora.mmsa_pickle import _rows_shape, _where
from mmdata.errors import CorpusFormatError
from mmdata.store.metadata import FeatureSpec

if TYPE_CHECKING:
    from mmdata.corpora.mmsa import PickleOptions

log = logging.getLogger(__name__)


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
