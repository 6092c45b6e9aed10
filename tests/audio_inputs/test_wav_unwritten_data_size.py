"""A recorder that stops before it writes the WAV's sizes leaves `data` (and `RIFF`) at 0 with the audio
after it. Every sample format reads to the end of the file, as 16-bit PCM always did (libsndfile alone
would read no audio from an 8-bit, 24-bit or float one); a WAV that really holds no audio still fails."""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.media.audio import load_audio
from tests.fakes.av import speech, write_wav

CODECS = {"u8": "pcm_u8", "s16": "pcm_s16le", "s24": "pcm_s24le", "s32": "pcm_s32le", "f32": "pcm_f32le",
          "f64": "pcm_f64le", "alaw": "pcm_alaw"}


def _unsized_copy(path: Path, out: Path) -> Path:
    """`path` with its RIFF and data chunk sizes set to 0, as an interrupted recorder leaves them."""
    data = bytearray(path.read_bytes())
    data[4:8] = bytes(4)
    position = 12
    while data[position : position + 4] != b"data":
        position += 8 + struct.unpack("<I", data[position + 4 : position + 8])[0]
        position += position & 1
    data[position + 4 : position + 8] = bytes(4)
    out.write_bytes(bytes(data))
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unsized")
    stereo = np.stack([speech("one two three", 22050), 0.5 * speech("one two three", 22050)], axis=1)
    return write_wav(root / "source.wav", stereo, 22050)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_wav_whose_sizes_were_never_written_reads_to_its_end(source, codec):
    sized = source.parent / f"{codec}.wav"
    subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(source), "-c:a", CODECS[codec],
                    str(sized)], check=True)
    unsized = _unsized_copy(sized, source.parent / f"{codec}-unsized.wav")
    whole = load_audio(sized)
    recovered = load_audio(unsized)
    assert recovered.sample_rate == whole.sample_rate == 22050
    np.testing.assert_array_equal(recovered.samples, whole.samples)
    part, expected = load_audio(unsized, start=0.5, end=1.0), load_audio(sized, start=0.5, end=1.0)
    assert part.offset == pytest.approx(0.5, abs=1e-4)
    np.testing.assert_array_equal(part.samples, expected.samples)


def test_a_wav_with_no_audio_after_its_header_still_fails(source, tmp_path):
    subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(source), "-c:a", "pcm_f32le",
                    str(tmp_path / "f32.wav")], check=True)
    data = (tmp_path / "f32.wav").read_bytes()
    header = _unsized_copy(tmp_path / "f32.wav", tmp_path / "header.wav").read_bytes()[: data.index(b"data") + 8]
    (tmp_path / "empty.wav").write_bytes(header)
    with pytest.raises(MediaError, match=r"empty.wav: the audio holds 0 samples"):
        load_audio(tmp_path / "empty.wav")
