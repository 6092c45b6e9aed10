"""CMU-MultimodalSDK computational sequences (`.csd`, HDF5): lazy reading per video, SDK-readable writing.

A .csd file looks like this (the SDK's `file_ops.write_CSD`):

    /<root name>/                     one top-level group; its name may differ from the file name
        data/<video_id>/features      (T, D, ...) float32/float64, or words as bytes of shape (T, 1)
        data/<video_id>/intervals     (T, 2) float64 [start, end] in seconds
        metadata/<key>                shape (1,) variable-length string holding json.dumps(value)
                                      (some released files hold plain strings instead)

Under h5py 3 metadata strings come back as `bytes`; they are decoded before parsing, so a plain
(non-JSON) string keeps its text instead of turning into "b'...'". Metadata kept as attributes
(of `metadata/` or of the root group) is read too. The root is the first top-level group holding
`data/` (the SDK takes the first entry); when several do, a warning names them.

Keys are listed in natural order: by base video id, then by the integer index of the SDK's
aligned keys `vid[i]`, so `vid[2]` comes before `vid[10]` (a plain string sort puts it after).

Reading looks each key's group and datasets up once, through h5py's low-level API (an h5py
high-level lookup costs ~0.1 ms, which adds up over the ~450k keys of a file aligned to words),
and reads numbers and fixed-length bytes straight into NumPy arrays.

This module holds the reader (`CsdFile`, `read_rows`, metadata, key order); the rest lives in:
    mmdata.formats.csd_checks   the SDK's integrity rules: `check_shapes`, `check_intervals`
    mmdata.formats.csd_write    `write_csd` and the metadata the SDK expects of a written file
                                (its layout on disk: SMALL_ARRAY_BYTES, GZIP_LEVEL)
The names moved there stay importable from here.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.formats.csd_checks import (  # noqa: F401 - also re-exported from here
    _TEXT_KINDS, check_intervals, check_shapes,
)
from mmdata.formats.csd_write import (  # noqa: F401 - also re-exported from here
    EXTRA_METADATA_KEYS, GZIP_LEVEL, SDK_METADATA_TEMPLATE, SMALL_ARRAY_BYTES, complete_metadata, write_csd,
)

CSD_SUFFIX = ".csd"
# dtype kinds read straight into a NumPy array (numbers, fixed-length bytes); others go through h5py.
_PLAIN_KINDS = ("f", "i", "u", "S")
# An SDK-aligned key: "03bSnISJMiM[3]" = the 4th reference interval of video 03bSnISJMiM.
_INDEXED_KEY = re.compile(r"^(?P<base>.*)\[(?P<index>\d+)\]$")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CsdEntry:
    """One video's data: features (T, ...) and intervals (T, 2) in seconds."""

    features: np.ndarray
    intervals: np.ndarray


@dataclass(frozen=True)
class VideoRows:
    """The rows of one video's keys held in memory, concatenated in key order (what `read_rows` of those
    keys gives), so that a reader that already read them need not look the keys up again."""

    features: np.ndarray
    intervals: np.ndarray
    bounds: dict[str, tuple[int, int]]  # key -> [first, stop) of its rows

    @classmethod
    def join(cls, entries: Mapping[str, CsdEntry]) -> VideoRows | None:
        """Entries (key -> arrays, in key order) as one block; None when their feature dtypes differ
        (concatenating would change the values' type), except for bytes of different widths (words:
        each key is as wide as its longest word), which keep their values."""
        dtypes = {e.features.dtype for e in entries.values()}
        if not entries or (len(dtypes) > 1 and any(d.kind != "S" for d in dtypes)):
            return None
        bounds, first = {}, 0
        for key, entry in entries.items():
            bounds[key] = (first, first + len(entry.features))
            first += len(entry.features)
        features, intervals = join_rows(list(entries.values()), sort=False)
        return cls(features, intervals, bounds)

    @property
    def nbytes(self) -> int:
        return self.features.nbytes + self.intervals.nbytes

    def holds(self, keys: Sequence[str]) -> bool:
        return all(key in self.bounds for key in keys)

    def rows(self, keys: Sequence[str], *, sort: bool) -> tuple[np.ndarray, np.ndarray]:
        """What `read_rows(csd, keys, sort=sort)` gives, from memory; `keys` must be held."""
        if list(keys) == list(self.bounds):
            features, intervals = self.features, self.intervals
        else:
            pieces = [slice(*self.bounds[key]) for key in keys]
            features, intervals = join_rows([CsdEntry(self.features[p], self.intervals[p]) for p in pieces], sort=False)
        return sort_rows(features, intervals) if sort else (features, intervals)


