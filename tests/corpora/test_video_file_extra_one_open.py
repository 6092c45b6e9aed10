"""`media_captions.video_file_extra` reads in one open of a video file what `audio_duration_extra` and
`mosi_raw_media.record_video_span` read in three (and, `with_audio=False`, what `record_video_span` reads in two):
the same keys, values and order, on real MP4, Matroska and WebM files, with and without a sound track, with a video
stream starting after 0, and on what is no video."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mmdata.corpora.media_captions import audio_duration_extra, video_file_extra
from mmdata.corpora.mosi_raw_media import record_video_span
from tests.fakes.av import tone, write_mp4, write_tone_wav


def three_opens(path: Path) -> dict[str, float]:
    """The header values as loaders read them before: the sound's, then the video's span."""
    extra = dict(audio_duration_extra(path))
    record_video_span(path, extra)
    return extra


def write_clip(path: Path, *, audio: bool = True, seconds: float = 1.0) -> Path:
    return write_mp4(path, [(200, 30, 30), (30, 30, 200)], fps=10, frames_per_color=int(seconds * 5),
                     audio=tone(330.0, seconds) if audio else None)


def write_webm(path: Path, seconds: float = 1.0) -> Path:
    """A WebM as youtube-dl merges one: VP8 video and Opus sound."""
    import av

    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libvpx", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream("libopus", rate=48000, layout="mono")
        for i in range(int(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 25 * i, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = tone(330.0, seconds, sample_rate=48000)
        for start in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 960].copy(), format="flt", layout="mono")
            frame.sample_rate, frame.pts = 48000, start
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))
    return path


def shift_video(source: Path, path: Path, seconds: float) -> Path:
    """`source` remuxed with its video stream starting `seconds` late (an MP4 edit list, as cut clips have)."""
    import av

    with av.open(str(source)) as src, av.open(str(path), mode="w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            if packet.stream.type == "video":
                shift = int(Fraction(seconds) / packet.time_base)
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return path


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mkv", "silent.mp4", "clip.webm", "late.mp4", "long.mp4",
                                  "tone.wav", "broken.mp4", "folder.mp4", "absent.mp4"])
def test_one_open_gives_what_the_three_opens_give(tmp_path, name):
    path = tmp_path / name
    if name in ("clip.mp4", "clip.mkv"):
        write_clip(path)
    elif name == "silent.mp4":
        write_clip(path, audio=False)
    elif name == "clip.webm":
        write_webm(path)
    elif name == "late.mp4":
        shift_video(write_clip(tmp_path / "source.mp4"), path, 0.5)
    elif name == "long.mp4":
        write_clip(path, seconds=6.0)
    elif name == "tone.wav":
        write_tone_wav(path)
    elif name == "broken.mp4":
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40)
    elif name == "folder.mp4":
        path.mkdir()
    expected = three_opens(path)
    got = video_file_extra(path)
    assert list(got.items()) == list(expected.items())
    if name in ("clip.mp4", "late.mp4", "long.mp4"):  # a case that reads something, not {} == {}
        assert set(got) >= {"audio_duration", "video_duration"}
    if name == "late.mp4":
        assert got["video_media_start"] == pytest.approx(0.5)
    video_only = {}
    record_video_span(path, video_only)
    assert list(video_file_extra(path, with_audio=False).items()) == list(video_only.items())
    if name in ("clip.mkv", "silent.mp4", "clip.webm"):
        assert "video_duration" in got and "audio_duration" not in got  # only MP4 states its sound's exact length
