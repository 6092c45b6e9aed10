"""`wav_stream_seconds`: a WAV's length read from its `fmt ` and `data` chunks is libsndfile's (`soundfile.info`'s
frames over its rate) for every plain layout, and None, leaving the answer to soundfile, for every other one; so
`audio_duration_extra` records exactly what it recorded before."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile

from mmdata.corpora.media_captions import audio_duration_extra
from mmdata.media.audio import wav_stream_seconds

PLAIN = ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"]
COMPRESSED = ["IMA_ADPCM", "MS_ADPCM", "GSM610"]


def write(path, subtype: str, *, frames: int = 7919, rate: int = 16000, channels: int = 1, fmt: str = "WAV"):
    data = np.random.default_rng(0).uniform(-0.5, 0.5, (frames, channels))
    soundfile.write(str(path), data, rate, subtype=subtype, format=fmt)
    return path


def libsndfile_seconds(path) -> float:
    info = soundfile.info(str(path))
    return info.frames / info.samplerate


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("subtype", PLAIN)
def test_a_plain_wav_reads_as_libsndfile_counts_it(tmp_path, subtype, channels, fmt):
    path = write(tmp_path / "a.wav", subtype, channels=channels, rate=22050, fmt=fmt)
    assert wav_stream_seconds(path) == libsndfile_seconds(path)


@pytest.mark.parametrize("subtype", COMPRESSED)
def test_a_compressed_wav_is_left_to_libsndfile(tmp_path, subtype):
    path = write(tmp_path / "a.wav", subtype, frames=8000, rate=8000)
    assert wav_stream_seconds(path) is None
    assert audio_duration_extra(path) == {"audio_duration": round(libsndfile_seconds(path), 6)}


def riff(*chunks: tuple[bytes, bytes], declared: dict[bytes, int] | None = None) -> bytes:
    """A RIFF/WAVE file of these chunks (odd sizes padded); `declared` overrides a chunk's stated size."""
    body = b"WAVE"
    for name, payload in chunks:
        size = (declared or {}).get(name, len(payload))
        body += name + struct.pack("<I", size) + payload + (b"\0" if len(payload) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


PCM16_STEREO = struct.pack("<HHIIHH", 1, 2, 8000, 32000, 4, 16)


def test_chunks_before_data_and_odd_padding_are_walked(tmp_path):
    path = tmp_path / "listed.wav"
    path.write_bytes(riff((b"fmt ", PCM16_STEREO), (b"LIST", b"INFOISFT\x05\0\0\0mmda\0"), (b"junk", b"abc"),
                          (b"data", bytes(4 * 1234))))
    assert wav_stream_seconds(path) == libsndfile_seconds(path) == 1234 / 8000


def test_a_data_chunk_past_the_first_read_is_found_by_walking_the_file(tmp_path):
    """A long metadata chunk (LIST, bext) puts `data` beyond the bytes read first (`WAV_HEAD_BYTES`)."""
    from mmdata.media.audio import WAV_HEAD_BYTES

    path = tmp_path / "tagged.wav"
    path.write_bytes(riff((b"fmt ", PCM16_STEREO), (b"bext", bytes(WAV_HEAD_BYTES + 101)), (b"data", bytes(4 * 777))))
    assert wav_stream_seconds(path) == libsndfile_seconds(path) == 777 / 8000


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0x7FFFF000, 0x7FFFFFFF])
def test_a_placeholder_data_size_counts_to_the_end_of_the_file_as_libsndfile_does(tmp_path, size):
    """As ffmpeg or espeak-ng writing to a pipe leave the size."""
    path = tmp_path / "piped.wav"
    path.write_bytes(riff((b"fmt ", PCM16_STEREO), (b"data", bytes(4 * 1000)), declared={b"data": size}))
    assert wav_stream_seconds(path) == libsndfile_seconds(path) == 1000 / 8000


@pytest.mark.parametrize("case", ["truncated", "zero-size", "no-fmt", "block-mismatch", "rf64",
                                  "flac-renamed", "empty"])
def test_what_is_not_plain_is_left_to_soundfile_and_recorded_as_before(tmp_path, case):
    path = tmp_path / "odd.wav"
    audio = bytes(4 * 1000)
    payloads = {
        "truncated": riff((b"fmt ", PCM16_STEREO), (b"data", audio), declared={b"data": 8000}),
        "zero-size": riff((b"fmt ", PCM16_STEREO), (b"data", audio), declared={b"data": 0}),
        "no-fmt": riff((b"data", audio)),
        "block-mismatch": riff((b"fmt ", struct.pack("<HHIIHH", 1, 2, 8000, 48000, 6, 16)), (b"data", audio)),
        "rf64": b"RF64" + riff((b"fmt ", PCM16_STEREO), (b"data", audio))[4:],
        "flac-renamed": b"fLaC" + bytes(60),
        "empty": b"",
    }
    path.write_bytes(payloads[case])
    assert wav_stream_seconds(path) is None
    try:
        info = soundfile.info(str(path))
        expected = {"audio_duration": round(info.frames / info.samplerate, 6)} \
            if info.samplerate > 0 and 0 < info.frames < 2**62 else {}
    except RuntimeError:
        expected = {}
    assert audio_duration_extra(path) == expected


def test_no_regular_file_is_opened(tmp_path):
    import os

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    assert wav_stream_seconds(fifo) is None and wav_stream_seconds(tmp_path / "gone.wav") is None
    assert wav_stream_seconds(tmp_path) is None
