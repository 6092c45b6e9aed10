"""CMU-MultimodalSDK computational sequences (`.csd`, HDF5): lazy reading per video, SDK-readable writing.

A .csd file looks like this (the SDK's `file_ops.write_CSD`):

    /<root name>/                     one top-level group; its name may differ from the file name
        data/<video_id>/features      (T, D, ...) float32/float64, or words as bytes of shape (T, 1)
        data/<video_id>/intervals     (T, 2) float64 [start, end] in seconds
        metadata/<key>                shape (1,) variable-length string holding json.dumps(value)
                                      (some released files hold plain strings instead)

Under h5py 3 metadata strings come back as `bytes`; they are decoded before parsing, so a plain
(non-JSON) string keeps its text instead of turning into "b'...'".

Keys are listed in natural order: by base video id, then by the integer index of the SDK's
aligned keys `vid[i]`, so `vid[2]` comes before `vid[10]` (a plain string sort puts it after).

Written files carry every key of the SDK's metadata template, including the key that the
template's missing comma merges ("dimension namescomputational sequence version"), so the SDK's
`deploy` never prompts on stdin and its integrity checks pass. Values are JSON; data is
gzip-compressed as the SDK's `deploy` does. Files are written to a temporary name and renamed.
"""
from __future__ import annotations

import json
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
# An SDK-aligned key: "03bSnISJMiM[3]" = the 4th reference interval of video 03bSnISJMiM.
_INDEXED_KEY = re.compile(r"^(?P<base>.*)\[(?P<index>\d+)\]$")


@dataclass(frozen=True)
class CsdEntry:
    """One video's data: features (T, ...) and intervals (T, 2) in seconds."""

    features: np.ndarray
    intervals: np.ndarray


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
        if not roots or not isinstance(self._h5[roots[0]], h5py.Group) or "data" not in self._h5[roots[0]]:
            self._h5.close()
            raise CorpusFormatError(
                f"{self.path}: expected one top-level group holding 'data/<video_id>/features|intervals', "
                f"found top-level entries {roots[:5]}"
            )
        self.root_name: str = roots[0]
        root = self._h5[self.root_name]
        self._data = root["data"]
        self.metadata: dict[str, Any] = read_metadata(root["metadata"]) if "metadata" in root else {}
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
        group = self._group(video_id)
        for name in ("features", "intervals"):
            if name not in group:
                raise CorpusFormatError(f"{self.where(video_id)}: missing dataset {name!r}; expected 'features' and 'intervals'")
        return group["features"].shape, group["intervals"].shape, group["features"].dtype

    def is_text(self) -> bool:
        """True when features hold strings (a word or phone sequence)."""
        return bool(self.video_ids) and self.shapes(self.video_ids[0])[2].kind in _TEXT_KINDS

    def read_intervals(self, video_id: str) -> np.ndarray:
        features_shape, intervals_shape, _ = self.shapes(video_id)
        check_shapes(self.where(video_id), features_shape, intervals_shape)
        return np.asarray(self._group(video_id)["intervals"][()], dtype=np.float64)

    def read(self, video_id: str) -> CsdEntry:
        """Both arrays of a video, shape-checked (features (T, ...), intervals (T, 2))."""
        intervals = self.read_intervals(video_id)
        return CsdEntry(features=np.asarray(self._group(video_id)["features"][()]), intervals=intervals)

    def _group(self, video_id: str) -> Any:
        try:
            return self._data[video_id]
        except KeyError:
            raise CorpusFormatError(f"{self.path}: no video {video_id!r} under {self.root_name}/data") from None


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
    """Refuse non-finite intervals, end < start and (when `require_sorted`) decreasing start times;
    `sort_hint` (how to have rows sorted instead) ends the message about unsorted rows only."""
    suffix = f"; {sort_hint}" if sort_hint else ""
    bad = np.flatnonzero(~np.isfinite(intervals).all(axis=1))
    if bad.size:
        i = int(bad[0])
        raise CorpusFormatError(f"{where}: interval row {i} is {intervals[i].tolist()}; expected finite seconds")
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


def read_metadata(group: Any) -> dict[str, Any]:
    """The metadata group as a dict: bytes decoded, JSON parsed, plain strings kept as text."""
    out: dict[str, Any] = {}
    for key in group.keys():
        dataset = group[key]
        value = dataset[0] if dataset.shape not in ((), None) and len(dataset) else dataset[()]
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


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
    compression_opts: int = 9,
) -> Path:
    """Write (video_id, features, intervals) entries as a `.csd` file the SDK reads back.

    Word features (strings) are stored as bytes of shape (T, 1), as in the SDK's word sequences.
    The `uuid` is derived from the root name and the keys written (deterministic, unlike the
    SDK's uuid4), unless `metadata` gives one.

    Raises:
        CorpusFormatError: an entry breaks the SDK's integrity rules (names the video id).
    """
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)  # the mode `open()` gives, not mkstemp's 0600
    keys: list[str] = []
    try:
        with h5py.File(tmp, "w") as h5:
            root = h5.create_group(root_name)
            data = root.create_group("data")
            for video_id, features, intervals in entries:
                where = f"{path} [{root_name}/data/{video_id}]"
                features_arr = _storable_features(features)
                intervals_arr = np.asarray(intervals, dtype=np.float64)
                check_shapes(where, features_arr.shape, intervals_arr.shape)
                group = data.create_group(video_id)
                for name, arr in (("features", features_arr), ("intervals", intervals_arr)):
                    compress = compression if arr.size else None
                    group.create_dataset(name, data=arr, compression=compress,
                                         compression_opts=compression_opts if compress else None)
                keys.append(video_id)
            meta = complete_metadata(root_name, metadata)
            meta.setdefault("uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"mmdata-csd:{root_name}:{'|'.join(keys)}")))
            group = root.create_group("metadata")
            for key, value in meta.items():
                group.create_dataset(key, (1,), dtype=h5py.string_dtype())[0] = json.dumps(value)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _storable_features(features: Any) -> np.ndarray:
    if isinstance(features, np.ndarray) and features.dtype.kind not in _TEXT_KINDS:
        return features
    arr = np.asarray(features)
    if arr.dtype.kind in _TEXT_KINDS:
        words = [w.encode("utf-8") if isinstance(w, str) else bytes(w) for w in arr.reshape(-1)]
        width = max((len(w) for w in words), default=1) or 1
        return np.array(words, dtype=f"S{width}").reshape(len(words), 1)
    return arr


def read_rows(csd: CsdFile, keys: Sequence[str], *, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """Features and intervals of one video's keys, concatenated (and stably sorted by start if `sort`)."""
    entries = [csd.read(key) for key in keys]
    features = np.concatenate([e.features for e in entries]) if len(entries) > 1 else entries[0].features
    intervals = np.concatenate([e.intervals for e in entries]) if len(entries) > 1 else entries[0].intervals
    if sort:
        order = np.argsort(intervals[:, 0], kind="stable")
        features, intervals = features[order], intervals[order]
    return features, intervals
