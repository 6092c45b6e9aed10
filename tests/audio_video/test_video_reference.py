"""Video frames checked against PyAV's own decoding of real encoded files: which frame each sample
shows, its interval, pixels, and the errors bad files give."""
from __future__ import annotations

import math
import struct
import weakref
from fractions import Fraction

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.media.video import read_video_frames

#: The colour of the videos of the pixel tests (one the BT.601 and BT.709 matrices encode differently).
COLOUR = (200, 60, 120)


def frame_colour(k: int) -> tuple[int, int, int]:
    """Frame k's solid colour: each frame has its own, so a wrong frame cannot pass."""
    return (16 + 2 * k, 220 - k, 20 + (53 * k) % 200)


def encode(path, n, *, fps=10, codec="libx264", container_format=None, pix_fmt="yuv420p", size=(64, 48), pts=None,
           time_base=None, options=None, colorspace=None, color_range=None, colour=None):
    """Encode `n` solid frames (frame_colour(k), or `colour`) with PyAV; `pts` in `time_base` units."""
    import av

    width, height = size
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = options if options is not None else ({"crf": "0"} if codec == "libx264" else {})
        if time_base is not None:
            stream.codec_context.time_base = stream.time_base = time_base
        if colorspace is not None:
            stream.codec_context.colorspace = colorspace
        if color_range is not None:
            stream.codec_context.color_range = color_range
        for k in range(n):
            rgb = np.full((height, width, 3), colour or frame_colour(k), np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if colorspace is not None or color_range is not None:  # convert with the matrix the stream is tagged with
                frame = frame.reformat(format=pix_fmt, dst_colorspace=colorspace, dst_color_range=color_range)
            if pts is not None:
                frame.pts, frame.time_base = pts[k], time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def encode_without_frames(path):
    """A Matroska file with a video track that holds no frame, beside an audio track that has some."""
    import av

    from tests.fakes.av import tone

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone(220, 0.064)[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for packet in [*audio.encode(frame), *audio.encode(None), *video.encode(None)]:
            container.mux(packet)
    return path


def reference(path) -> list[tuple[float, np.ndarray]]:
    """Every frame of the file as PyAV decodes it: (presentation time, rgb24 array)."""
    import av

    with av.open(str(path)) as container:
        return [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def on_screen(frames: list[tuple[float, np.ndarray]], t: float) -> np.ndarray:
    """The frame shown at `t`: the last one whose presentation time is <= t."""
    return [rgb for time, rgb in frames if time <= t + 1e-6][-1]


def assert_frames_on_screen(clip, frames) -> None:
    for (t0, _), rgb in zip(clip.intervals, clip.frames):
        np.testing.assert_array_equal(rgb, on_screen(frames, t0), err_msg=f"sample at {t0:.3f}s")


# --- which frames, which intervals -------------------------------------------------------------

@pytest.mark.parametrize("fps", [3.0, 7.0, 10.0, 25.0])
def test_each_sample_is_the_frame_on_screen_at_its_instant(tmp_path, fps):
    """2.5 s of H.264 with B-frames at 10 fps; rates that do not divide it, equal to it and above it."""
    path = encode(tmp_path / "clip.mp4", 25)
    frames = reference(path)
    clip = read_video_frames(path, fps=fps)
    assert len(clip) == math.ceil(2.5 * fps - 1e-9)
    starts = np.arange(len(clip)) / fps
    np.testing.assert_allclose(clip.intervals, np.stack([starts, np.minimum(starts + 1 / fps, 2.5)], axis=1))
    assert_frames_on_screen(clip, frames)


def test_segment_uses_only_frames_on_screen_inside_it_with_file_time_intervals(tmp_path):
    path = encode(tmp_path / "clip.mp4", 25)
    clip = read_video_frames(path, fps=4.0, start=0.95, end=1.62)
    np.testing.assert_allclose(clip.intervals, [[0.95, 1.2], [1.2, 1.45], [1.45, 1.62]])
    assert_frames_on_screen(clip, reference(path))  # frames 9 (on screen at 0.95 s), 12 and 14


def test_mpeg_ts_segment_starts_at_its_start_not_at_the_next_keyframe(tmp_path):
    """MPEG-TS seeks land on the keyframe after the target; the frames before it must not be lost."""
    import av

    keyframe_every_12 = {"crf": "0", "g": "12", "x264-params": "scenecut=0"}
    path = encode(tmp_path / "clip.ts", 100, fps=25, container_format="mpegts", options=keyframe_every_12)
    frames = reference(path)
    with av.open(str(path)) as container:  # what a plain seek does here
        stream = container.streams.video[0]
        container.seek(int(2.63 / stream.time_base), stream=stream, backward=True)
        assert next(container.decode(stream)).time > 2.63
    for start in (1.0, 2.63, 3.1):
        clip = read_video_frames(path, fps=10.0, start=start, end=start + 0.5)
        assert len(clip) == 5 and clip.intervals[0, 0] == pytest.approx(start)
        assert clip.intervals[-1, 1] == pytest.approx(start + 0.5)
        assert_frames_on_screen(clip, frames)


def test_variable_frame_rate_last_frame_ends_where_the_stream_ends(tmp_path):
    """The last frame shows for its own duration (0.1 s), not one frame at the average rate (0.3 s)."""
    pts = [0, 100, 150, 600, 700, 1300, 1350, 1400, 2000, 2900]
    path = encode(tmp_path / "vfr.mp4", len(pts), codec="mpeg4", pts=pts, time_base=Fraction(1, 1000))
    frames = reference(path)
    assert [t for t, _ in frames] == pytest.approx([p / 1000 for p in pts])
    clip = read_video_frames(path, fps=4.0)
    assert len(clip) == 12 and clip.intervals[-1].tolist() == pytest.approx([2.75, 3.0])
    assert_frames_on_screen(clip, frames)


def test_one_frame_video_at_a_rate_above_its_own(tmp_path):
    path = encode(tmp_path / "one.mp4", 1)
    clip = read_video_frames(path, fps=30.0)
    np.testing.assert_allclose(clip.intervals, [[0, 1 / 30], [1 / 30, 2 / 30], [2 / 30, 0.1]])
    assert_frames_on_screen(clip, reference(path))


def test_convert_runs_once_per_decoded_frame_and_drops_the_pixels(tmp_path):
    path = encode(tmp_path / "clip.mp4", 10)
    seen: list[weakref.ref] = []

    def mean_colour(rgb, time):
        assert all(ref() is None for ref in seen), "an earlier frame's pixels are still held"
        seen.append(weakref.ref(rgb))
        return (time, rgb.reshape(-1, 3).mean(axis=0))

    clip = read_video_frames(path, fps=25.0, convert=mean_colour)
    assert len(clip) == 25 and len(seen) == 10
    assert [t for t, _ in clip.frames] == pytest.approx([min(int(i * 10 / 25 + 1e-9), 9) / 10 for i in range(25)])
    assert clip.frames[0] is clip.frames[1]  # a frame shown at several instants is converted once
    np.testing.assert_allclose(clip.frames[-1][1], frame_colour(9), atol=3)


# --- pixels ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, options", [
    ("bt709 limited", dict(pix_fmt="yuv420p", colorspace=1, color_range=1)),
    ("full range", dict(pix_fmt="yuvj420p")),
    ("yuv444p odd size", dict(pix_fmt="yuv444p", size=(63, 45))),
    ("yuv420p odd size", dict(pix_fmt="yuv420p", codec="ffv1", size=(63, 45))),
    ("10-bit", dict(pix_fmt="yuv420p10le")),
    ("grey", dict(pix_fmt="gray", codec="ffv1", size=(63, 45))),
])
def test_pixels_are_pyav_rgb24_in_the_colours_encoded(tmp_path, kind, options):
    path = encode(tmp_path / "clip.mkv", 3, colour=COLOUR, **options)
    clip = read_video_frames(path, fps=10.0)
    width, height = options.get("size", (64, 48))
    assert len(clip) == 3 and clip.frames[0].shape == (height, width, 3) and clip.frames[0].dtype == np.uint8
    assert_frames_on_screen(clip, reference(path))
    expected = [round(0.299 * COLOUR[0] + 0.587 * COLOUR[1] + 0.114 * COLOUR[2])] * 3 if kind == "grey" else COLOUR
    assert np.abs(clip.frames[1].astype(int) - expected).max() <= 3


def test_bt709_tagged_video_is_not_read_with_the_bt601_matrix(tmp_path):
    import av

    path = encode(tmp_path / "hd.mkv", 1, colour=COLOUR, colorspace=1, color_range=1)
    with av.open(str(path)) as container:
        as_601 = next(container.decode(video=0)).reformat(format="rgb24", src_colorspace="ITU601").to_ndarray()
    assert np.abs(as_601[0, 0].astype(int) - COLOUR).max() > 10  # the matrix matters for this colour
    assert np.abs(read_video_frames(path, fps=1.0).frames[0][0, 0].astype(int) - COLOUR).max() <= 3


def test_rotation_metadata_turns_frames_upright_unless_autorotate_is_off(tmp_path):
    import av

    path = encode(tmp_path / "phone.mp4", 2, codec="mpeg4")
    data = bytearray(path.read_bytes())
    tkhd = data.index(b"tkhd")
    matrix = tkhd + 8 + (36 if data[tkhd + 4] == 0 else 48)
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30)  # rotate 90
    path.write_bytes(bytes(data))
    with av.open(str(path)) as container:
        assert abs(next(container.decode(video=0)).rotation) == 90
    assert read_video_frames(path, fps=10.0).frames[0].shape == (64, 48, 3)  # upright
    assert read_video_frames(path, fps=10.0, autorotate=False).frames[0].shape == (48, 64, 3)  # as stored


