"""video-frames: an image extractor applied to sampled frames, as a sequence or pooled."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ConfigError, MediaError
from mmdata.features import create_extractor
from mmdata.features.image_stats import color_histogram
from tests.audio_video.conftest import BLUE, GREEN, RED


def hist4(color) -> np.ndarray:
    """The 4-bin colour histogram of a solid frame of `color`."""
    return color_histogram(np.full((4, 4, 3), color, np.uint8), 4)


def video_row(path, start=None, end=None, sample_id="v1"):
    return {"sample_id": sample_id, "video": path.name, "audio": None, "start": start, "end": end}


def run(extractor, rows, root):
    return extractor.compute([extractor.decode(r, root) for r in rows])


def test_per_frame_colour_histograms_are_those_of_the_encoded_colours(media):
    extractor = create_extractor("video-frames:image_options=bins=4,fps=2")
    spec = extractor.output_spec()
    assert extractor.table_name == "video.frames-color-hist"
    assert (spec.kind, spec.dim, spec.intervals, spec.frame_rate, spec.item_axis) == ("sequence", 12, True, 2.0, "time")
    rows = [video_row(media.video_with_audio), video_row(media.video_without_audio, sample_id="v2")]
    (frames, intervals), (frames2, intervals2) = run(extractor, rows, media.root)
    np.testing.assert_allclose(frames, [hist4(RED), hist4(RED), hist4(BLUE), hist4(BLUE)])
    np.testing.assert_allclose(intervals, [[0, 0.5], [0.5, 1.0], [1.0, 1.5], [1.5, 2.0]])
    np.testing.assert_allclose(frames2, [hist4(GREEN), hist4(RED)])
    np.testing.assert_allclose(intervals2, [[0, 0.5], [0.5, 1.0]])


def test_segment_and_mean_pooling(media):
    extractor = create_extractor("video-frames:image_options=bins=4,fps=4,pool=mean")
    spec = extractor.output_spec()
    assert extractor.table_name == "video.frames-color-hist-mean" and (spec.kind, spec.dim) == ("pooled", 12)
    (vector,) = run(extractor, [video_row(media.video_with_audio, start=0.5, end=1.5)], media.root)
    np.testing.assert_allclose(vector, (2 * hist4(RED) + 2 * hist4(BLUE)) / 4)


def test_max_pooling_and_another_image_extractor(media):
    extractor = create_extractor("video-frames:image_extractor=pixel-stats,fps=1,pool=max")
    assert extractor.table_name == "video.frames-pixel-stats-max" and extractor.output_spec().dim == 12
    (vector,) = run(extractor, [video_row(media.video_with_audio)], media.root)
    assert vector[0] == pytest.approx(RED[0] / 255, abs=0.02) and vector[2] == pytest.approx(BLUE[2] / 255, abs=0.02)


def test_provenance_names_the_image_extractor_and_its_config(media):
    extractor = create_extractor("video-frames:image_options=bins=8;decode_size=32,fps=3")
    provenance = extractor.provenance()
    assert provenance["config"]["image_options"] == "bins=8;decode_size=32"
    assert provenance["image_extractor"]["config"] == {"bins": 8, "decode_size": 32}
    assert "av" in provenance["versions"] and extractor.output_spec().dim == 24


def test_non_image_extractor_is_refused():
    with pytest.raises(ConfigError, match="extractor 'torchaudio-logmel' is for audio, not image"):
        create_extractor("video-frames:image_extractor=torchaudio-logmel")


def test_sample_without_video_or_with_audio_only_file_fails(media):
    extractor = create_extractor("video-frames")
    with pytest.raises(MediaError, match="sample 'v1' has no video file"):
        extractor.decode({"sample_id": "v1", "video": None}, media.root)
    with pytest.raises(MediaError, match="no video stream"):
        extractor.decode(video_row(media.tone_wav), media.root)
