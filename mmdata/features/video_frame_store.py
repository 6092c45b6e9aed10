"""Where a sample's decoded frames wait between the decode worker and the model: in memory while they are
few, in a temporary file once they pass `SPILL_BYTES`, so that a long video's frames are never all in
memory at once.

Record shapes:
    FrameStore (decode)     convert(rgb, time) -> index of the stored frame; `frames(order)` at the end
    frames                  what `convert` made of each sampled frame (a list, or stacked), or
                            `SpilledFrames` over a file of the same bytes
    SpilledFrames[indices]  (len(indices), *frame shape) array, read from the file as `compute` needs them

A clip model's sample travels as its crops, 37 KB a frame at 112x112: 34 MB a minute at 15 fps, 2 GB an
hour, held in the decode worker, in its pickle and again in the main process, for every sample of every
batch in flight; `video-frames` with a ResNet holds 150 KB a frame. Past `SPILL_BYTES` the worker writes
each frame to a file in the temporary directory (`TMPDIR`) as it is made and ships only the file's name;
`compute` reads a batch at a time from it, so memory stays at a batch whatever the video's length, and
the features are those of the frames held in memory, byte for byte. Only NumPy arrays of one shape and
dtype spill; anything else (a PIL image from an image extractor of one's own) stays in memory.

The file belongs to the process that computes: it is deleted when the decoded item is (after `compute`),
or by the decode worker when decoding fails; a process killed in between leaves it behind
(`mmdata-frames-*.bin`). A decode worker hands the file over with the pickled item; a pickle round trip
within one process (a check that an item can be sent) leaves it with the original. Under Ray the decode task and the model may run on different machines, which
share no temporary directory: there the frames stay in memory (Ray's object store spills them itself).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mmdata.errors import MmdataError

#: Frames of one sample held in memory before they go to a temporary file: 32 MiB, 890 crops of
#: 112x112 (a minute at 15 fps), 220 of 224x224.
SPILL_BYTES = 32 * 2**20
FRAME_FILE_PREFIX = "mmdata-frames-"


class FrameFileError(MmdataError, OSError):
    """The temporary file of a sample's decoded frames could not be written (a full disk)."""


