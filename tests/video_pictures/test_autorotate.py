"""Frames of phone videos come out upright, as the `ffmpeg` command line shows them; `autorotate=false`
keeps the pixels as stored."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.features import create_extractor
from mmdata.media.video import read_video_frames, upright_turns
from tests.video_pictures.conftest import HEIGHT, WIDTH, ffmpeg_first_frame


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_frames_are_turned_upright_pixel_for_pixel_as_the_ffmpeg_command_line_turns_them(rotated_clips, angle):
    frame = read_video_frames(rotated_clips[angle], fps=5, max_frames=1).frames[0]
    upright = (WIDTH, HEIGHT, 3) if angle in (90, 270) else (HEIGHT, WIDTH, 3)
    assert frame.shape == upright
    assert frame.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(frame, ffmpeg_first_frame(rotated_clips[angle], upright))


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_without_autorotate_frames_are_the_stored_pixels(rotated_clips, angle):
    stored = read_video_frames(rotated_clips[0], fps=5, max_frames=1).frames[0]
    frame = read_video_frames(rotated_clips[angle], fps=5, max_frames=1, autorotate=False).frames[0]
    np.testing.assert_array_equal(frame, stored)


def test_video_frames_features_see_the_upright_picture_unless_told_not_to(rotated_clips):
    row = {"sample_id": "phone", "video": rotated_clips[90].name, "start": None, "end": None}
    aspect = {}
    for flag in ("true", "false"):
        frames = create_extractor(f"video-frames:image_extractor=pixel-stats,image_options=decode_size=0,"
                                  f"fps=5,autorotate={flag}")
        sequence, _ = frames.compute([frames.decode(dict(row), rotated_clips[90].parent)])[0]
        aspect[flag] = sequence[:, -1]  # pixel-stats' last value: width / height
    np.testing.assert_allclose(aspect["true"], HEIGHT / WIDTH)
    np.testing.assert_allclose(aspect["false"], WIDTH / HEIGHT)


def test_autorotate_is_recorded_in_the_table_config():
    assert create_extractor("video-frames").provenance()["config"]["autorotate"] is True
    assert create_extractor("video-frames:autorotate=false").provenance()["config"]["autorotate"] is False


@pytest.mark.parametrize(("rotation", "turns"), [(0.0, 0), (90.0, 1), (-90.0, 3), (180.0, 2), (-180.0, 2),
                                                 (270.0, 3), (89.6, 1), (-0.4, 0), (45.0, None), (100.0, None)])
def test_quarter_turns_from_the_display_matrix_angle(rotation, turns):
    assert upright_turns(rotation) == turns
