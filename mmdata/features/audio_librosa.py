"""The `librosa-logmel` and `librosa-mfcc` extractors: frames computed with librosa per item, in
the worker processes (`decode` computes them; `compute` passes them on)."""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np

from mmdata.features.audio_frames import Feature, stft_intervals
from mmdata.features.audio_stft import LogMelConfig, MfccConfig, StftConfig, _StftExtractor
from mmdata.features.base import register_extractor
from mmdata.media.audio import AUDIO_DECODE_LIBRARIES


def _librosa_mel_kwargs(cfg: StftConfig) -> dict[str, Any]:
    return dict(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length, window="hann",
        center=True, pad_mode=cfg.pad_mode, power=2.0, n_mels=cfg.n_mels, fmin=cfg.f_min, fmax=cfg.f_max,
        htk=False, norm="slaney",
    )


@contextlib.contextmanager
def quiet_short_signal_warning() -> Iterator[None]:
    """A context in which librosa's "n_fft=... is too large for input signal of length=..." UserWarning
    is not shown: a segment of at least one window (win_length) but shorter than n_fft gives valid
    centred frames, and one shorter than a window is refused before (`check_holds_one_window`) with
    its sample id, where the warning on the console named neither file nor sample."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large for ", category=UserWarning)
        yield


def librosa_logmel(samples: np.ndarray, cfg: LogMelConfig) -> np.ndarray:
    """(T, n_mels) log-mel frames of mono float32 samples, T = 1 + len // hop_length."""
    import librosa

    with quiet_short_signal_warning():
        mel = librosa.feature.melspectrogram(y=samples, **_librosa_mel_kwargs(cfg))
    return np.log(mel + cfg.log_offset).T.astype(np.float32)


def librosa_mfcc(samples: np.ndarray, cfg: MfccConfig) -> np.ndarray:
    """(T, n_mfcc) MFCC frames (librosa's definition, see the module docstring)."""
    import librosa

    kwargs = _librosa_mel_kwargs(cfg)
    kwargs["mel_norm"] = kwargs.pop("norm")  # mfcc's own `norm` is the DCT's
    with quiet_short_signal_warning():
        mfcc = librosa.feature.mfcc(y=samples, n_mfcc=cfg.n_mfcc, dct_type=2, norm="ortho", **kwargs)
    return mfcc.T.astype(np.float32)


class _LibrosaFrames(_StftExtractor):
    """Frames computed with librosa one item at a time, in the workers (`compute` passes them on)."""

    libraries: ClassVar[tuple[str, ...]] = ("numpy", "librosa", *AUDIO_DECODE_LIBRARIES)

    def frames(self, samples: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Feature:
        segment = super().decode(row, corpus_root)
        frames = self.frames(segment.samples)
        return frames, stft_intervals(len(frames), self.config.hop_length, segment)

    def compute(self, items: list[Feature]) -> list[Feature]:
        return items


@register_extractor
class LibrosaLogMel(_LibrosaFrames):
    """Log-mel spectrogram frames computed with librosa."""

    name: ClassVar[str] = "librosa-logmel"
    config_type: ClassVar[type] = LogMelConfig

    def frames(self, samples: np.ndarray) -> np.ndarray:
        return librosa_logmel(samples, self.config)


@register_extractor
class LibrosaMfcc(_LibrosaFrames):
    """MFCC frames computed with librosa."""

    name: ClassVar[str] = "librosa-mfcc"
    config_type: ClassVar[type] = MfccConfig

    def frames(self, samples: np.ndarray) -> np.ndarray:
        return librosa_mfcc(samples, self.config)
