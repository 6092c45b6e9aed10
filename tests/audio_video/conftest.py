"""Shared media for the audio/video tests, written once per session: real WAV and MP4 files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.av import (
    speech,
    tone,
    write_empty_file,
    write_mp4,
    write_silent_wav,
    write_tone_wav,
    write_truncated_wav,
    write_wav,
)

#: Solid colours at the centres of 4-bin histogram cells (value bins of width 64), so codec rounding
#: cannot move them across a bin edge.
RED, GREEN, BLUE = (224, 32, 32), (32, 224, 96), (32, 96, 224)


@dataclass(frozen=True)
class Media:
    root: Path
    tone_wav: Path  # 220 Hz, 1 s, 16 kHz mono
    stereo_44k_wav: Path  # 440 Hz left, 440 Hz right at half amplitude, 1 s, 44.1 kHz
    speech_wav: Path  # espeak-ng speech, then 0.6 s of silence, 16 kHz
    speech_seconds: float  # where the speech ends in speech_wav
    silent_wav: Path
    truncated_wav: Path
    empty_wav: Path
    video_with_audio: Path  # RED 1 s then BLUE 1 s at 10 fps, 330 Hz AAC audio 2 s
    video_without_audio: Path  # GREEN 0.5 s then RED 0.5 s at 10 fps, no audio stream


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Media:
    root = tmp_path_factory.mktemp("media")
    stereo = np.stack([tone(440, 1.0, 44100), 0.5 * tone(440, 1.0, 44100)], axis=1)
    voice = speech("hello world, this is a test")
    return Media(
        root=root,
        tone_wav=write_tone_wav(root / "tone220.wav", 220.0, 1.0),
        stereo_44k_wav=write_wav(root / "stereo44k.wav", stereo, 44100),
        speech_wav=write_wav(root / "speech.wav", np.concatenate([voice, np.zeros(9600, np.float32)])),
        speech_seconds=len(voice) / 16000,
        silent_wav=write_silent_wav(root / "silent.wav"),
        truncated_wav=write_truncated_wav(root / "truncated.wav"),
        empty_wav=write_empty_file(root / "empty.wav"),
        video_with_audio=write_mp4(root / "av.mp4", [RED, BLUE], fps=10, frames_per_color=10, audio=tone(330, 2.0)),
        video_without_audio=write_mp4(root / "silent-film.mp4", [GREEN, RED], fps=10, frames_per_color=5),
    )


@pytest.fixture(scope="session")
def librosa_ready() -> None:
    """Run librosa's numba-compiled paths once per session (the first call compiles; ~14 s in a fresh venv)."""
    import librosa

    y = tone(200, 0.2)
    librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160)
    librosa.pyin(y, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=160)
