"""`prosody`: a COVAREP-like frame set at 100 Hz computed with librosa.

COVAREP (the 74-d acoustic features of CMU-MOSI/MOSEI) gives F0, voicing, glottal-source and
cepstral features every 10 ms. This extractor gives the parts that librosa can compute, on the
same 10 ms grid, so tables made from raw audio line up with the SDK's. Columns, in order
(`prosody_columns(n_mfcc)`; also stored as `columns` in the table metadata):

| column              | meaning                                                                           |
|---------------------|-----------------------------------------------------------------------------------|
| f0_hz               | fundamental frequency by probabilistic YIN (`librosa.pyin`); 0 where unvoiced, as COVAREP |
| voiced              | pYIN voicing decision (1 voiced, 0 unvoiced), COVAREP's VUV                         |
| voiced_prob         | pYIN voicing probability in [0, 1]                                                  |
| rms                 | root-mean-square amplitude of the `n_fft` frame (linear, full scale = 1)            |
| rms_db              | 20 log10(max(rms, 1e-10))                                                           |
| mfcc_0..mfcc_{n-1}  | MFCCs (librosa's definition, see `mmdata.features.audio`)                           |
| spectral_centroid_hz | magnitude-weighted mean frequency                                                  |
| spectral_bandwidth_hz | magnitude-weighted standard deviation around the centroid                        |
| spectral_flatness   | geometric / arithmetic mean of the power spectrum, in [0, 1] (1: white noise or digital silence) |
| spectral_rolloff_hz | frequency below which 85% of the spectral magnitude lies                            |
| zero_crossing_rate  | fraction of sign changes within the frame                                          |

All frames are centred at `i / frame_rate` seconds from the segment start (intervals as in
`mmdata.features.audio`: seconds of the media file). pYIN is the slow part (about 0.1 s of CPU per
second of audio); it runs in the decode workers.

A segment shorter than two periods of `f0_min` (33.4 ms at the defaults) or than one `n_fft` frame
fails with a MediaError: pYIN cannot find a pitch in so little signal, yet reports one (20 ms of
white noise comes out voiced), so its frames would be garbage.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.errors import MediaError
from mmdata.features.audio import AudioFrameExtractor, Feature, stft_intervals
from mmdata.features.base import register_extractor
from mmdata.media.audio import AUDIO_DECODE_LIBRARIES, OnSilence
from mmdata.store.metadata import FeatureSpec

_HEAD = ("f0_hz", "voiced", "voiced_prob", "rms", "rms_db")
_TAIL = ("spectral_centroid_hz", "spectral_bandwidth_hz", "spectral_flatness", "spectral_rolloff_hz", "zero_crossing_rate")


def prosody_columns(n_mfcc: int) -> tuple[str, ...]:
    """Column names of the prosody table, in order."""
    return (*_HEAD, *(f"mfcc_{i}" for i in range(n_mfcc)), *_TAIL)


@dataclass(frozen=True)
class ProsodyConfig:
    sample_rate: int = 16000
    #: Frames per second (COVAREP: 100); sample_rate / frame_rate must be a whole number of samples.
    frame_rate: float = 100.0
    f0_min: float = 60.0
    f0_max: float = 500.0
    #: pYIN analysis window in samples (must hold two periods of f0_min).
    f0_frame_length: int = 1024
    #: Window of the spectral, RMS and MFCC frames in samples.
    n_fft: int = 400
    n_mels: int = 40
    n_mfcc: int = 13
    on_silence: OnSilence = "error"

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.frame_rate <= 0 or self.n_fft <= 0:
            raise ValueError(f"sample_rate, frame_rate and n_fft must be > 0, "
                             f"got {self.sample_rate}, {self.frame_rate}, {self.n_fft}")
        hop = self.sample_rate / self.frame_rate
        if hop != int(hop) or hop <= 0:
            raise ValueError(f"sample_rate / frame_rate must be a whole number of samples, got {hop}")
        if not 0 < self.f0_min < self.f0_max <= self.sample_rate / 2:
            raise ValueError(f"expected 0 < f0_min < f0_max <= sample_rate/2, got {self.f0_min}, {self.f0_max}")
        if self.f0_frame_length < 2 * self.sample_rate / self.f0_min:
            raise ValueError(
                f"f0_frame_length {self.f0_frame_length} is too short for f0_min {self.f0_min} Hz: "
                f"expected >= {int(np.ceil(2 * self.sample_rate / self.f0_min))} samples (two periods)"
            )
        if not 0 < self.n_mfcc <= self.n_mels:
            raise ValueError(f"n_mfcc must be in (0, n_mels={self.n_mels}], got {self.n_mfcc}")

    @property
    def hop_length(self) -> int:
        return int(self.sample_rate / self.frame_rate)

    @property
    def min_samples(self) -> int:
        """The shortest segment analysed: two periods of f0_min, and at least one n_fft frame."""
        return max(int(np.ceil(2 * self.sample_rate / self.f0_min)), self.n_fft)


def prosody_frames(samples: np.ndarray, cfg: ProsodyConfig) -> np.ndarray:
    """(T, len(prosody_columns)) frames of mono float32 samples at `cfg.sample_rate`."""
    import librosa

    sr, hop, n_fft = cfg.sample_rate, cfg.hop_length, cfg.n_fft
    f0, voiced, voiced_prob = librosa.pyin(
        samples, fmin=cfg.f0_min, fmax=cfg.f0_max, sr=sr, frame_length=cfg.f0_frame_length, hop_length=hop, center=True,
    )
    power = np.abs(librosa.stft(samples, n_fft=n_fft, hop_length=hop, center=True, pad_mode="constant")) ** 2
    magnitude = np.sqrt(power)
    rms = librosa.feature.rms(y=samples, frame_length=n_fft, hop_length=hop, center=True, pad_mode="constant")[0]
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=cfg.n_mels)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=80.0), n_mfcc=cfg.n_mfcc)
    columns = [
        np.nan_to_num(f0, nan=0.0) * voiced,
        voiced.astype(np.float32),
        np.nan_to_num(voiced_prob, nan=0.0),
        rms,
        20 * np.log10(np.maximum(rms, 1e-10)),
        *mfcc,
        librosa.feature.spectral_centroid(S=magnitude, sr=sr)[0],
        librosa.feature.spectral_bandwidth(S=magnitude, sr=sr)[0],
        librosa.feature.spectral_flatness(S=magnitude)[0],
        librosa.feature.spectral_rolloff(S=magnitude, sr=sr, roll_percent=0.85)[0],
        librosa.feature.zero_crossing_rate(samples, frame_length=n_fft, hop_length=hop, center=True)[0],
    ]
    n_frames = min(len(c) for c in columns)
    return np.stack([np.asarray(c[:n_frames], dtype=np.float32) for c in columns], axis=1)


@register_extractor
class Prosody(AudioFrameExtractor):
    """COVAREP-like prosodic frames at 100 Hz: pYIN F0 and voicing, energy, MFCCs, spectral shape."""

    name: ClassVar[str] = "prosody"
    config_type: ClassVar[type] = ProsodyConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "librosa", *AUDIO_DECODE_LIBRARIES)

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(
            dim=len(prosody_columns(self.config.n_mfcc)), kind="sequence", intervals=True,
            frame_rate=float(self.config.frame_rate), item_axis="time",  # centred frames: check's general rule
        )

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "columns": list(prosody_columns(self.config.n_mfcc))}

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Feature:
        segment = super().decode(row, corpus_root)
        cfg = self.config
        if len(segment.samples) < cfg.min_samples:
            raise MediaError(
                f"{segment.path}: segment of {segment.duration * 1000:.1f} ms is too short for prosody: expected at "
                f"least {cfg.min_samples / cfg.sample_rate * 1000:.1f} ms (two periods of f0_min={cfg.f0_min:g} Hz and "
                f"one n_fft={cfg.n_fft} frame); use a longer segment or a higher f0_min"
            )
        frames = prosody_frames(segment.samples, cfg)
        return frames, stft_intervals(len(frames), self.config.hop_length, segment)

    def compute(self, items: list[Feature]) -> list[Feature]:
        return items
