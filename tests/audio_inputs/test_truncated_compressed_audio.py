"""A compressed file cut short (an interrupted download: `head -c 10000` of a 5 s MP3) decodes to what
it holds, with no error from libsndfile, though its Xing header declares the whole length: `load_audio`
compares the two and fails it, while correct MP3, OGG, FLAC and M4A files (encoder priming and
padding removed) decode to their full length."""
from __future__ import annotations

import subprocess

import pytest

from mmdata.errors import MediaError
from mmdata.media.audio import load_audio

ENCODERS = {".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"], ".ogg": ["-c:a", "libvorbis"], ".flac": ["-c:a", "flac"],
            ".m4a": ["-c:a", "aac", "-b:a", "64k"]}


def _encode_tone(path, seconds=5.0):
    """A 330 Hz tone of `seconds` at 16 kHz, encoded by ffmpeg in the format of `path`'s extension."""
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=330:sample_rate=16000:duration={seconds}", *ENCODERS[path.suffix], str(path)],
                   check=True)
    return path


@pytest.mark.parametrize("suffix", sorted(ENCODERS))
def test_whole_compressed_files_decode_to_their_length(tmp_path, suffix):
    segment = load_audio(_encode_tone(tmp_path / f"tone{suffix}"), sample_rate=16000)
    assert segment.duration == pytest.approx(5.0, abs=0.03)
    part = load_audio(tmp_path / f"tone{suffix}", sample_rate=16000, start=4.0, end=5.0)
    assert part.duration == pytest.approx(1.0, abs=0.03)


def test_a_truncated_mp3_is_a_media_error_naming_both_lengths(tmp_path):
    whole = _encode_tone(tmp_path / "whole.mp3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[:10000])
    with pytest.raises(MediaError, match=r"cut.mp3: audio file is truncated: its header declares 80\d\d\d frames "
                                         r"\(5.\d+s\) .*only \d+ \(\d.\d+s\) decode.*may be truncated"):
        load_audio(cut)
    with pytest.raises(MediaError, match="may be truncated"):  # a segment in the part that is still there, too
        load_audio(cut, start=0.0, end=4.0)
    assert load_audio(cut, start=0.0, end=0.5).duration == pytest.approx(0.5, abs=1e-3)  # wholly inside: fine


def test_an_mp3_a_few_milliseconds_short_is_not_truncated(tmp_path):
    whole = _encode_tone(tmp_path / "whole.mp3")
    data = whole.read_bytes()
    short = tmp_path / "short.mp3"
    short.write_bytes(data[: len(data) - 300])  # under a frame of audio less than the header says
    assert load_audio(short).duration == pytest.approx(5.0, abs=0.1)
