"""Clip models on long videos: `max_clips` keeps N clips spread uniformly over a sample and decodes only
their frames; `max_decoded_frames` refuses, with a reason naming the sample, one whose frames would not
fit in memory."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import mmdata.features.video_models as video_models
import mmdata.media.video as media_video
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import MediaError
from mmdata.extract_refusals import extractor_spec
from mmdata.features import create_extractor
from mmdata.features.video_clip_sampling import uniform_clip_choice
from mmdata.features.video_models import clip_of
from mmdata.store import open_dataset

runner = CliRunner()
MODEL = "r3d-18:weights=random,seed=0,fps=8"
R3D = f"{MODEL},clip_frames=8"  # clips of 1 s


def write_video(path, *, seconds: int, rate: int = 10, keyframe_every: int = 10):
    """A small MPEG-4 video whose frames all differ (a moving gradient), a keyframe every `keyframe_every` frames."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        stream.codec_context.gop_size = keyframe_every
        stream.options = {"qmin": "1", "qmax": "3"}
        for index in range(seconds * rate):
            ramp = (np.add.outer(np.arange(24), np.arange(32)) * 5 + 7 * index) % 256
            rgb = np.repeat(ramp[..., None], 3, axis=2).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("long-clips")
    write_video(root / "long.mp4", seconds=12)  # 96 frames at fps=8: 12 clips of 1 s
    write_video(root / "longer.mp4", seconds=30)
    rows = [{"id": "long", "video": "long.mp4", "duration": 12.0}, {"id": "middle", "video": "long.mp4", "start": 1.5, "end": 9.5},
            {"id": "short", "video": "long.mp4", "start": 0.0, "end": 2.5}]
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def decode(spec, corpus, sample_id="long", video="long.mp4", **segment):
    return create_extractor(spec).decode({"sample_id": sample_id, "video": video, **segment}, corpus)


def clips(item, clip_frames=8):
    return [clip_of(item.frames, int(start), clip_frames) for start in item.starts]


def test_uniform_choice_keeps_first_and_last_and_the_middle_for_one():
    assert uniform_clip_choice(100, 10).tolist() == [0, 11, 22, 33, 44, 55, 66, 77, 88, 99]
    assert uniform_clip_choice(12, 4).tolist() == [0, 3, 7, 11]  # floor(k x 11 / 3)
    assert uniform_clip_choice(10, 3).tolist() == [0, 4, 9]
    assert uniform_clip_choice(7, 1).tolist() == [3] and uniform_clip_choice(8, 1).tolist() == [3]
    assert uniform_clip_choice(5, 5).tolist() == uniform_clip_choice(5, 9).tolist() == [0, 1, 2, 3, 4]


def test_kept_clips_start_uniformly_with_exact_intervals(corpus):
    item = decode(f"{R3D},max_clips=4", corpus)
    np.testing.assert_array_equal(item.intervals, [[0, 1], [3, 4], [7, 8], [11, 12]])
    middle = decode(f"{R3D},max_clips=3", corpus, "middle", start=1.5, end=9.5)  # 8 clips: kept 0, 3, 7
    np.testing.assert_array_equal(middle.intervals, [[1.5, 2.5], [4.5, 5.5], [8.5, 9.5]])
    padded = decode("r3d-18:weights=random,fps=8,clip_frames=10,max_clips=2", corpus)  # 9 whole clips + 1 padded
    np.testing.assert_array_equal(padded.intervals, [[0, 1.25], [11.25, 12]])


@pytest.mark.parametrize("options, segment", [
    ("clip_frames=8", {}), ("clip_frames=8,step=0.375", {}), ("clip_frames=8,tail=drop", {"start": 1.5, "end": 9.5}),
    ("clip_frames=10", {}), ("clip_frames=10,step=0.5,tail=drop", {"start": 0.3}),
])
def test_kept_clips_are_the_same_clips_decoded_without_the_cap(corpus, options, segment):
    every = decode(f"{MODEL},{options}", corpus, **segment)
    kept = decode(f"{MODEL},{options},max_clips=3", corpus, **segment)
    clip_frames = create_extractor(f"{MODEL},{options}").config.clip_frames
    chosen = uniform_clip_choice(len(every.starts), 3)
    assert len(kept.starts) == 3 and len(kept.frames) == 3 * clip_frames  # only the kept clips' frames travel
    np.testing.assert_array_equal(kept.intervals, every.intervals[chosen])
    for got, expected in zip(clips(kept, clip_frames), np.array(clips(every, clip_frames))[chosen]):
        np.testing.assert_array_equal(got, expected)


def test_rows_with_the_cap_are_the_rows_without_it_of_the_kept_clips(corpus):
    capped, uncapped = create_extractor(f"{R3D},max_clips=4"), create_extractor(R3D)
    (rows, intervals), = capped.compute([capped.decode({"sample_id": "long", "video": "long.mp4"}, corpus)])
    (every_row, every_interval), = uncapped.compute([uncapped.decode({"sample_id": "long", "video": "long.mp4"}, corpus)])
    np.testing.assert_array_equal(intervals, every_interval[[0, 3, 7, 11]])
    np.testing.assert_allclose(rows, every_row[[0, 3, 7, 11]], rtol=1e-5, atol=1e-6)
    pooling = create_extractor(f"{R3D},max_clips=4,pool=mean")
    pooled, = pooling.compute([pooling.decode({"sample_id": "long", "video": "long.mp4"}, corpus)])
    np.testing.assert_allclose(pooled, rows.mean(axis=0), rtol=1e-5, atol=1e-6)  # the mean of the kept clips