# --- bad input ---------------------------------------------------------------------------------

def test_frames_without_timestamps_are_a_media_error(tmp_path):
    path = encode(tmp_path / "raw.h264", 20, container_format="h264")
    with pytest.raises(MediaError, match=r"raw.h264: decoded frame 0 has no presentation timestamp.*remux"):
        read_video_frames(path, fps=2.0)


def test_video_stream_without_frames_is_a_media_error(tmp_path):
    path = encode_without_frames(tmp_path / "empty-track.mkv")
    with pytest.raises(MediaError, match=r"empty-track.mkv: the video stream decoded to no frames"):
        read_video_frames(path, fps=2.0)


def test_segment_before_the_first_frame_says_where_the_video_starts(tmp_path):
    path = encode(tmp_path / "late.mp4", 10, codec="mpeg4", pts=list(range(15, 25)), time_base=Fraction(1, 10))
    with pytest.raises(MediaError, match=r"no frames in segment \[0.2, 1.0\] \(video starts at 1.500s\)"):
        read_video_frames(path, fps=2.0, start=0.2, end=1.0)


def test_non_finite_rates_and_segment_bounds_are_refused(tmp_path):
    path = encode(tmp_path / "clip.mp4", 2)
    for fps in (math.inf, math.nan, 0.0):
        with pytest.raises(MediaError, match="must be a finite number > 0"):
            read_video_frames(path, fps=fps)
    with pytest.raises(MediaError, match=r"segment \[nan, None\] must have finite bounds"):
        read_video_frames(path, fps=1.0, start=math.nan)
    with pytest.raises(ValueError, match="option 'fps': expected a finite float, got 'inf'"):
        create_extractor("video-frames:fps=inf")
    with pytest.raises(ValueError, match="fps must be a finite number > 0, got 0"):
        create_extractor("video-frames:fps=0")


