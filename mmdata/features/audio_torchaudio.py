"""The `torchaudio-logmel` and `torchaudio-mfcc` extractors: one batched STFT per group of items of
similar length, in the main process, with torchaudio's mel filter bank, dB scaling and DCT (and the
Slaney mel filters built here, as librosa builds them)."""
from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

from mmdata.features.audio_frames import Feature, stft_intervals
from mmdata.features.audio_stft import LogMelConfig, MfccConfig, PadMode, StftConfig, _StftExtractor
from mmdata.features.base import register_extractor
from mmdata.media.audio import AUDIO_DECODE_LIBRARIES, AudioSegment


def centred_batch(segments: list[AudioSegment], n_fft: int, pad_mode: PadMode) -> tuple[np.ndarray, list[int]]:
    """Pad each signal by n_fft // 2 on both sides (as a centred STFT does), then zero-pad all to
    one length. Returns the (B, L) batch and each signal's own padded length."""
    half = n_fft // 2
    lengths = [len(s.samples) + 2 * half for s in segments]
    batch = np.zeros((len(segments), max(max(lengths), n_fft)), dtype=np.float32)
    for row, segment, length in zip(batch, segments, lengths):
        if pad_mode == "constant":  # the batch is zeros already: copy the signal in, no padded temporary
            row[half : length - half] = segment.samples
        else:
            row[:length] = np.pad(segment.samples, half, mode=pad_mode)
    return batch, lengths


#: Items per transform call once a batch is sorted by length: 8 signals of a few seconds keep a
#: call's frames and spectra small enough for the caches (600 WAVs of 1-3 s: 8 per call took
#: 0.11 s, 16 took 0.13 s and 32 took 0.16-0.19 s).
SUB_BATCH = 8


def _n_frames(padded_length: int, n_fft: int, hop_length: int) -> int:
    return 1 + max(0, padded_length - n_fft) // hop_length


@functools.lru_cache(maxsize=8)
def _stft_constants(cfg: StftConfig) -> tuple[Any, Any]:
    """(window, mel filter bank (n_fft // 2 + 1, n_mels)) of a config, built once per process:
    torchaudio's periodic Hann window and the Slaney mel filters (`slaney_mel_filters`)."""
    import torch

    window = torch.hann_window(cfg.win_length or cfg.n_fft)
    filters = torch.from_numpy(slaney_mel_filters(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max))
    return window, filters


def _hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, np.float64)
    linear = 3.0 * hz / 200.0
    return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * 27.0 / np.log(6.4), linear)


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), 200.0 * mel / 3.0)


