"""Frames of phone-style and oddly sized videos against what other readers give for the same file: turned
upright as the `ffmpeg` command line and torchcodec turn them (PyAV's own frames, like the removed
`torchvision.io.read_video`, are as stored, which `autorotate=false` gives), the sample aspect ratio left
as stored by all of them, 1x1 and 7x5 pictures kept at their size; and through `mmdata extract`, a video
of one frame gives one row while a file with no video stream or cut in half fails naming the file."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pyarrow.dataset as ds
import pytest
from torchcodec.decoders import VideoDecoder

from mmdata.media.video import read_video_frames
from mmdata.pipeline import extract


def _ffmpeg(*args: str, stdin: bytes | None = None) -> bytes:
    quiet = ["-nostdin"] if stdin is None else []  # frames piped in are read from stdin
    return subprocess.run([shutil.which("ffmpeg"), *quiet, "-v", "error", "-y", *args], input=stdin, check=True,
                          capture_output=True).stdout


def _ffmpeg_first_frame(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The first frame as the `ffmpeg` command line writes it out (upright, at its stored sample aspect)."""
    out = _ffmpeg("-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    return np.frombuffer(out, np.uint8).reshape(shape)


def _first(path: Path, **options) -> np.ndarray:
    return read_video_frames(path, fps=5, max_frames=1, **options).frames[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("odd-videos")
    pattern = ["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1"]
    _ffmpeg(*pattern, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(root / "stored.mp4"))
    for angle in (90, 180, 270):  # the display matrix a phone writes, the stream untouched
        _ffmpeg("-i", str(root / "stored.mp4"), "-c", "copy", "-metadata:s:v:0", f"rotate={angle}",
                str(root / f"rot{angle}.mp4"))
    _ffmpeg(*pattern, "-vf", "setsar=2/1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(root / "anamorphic.mp4"))
    noise = np.random.default_rng(0).integers(0, 256, (10, 5, 7, 3), dtype=np.uint8)
    for name, (height, width) in {"1x1": (1, 1), "7x5": (5, 7)}.items():
        _ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", "10", "-i", "-", "-c:v",
                "libx264", "-pix_fmt", "yuv444p", "-qp", "0", str(root / f"{name}.mp4"),
                stdin=noise[:, :height, :width].tobytes())
    _ffmpeg(*pattern[:3], "testsrc2=size=96x64:rate=25", "-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            str(root / "one-frame.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(root / "audio-only.mp4"))
    whole = (root / "stored.mp4").read_bytes()  # moov at the end, as ffmpeg writes it without faststart
    (root / "half.mp4").write_bytes(whole[: len(whole) // 2])
    return root


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_rotated_frames_are_those_of_the_ffmpeg_command_line_and_torchcodec(root, angle):
    frame = _first(root / f"rot{angle}.mp4")
    assert frame.shape == ((96, 64, 3) if angle != 180 else (64, 96, 3))
    np.testing.assert_array_equal(frame, _ffmpeg_first_frame(root / f"rot{angle}.mp4", frame.shape))
    np.testing.assert_array_equal(frame, VideoDecoder(str(root / f"rot{angle}.mp4"))[0].permute(1, 2, 0).numpy())
    with av.open(str(root / f"rot{angle}.mp4")) as container:
        stored = next(container.decode(video=0)).to_ndarray(format="rgb24")
    np.testing.assert_array_equal(_first(root / f"rot{angle}.mp4", autorotate=False), stored)


def test_the_sample_aspect_ratio_is_left_as_stored_as_ffmpeg_and_torchcodec_leave_it(root):
    frame = _first(root / "anamorphic.mp4")
    assert frame.shape == (64, 96, 3)  # a player shows it 192 wide
    np.testing.assert_array_equal(frame, _ffmpeg_first_frame(root / "anamorphic.mp4", frame.shape))
    np.testing.assert_array_equal(frame, VideoDecoder(str(root / "anamorphic.mp4"))[0].permute(1, 2, 0).numpy())


@pytest.mark.parametrize(("name", "shape"), [("1x1", (1, 1, 3)), ("7x5", (5, 7, 3))])
def test_tiny_and_odd_sizes_keep_their_size_and_pixels(root, name, shape):
    clip = read_video_frames(root / f"{name}.mp4", fps=10)
    assert len(clip) == 10 and {f.shape for f in clip.frames} == {shape}
    np.testing.assert_array_equal(clip.frames[0], _ffmpeg_first_frame(root / f"{name}.mp4", shape))


def test_extract_writes_one_frame_videos_and_names_files_without_usable_video(root, tmp_path):
    names = ["one-frame.mp4", "7x5.mp4", "rot90.mp4", "audio-only.mp4", "half.mp4"]
    (root / "manifest.jsonl").write_text("".join(json.dumps({"id": n, "video": n}) + "\n" for n in names))
    extract("manifest", root, tmp_path / "out", extractors=["video-frames:image_extractor=pixel-stats,fps=5"],
            num_workers=0)
    rows = {r["sample_id"]: r for r in ds.dataset(tmp_path / "out" / "features" / "video.frames-pixel-stats")
            .to_table().to_pylist()}
    assert rows["one-frame.mp4"]["intervals"] == [[0.0, 0.04]]
    assert len(rows["7x5.mp4"]["intervals"]) == 5
    assert rows["rot90.mp4"]["feature"][0][-1] == pytest.approx(64 / 96)  # pixel-stats' aspect: upright
    reasons = {r["sample_id"]: r["reason"] for r in ds.dataset(tmp_path / "out" / "errors").to_table().to_pylist()}
    assert set(reasons) == {"audio-only.mp4", "half.mp4"}
    assert "audio-only.mp4: no video stream (streams: audio aac); expected a file with a video track" in reasons[
        "audio-only.mp4"]
    assert "half.mp4: cannot decode video" in reasons["half.mp4"] and "truncated or corrupt" in reasons["half.mp4"]
