"""Reading the processed pickles of `mmsa` and `mult` (`mmdata.corpora.mmsa`): which file, its splits
(train/valid/test, and any other top-level key), and the per-sample columns of a split (ids, texts,
labels), each checked to hold one row per id; the pickle is read with `mmdata.formats.safe_pickle`.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdata.corpora.base import LoadProblem, LoadResult
from mmdata.corpora.csd_labels import label_number
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.formats.safe_pickle import load_pickle_safely

if TYPE_CHECKING:
    from mmdata.corpora.mmsa import PickleOptions

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
#: Per-sample keys that hold strings (one per sample, checked against the ids like the labels).
TEXT_KEYS = ("id", "raw_text", "annotations")


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


def _where(path: Path, split: str, key: str, i: int) -> str:
    """Where one sample's value of a split's key lies: `file [split]['key'][i]`."""
    return f"{path} [{split}][{key!r}][{i}]"


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


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _seconds(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
