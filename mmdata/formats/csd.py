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

Written files carry every key of the SDK's metadata template, including the key that the
template's missing comma merges ("dimension namescomputational sequence version"), so the SDK's
`deploy` never prompts on stdin and its integrity checks pass. Values are JSON. An array of
SMALL_ARRAY_BYTES or more is gzip-compressed (level GZIP_LEVEL; the SDK's `deploy` uses 9, which
took 3.7x as long for the same size on smooth float32 frames) in chunks, numbers after HDF5's
byte-shuffle filter (built into every HDF5 library, so the SDK's h5py reads the files as they
are): 1.5x (noise-like features) to 7x (smooth ones) faster to write than gzip alone, and smaller.
A smaller array (a key per word after aligning to words: one row of 74 floats) is stored
contiguous and uncompressed: a chunked, compressed dataset carries a chunk index of some kilobytes,
which made such files 20x the size of their values and slow to write and read. Readers, the SDK's
included, read either layout alike. Files are written to a temporary name
(`.<name>.<8 hex digits>.tmp` beside it) and renamed.

Reading looks each key's group and datasets up once, through h5py's low-level API (an h5py
high-level lookup costs ~0.1 ms, which adds up over the ~450k keys of a file aligned to words),
and reads numbers and fixed-length bytes straight into NumPy arrays.
"""
from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.store.files import temporary_beside

CSD_SUFFIX = ".csd"
# The SDK's `featuresetMetadataTemplate`, in its order; a missing comma in the SDK merges two keys.
SDK_METADATA_TEMPLATE = (
    "root name",
    "computational sequence description",
    "dimension namescomputational sequence version",
    "alignment compatible",
    "dataset name",
    "dataset version",
    "creator",
    "contact",
    "featureset bib citation",
    "dataset bib citation",
)
# Written as well: the two keys the template meant, and what the SDK's `deploy` adds.
EXTRA_METADATA_KEYS = ("dimension names", "computational sequence version", "uuid", "md5")
_TEXT_KINDS = ("S", "O", "U")
#: Arrays of fewer bytes are written contiguous and uncompressed (see the module docstring).
SMALL_ARRAY_BYTES = 64 * 1024
#: gzip level of larger arrays: level 9 took 8.2 s for 35.5 MB on 47 MB of smooth float32 frames, level 4
#: 2.2 s for 35.6 MB. The SDK reads any level.
GZIP_LEVEL = 4
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


def check_shapes(where: str, features_shape: tuple[int, ...], intervals_shape: tuple[int, ...]) -> None:
    """The SDK's integrity rules: features (T, D...), intervals (T, 2), same T."""
    if len(intervals_shape) != 2 or intervals_shape[1] != 2:
        raise CorpusFormatError(f"{where}: intervals have shape {intervals_shape}, expected (T, 2) [start, end] rows")
    if len(features_shape) < 2:
        raise CorpusFormatError(f"{where}: features have shape {features_shape}, expected (T, D) with at least 2 dimensions")
    if features_shape[0] != intervals_shape[0]:
        raise CorpusFormatError(
            f"{where}: features have {features_shape[0]} rows but intervals have {intervals_shape[0]}; "
            "expected one [start, end] interval per feature row"
        )


