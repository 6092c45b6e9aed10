"""The STFT settings and base shared by the log-mel and MFCC extractors, librosa and torchaudio alike.

Their definitions (centred frames, Slaney mel filters, the MFCC's dB floor) are in the docstring of
`mmdata.features.audio`; the extractors are in `audio_librosa` and `audio_torchaudio`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.errors import MediaError
from mmdata.features.audio_frames import AudioFrameExtractor
from mmdata.media.audio import AudioSegment, OnSilence
from mmdata.store.metadata import FeatureSpec

PadMode = Literal["constant", "reflect"]


@dataclass(frozen=True)
class StftConfig:
    """Settings shared by the log-mel and MFCC extractors (librosa and torchaudio alike)."""

    sample_rate: int = 16000
    n_fft: int = 400
    #: Window length in samples (None = n_fft).
    win_length: int | None = None
    hop_length: int = 160
    n_mels: int = 80
    f_min: float = 0.0
    #: Highest mel frequency (None = sample_rate / 2).
    f_max: float | None = None
    #: Padding of the centred first and last frames: zeros ('constant') or mirrored samples ('reflect').
    pad_mode: PadMode = "constant"
    #: 'error' fails a silent segment (peak below -80 dBFS); 'allow' keeps it.
    on_silence: OnSilence = "error"

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.hop_length <= 0 or self.n_fft <= 0 or self.n_mels <= 0:
            raise ValueError("sample_rate, n_fft, hop_length and n_mels must be > 0")
        if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
            raise ValueError(f"win_length must be in (0, n_fft={self.n_fft}], got {self.win_length}")
        if self.f_max is not None and not self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError(f"f_max must be in (f_min, sample_rate/2], got {self.f_max}")

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    @property
    def window_samples(self) -> int:
        """Samples of one analysis window: win_length, or n_fft when it is unset."""
        return self.win_length or self.n_fft


@dataclass(frozen=True)
class LogMelConfig(StftConfig):
    #: Added to the mel power before the natural log (keeps silence finite).
    log_offset: float = 1e-6

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.log_offset <= 0:
            raise ValueError(f"log_offset must be > 0, got {self.log_offset}")


@dataclass(frozen=True)
class MfccConfig(StftConfig):
    n_mfcc: int = 13

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.n_mfcc <= self.n_mels:
            raise ValueError(f"n_mfcc must be in (0, n_mels={self.n_mels}], got {self.n_mfcc}")


class _StftExtractor(AudioFrameExtractor):
    def output_spec(self) -> FeatureSpec:
        dim = self.config.n_mfcc if isinstance(self.config, MfccConfig) else self.config.n_mels
        # centred frames: a segment of d seconds gives 1 + d x frame_rate frames, which check's general rule
        # (d x frame_rate, within its tolerance) holds; no frame_window, so tables keep the spec they had
        return FeatureSpec(dim=dim, kind="sequence", intervals=True, frame_rate=self.config.frame_rate,
                           item_axis="time")

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        segment = super().decode(row, corpus_root)
        check_holds_one_window(segment, row, self.config.window_samples, self.name)
        return segment


def check_holds_one_window(segment: AudioSegment, row: dict[str, Any], window: int, extractor: str) -> None:
    """Raise MediaError if `segment` is shorter than one analysis window of `window` samples (win_length,
    else n_fft): its frames would be made of the padding around it (librosa only warns, torchaudio says
    nothing)."""
    if len(segment.samples) < window:
        raise MediaError(
            f"{segment.path}: segment of {segment.duration * 1000:.1f} ms of sample {row['sample_id']!r} is shorter "
            f"than one {extractor} analysis window ({window} samples, {window / segment.sample_rate * 1000:.1f} ms); "
            "expected a segment of at least one window; use a longer segment or a shorter win_length/n_fft"
        )