def slaney_mel_filters(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0,
                       f_max: float | None = None) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) float32 triangular Slaney mel filters with Slaney area normalisation,
    as `librosa.filters.mel(norm='slaney', htk=False)` builds them (transposed).

    The FFT bins sit at `k * sample_rate / n_fft` and f_max defaults to `sample_rate / 2`.
    torchaudio's `melscale_fbanks` places the bins up to `sample_rate // 2` instead, which at an odd
    sample rate (11025 Hz) stretches every filter by half a hertz and moved log-mel frames by up
    to 0.03 from librosa's; at even rates the two are the same filters."""
    bins = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    top = sample_rate / 2.0 if f_max is None else f_max
    edges = _slaney_mel_to_hz(np.linspace(_hz_to_slaney_mel(f_min), _hz_to_slaney_mel(top), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[None, :] - bins[:, None]  # (bins, n_mels + 2)
    lower = -ramps[:, :-2] / widths[:-1]
    upper = ramps[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(lower, upper))
    filters *= 2.0 / (edges[2:] - edges[:-2])  # equal area per filter
    return filters.astype(np.float32)


def mel_power_frames(batch: Any, cfg: StftConfig) -> Any:
    """(B, T, n_mels) mel power frames of a (B, L) tensor of already centred signals.

    This is `torchaudio.transforms.MelSpectrogram(power=2, center=False)` computed in frame-major
    order: |X|^2 as re*re + im*im in one new buffer (`abs().pow(2)` takes a square root only to
    square it, and takes three times as long), then one matmul with the same filter bank; no
    transposes of the output.
    """
    import torch

    window, filters = _stft_constants(cfg)
    spectrum = torch.stft(batch, cfg.n_fft, cfg.hop_length, win_length=cfg.win_length, window=window, center=False,
                          return_complex=True)  # (B, n_fft // 2 + 1, T)
    parts = torch.view_as_real(spectrum)  # (B, n_fft // 2 + 1, T, 2): re, im
    power = parts[..., 0].square()
    power.addcmul_(parts[..., 1], parts[..., 1])
    return torch.matmul(power.transpose(1, 2), filters)


class _TorchaudioStft(_StftExtractor):
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "torchaudio", *AUDIO_DECODE_LIBRARIES)

    def _finish(self, mel: Any, n_frames: list[int]) -> Any:
        """(B, T, dim) features from (B, T, n_mels) mel power frames; item b's own frames are the
        first `n_frames[b]`, the rest cover the padding after it."""
        raise NotImplementedError

    def compute(self, items: list[AudioSegment]) -> list[Feature]:
        # Items sorted by length go through the transform in groups of similar length, so little of
        # each call is spent on padding; every item's frames are those it has alone (tested).
        order = sorted(range(len(items)), key=lambda i: len(items[i].samples))
        results: list[Any] = [None] * len(items)
        for start in range(0, len(order), SUB_BATCH):
            group = order[start : start + SUB_BATCH]
            for index, result in zip(group, self._compute_group([items[i] for i in group])):
                results[index] = result
        return results

    def _compute_group(self, items: list[AudioSegment]) -> list[Feature]:
        import torch

        cfg = self.config
        batch, lengths = centred_batch(items, cfg.n_fft, cfg.pad_mode)
        counts = [_n_frames(length, cfg.n_fft, cfg.hop_length) for length in lengths]
        with torch.inference_mode():
            out = self._finish(mel_power_frames(torch.from_numpy(batch), cfg), counts).numpy()  # (B, T, dim)
        return [(frames[:n], stft_intervals(n, cfg.hop_length, segment)) for segment, frames, n in zip(items, out, counts)]


@register_extractor
class TorchaudioLogMel(_TorchaudioStft):
    """Log-mel spectrogram frames computed with torch.stft and torchaudio's mel filter bank, one
    padded batch per call."""

    name: ClassVar[str] = "torchaudio-logmel"
    config_type: ClassVar[type] = LogMelConfig

    def _finish(self, mel: Any, n_frames: list[int]) -> Any:
        return mel.add_(self.config.log_offset).log_()


@functools.lru_cache(maxsize=8)
def _dct_matrix(n_mfcc: int, n_mels: int) -> Any:
    """(n_mels, n_mfcc) orthonormal DCT-II matrix, as `torchaudio.transforms.MFCC` builds it."""
    import torchaudio

    return torchaudio.functional.create_dct(n_mfcc, n_mels, norm="ortho")


@register_extractor
class TorchaudioMfcc(_TorchaudioStft):
    """MFCC frames computed with torch.stft and torchaudio's mel filter bank, dB scaling and DCT,
    one padded batch per call (`torchaudio.transforms.MFCC(log_mels=False)`, frame-major)."""

    name: ClassVar[str] = "torchaudio-mfcc"
    config_type: ClassVar[type] = MfccConfig

    def _finish(self, mel: Any, n_frames: list[int]) -> Any:
        import torch

        # torchaudio's amplitude_to_DB(multiplier=10, amin=1e-10, top_db=80), with each item's peak
        # taken over its own frames only: the frames past a shorter item's end (batch padding) may
        # hold the windowed tail of its signal with more power than any of its own frames.
        decibels = mel.clamp_(min=1e-10).log10_().mul_(10.0)
        own = torch.arange(decibels.shape[1]) < torch.tensor(n_frames)[:, None]  # (B, T)
        peaks = decibels.masked_fill(~own[..., None], -torch.inf).amax(dim=(1, 2))
        decibels = torch.maximum(decibels, (peaks - 80.0)[:, None, None])
        return decibels @ _dct_matrix(self.config.n_mfcc, self.config.n_mels)
