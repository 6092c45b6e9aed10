"""An MP3's first sample is at 0 s and a segment cut from it holds that span of the recording (FFmpeg's
stream start time would put it an encoder delay late)."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import soundfile

from mmdata.media.audio import load_audio


def test_an_mp3_segment_holds_the_same_span_as_the_wav_it_was_encoded_from(tmp_path):
    rate = 16000
    t = np.arange(3 * rate) / rate
    signal = 0.3 * np.sin(2 * np.pi * (200 + 150 * t) * t) * (1 + np.sin(2 * np.pi * 1.5 * t)) / 2
    soundfile.write(tmp_path / "x.wav", signal.astype(np.float32), rate, subtype="PCM_16")
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-y", "-i", str(tmp_path / "x.wav"), "-b:a", "64k",
                    str(tmp_path / "x.mp3")], check=True)
    mp3 = load_audio(tmp_path / "x.mp3", start=1.0, end=2.0)
    wav = load_audio(tmp_path / "x.wav", start=1.0, end=2.0)
    assert mp3.offset == 1.0 and abs(len(mp3.samples) - len(wav.samples)) <= 1
    n = min(len(mp3.samples), len(wav.samples))
    lags = range(-400, 401, 20)
    best = max(lags, key=lambda lag: np.dot(np.roll(mp3.samples[:n], lag), wav.samples[:n]))
    assert abs(best) <= 20  # within ~1 ms; FFmpeg's start time put it 1105 samples (69 ms) off
