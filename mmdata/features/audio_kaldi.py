"""The `kaldi-fbank` extractor: Kaldi-compatible log mel filter banks
(`torchaudio.compliance.kaldi.fbank`), one utterance at a time.

Its definition and frame placement are in the docstring of `mmdata.features.audio`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.errors import MediaError
from mmdata.features.audio_frames import AudioFrameExtractor, Feature, cell_intervals
from mmdata.features.base import register_extractor
from mmdata.media.audio import AUDIO_DECODE_LIBRARIES, AudioSegment, OnSilence
from mmdata.store.metadata import FeatureSpec


@dataclass(frozen=True)
class KaldiFbankConfig:
    sample_rate: int = 16000
    num_mel_bins: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    #: Kaldi's default is 1.0 (random noise); 0 keeps the output deterministic (torch's global
    #: generator draws the noise, so a dithered table differs from run to run).
    dither: float = 0.0
    low_freq: float = 20.0
    #: Kaldi convention: <= 0 means an offset from the Nyquist frequency.
    high_freq: float = 0.0
    #: Prepend the log frame energy as column 0.
    use_energy: bool = False
    #: Kaldi's snip_edges: only frames that fit entirely in the signal (True) or centred frames.
    snip_edges: bool = True
    on_silence: OnSilence = "error"

    def __post_init__(self) -> None:
        if self.frame_shift_ms <= 0 or self.frame_length_ms <= 0:
            raise ValueError("frame_length_ms and frame_shift_ms must be > 0")
        if self.sample_rate <= 0 or self.num_mel_bins <= 3:
            raise ValueError(f"sample_rate must be > 0 and num_mel_bins > 3 (torchaudio's Kaldi filter bank needs 4 "
                             f"bins or more), got {self.sample_rate}, {self.num_mel_bins}")
        if self.frame_shift < 1 or self.frame_length < 2:
            raise ValueError(f"frame_shift_ms={self.frame_shift_ms:g} and frame_length_ms={self.frame_length_ms:g} give "
                             f"{self.frame_shift} and {self.frame_length} samples at {self.sample_rate} Hz; expected a "
                             "shift of at least 1 sample and a window of at least 2")
        self._check_mel_range()

    def _check_mel_range(self) -> None:
        """low_freq and high_freq against the Nyquist frequency, as Kaldi reads them (high_freq <= 0: an
        offset below Nyquist), checked here: torchaudio asserts them only when it computes, on every item."""
        nyquist = self.sample_rate / 2
        if not 0 <= self.low_freq < nyquist:
            raise ValueError(f"low_freq must be in [0, sample_rate/2={nyquist:g}), got {self.low_freq:g}")
        if not 0 < self.mel_high_freq <= nyquist or self.low_freq >= self.mel_high_freq:
            meaning = f" (an offset below Nyquist: {self.mel_high_freq:g} Hz)" if self.high_freq <= 0 else ""
            raise ValueError(
                f"high_freq={self.high_freq:g}{meaning} must lie in (low_freq={self.low_freq:g}, "
                f"sample_rate/2={nyquist:g}] Hz; expected a value up to Nyquist, or <= 0 for an offset below it "
                "(Kaldi's convention: 0 = Nyquist, -400 = 400 Hz below)")

    @property
    def mel_high_freq(self) -> float:
        """The filter bank's upper edge in Hz: high_freq, or Nyquist + high_freq when high_freq <= 0 (Kaldi)."""
        return self.high_freq if self.high_freq > 0 else self.sample_rate / 2 + self.high_freq

    # Window and shift in samples, truncated as Kaldi and torchaudio.compliance.kaldi truncate them
    # (11025 Hz x 25 ms = 275.6 -> 275 samples; 16 kHz x 10.3 ms = 164.8 -> 164).
    @property
    def frame_length(self) -> int:
        return int(self.sample_rate * self.frame_length_ms * 0.001)

    @property
    def frame_shift(self) -> int:
        return int(self.sample_rate * self.frame_shift_ms * 0.001)


@register_extractor
class KaldiFbank(AudioFrameExtractor):
    """Kaldi-compatible log mel filter banks (torchaudio.compliance.kaldi.fbank), per utterance."""

    name: ClassVar[str] = "kaldi-fbank"
    config_type: ClassVar[type] = KaldiFbankConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "torchaudio", *AUDIO_DECODE_LIBRARIES)

    def output_spec(self) -> FeatureSpec:
        cfg = self.config
        return FeatureSpec(
            dim=cfg.num_mel_bins + int(cfg.use_energy), kind="sequence", intervals=True,
            frame_rate=cfg.sample_rate / cfg.frame_shift, item_axis="time", frame_window=self.frame_window,
        )

    @property
    def frame_window(self) -> float:
        """Seconds of signal a frame needs inside the segment: one whole window with snip_edges (a segment
        of d seconds gives 1 + (d - window) / shift frames), none without (frames centred, d / shift)."""
        return self.config.frame_length / self.config.sample_rate if self.config.snip_edges else 0.0

    def decode(self, row: dict[str, Any], corpus_root: Path) -> AudioSegment:
        segment = super().decode(row, corpus_root)
        # torchaudio's fbank needs one whole window of samples, with snip_edges=false too.
        if len(segment.samples) < self.config.frame_length:
            raise MediaError(
                f"{segment.path}: segment of {segment.duration * 1000:.1f} ms is shorter than one Kaldi frame "
                f"({self.config.frame_length_ms} ms); expected a segment of at least one frame"
            )
        return segment

    def compute(self, items: list[AudioSegment]) -> list[Feature]:
        import torch
        from torchaudio.compliance import kaldi

        cfg = self.config
        results = []
        with torch.inference_mode():
            for segment in items:  # Kaldi's fbank works on one utterance at a time
                wave = torch.from_numpy(segment.samples * 32768.0)[None, :]
                feats = kaldi.fbank(
                    wave, num_mel_bins=cfg.num_mel_bins, frame_length=cfg.frame_length_ms,
                    frame_shift=cfg.frame_shift_ms, dither=cfg.dither, sample_frequency=float(cfg.sample_rate),
                    low_freq=cfg.low_freq, high_freq=cfg.high_freq, use_energy=cfg.use_energy, snip_edges=cfg.snip_edges,
                ).numpy()
                results.append((feats.astype(np.float32), self._intervals(len(feats), segment)))
        return results

    def _intervals(self, n_frames: int, segment: AudioSegment) -> np.ndarray:
        cfg, rate = self.config, segment.sample_rate
        index = np.arange(n_frames)
        first_centre = cfg.frame_length / 2 if cfg.snip_edges else cfg.frame_shift / 2
        return cell_intervals((index * cfg.frame_shift + first_centre) / rate, segment.duration, segment.offset)
