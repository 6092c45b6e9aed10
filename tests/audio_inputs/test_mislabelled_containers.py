"""A `.wav` that is not RIFF/WAVE (a FLAC or MP3 renamed, as corpora ship them) is decoded by its content,
as soundfile would; only a file no decoder reads is an error, naming its first bytes and the format
they look like."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.media.audio import load_audio
from tests.fakes.av import tone


def _tone_as(path, fmt):
    """A 1 s 440 Hz tone written in `fmt` ('FLAC', or 'MP3' through ffmpeg) at `path`, whatever its name."""
    if fmt == "FLAC":
        import soundfile as sf

        sf.write(str(path), tone(440, 1.0), 16000, format="FLAC")
        return path
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=16000:duration=1", "-c:a", "libmp3lame", "-f", "mp3", str(path)],
                   check=True)
    return path


@pytest.mark.parametrize("fmt", ["FLAC", "MP3"])
def test_a_wav_named_file_in_another_format_decodes_by_its_content(tmp_path, fmt):
    path = _tone_as(tmp_path / "clip.wav", fmt)
    assert path.read_bytes()[:4] != b"RIFF"
    segment = load_audio(path, sample_rate=16000)
    assert segment.duration == pytest.approx(1.0, abs=0.03)
    spectrum = np.abs(np.fft.rfft(segment.samples))
    assert np.argmax(spectrum) * 16000 / len(segment.samples) == pytest.approx(440, abs=3)
    part = load_audio(path, start=0.25, end=0.75)
    assert part.offset == pytest.approx(0.25) and part.duration == pytest.approx(0.5, abs=1e-3)


def test_a_wav_named_file_no_decoder_reads_names_the_format_it_looks_like(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"fLaC" + bytes(200))  # a FLAC signature and nothing a decoder can use
    with pytest.raises(MediaError, match=r"broken.wav: not a RIFF/WAVE file \(starts with b'fLaC.*which looks like "
                                         r"FLAC\), and no decoder reads it by its content \(soundfile: .*; PyAV: "):
        load_audio(path)