class CsdFile:
    """An open `.csd` file; each video's arrays are read only when asked for.

    Example:
        >>> with CsdFile("CMU_MOSI_COVAREP.csd") as csd:
        ...     entry = csd.read(csd.video_ids[0])
        ...     entry.features.shape, csd.root_name
    """

    def __init__(self, path: str | Path):
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise CorpusNotFoundError(f"computational sequence file not found: {self.path}")
        try:
            self._h5 = h5py.File(self.path, "r")
        except OSError as e:
            raise CorpusFormatError(
                f"{self.path}: not a readable HDF5 file ({e}); expected an SDK computational sequence (.csd)"
            ) from e
        roots = list(self._h5.keys())
        # The SDK reads the first top-level entry; here the first group that holds a `data` group.
        found = [r for r in roots
                 if isinstance(self._h5[r], h5py.Group) and isinstance(self._h5[r].get("data"), h5py.Group)]
        if not found:
            self._h5.close()
            raise CorpusFormatError(
                f"{self.path}: expected one top-level group holding 'data/<video_id>/features|intervals', "
                f"found top-level entries {roots[:5]}"
            )
        if len(found) > 1:
            log.warning("%s: %d top-level groups hold sequences (%s); reading %r, the first, as the SDK does, and "
                        "ignoring the others", self.path, len(found), ", ".join(map(repr, found[:5])), found[0])
        self.root_name: str = found[0]
        root = self._h5[self.root_name]
        self._data = root["data"]
        self.metadata: dict[str, Any] = read_metadata(root)
        self.video_ids: list[str] = sorted(self._data.keys(), key=key_order)

    def __enter__(self) -> CsdFile:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._h5.close()

    def where(self, video_id: str) -> str:
        """`file [root/data/video]`, the location named in error messages."""
        return f"{self.path} [{self.root_name}/data/{video_id}]"

    def shapes(self, video_id: str) -> tuple[tuple[int, ...], tuple[int, ...], np.dtype]:
        """Features shape, intervals shape and features dtype of a video, without reading data."""
        features, intervals = self.datasets(video_id)
        return features.shape, intervals.shape, features.dtype

    def datasets(self, video_id: str) -> tuple[Any, Any]:
        """The video's `features` and `intervals` h5py datasets (not read), each looked up once, through
        h5py's low-level API (see the module docstring)."""
        import h5py

        group = self._group_id(video_id)
        found = []
        for name in ("features", "intervals"):
            dataset = _member(group, name)
            if not isinstance(dataset, h5py.h5d.DatasetID):
                raise CorpusFormatError(f"{self.where(video_id)}: missing dataset {name!r}; expected 'features' and "
                                        "'intervals' datasets in each video's group, as the SDK writes them")
            found.append(h5py.Dataset(dataset, readonly=True))
        return found[0], found[1]

    def is_text(self) -> bool:
        """True when features hold strings (a word or phone sequence), judged by the first video that has features."""
        import h5py

        for video_id in self.video_ids:
            group = _member(self._data.id, video_id)
            features = _member(group, "features") if isinstance(group, h5py.h5g.GroupID) else None
            if isinstance(features, h5py.h5d.DatasetID):
                return features.dtype.kind in _TEXT_KINDS
        return False

    def read_intervals(self, video_id: str) -> np.ndarray:
        features, intervals = self.datasets(video_id)
        check_shapes(self.where(video_id), features.shape, intervals.shape)
        return np.asarray(read_all(intervals), dtype=np.float64)

    def read(self, video_id: str) -> CsdEntry:
        """Both arrays of a video, shape-checked (features (T, ...), intervals (T, 2))."""
        features, intervals = self.datasets(video_id)
        check_shapes(self.where(video_id), features.shape, intervals.shape)
        return CsdEntry(features=read_all(features), intervals=np.asarray(read_all(intervals), dtype=np.float64))

    def _group_id(self, video_id: str) -> Any:
        """The low-level group of a key (h5py `GroupID`)."""
        import h5py

        group = _member(self._data.id, video_id)
        if group is None:
            raise CorpusFormatError(f"{self.path}: no video {video_id!r} under {self.root_name}/data; expected one of "
                                    f"its {len(self.video_ids)} keys, e.g. {self.video_ids[:3]}")
        if not isinstance(group, h5py.h5g.GroupID):
            what = f"a dataset of shape {group.shape}" if isinstance(group, h5py.h5d.DatasetID) else "not a group"
            raise CorpusFormatError(f"{self.where(video_id)}: is {what}; expected a group "
                                    "holding 'features' and 'intervals', as the SDK writes each video")
        return group


