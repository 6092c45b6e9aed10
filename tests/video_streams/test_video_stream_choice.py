"""A cover/thumbnail stream before the real video is not what is read, nor what
`video_duration` measures; several real video streams log which one was taken."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from mmdata.media.video import read_video_frames, video_duration
from tests.video_streams.conftest import FRAMES, ffmpeg, frame_index, write_clip



@pytest.fixture(scope="module")
def cover_first(tmp_path_factory):
    """Matroska: stream 0 a one-frame MJPEG thumbnail (not default), stream 1 the 2 s video (default)."""
    root = tmp_path_factory.mktemp("cover")
    main = write_clip(root / "main.mp4")
    thumb = write_clip(root / "thumb.mp4", frames=1, offset=20)
    out = root / "cover_first.mkv"
    ffmpeg("-i", str(thumb), "-i", str(main), "-map", "0:v", "-map", "1:v", "-c:v:0", "mjpeg", "-c:v:1", "copy",
           "-disposition:v:0", "0", "-disposition:v:1", "default", str(out))
    return out


def test_the_real_video_is_read_not_the_thumbnail_before_it(cover_first):
    clip = read_video_frames(cover_first, fps=10.0)
    assert len(clip) == FRAMES
    assert [frame_index(f) for f in clip.frames[:3]] == [0, 1, 2]


def test_video_duration_measures_the_same_stream(cover_first):
    assert video_duration(cover_first) == pytest.approx(2.0, abs=0.05)


def test_several_real_video_streams_log_which_one_was_read(tmp_path, caplog):
    short = write_clip(tmp_path / "short.mp4", frames=5, offset=20)
    long = write_clip(tmp_path / "long.mp4")
    both = tmp_path / "two_video.mp4"
    ffmpeg("-i", str(short), "-i", str(long), "-map", "0:v", "-map", "1:v", "-c", "copy", str(both))
    with caplog.at_level(logging.WARNING, logger="mmdata.media.video"):
        clip = read_video_frames(both, fps=10.0)
    assert len(clip) == FRAMES and frame_index(clip.frames[0]) == 0  # the longer one
    assert any(str(both) in r.getMessage() and "reading stream 1" in r.getMessage() for r in caplog.records)


def test_a_single_one_frame_video_is_still_read(tmp_path):
    clip = read_video_frames(write_clip(tmp_path / "one.mp4", frames=1), fps=10.0)
    assert len(clip) == 1 and np.asarray(clip.frames[0]).shape == (24, 32, 3)
