"""Writing `.csd` files the CMU-MultimodalSDK reads back (`write_csd`), with the metadata it expects.

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
(`.<name>.<8 hex digits>.tmp` beside it), fsynced and renamed (`store.writer.atomic_file`, as the
store's shards are).

Failures while writing. HDF5 writes most of a file when its objects are closed, and h5py closes
them in `__dealloc__`, where an exception is printed and dropped: a full disk (or a file-size
limit) left the export going on over a broken file until the process crashed (a segfault), and a
Ctrl-C met there was printed as "Exception ignored" and lost. So HDF5 writes through `_GuardedFile`,
which keeps the first OSError of the file system (and reports success to HDF5, which then stays
consistent): `write_csd` raises it, naming the file, after the entry that met it. SIGINT and SIGTERM
are held while a file is written (`_held_interrupts`) and acted on between entries.

The file layout is described in `mmdata.formats.csd`, which reads it; these names stay importable
from there too.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import CorpusFormatError
from mmdata.formats.csd_checks import _TEXT_KINDS, check_shapes
from mmdata.store.writer import atomic_file

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
#: Arrays of fewer bytes are written contiguous and uncompressed (see the module docstring).
SMALL_ARRAY_BYTES = 64 * 1024
#: gzip level of larger arrays: level 9 took 8.2 s for 35.5 MB on 47 MB of smooth float32 frames, level 4
#: 2.2 s for 35.6 MB. The SDK reads any level.
GZIP_LEVEL = 4


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
    # a hidden file beside `path` (its folder made, the mode `open()` gives), fsynced and renamed over it when
    # the block ends, removed when it raises
    with atomic_file(path) as tmp:
        with _held_interrupts() as interrupts, _GuardedFile(tmp, path) as sink:
            try:
                with h5py.File(sink, "w") as h5:
                    _write_entries(h5, path, root_name, entries, metadata, compression, compression_opts, shuffle,
                                   lambda: (interrupts.act(), sink.raise_failure()))
            except Exception:
                sink.raise_failure()  # the file system's error, not what HDF5 made of it
                raise
            sink.close()
    return path


def _write_entries(h5: Any, path: Path, root_name: str, entries: Iterable[tuple[str, Any, Any]],
                   metadata: Mapping[str, Any] | None, compression: str | None, compression_opts: int | None,
                   shuffle: bool, between_entries: Callable[[], Any]) -> None:
    """The root group of an open file: every entry under data/, then the metadata; `between_entries`
    runs after each entry (an interrupt or a write failure met meanwhile raises there)."""
    import h5py

    keys: list[str] = []
    written: set[str] = set()  # `video_id in data` is an HDF5 lookup per key
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
        between_entries()
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


class _GuardedFile:
    """The file HDF5 writes a `.csd` through (h5py's file-object driver): the first OSError of the file
    system (a full disk, a file-size limit) is kept, not given to HDF5, whose errors in `__dealloc__`
    are dropped (and which crashed the process further on); `raise_failure` raises it, naming the file.
    Writes after a failure are dropped: the file is removed anyway."""

    def __init__(self, path: Path, shown: Path):
        self.shown = shown  # the file's name in an error: the target, not its temporary name
        self.file = open(path, "r+b")  # noqa: SIM115 - closed by `close`
        self.failure: OSError | None = None

    def __enter__(self) -> _GuardedFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.file.closed:
            try:
                self.file.close()
            except OSError:
                pass  # a failed write's file, removed by `write_csd`

    def write(self, data: Any) -> int:
        if self.failure is None:
            try:
                return self.file.write(data)
            except OSError as e:
                self._fail(e)
        return memoryview(data).nbytes

    def readinto(self, buffer: Any) -> int:
        return self.file.readinto(buffer)

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def truncate(self, size: int | None = None) -> int:
        if self.failure is None:
            try:
                return self.file.truncate(size)
            except OSError as e:
                self._fail(e)
        return self.file.tell() if size is None else size

    def flush(self) -> None:
        if self.failure is None:
            try:
                self.file.flush()
            except OSError as e:
                self._fail(e)

    def close(self) -> None:
        """Flush and close the finished file (`atomic_file` fsyncs it before the rename); raises the failure
        met writing it, if any."""
        self.flush()
        self.file.close()
        self.raise_failure()

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _fail(self, error: OSError) -> None:
        # The file system's words, this file's name: the command prints it as one line.
        self.failure = OSError(error.errno, error.strerror or str(error), str(self.shown))


class _HeldSignals:
    """SIGINT/SIGTERM received while a file is written: acted on (their handler called) at `act`."""

    def __init__(self, handlers: dict[int, Any]):
        self.handlers = handlers
        self.pending: list[tuple[int, Any]] = []

    def note(self, signum: int, frame: Any) -> None:
        if self.pending:  # a second one: act now
            self.handlers[signum](signum, frame)
        self.pending.append((signum, frame))

    def act(self) -> None:
        if self.pending:
            signum, frame = self.pending.pop(0)
            self.handlers[signum](signum, frame)


@contextmanager
def _held_interrupts() -> Iterator[_HeldSignals]:
    """Hold SIGINT and SIGTERM (where Python handles them, in the main thread) while the block writes
    a file, their handlers run at `act` and when the block ends: raised inside h5py's clean-up, a
    KeyboardInterrupt was printed and lost and the export went on."""
    handlers: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {s: h for s in (signal.SIGINT, signal.SIGTERM) if callable(h := signal.getsignal(s))}
    held = _HeldSignals(handlers)
    for signum in handlers:
        signal.signal(signum, held.note)
    try:
        yield held
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    held.act()


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
