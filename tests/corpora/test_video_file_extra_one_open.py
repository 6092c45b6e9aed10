"""`media_captions.video_file_extra` reads in one open of a video file what `audio_duration_extra` and
`mosi_raw_media.record_video_span` read in three (and, `with_audio=False`, what `record_video_span` reads in two):
the same keys, values and order, on real MP4, Matroska, WebM, AVI and QuickTime files, with and without a sound
track, with a video or sound stream starting after 0, cut short, and on what is no video. The header readers the
loaders call (`record_video_span` through `VideoHeaders`, mosi-raw's video-then-sound pair) open each file once and
give what the path-level readers (`video_duration`, `audio_stream_span`) read."""
from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mmdata.corpora.media_captions import VideoHeaders, audio_duration_extra, audio_stream_extra, video_file_extra
from mmdata.corpora.mosi_raw_media import _record_media_spans, record_video_span
from mmdata.corpora.mosi_raw_segments import _Segment
from mmdata.media.audio import audio_stream_span, container_audio_span
from mmdata.media.video import container_video_span, video_duration, video_span
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


def ffmpeg(*args: str) -> None:
    subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-v", "error", "-y", *args], check=True)


def write_media(tmp_path: Path, name: str) -> Path:
    """The file `name` of the cases below: a real clip of its kind, a cut or broken one, a folder, or nothing."""
    path = tmp_path / name
    lavfi_video = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=2"]
    lavfi_sound = ["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=16000:duration=2"]
    if name in ("clip.mp4", "clip.mkv", "clip.mov"):
        write_clip(path)
    elif name in ("silent.mp4", "silent.avi"):
        write_clip(path, audio=False)
    elif name == "clip.avi":  # MPEG-4 part 2 and MP3, as old camera and download tools save AVI
        ffmpeg(*lavfi_video, *lavfi_sound, "-c:v", "mpeg4", "-c:a", "libmp3lame", str(path))
    elif name == "clip.webm":
        write_webm(path)
    elif name == "late.mp4":
        shift_video(write_clip(tmp_path / "source.mp4"), path, 0.5)
    elif name == "late_sound.mp4":  # the sound track starts 0.7 s after the video (a recorder's delay)
        ffmpeg(*lavfi_video, "-itsoffset", "0.7", *lavfi_sound, "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
               "-c:a", "aac", str(path))
    elif name == "late.mkv":
        ffmpeg("-itsoffset", "0.5", *lavfi_video, *lavfi_sound, "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
               "-c:a", "aac", str(path))
    elif name == "long.mp4":
        write_clip(path, seconds=6.0)
    elif name in ("cut.mp4", "cut.mkv"):  # a download stopped half way: an MP4 loses its index, a Matroska its end
        whole = write_clip(tmp_path / f"whole{path.suffix}", seconds=4.0).read_bytes()
        path.write_bytes(whole[:len(whole) // 2])
    elif name == "tone.wav":
        write_tone_wav(path)
    elif name == "broken.mp4":
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40)
    elif name == "folder.mp4":
        path.mkdir()
    return path


CASES = ["clip.mp4", "clip.mkv", "clip.mov", "clip.avi", "silent.mp4", "silent.avi", "clip.webm", "late.mp4",
         "late_sound.mp4", "late.mkv", "long.mp4", "cut.mp4", "cut.mkv", "tone.wav", "broken.mp4", "folder.mp4",
         "absent.mp4"]


@pytest.mark.parametrize("name", CASES)
def test_one_open_gives_what_the_three_opens_give(tmp_path, name):
    path = write_media(tmp_path, name)
    expected = three_opens(path)
    got = video_file_extra(path)
    assert list(got.items()) == list(expected.items())
    if name in ("clip.mp4", "clip.mov", "late.mp4", "late_sound.mp4", "long.mp4"):  # reads something, not {} == {}
        assert set(got) >= {"audio_duration", "video_duration"}
    if name == "late.mp4":
        assert got["video_media_start"] == pytest.approx(0.5)
    video_only = {}
    record_video_span(path, video_only)
    assert list(video_file_extra(path, with_audio=False).items()) == list(video_only.items())
    if name in ("clip.mkv", "silent.mp4", "clip.webm", "clip.avi", "silent.avi", "late.mkv", "cut.mkv"):
        assert "video_duration" in got and "audio_duration" not in got  # only MP4 states its sound's exact length
    if name == "late_sound.mp4":
        assert got["audio_media_start"] == pytest.approx(0.7, abs=0.1) and "video_media_start" not in got
    if name in ("cut.mp4", "broken.mp4", "folder.mp4", "absent.mp4"):
        assert got == {}  # nothing to read: extraction names the problem


class CountedOpens:
    """`av.open` as it is, counting the opens of each file: how many times a header reader opens one."""

    def __init__(self, monkeypatch):
        import av

        self.counts: dict[str, int] = {}
        self._open = av.open
        monkeypatch.setattr(av, "open", self)

    def __call__(self, file, *args, **kwargs):
        self.counts[str(file)] = self.counts.get(str(file), 0) + 1
        return self._open(file, *args, **kwargs)


def recorded_video_span(path: Path) -> dict[str, float]:
    """What `record_video_span` records for `path` (the reader activitynet-captions, charades-sta, didemo, vatex and
    youcook2 give `VideoHeaders`)."""
    extra: dict[str, float] = {}
    record_video_span(path, extra)
    return extra


def mosi_segment_extra(path: Path, sound: str | None) -> dict[str, float]:
    """The header values mosi-raw records for a segment that is the whole file `path` (its sound in the file, or in
    `sound` beside it)."""
    segment = _Segment("clip", audio=sound, video=path.name)
    _record_media_spans(path.parent, segment)
    return segment.extra


@pytest.mark.parametrize("name", CASES)
def test_the_loaders_header_readers_open_each_file_once(tmp_path, monkeypatch, name):
    path = write_media(tmp_path, name)
    sound_beside = audio_duration_extra(write_tone_wav(tmp_path / "sound.wav"))
    sound_inside = audio_stream_extra(path)
    opens = CountedOpens(monkeypatch)
    readers = {"record_video_span": lambda: recorded_video_span(path),
               "VideoHeaders": lambda: VideoHeaders(record_video_span).span(path),
               "mosi, sound in the clip": lambda: mosi_segment_extra(path, None),
               "mosi, sound beside": lambda: mosi_segment_extra(path, "sound.wav")}
    readings = {}
    for reader, read in readers.items():
        opens.counts.clear()
        readings[reader] = read()
        assert opens.counts.get(str(path), 0) == (1 if path.is_file() else 0), reader
    video = readings["record_video_span"]
    assert list(readings["VideoHeaders"].items()) == list(video.items())
    assert list(readings["mosi, sound in the clip"].items()) == list({**video, **sound_inside}.items())
    assert list(readings["mosi, sound beside"].items()) == list({**sound_beside, **video}.items())
    if name in ("clip.mp4", "late.mp4", "long.mp4"):
        assert set(readings["mosi, sound in the clip"]) >= {"audio_duration", "video_duration"}


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mkv", "clip.avi", "silent.mp4", "clip.webm", "late.mp4",
                                  "late_sound.mp4", "late.mkv", "cut.mkv", "tone.wav"])
def test_the_container_readers_give_what_the_path_readers_give(tmp_path, name):
    import av

    path = write_media(tmp_path, name)
    with av.open(str(path)) as container:
        audio, video = container_audio_span(container, path), container_video_span(container, path)
    assert audio == audio_stream_span(path) and video == video_span(path)
    assert video_duration(path) == (None if video is None else video[1])
    if name == "late.mp4":
        assert video == (pytest.approx(0.5), pytest.approx(1.5))  # 1 s of video from 0.5 s on
    if name == "tone.wav":
        assert audio is None and video is None  # no MP4 sound, no video: soundfile reads a WAV's length
