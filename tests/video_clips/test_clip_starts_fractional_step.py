"""Clip starts of a step that is not a whole number of sampled frames: every start up to the end is
found (rounding can bring the start after the last whole clip down onto a whole clip), and a step
under one sampled frame, which would start two clips on one frame, is refused."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.features import create_extractor
from mmdata.features.video_models import clip_starts


def starts_one_by_one(num_frames: int, clip_frames: int, step_frames: float, tail: str) -> list[int]:
    """The rule of `clip_starts` spelt out: starts round(k x step) while a whole clip fits, then (pad)
    the next start when frames are left after the last whole clip."""
    starts = [int(np.floor(k * step_frames + 0.5)) for k in range(num_frames + 2)]
    whole = [s for s in starts if s + clip_frames <= num_frames]
    following = next(s for s in starts if s + clip_frames > num_frames)
    if tail == "pad" and whole[-1] + clip_frames < num_frames and following < num_frames:
        whole.append(following)
    return whole


def test_a_rounded_start_landing_on_a_whole_clip_is_kept():
    assert clip_starts(18, 8, 3.4, "drop").tolist() == [0, 3, 7, 10]  # 3 x 3.4 = 10.2 rounds to 10: 10 + 8 = 18
    assert clip_starts(18, 8, 3.4, "pad").tolist() == [0, 3, 7, 10]


@pytest.mark.parametrize("clip_frames", [1, 8, 14])
def test_clip_starts_follow_the_rule_for_fractional_steps(clip_frames):
    for num_frames in range(clip_frames + 1, 60):
        for step_frames in np.arange(1.0, 12.0, 0.1):
            for tail in ("pad", "drop"):
                got = clip_starts(num_frames, clip_frames, float(step_frames), tail).tolist()
                assert got == starts_one_by_one(num_frames, clip_frames, float(step_frames), tail), \
                    (num_frames, clip_frames, step_frames, tail)


def test_a_fractional_step_cuts_a_real_video(tmp_path):
    from tests.fakes.av import write_mp4

    write_mp4(tmp_path / "clip.mp4", [(200, 40, 40), (40, 200, 40)], fps=10, frames_per_color=10, size=(32, 24))
    extractor = create_extractor("r3d-18:weights=random,fps=8,clip_frames=8,step=0.2625")  # 2.1 frames
    decoded = extractor.decode({"sample_id": "clip", "video": "clip.mp4"}, tmp_path)
    assert np.all(np.diff(decoded.starts) > 0) and decoded.starts[-1] + 8 >= len(decoded.frames)


def test_a_step_under_one_sampled_frame_is_refused():
    refused = r"step 0.04 s is under one sampled frame at fps=15; expected at least 0.06667 s"
    with pytest.raises(ValueError, match=refused):
        create_extractor("r3d-18:weights=random,fps=15,step=0.04")  # 0.6 frame: clips 2 and 3 on frame 1
    one_frame = create_extractor("r3d-18:weights=random,fps=15,step=0.06667")  # the step the message suggests
    assert one_frame.config.step_frames == pytest.approx(1.0, abs=1e-4)
