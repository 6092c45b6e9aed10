"""A file that its name let the main process decode, but that needs FFmpeg, is decoded in a worker.

The local executor decodes WAV, FLAC and MP3 files in its main process (libsndfile and mmdata's WAV
reader cannot crash it). A `.wav` whose `data` size was never written and whose samples are not
16-bit, or an M4A renamed `.wav`, needs FFmpeg: that one item goes to a worker process, where a
crash of FFmpeg would cost the item, not the run; its values are the ones FFmpeg gives anywhere.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import soundfile as sf

import mmdata.executors as executors
from mmdata.executors import LocalExecutor
from mmdata.features.audio_frames import AudioFrameExtractor, load_sample_audio
from mmdata.media.audio import load_audio
from mmdata.media.decoder_place import FFmpegNeededElsewhere, ffmpeg_elsewhere
from tests.fakes.extractors import PassThrough

RATE = 16000


class AudioPid(PassThrough):
    """Feature: [samples decoded, their sum, pid of the decoding process]; files judged as the audio extractors judge them."""

    name: ClassVar[str] = "test-audio-pid"
    modality: ClassVar = "audio"
    dim: ClassVar[int] = 3
    decodes_safely_here = AudioFrameExtractor.decodes_safely_here

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        segment = load_sample_audio(row, corpus_root, sample_rate=RATE, on_silence="allow")
        return np.array([len(segment.samples), float(segment.samples.sum()), os.getpid()], dtype=np.float64)


def _tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _unsized_24bit_wav(path: Path, samples: np.ndarray) -> Path:
    """A 24-bit WAV whose `data` size reads 0, as a recorder stopped before writing it leaves it."""
    sf.write(path, samples, RATE, subtype="PCM_24")
    raw = bytearray(path.read_bytes())
    data = raw.index(b"data")
    raw[data + 4 : data + 8] = struct.pack("<I", 0)
    path.write_bytes(bytes(raw))
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    for i in range(12):
        sf.write(tmp_path / f"a{i:02d}.wav", _tone(0.5, 200 + 10 * i), RATE, subtype="PCM_16")
    _unsized_24bit_wav(tmp_path / "unsized.wav", _tone(0.75, 330))
    return tmp_path


def _batches(names: list[str], size: int = 4) -> list[list[dict[str, Any]]]:
    rows = [{"sample_id": n, "audio": n, "start": None, "end": None, "video": None} for n in names]
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _run(executor: LocalExecutor, batches, root: Path) -> dict[str, np.ndarray]:
    results = [r for _, batch in executor.run(AudioPid(), batches, root) for r in batch]
    assert all(r.ok for r in results), [r.reason for r in results if not r.ok]
    return {r.sample_id: r.value for r in results}


def test_the_file_needing_ffmpeg_is_decoded_in_a_worker_the_rest_here(corpus, monkeypatch):
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    names = [f"a{i:02d}.wav" for i in range(12)]
    names.insert(6, "unsized.wav")  # in the second batch: the first is measured here and stays here
    with LocalExecutor() as executor:
        values = _run(executor, _batches(names), corpus)
    assert executor.decisions["audio.test-audio-pid"].startswith("this process")
    assert {n for n, v in values.items() if v[2] != os.getpid()} == {"unsized.wav"}
    expected = load_audio(corpus / "unsized.wav", sample_rate=RATE)  # FFmpeg here, outside the executor
    assert values["unsized.wav"][0] == len(expected.samples) == int(0.75 * RATE)
    assert values["unsized.wav"][1] == pytest.approx(float(expected.samples.sum()), abs=1e-6)


def test_in_the_measured_first_batch_too(corpus, monkeypatch):
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    names = ["unsized.wav"] + [f"a{i:02d}.wav" for i in range(7)]
    with LocalExecutor() as executor:
        values = _run(executor, _batches(names), corpus)
    assert {n for n, v in values.items() if v[2] != os.getpid()} == {"unsized.wav"}
    assert values["unsized.wav"][0] == int(0.75 * RATE)


def test_a_renamed_m4a_is_decoded_in_a_worker(corpus, monkeypatch):
    import av

    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    with av.open(str(corpus / "speech.m4a"), "w") as out:  # AAC in MP4, then named as a WAV
        stream = out.add_stream("aac", rate=RATE)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(_tone(1.0, 440)[None, :], format="flt", layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    (corpus / "speech.m4a").rename(corpus / "speech.wav")
    names = [f"a{i:02d}.wav" for i in range(8)] + ["speech.wav"]
    with LocalExecutor() as executor:
        values = _run(executor, _batches(names), corpus)
    assert {n for n, v in values.items() if v[2] != os.getpid()} == {"speech.wav"}
    expected = load_audio(corpus / "speech.wav", sample_rate=RATE)  # FFmpeg here, outside the executor
    assert values["speech.wav"][0] == len(expected.samples) >= RATE
    assert values["speech.wav"][1] == pytest.approx(float(expected.samples.sum()), abs=1e-6)


def test_within_the_block_only_ffmpeg_is_refused(corpus):
    with ffmpeg_elsewhere():
        assert len(load_audio(corpus / "a00.wav").samples) == RATE // 2  # mmdata's WAV reader
        with pytest.raises(FFmpegNeededElsewhere, match="unsized.wav: needs FFmpeg"):
            load_audio(corpus / "unsized.wav")
    assert len(load_audio(corpus / "unsized.wav").samples) == int(0.75 * RATE)  # outside it, as always