def read_all(dataset: Any) -> np.ndarray:
    """A whole h5py dataset as a NumPy array, what `dataset[()]` gives: numbers and fixed-length bytes
    read straight into an array (a tenth of `dataset[()]`'s overhead), other types through h5py."""
    import h5py

    dataset_id = dataset.id
    dtype, shape = dataset_id.dtype, dataset_id.shape
    special = set(dtype.metadata or ()) - {"h5py_encoding"}  # vlen, enum, reference types
    if shape is None or dtype.kind not in _PLAIN_KINDS or special or dtype.fields:
        return np.asarray(dataset[()])
    out = np.empty(shape, dtype=dtype)
    if out.size:
        dataset_id.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
    return out


def _member(group: Any, name: str | bytes) -> Any:
    """The low-level object `name` of a low-level group (h5py `GroupID`), or None when it has none."""
    import h5py

    try:
        return h5py.h5o.open(group, name if isinstance(name, bytes) else name.encode("utf-8"))
    except KeyError:
        return None


def split_key(key: str) -> tuple[str, int | None]:
    """(base video id, i) of an SDK-aligned key `vid[i]`; (key, None) for a plain video id."""
    match = _INDEXED_KEY.match(key)
    return (match["base"], int(match["index"])) if match else (key, None)


def key_order(key: str) -> tuple[str, int]:
    """Sort key putting a video's plain key first, then its `vid[i]` keys by integer i (not as text)."""
    base, index = split_key(key)
    return base, -1 if index is None else index


def decode_words(features: np.ndarray) -> list[str]:
    """Word tokens of a text sequence ((T, 1) bytes as the SDK stores them, or str) as Python strings."""
    flat = np.asarray(features).reshape(len(features), -1)[:, 0] if len(features) else []
    return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in flat]


def read_metadata(root: Any) -> dict[str, Any]:
    """The metadata of a sequence's root group as a dict: bytes decoded, JSON parsed, plain strings kept as text.

    Read from the datasets of `metadata/` (one-element strings, as the SDK writes them; several
    elements give a list, none give None; a key holding '/' was written as a subgroup and is read
    back as 'a/b'), then, for keys not found there, from the attributes of `metadata/` and of the
    root group, where other writers keep it.
    """
    import h5py

    out: dict[str, Any] = {}
    group = root.get("metadata")
    if isinstance(group, h5py.Group):
        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset):
                out[name] = _metadata_value(item[()])
        group.visititems(visit)
    holders = ([group] if isinstance(group, h5py.Group) else []) + [root]
    for holder in holders:
        for key, value in holder.attrs.items():
            out.setdefault(key, _metadata_value(value))
    return out


def _metadata_value(raw: Any) -> Any:
    """One metadata value as Python: the SDK's one-element array unwrapped, bytes decoded, JSON parsed."""
    import h5py

    if isinstance(raw, h5py.Empty):
        return None
    if isinstance(raw, np.ndarray):
        values = [_metadata_value(v) for v in raw.reshape(-1)]
        return None if not values else values[0] if len(values) == 1 else values
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw.item() if isinstance(raw, np.generic) else raw


def read_rows(csd: CsdFile, keys: Sequence[str], *, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """Features and intervals of one video's keys, concatenated (and stably sorted by start if `sort`)."""
    return join_rows([csd.read(key) for key in keys], sort=sort)


def join_rows(entries: Sequence[CsdEntry], *, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """Features and intervals of entries, concatenated (and stably sorted by start if `sort`)."""
    features = np.concatenate([e.features for e in entries]) if len(entries) > 1 else entries[0].features
    intervals = np.concatenate([e.intervals for e in entries]) if len(entries) > 1 else entries[0].intervals
    return sort_rows(features, intervals) if sort else (features, intervals)


def sort_rows(features: np.ndarray, intervals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows stably sorted by start time, as the SDK sorts them."""
    order = np.argsort(intervals[:, 0], kind="stable")
    return features[order], intervals[order]