# --- the video-frames extractor ----------------------------------------------------------------

def video_row(name, start=None, end=None, sample_id="v1"):
    return {"sample_id": sample_id, "video": name, "audio": None, "start": start, "end": end}


def test_pooled_features_equal_numpy_pooling_of_the_per_frame_features(tmp_path):
    encode(tmp_path / "clip.mp4", 25)
    row = video_row("clip.mp4", start=0.3, end=2.1)
    per_frame = {}
    for pool in ("none", "mean", "max"):
        extractor = create_extractor(f"video-frames:image_extractor=pixel-stats,fps=5,pool={pool}")
        (per_frame[pool],) = extractor.compute([extractor.decode(row, tmp_path)])
    frames, intervals = per_frame["none"]
    assert frames.shape == (9, 12) and intervals[0, 0] == pytest.approx(0.3) and intervals[-1, 1] == pytest.approx(2.1)
    np.testing.assert_allclose(per_frame["mean"], frames.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(per_frame["max"], frames.max(axis=0))


def test_image_extractor_computes_in_bounded_batches(tmp_path, monkeypatch):
    import mmdata.features.video as video

    encode(tmp_path / "clip.mp4", 10)
    extractor = create_extractor("video-frames:image_options=bins=4,fps=10")
    decoded = [extractor.decode(video_row("clip.mp4", sample_id=f"v{i}"), tmp_path) for i in range(2)]
    expected = extractor.compute(decoded)
    sizes = []
    compute = extractor.image.compute
    monkeypatch.setattr(video, "FRAMES_PER_COMPUTE", 4)
    monkeypatch.setattr(extractor.image, "compute", lambda items: sizes.append(len(items)) or compute(items))
    for (frames, intervals), (want, want_intervals) in zip(extractor.compute(decoded), expected):
        np.testing.assert_array_equal(frames, want)
        np.testing.assert_array_equal(intervals, want_intervals)
    assert sizes == [4, 4, 4, 4, 4]


def test_video_and_audio_intervals_of_a_segment_are_both_in_file_seconds(media):
    row = video_row(media.video_with_audio.name, start=0.5, end=1.5)
    video = create_extractor("video-frames:image_options=bins=4,fps=4")
    audio = create_extractor("torchaudio-logmel")
    ((_, video_intervals),) = video.compute([video.decode(row, media.root)])
    ((_, audio_intervals),) = audio.compute([audio.decode(row, media.root)])
    np.testing.assert_allclose(video_intervals, [[0.5, 0.75], [0.75, 1.0], [1.0, 1.25], [1.25, 1.5]])
    assert (audio_intervals[0, 0], audio_intervals[-1, 1]) == pytest.approx((0.5, 1.5))


def test_bad_videos_become_error_rows_naming_sample_file_and_cause(tmp_path):
    from mmdata.pipeline import extract
    from mmdata.store.reader import open_dataset
    from tests.fakes.av import tone, write_mp4

    root = tmp_path / "raw"
    encode(root / "video/good.mp4", 20)
    write_mp4(root / "video/audio-only.mp4", [], audio=tone(220, 0.5))  # no frames: no video track is written
    encode_without_frames(root / "video/no-frames.mkv")
    encode(root / "video/raw.h264", 5, container_format="h264")
    truncated = encode(root / "video/truncated.mp4", 20)
    truncated.write_bytes(truncated.read_bytes()[:1500])
    bad = {
        # sample id: (video, start, end, words in the reason)
        "audio-only": ("video/audio-only.mp4", "", "", "no video stream"),
        "no-frames": ("video/no-frames.mkv", "", "", "the video stream decoded to no frames"),
        "raw": ("video/raw.h264", "", "", "has no presentation timestamp"),
        "truncated": ("video/truncated.mp4", "", "", "cannot decode video"),
        "past-end": ("video/good.mp4", "5.0", "6.0", "no frames in segment [5.0, 6.0] (video ends at 2.000s)"),
    }
    rows = ["segment_id,audio,video,start,end,label", "good,,video/good.mp4,,,1.0",
            "good-part,,video/good.mp4,0.5,1.2,1.0"]
    rows += [f"{sample_id},,{video},{start},{end},0.0" for sample_id, (video, start, end, _) in bad.items()]
    (root / "segments.csv").write_text("\n".join(rows) + "\n")

    report = extract("mosi-raw", root, tmp_path / "out", extractors=["video-frames:image_options=bins=4,fps=2"],
                     num_workers=0, batch_size=3)
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [("video.frames-color-hist", 7, 5)]
    data = open_dataset(tmp_path / "out")
    errors = {e["sample_id"]: e for e in data.errors().to_pylist()}
    assert sorted(errors) == sorted(bad)
    for sample_id, (video, _, _, words) in bad.items():
        error = errors[sample_id]
        assert (error["path"], error["stage"], error["error_type"]) == (video, "decode", "MediaError")
        assert words in error["reason"] and video.split("/")[1] in error["reason"]
    table = {r["sample_id"]: r for r in data.table("video.frames-color-hist").to_table().to_pylist()}
    assert all(table[s]["feature"] is None for s in bad)
    assert len(table["good"]["feature"]) == 4
    np.testing.assert_allclose(table["good-part"]["intervals"], [[0.5, 1.0], [1.0, 1.2]])


def test_image_options_in_another_order_at_their_defaults_or_on_another_device_are_one_config():
    from mmdata.features.base import create_extractor

    def recorded(spec: str) -> dict:
        return create_extractor(spec).provenance()["config"]

    base = "video-frames:image_extractor=color-hist,image_options="
    assert recorded(base + "bins=8;decode_size=64") == recorded(base + "decode_size=64;bins=8")
    assert recorded(base + "bins=16") == recorded("video-frames:image_extractor=color-hist")  # 16 is the default
    resnet = "video-frames:image_extractor=resnet18,image_options=weights=random"
    assert recorded(resnet + ";device=cpu") == recorded(resnet)  # the device is a runtime option
    assert recorded(base + "bins=8")["image_options"] == "bins=8"


def test_a_bad_image_option_names_video_frames_and_the_option():
    from mmdata.errors import ConfigError
    from mmdata.features.base import create_extractor

    with pytest.raises(ConfigError, match=r"^extractor 'video-frames' option 'image_options': extractor 'color-hist': "
                                          r"unknown option 'binz'"):
        create_extractor("video-frames:image_options=binz=8")
