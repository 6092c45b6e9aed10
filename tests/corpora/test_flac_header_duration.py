"""A FLAC's length from its STREAMINFO block (`flac_stream_seconds`), the `audio_duration` every captioned-audio
loader (`audiocaps`, `clotho`, `wavcaps`) records through `audio_duration_extra`: the same value soundfile.info
gives, without opening the file through libsndfile; a file that is no FLAC, or a FIFO, gets none from it."""
from __future__ import annotations

import os

import pytest
import soundfile

from mmdata.corpora.media_captions import audio_duration_extra
from mmdata.media.audio import flac_stream_seconds
from tests.fakes.av import write_tone_wav


@pytest.mark.parametrize(("seconds", "rate"), [(0.5, 16000), (1.2345, 44100), (0.01, 22050)])
def test_a_flacs_streaminfo_length_is_soundfiles(tmp_path, seconds, rate):
    path = tmp_path / "tone.flac"
    write_tone_wav(path, duration=seconds, sample_rate=rate)
    info = soundfile.info(str(path))
    assert info.format == "FLAC"
    assert flac_stream_seconds(path) == info.frames / info.samplerate
    assert audio_duration_extra(path) == {"audio_duration": round(info.frames / info.samplerate, 6)}


def test_a_wav_named_flac_goes_to_soundfile(tmp_path):
    path = tmp_path / "tone.flac"
    write_tone_wav(path.with_suffix(".wav"), duration=0.75)
    path.write_bytes(path.with_suffix(".wav").read_bytes())
    assert flac_stream_seconds(path) is None
    assert audio_duration_extra(path) == {"audio_duration": 0.75}


def test_a_fifo_or_a_missing_file_gives_no_length_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.flac"
    os.mkfifo(fifo)
    assert flac_stream_seconds(fifo) is None
    assert flac_stream_seconds(tmp_path / "gone.flac") is None


def test_a_flac_stating_no_sample_count_has_no_length_and_still_decodes(tmp_path):
    """A FLAC written to a pipe leaves STREAMINFO's total samples 0: libsndfile then reports a frame count
    of 2**63 - 1 (a length of 10**14 s, and an allocation that fails); no length is recorded, and the
    audio decodes to its true length through FFmpeg."""
    from mmdata.media.audio import load_audio

    path = tmp_path / "piped.flac"
    write_tone_wav(path, duration=0.75, sample_rate=16000)
    data = bytearray(path.read_bytes())
    packed = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)  # rate, channels, bits kept; total 0
    data[18:26] = packed.to_bytes(8, "big")
    path.write_bytes(bytes(data))
    assert soundfile.info(str(path)).frames >= 2**62
    assert flac_stream_seconds(path) is None and audio_duration_extra(path) == {}
    assert load_audio(path).duration == pytest.approx(0.75, abs=1e-3)
