"""FFmpeg states a duration for an ADTS `.aac` file (from its bit rate) and an MPEG-TS audio track (from
timestamps) that is an estimate, a tenth short of the audio here: the audio decodes to its end, as the
`ffmpeg` command line decodes it, while the AAC padding past an MP4's stated duration (less than a frame)
is still cut."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mmdata.media.audio import load_audio
from tests.fakes.av import speech, write_wav

AAC = ["-c:a", "aac", "-b:a", "64k"]


def _ffmpeg(*args: str) -> bytes:
    return subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-v", "error", "-y", *args], check=True,
                          capture_output=True).stdout


def _ffmpeg_samples(path: Path) -> int:
    """How many samples the `ffmpeg` command line decodes from `path`'s audio, at its own rate."""
    return len(np.frombuffer(_ffmpeg("-i", str(path), "-ac", "1", "-f", "f32le", "-"), np.float32))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("estimated")
    return write_wav(root / "source.wav", speech("The quick brown fox jumps over the lazy dog", 22050), 22050)


@pytest.mark.parametrize(("name", "options"), [
    ("speech.aac", AAC),
    ("speech.ts", [*AAC, "-f", "mpegts"]),
    ("clip.ts", ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=5", "-map", "0:a", "-map", "1:v",
                 *AAC, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest", "-f", "mpegts"]),
])
def test_audio_whose_stated_duration_is_an_estimate_decodes_to_its_end(source, name, options):
    path = source.parent / name
    _ffmpeg("-i", str(source), *options, str(path))
    segment = load_audio(path)
    assert len(segment.samples) == _ffmpeg_samples(path)
    assert segment.duration > load_audio(source).duration  # the speech and the encoder's priming
    last = load_audio(path, start=segment.offset + segment.duration - 0.5)  # the tail is there for segments too
    assert last.duration == pytest.approx(0.5, abs=1e-3)


def test_aac_padding_past_an_mp4s_stated_duration_is_still_cut(source):
    path = source.parent / "speech.m4a"
    _ffmpeg("-i", str(source), *AAC, str(path))
    segment = load_audio(path)
    assert segment.duration == pytest.approx(load_audio(source).duration, abs=1e-3)
    assert len(segment.samples) < _ffmpeg_samples(path)  # the command line keeps the last frame's padding
