"""Where FFmpeg may decode: not in a process that a decoder's crash must not bring down.

The local executor decodes in its main process only files whose decoders cannot crash it
(libsndfile, Pillow, mmdata's own WAV reader; `Extractor.decodes_safely_here` judges by the file
name). A file that turns out to need FFmpeg after all (an M4A renamed `.wav`, a WAV whose `data`
size was never written, a file libsndfile rejects) then raises `FFmpegNeededElsewhere` instead of
being decoded there, and the executor decodes that one item in a worker process, where a crash
costs the item only:

    with ffmpeg_elsewhere():              # the executor, around decoding in its main process
        decode_batch(extractor, rows, root)  # an item needing FFmpeg fails with FFmpegNeededElsewhere
    ...                                   # the executor decodes those items in a worker

Outside that block (worker processes, Ray tasks, a plain `load_audio` call) FFmpeg decodes as always.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path

from mmdata.errors import MediaError

_FFMPEG_ELSEWHERE = contextvars.ContextVar("mmdata_ffmpeg_elsewhere", default=False)


class FFmpegNeededElsewhere(MediaError):
    """The file needs FFmpeg, and this process decodes only with decoders that cannot crash it."""


@contextlib.contextmanager
def ffmpeg_elsewhere() -> Iterator[None]:
    """Within the block, `check_ffmpeg_allowed` raises `FFmpegNeededElsewhere` (in this thread)."""
    token = _FFMPEG_ELSEWHERE.set(True)
    try:
        yield
    finally:
        _FFMPEG_ELSEWHERE.reset(token)


def check_ffmpeg_allowed(path: str | Path) -> None:
    """Raise `FFmpegNeededElsewhere` when the caller keeps FFmpeg out of this process; call it
    before opening `path` with PyAV."""
    if _FFMPEG_ELSEWHERE.get():
        raise FFmpegNeededElsewhere(
            f"{path}: needs FFmpeg to decode, which runs in worker processes only; the executor decodes it there")
