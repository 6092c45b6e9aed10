"""A segment starting well before the first frame fails like one ending well past
the last; `max_frames` neither skips the overrun rule nor writes an interval past the video's end;
messages about a segment without an end say so in words."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.media.video import read_video_frames
from tests.video_streams.conftest import ffmpeg, write_clip


def frames_extractor(options: str = ""):
    return create_extractor("video-frames:image_extractor=pixel-stats,fps=5" + options)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("bounds") / "videos" / "clip.mp4")  # 2.0 s


@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory, clip):
    """The clip as MPEG-TS: its time line starts near 1.4 s."""
    out = clip.parent / "clip.ts"
    ffmpeg("-i", str(clip), "-c:v", "mpeg4", "-q:v", "1", str(out))
    return out


def row(sample_id, video, start, end):
    return {"sample_id": sample_id, "video": f"videos/{video}", "start": start, "end": end}


def test_a_segment_starting_well_before_the_first_frame_fails_naming_both_times(ts_clip):
    first = read_video_frames(ts_clip, fps=5.0).intervals[0, 0]
    assert first > 1.0
    with pytest.raises(MediaError, match=rf"clip\.ts: segment \[0s, 2s\] of sample 'early' starts {first:.3f}s before "
                       rf"the first frame of the video \({first:.3f}s\).*check the segment times"):
        frames_extractor().decode(row("early", "clip.ts", 0.0, 2.0), ts_clip.parent.parent)


def test_a_small_gap_before_the_first_frame_is_kept(ts_clip):
    first = float(read_video_frames(ts_clip, fps=5.0).intervals[0, 0])
    decoded = frames_extractor().decode(row("close", "clip.ts", first - 0.05, first + 1.0), ts_clip.parent.parent)
    assert decoded.intervals[0, 0] == pytest.approx(first)


def test_max_frames_does_not_skip_the_overrun_rule(clip):
    with pytest.raises(MediaError, match=r"segment \[1.5s, 2.3s\] of sample 'over' runs 0.300s past the end of the "
                                         r"video \(2.000s\)"):
        frames_extractor(",max_frames=3").decode(row("over", "clip.mp4", 1.5, 2.3), clip.parent.parent)


def test_max_frames_never_writes_an_interval_past_the_end_of_the_video(clip):
    # Samples at 1.45, 1.65, 1.85: the limit is reached at the last frame (1.9 s), before the stream ends.
    decoded = frames_extractor(",max_frames=3").decode(row("small", "clip.mp4", 1.45, 2.02), clip.parent.parent)
    np.testing.assert_allclose(decoded.intervals, [[1.45, 1.65], [1.65, 1.85], [1.85, 2.0]])
    no_end = read_video_frames(clip, fps=5.0, start=1.45, max_frames=3)
    np.testing.assert_allclose(no_end.intervals[-1], [1.85, 2.0])


def test_max_frames_inside_the_video_keeps_whole_intervals(clip):
    decoded = frames_extractor(",max_frames=3").decode(row("inside", "clip.mp4", 0.5, 1.5), clip.parent.parent)
    np.testing.assert_allclose(decoded.intervals, [[0.5, 0.7], [0.7, 0.9], [0.9, 1.1]])


def test_a_segment_without_an_end_is_named_in_words(clip):
    with pytest.raises(MediaError, match=r"no frames in segment \[5.0 to the end of the video\] "
                                         r"\(video ends at 2.000s\)"):
        read_video_frames(clip, fps=5.0, start=5.0)
