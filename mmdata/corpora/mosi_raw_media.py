"""Media lengths of the `mosi-raw` segments that are whole files (cmu clips, generic rows without
start/end), read from the files' headers only (no decoding): `extra.audio_duration` /
`extra.video_duration`, and a late stream's media start, against which `check` holds their tables.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdata.corpora.media_captions import (
    audio_duration_extra, container_audio_extra, container_header_extra, container_video_extra,
)
from mmdata.corpora.mosi_raw_segments import _Segment
from mmdata.media.files import is_regular_file


def _record_media_spans(corpus_dir: Path, seg: _Segment) -> None:
    """`extra.audio_duration` / `extra.video_duration` (and a late stream's media start) of one
    segment that is a whole media file, read from the files' headers only (no decoding). Only regular
    files are opened: a FIFO would make the header read wait forever (extraction names what it is).
    An MP4 is opened once for its video's values and then, where it holds the segment's sound, its
    audio track's (`record_video_span`'s and `media_captions.audio_stream_extra`'s values, in that order)."""
    if seg.audio is not None and is_regular_file(corpus_dir / seg.audio):
        _record_wav_duration(corpus_dir / seg.audio, seg.extra)
    if seg.video is not None and is_regular_file(corpus_dir / seg.video):
        readers = [container_video_extra] if seg.audio is not None else [container_video_extra, container_audio_extra]
        seg.extra.update(container_header_extra(corpus_dir / seg.video, readers))


def _record_wav_duration(path: Path, extra: dict[str, Any]) -> None:
    """`extra.audio_duration` from the audio file's header (soundfile.info); none when it cannot be read."""
    extra.update(audio_duration_extra(path))


def record_video_span(path: Path, extra: dict[str, Any]) -> None:
    """`extra.video_duration`, and `extra.video_media_start` where the MP4's video stream starts
    after 0 (an edit list, a TS offset): its frames' intervals are in the file's time line, so
    `check` holds a whole clip to [start, start + duration], not [0, duration]. One open of the file
    (`media_captions.container_video_extra`); nothing where it cannot be opened or states no end."""
    extra.update(container_header_extra(path, [container_video_extra]))