class SpilledFrames:
    """A sample's frames in a temporary file, indexed as the array of them they stand for:
    `frames[indices]` reads those frames and nothing else."""

    def __init__(self, path: str, order: np.ndarray, frame_shape: tuple[int, ...], dtype: Any, *, owned: bool = True):
        self.path = path
        #: For each sampled frame, the frame it shows in the file (a frame sampled at several instants
        #: is stored once): nondecreasing.
        self.order = order
        self.frame_shape = tuple(frame_shape)
        self.dtype = np.dtype(dtype)
        self._made_in = os.getpid()
        self._owner = weakref.finalize(self, _remove, path)
        if not owned:
            self._owner.detach()

    def __len__(self) -> int:
        return len(self.order)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.order), *self.frame_shape)

    def __getitem__(self, indices: Any) -> np.ndarray:
        """The sampled frames `indices` (an index array or a slice), read from the file in one block."""
        stored = self.order[indices]
        first, last = int(stored.min()), int(stored.max())
        count = int(np.prod(self.frame_shape))
        block = np.fromfile(self.path, dtype=self.dtype, count=(last - first + 1) * count,
                            offset=first * count * self.dtype.itemsize).reshape(-1, *self.frame_shape)
        return block[stored - first]

    def __getstate__(self) -> dict[str, Any]:
        # A decode worker (a child process) pickles the item for the process that computes, which owns the
        # file from then on: the worker's copy no longer deletes it.
        if multiprocessing.parent_process() is not None:
            self._owner.detach()
        return {"path": self.path, "order": self.order, "frame_shape": self.frame_shape, "dtype": self.dtype.str,
                "made_in": self._made_in}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Only a copy received by another process owns the file: one unpickled where it was made (a check
        # that the item pickles) leaves it to the original.
        self.__init__(state["path"], state["order"], state["frame_shape"], state["dtype"],
                      owned=state["made_in"] != os.getpid())


class FrameStore:
    """Keeps what `convert` makes of a sample's decoded frames, in memory up to `SPILL_BYTES`, then in a
    temporary file. Called as `read_video_frames`' `convert`: returns the stored frame's index, so the
    sampled frames hold only indices. Used as a context manager: a failure deletes the file."""

    def __init__(self, convert: Callable[[np.ndarray, float], Any]):
        self.convert = convert
        self.held: list[Any] = []
        self.held_bytes = 0
        #: (shape, dtype) of the first frame that is an array: what every frame must be for them to spill.
        self.kind: tuple[tuple[int, ...], np.dtype] | None = None
        self.spillable = _may_spill()
        self.path: str | None = None
        self._file: Any = None
        self._count = 0

    def __enter__(self) -> FrameStore:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            self._close()
        except OSError:
            if kind is None:
                raise
        finally:
            if kind is not None and self.path is not None:
                _remove(self.path)

    def __call__(self, rgb: np.ndarray, time: float) -> int:
        frame = self.convert(rgb, time)
        if self.spillable and not self._fits(frame):
            self._unspill()
        if self._file is None and self.spillable and self.held_bytes + frame.nbytes > SPILL_BYTES:
            with _named_write_errors():
                self._spill()
        if self._file is not None:
            with _named_write_errors():
                self._file.write(np.ascontiguousarray(frame).data)
        else:
            self.held.append(frame)
            self.held_bytes += getattr(frame, "nbytes", 0)
        self._count += 1
        return self._count - 1

    def frames(self, order: list[int], *, stack: bool = False) -> list[Any] | np.ndarray | SpilledFrames:
        """The sampled frames, `order[k]` the stored frame that frame k shows: a list (`stack`: an array)
        while in memory, else `SpilledFrames` (which owns the file from here on)."""
        if self.path is None:
            frames = [self.held[index] for index in order]
            return np.stack(frames) if stack else frames
        with _named_write_errors():
            self._close()  # the last frames are written as the file closes
        return SpilledFrames(self.path, np.asarray(order, dtype=np.int64), *self.kind)

    def _fits(self, frame: Any) -> bool:
        """Whether `frame` is an array like those before it (the first array sets the kind)."""
        if not isinstance(frame, np.ndarray) or frame.dtype.hasobject:
            return False
        if self.kind is None:
            self.kind = (frame.shape, frame.dtype)
        return self.kind == (frame.shape, frame.dtype)

    def _spill(self) -> None:
        """Open the temporary file and move the frames held so far into it."""
        handle, self.path = tempfile.mkstemp(prefix=FRAME_FILE_PREFIX, suffix=".bin")
        self._file = os.fdopen(handle, "wb")
        for frame in self.held:
            self._file.write(np.ascontiguousarray(frame).data)
        self.held, self.held_bytes = [], 0

    def _unspill(self) -> None:
        """A frame that cannot spill: keep every frame in memory from here on (the file read back, if any)."""
        self.spillable = False
        if self.path is None:
            return
        with _named_write_errors():
            self._close()
        shape, dtype = self.kind
        stored = np.fromfile(self.path, dtype=dtype).reshape(-1, *shape)
        self.held = list(stored)
        _remove(self.path)
        self.path = None

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@contextlib.contextmanager
def _named_write_errors() -> Iterator[None]:
    """An OSError writing the frames' file (a full disk) as one line naming the folder and what to do: a
    `FrameFileError`, which `read_video_frames` passes on as it is (not as an unreadable video)."""
    try:
        yield
    except OSError as e:
        raise FrameFileError(
            e.errno, f"cannot write a long video's decoded frames to a temporary file in {tempfile.gettempdir()} "
                     f"({e.strerror or e}); expected room there (a minute of 112x112 crops at 15 fps takes 34 MB): "
                     "free space, or set TMPDIR to a larger disk") from e


def _may_spill() -> bool:
    """False inside Ray, whose decode tasks and model actors may run on machines that share no files."""
    ray = sys.modules.get("ray")
    return ray is None or not ray.is_initialized()


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