def check_intervals(where: str, intervals: np.ndarray, *, require_sorted: bool = True, sort_hint: str = "") -> None:
    """Refuse non-finite intervals, starts before 0 s, end < start and (when `require_sorted`)
    decreasing start times; `sort_hint` (how to have rows sorted instead) ends the message about
    unsorted rows only.

    A start before 0 is refused however small: the SDK's files count seconds from the start of the
    video (the standard MOSI sequences and the words file start at 0), so a row before it is not one
    the video has; clipping it would store an interval the file does not hold, and `check` reports
    any start below 0 (`intervals-negative`) in what extract would write.
    """
    suffix = f"; {sort_hint}" if sort_hint else ""
    bad = np.flatnonzero(~np.isfinite(intervals).all(axis=1))
    if bad.size:
        i = int(bad[0])
        raise CorpusFormatError(f"{where}: interval row {i} is {intervals[i].tolist()}; expected finite seconds")
    bad = np.flatnonzero(intervals[:, 0] < 0)
    if bad.size:
        i = int(bad[0])
        raise CorpusFormatError(
            f"{where}: interval row {i} starts at {float(intervals[i, 0])!r} s, before the start of the video; "
            f"expected start >= 0 ({bad.size} such rows); intervals count seconds from the video's start, so fix "
            "those rows in the file (clip rounding noise to 0, shift an offset time line)"
        )
    bad = np.flatnonzero(intervals[:, 1] < intervals[:, 0])
    if bad.size:
        i = int(bad[0])
        raise CorpusFormatError(
            f"{where}: interval row {i} ends before it starts ({float(intervals[i, 0])!r} -> {float(intervals[i, 1])!r}); "
            f"expected end >= start ({bad.size} such rows)"
        )
    if require_sorted:
        bad = np.flatnonzero(np.diff(intervals[:, 0]) < 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise CorpusFormatError(
                f"{where}: intervals are not sorted by start time: row {i} starts at {float(intervals[i, 0])!r} s, "
                f"before row {i - 1} at {float(intervals[i - 1, 0])!r} s; expected non-decreasing starts{suffix}"
            )


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


def complete_metadata(root_name: str, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every key the SDK expects (template + uuid/md5), filled with defaults where `metadata` lacks it."""
    given = dict(metadata or {})
    version = given.get("computational sequence version", "1.0")
    defaults: dict[str, Any] = {
        "computational sequence description": f"{root_name}, written by mmdata",
        "dimension names": None,
        "computational sequence version": version,
        "dimension namescomputational sequence version": version,
        "alignment compatible": True,
        "dataset name": "",
        "dataset version": "",
        "creator": "mmdata",
        "contact": "",
        "featureset bib citation": "",
        "dataset bib citation": "",
        "md5": None,
    }
    out = {**defaults, **given}
    out["root name"] = root_name
    return out


def write_csd(
    path: str | Path,
    root_name: str,
    entries: Iterable[tuple[str, Any, Any]],
    metadata: Mapping[str, Any] | None = None,
    *,
    compression: str | None = "gzip",
    compression_opts: int | None = GZIP_LEVEL,
    shuffle: bool = True,
) -> Path:
    """Write (video_id, features, intervals) entries as a `.csd` file the SDK reads back.

    Word features (strings) are stored as UTF-8 bytes of shape (T, 1), as in the SDK's word sequences.
    The `uuid` is derived from the root name and the keys written (deterministic, unlike the
    SDK's uuid4), unless `metadata` gives one. Metadata values are written as JSON (NumPy scalars
    and arrays as numbers and lists). Arrays of SMALL_ARRAY_BYTES or more are chunked and
    compressed with `compression` (`compression_opts`: its level), numbers after HDF5's byte-shuffle
    filter when `shuffle`; smaller ones are stored contiguous and uncompressed (see the module docstring).

    Raises:
        CorpusFormatError: an entry breaks the SDK's integrity rules, a word is not a string, or a
            video id is empty, '.', repeated or holds '/' (names the video id); the root name or a
            metadata key is empty or holds '/', or a metadata value is not JSON.
    """
    import h5py

    path = Path(path)
    _check_name(path, "root name", root_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)  # the mode `open()` gives, not mkstemp's 0600
    keys: list[str] = []
    written: set[str] = set()  # `video_id in data` is an HDF5 lookup per key
    try:
        with h5py.File(tmp, "w") as h5:
            root = h5.create_group(root_name)
            data = root.create_group("data")
            for video_id, features, intervals in entries:
                where = f"{path} [{root_name}/data/{video_id}]"
                _check_name(path, "video id", video_id)
                if video_id in written:
                    raise CorpusFormatError(f"{where}: video id {video_id!r} is given twice; expected one entry per "
                                            "key (the SDK keys a sequence's rows by video id, or `vid[i]` per segment)")
                features_arr = _storable_features(features, where)
                intervals_arr = np.asarray(intervals, dtype=np.float64)
                check_shapes(where, features_arr.shape, intervals_arr.shape)
                group = data.create_group(video_id)
                for name, arr in (("features", features_arr), ("intervals", intervals_arr)):
                    _write_array(group, name, arr, compression, compression_opts, shuffle)
                keys.append(video_id)
                written.add(video_id)
            meta = complete_metadata(root_name, metadata)
            meta.setdefault("uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"mmdata-csd:{root_name}:{'|'.join(keys)}")))
            group = root.create_group("metadata")
            for key, value in meta.items():
                _check_name(path, "metadata key", key)
                try:
                    text = json.dumps(value, default=_plain)
                except (TypeError, ValueError) as e:
                    raise CorpusFormatError(f"{path}: metadata {key!r} is {value!r}, which is not JSON ({e}); expected "
                                            "str, numbers, bools, None, lists or dicts of them") from e
                group.create_dataset(key, (1,), dtype=h5py.string_dtype())[0] = text
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_array(group: Any, name: str, arr: np.ndarray, compression: str | None, level: int | None,
                 shuffle: bool) -> None:
    """One dataset: chunked and compressed from SMALL_ARRAY_BYTES up, else contiguous and uncompressed
    (a chunk index outweighs what compressing a small array saves)."""
    if compression is None or arr.nbytes < SMALL_ARRAY_BYTES:
        group.create_dataset(name, data=arr)
        return
    group.create_dataset(name, data=arr, compression=compression, compression_opts=level,
                         shuffle=shuffle and arr.dtype.kind not in _TEXT_KINDS)


def _check_name(path: Path, what: str, name: str) -> None:
    """Refuse a group or dataset name HDF5 would split into subgroups (or cannot store)."""
    if isinstance(name, str) and name not in ("", ".") and "/" not in name:
        return
    hint = ("HDF5 reads '/' as nested groups, which the SDK cannot read; replace it, e.g. by '_'"
            if isinstance(name, str) and "/" in name else "HDF5 names cannot be empty or '.'")
    raise CorpusFormatError(f"{path}: {what} {name!r} cannot be an HDF5 name; expected a non-empty string without "
                            f"'/' ({hint})")


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as the JSON numbers and lists they hold (json.dumps' `default`)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"object of type {type(value).__name__} is not JSON serializable")


def _storable_features(features: Any, where: str) -> np.ndarray:
    if isinstance(features, np.ndarray) and features.dtype.kind not in _TEXT_KINDS:
        return features
    arr = np.asarray(features)
    if arr.dtype.kind in _TEXT_KINDS:
        words = []
        for i, word in enumerate(arr.reshape(-1)):
            if not isinstance(word, (str, bytes)):  # bytes(3) would be three NUL bytes, bytes(None) fails
                raise CorpusFormatError(f"{where}: word {i} is {word!r}; expected a string (words are written as "
                                        "UTF-8 bytes of shape (T, 1))")
            words.append(word.encode("utf-8") if isinstance(word, str) else bytes(word))
        width = max((len(w) for w in words), default=1) or 1
        return np.array(words, dtype=f"S{width}").reshape(len(words), 1)
    return arr


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