def test_max_clips_at_or_above_the_clip_count_changes_nothing(corpus):
    every = decode(R3D, corpus)
    for max_clips in (12, 50):
        same = decode(f"{R3D},max_clips={max_clips}", corpus)
        np.testing.assert_array_equal(same.frames, every.frames)
        np.testing.assert_array_equal(same.starts, every.starts)
        np.testing.assert_array_equal(same.intervals, every.intervals)


class Counts:
    """How many frames FFmpeg decoded (`_decode_from`) and how many were cropped, for one decode."""

    def __init__(self, monkeypatch):
        self.decoded = self.cropped = 0
        decode_from, crop = media_video._decode_from, video_models.resize_center_crop_frame

        def counting_decode_from(*args):
            for frame in decode_from(*args):
                self.decoded += 1
                yield frame

        def counting_crop(*args):
            self.cropped += 1
            return crop(*args)

        monkeypatch.setattr(media_video, "_decode_from", counting_decode_from)
        monkeypatch.setattr(video_models, "resize_center_crop_frame", counting_crop)


def test_frames_outside_the_kept_clips_are_not_decoded(corpus, monkeypatch):
    counts = Counts(monkeypatch)
    decode(R3D, corpus, "longer", "longer.mp4")
    assert (counts.decoded, counts.cropped) == (300, 240)  # 30 s at 10 fps, sampled at 8 fps
    counts.decoded = counts.cropped = 0
    item = decode(f"{R3D},max_clips=3", corpus, "longer", "longer.mp4")
    np.testing.assert_array_equal(item.intervals, [[0, 1], [14, 15], [29, 30]])
    assert counts.cropped == 3 * 8
    # each read starts at the keyframe (one a second) before it: 3 clips, a probe at the start and one
    # over the last second
    assert counts.decoded <= 5 * 2 * 10, counts.decoded


def test_a_sample_over_max_decoded_frames_is_refused_before_decoding_naming_how_to_cap_it(corpus, monkeypatch):
    counts = Counts(monkeypatch)
    with pytest.raises(MediaError, match=r"sample 'long' \(.*long\.mp4\): its header puts the segment at over 80 sampled "
                                         r"frames at fps=8, over max_decoded_frames=50 \(0\.00 GB of 112x112 crops held "
                                         r"at once\); set max_clips=N to read only N clips spread over the video"):
        decode(f"{R3D},max_decoded_frames=50", corpus)
    assert counts.cropped == 0


def test_the_frames_decide_a_count_the_header_leaves_open(corpus, monkeypatch):
    counts = Counts(monkeypatch)
    # the header puts 12 s at over 80 frames (2 s of slack): the 96 frames are counted as they come
    with pytest.raises(MediaError, match=r"the segment has more than 90 sampled frames at fps=8, over "
                                         r"max_decoded_frames=90"):
        decode(f"{R3D},max_decoded_frames=90", corpus)
    assert counts.cropped == 91  # one over the bound, then no more
    assert len(decode(f"{R3D},max_decoded_frames=96", corpus).frames) == 96  # at the bound: fine
    with pytest.raises(MediaError, match=r"max_clips=4 clips of clip_frames=8 are 32 frames, over max_decoded_frames=31"):
        decode(f"{R3D},max_clips=4,max_decoded_frames=31", corpus)
    assert len(decode(f"{R3D},max_clips=4,max_decoded_frames=32", corpus).frames) == 32


def test_max_clips_is_recorded_only_when_set_and_the_memory_bound_never():
    default = create_extractor(R3D).provenance()
    assert "max_clips" not in default["config"] and "max_clips" in default["inapplicable_options"]
    capped = create_extractor(f"{R3D},max_clips=10,max_decoded_frames=1000")
    provenance = capped.provenance()
    assert provenance["config"]["max_clips"] == 10 and "max_clips" not in provenance.get("inapplicable_options", [])
    assert "max_decoded_frames" not in provenance["config"] and provenance["runtime"]["max_decoded_frames"] == 1000
    assert create_extractor("s3d:weights=random").config.max_decoded_frames == 13_500
    assert "max_clips=10" in extractor_spec(capped) and "max_clips" not in extractor_spec(create_extractor(R3D))
    with pytest.raises(ValueError, match="max_clips must be >= 0"):
        create_extractor(f"{R3D},max_clips=-1")


def test_extract_with_max_clips_then_check_is_clean_and_an_oversized_sample_is_an_error_row(corpus, tmp_path):
    out = tmp_path / "dataset"
    result = runner.invoke(app, ["extract", "manifest", str(corpus), str(out), "--video", f"{R3D},max_clips=3",
                                 "--video", f"{R3D},max_clips=3,pool=mean", "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    dataset = open_dataset(out)
    ids, offsets, _, intervals = dataset.read_sequences("video.r3d-18")
    rows = {i: intervals[offsets[k] : offsets[k + 1]].tolist() for k, i in enumerate(ids)}
    assert rows == {"long": [[0, 1], [5, 6], [11, 12]], "middle": [[1.5, 2.5], [4.5, 5.5], [8.5, 9.5]],
                    "short": [[0, 1], [1, 2], [2, 2.5]]}  # 3 clips: all of them
    assert dataset.manifest.tables["video.r3d-18"].config["max_clips"] == 3
    report = check_dataset(out)
    found = [issue for issue in report.issues if issue.severity != "info"]  # info: how many splits there are
    assert found == [], [issue.message for issue in found]

    refused = tmp_path / "refused"
    result = runner.invoke(app, ["extract", "manifest", str(corpus), str(refused), "--video",
                                 f"{R3D},max_decoded_frames=70", "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    errors = open_dataset(refused).errors().to_pylist()
    assert [(e["sample_id"], e["error_type"]) for e in errors] == [("long", "MediaError")]
    assert "over max_decoded_frames=70" in errors[0]["reason"] and "set max_clips=N" in errors[0]["reason"]
