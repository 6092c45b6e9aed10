"""mmdata.media.video: frames at a chosen rate, segment-aware, with intervals in media-file seconds."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.media.video import read_video_frames
from tests.audio_video.conftest import BLUE, RED


def colours(clip) -> list[tuple[int, ...]]:
    """The colour each sampled frame shows, snapped to the nearest test colour."""
    palette = np.array([RED, BLUE])
    return [tuple(palette[np.argmin(np.abs(palette - f[8, 8].astype(int)).sum(axis=1))]) for f in clip.frames]


def test_frames_sampled_at_one_fps_cover_the_whole_video(media):
    clip = read_video_frames(media.video_with_audio, fps=1.0)
    assert len(clip) == 2 and clip.frames[0].shape == (48, 64, 3) and clip.frames[0].dtype == np.uint8
    np.testing.assert_allclose(clip.intervals, [[0.0, 1.0], [1.0, 2.0]])
    assert colours(clip) == [RED, BLUE]
    assert np.abs(clip.frames[0][8, 8].astype(int) - RED).max() <= 4


def test_segment_sampling_starts_at_the_segment_and_clips_the_last_interval(media):
    clip = read_video_frames(media.video_with_audio, fps=4.0, start=0.8, end=1.6)
    np.testing.assert_allclose(clip.intervals, [[0.8, 1.05], [1.05, 1.3], [1.3, 1.55], [1.55, 1.6]])
    # at 0.8 s the red frame is on screen, from 1.0 s the blue one
    assert colours(clip) == [RED, BLUE, BLUE, BLUE]


def test_rate_above_the_video_rate_repeats_frames(media):
    clip = read_video_frames(media.video_with_audio, fps=20.0, start=0.9, end=1.1)
    assert len(clip) == 4
    assert colours(clip) == [RED, RED, BLUE, BLUE]


def test_max_frames_limits_the_samples(media):
    clip = read_video_frames(media.video_with_audio, fps=10.0, max_frames=3)
    assert len(clip) == 3
    np.testing.assert_allclose(clip.intervals[:, 0], [0.0, 0.1, 0.2])


def test_segment_outside_the_video_is_a_media_error(media):
    with pytest.raises(MediaError, match=r"no frames in segment \[5.0 to the end of the video\] \(video ends at 2.000s\)"):
        read_video_frames(media.video_with_audio, fps=1.0, start=5.0)


def test_negative_segment_start_is_a_media_error_for_video_and_its_audio_track(media):
    from mmdata.media.audio import load_audio

    with pytest.raises(MediaError, match=r"segment start -0.5 is negative; expected seconds >= 0"):
        read_video_frames(media.video_with_audio, fps=1.0, start=-0.5, end=1.0)
    with pytest.raises(MediaError, match=r"segment start -0.5 is negative; expected seconds >= 0"):
        load_audio(media.video_with_audio, start=-0.5, end=1.0)  # PyAV's reader clamped it to 0


def test_audio_only_and_empty_files_are_media_errors(media):
    with pytest.raises(MediaError, match=r"tone220.wav: no video stream \(streams: audio pcm_s16le\)"):
        read_video_frames(media.tone_wav, fps=1.0)
    with pytest.raises(MediaError, match=r"video file is empty \(0 bytes\)"):
        read_video_frames(media.empty_wav, fps=1.0)


def test_garbage_file_is_a_media_error_naming_it(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    with pytest.raises(MediaError, match="broken.mp4: cannot decode video"):
        read_video_frames(path, fps=1.0)


def write_late_start(path, first_pts: int, colors, fps: int = 10, per_color: int = 10):
    """A video whose time line starts at `first_pts / fps` s, as MPEG-TS files and cut files do."""
    from fractions import Fraction

    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for k in range(len(colors) * per_color):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), colors[k // per_color], np.uint8), format="rgb24")
            frame.pts, frame.time_base = first_pts + k, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_sampling_starts_at_the_first_frame_when_the_time_line_starts_later(tmp_path):
    """No frame is on screen before the first one: none is made up for [0, 1.5) s."""
    for name in ("late.mp4", "late.ts"):  # an MPEG-TS stream states no average frame rate: its guessed one serves
        path = write_late_start(tmp_path / name, 15, [RED, BLUE])
        clip = read_video_frames(path, fps=2.0)
        np.testing.assert_allclose(clip.intervals, [[1.5, 2.0], [2.0, 2.5], [2.5, 3.0], [3.0, 3.5]])
        assert colours(clip) == [RED, RED, BLUE, BLUE]
    # a segment reaching back before the first frame starts at it too; one that ends before it has no frame
    np.testing.assert_allclose(read_video_frames(path, fps=2.0, start=0.5, end=2.5).intervals, [[1.5, 2.0], [2.0, 2.5]])
    with pytest.raises(MediaError, match=r"no frames in segment \[0.2, 1.0\]"):
        read_video_frames(path, fps=2.0, start=0.2, end=1.0)
