"""Shared inputs of the speech-model tests: real espeak-ng speech and tones as 16 kHz WAVs, torchaudio's
own models for reference, and no network (weights must never download)."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.av import speech, tone, write_wav


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection attempt fails the test: the extractors read weights from disk only."""
    def refuse(*args, **kwargs):
        raise AssertionError("a speech-model test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@dataclass(frozen=True)
class SpeechAudio:
    root: Path
    speech_wav: Path  # espeak-ng "hello world", 16 kHz
    speech: np.ndarray  # its samples as the WAV holds them (16-bit)
    tone_wav: Path  # 220 Hz, 1.5 s, 16 kHz
    tone_8k_wav: Path  # 330 Hz, 1 s, 8 kHz (resampled to 16 kHz on decode)


@pytest.fixture(scope="session")
def audio(tmp_path_factory) -> SpeechAudio:
    import soundfile as sf

    root = tmp_path_factory.mktemp("speech-audio")
    speech_wav = write_wav(root / "speech.wav", speech("hello world"))
    return SpeechAudio(
        root=root,
        speech_wav=speech_wav,
        speech=sf.read(str(speech_wav), dtype="float32")[0],
        tone_wav=write_wav(root / "tone.wav", tone(220, 1.5)),
        tone_8k_wav=write_wav(root / "tone8k.wav", tone(330, 1.0, 8000), 8000),
    )


def row(sample_id: str, audio: str, start: float | None = None, end: float | None = None) -> dict:
    """A samples-table row of an audio sample."""
    return {"sample_id": sample_id, "audio": audio, "video": None, "start": start, "end": end}


def reference_layers(builder, seed: int, wave: np.ndarray, *, normalize: bool = False) -> list[np.ndarray]:
    """Every transformer layer's (T, dim) output of torchaudio's own model built by `builder`
    (`torchaudio.models.wav2vec2_base`, ...) under `seed`, on `wave`; with `normalize`, wrapped as
    `bundle.get_model()` wraps the bundles that layer-normalize their input."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = builder()
    if normalize:
        from torchaudio.pipelines._wav2vec2.utils import _extend_model  # what bundle.get_model() applies

        model = _extend_model(model, normalize_waveform=True)
    model.eval()
    with torch.inference_mode():
        layers, _ = model.extract_features(torch.from_numpy(np.asarray(wave, np.float32))[None])
    return [layer[0].numpy() for layer in layers]
