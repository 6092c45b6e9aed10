"""Frame-level audio features: log-mel and MFCC (librosa and torchaudio), Kaldi fbank.

Every extractor here writes a temporal table (`kind='sequence'`, one row per frame, with
intervals in seconds of the media file and the frame rate in the metadata). Audio is decoded in
the worker processes (`mmdata.media.audio.load_audio`: soundfile, PyAV for the audio track of a
video, soxr resampling to `sample_rate`, the sample's start/end honoured). A sample without an
`audio` path falls back to the audio track of its `video`. A segment that runs past the end of its
audio by more than a tenth of its length (a transcript's segment times beyond a recording) fails
the sample naming both times; a shorter overrun is cut at the end of the audio.

Frame intervals: frame i of a centred STFT sits at `t_i = i * hop / sample_rate`; it owns the part
of the segment closer to t_i than to any other frame, `[t_i - hop/2, t_i + hop/2]` with the first
interval starting at the segment start and the last ending at the segment end, shifted by the
segment's start. The frames of a sample thus tile it without gaps or overlap. Kaldi fbank frames
are placed the same way around their window centres: frame i covers samples
`[i * shift, i * shift + window)` (snip_edges=True), centre `i * shift + window / 2`, or is
centred at `i * shift + shift / 2` (snip_edges=False). Each table's spec records the seconds a frame
needs inside the segment (`frame_window`: the window with snip_edges, which gives `1 + (d - window) /
shift` frames for d seconds; 0 for centred frames), so that `mmdata check` counts the frames right.

Definitions (the librosa and torchaudio variants compute the same thing and agree in tests to
within 1e-3 on log-mel and 2e-3 on MFCC):

A segment shorter than one analysis window (`win_length`, or `n_fft` when it is unset: 25 ms at
the defaults) is an error for every extractor here: its one frame would be mostly padding.

- log-mel = `ln(mel + log_offset)` of the power (|STFT|^2) mel spectrogram: periodic Hann window,
  centred frames (`pad_mode` zero or reflect padding), Slaney mel scale and Slaney area
  normalisation (librosa's defaults).
- MFCC = DCT-II (orthonormal) of `10 log10(max(mel, 1e-10))` floored at 80 dB below the segment's
  peak: `librosa.feature.mfcc(y=...)` and `torchaudio.transforms.MFCC(log_mels=False)` with the
  same mel settings. The batched torchaudio path takes each item's peak over its own frames.
- Kaldi fbank = `torchaudio.compliance.kaldi.fbank` on the waveform scaled to the int16 range
  (Kaldi's convention), dither 0 by default so the output is deterministic, torchaudio's other
  defaults (Povey window, pre-emphasis 0.97; with use_energy, the log energy floored at 0, i.e.
  torchaudio's energy_floor=1.0 where Kaldi's own default is no floor). A segment shorter than
  one window is an error.
"""
from __future__ import annotations

import contextlib
import functools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

import numpy as np

from mmdata.corpora.base import resolve_media
from mmdata.errors import MediaError
from mmdata.features.base import Extractor, register_extractor
from mmdata.media.audio import AUDIO_DECODE_LIBRARIES, SOUNDFILE_SUFFIXES, AudioSegment, OnSilence, check_not_silent, load_audio
from mmdata.store.metadata import FeatureSpec

PadMode = Literal["constant", "reflect"]
Feature = tuple[np.ndarray, np.ndarray]  # (T, dim) float32 frames, (T, 2) float64 intervals


#: A segment may run past the end of its media file by this fraction of its length (segment
#: times rounded in a transcript, a recording a few frames short): its features then stop at the
#: end of the media. A longer overrun fails the sample, as `mmdata check` would fail its frame count.
SEGMENT_OVERRUN_TOLERANCE = 0.1


def check_segment_overrun(row: dict[str, Any], path: Path | str, media_end: float, what: str) -> None:
    """Raise MediaError if the row's segment ends more than `SEGMENT_OVERRUN_TOLERANCE` of its
    length after `media_end` (seconds of the media file where the decoded `what` stops)."""
    start, end = row.get("start") or 0.0, row.get("end")
    if end is None or end <= start:
        return
    missing = end - max(media_end, start)
    if missing > SEGMENT_OVERRUN_TOLERANCE * (end - start):
        raise MediaError(
            f"{path}: segment [{start:g}s, {end:g}s] of sample {row['sample_id']!r} runs {missing:.3f}s past the end "
            f"of the {what} ({media_end:.3f}s), so only {1 - missing / (end - start):.0%} of it has {what}; expected a "
            "segment inside its media file (check the segment times against the recording)"
        )


def load_sample_audio(row: dict[str, Any], corpus_root: Path, *, sample_rate: int, on_silence: OnSilence) -> AudioSegment:
    """The audio of a samples-table row: its `audio` file, else the audio track of its `video`.

    A segment that runs past the end of the audio (beyond `SEGMENT_OVERRUN_TOLERANCE`) is a
    MediaError saying so, checked before silence: the silent tail of a recording is not the reason.
    """
    relative = row.get("audio") or row.get("video")
    if not relative:
        raise MediaError(f"sample {row['sample_id']!r} has no audio or video file; expected an 'audio' or 'video' path")
    path = resolve_media(corpus_root, relative)
    segment = load_audio(path, sample_rate=sample_rate, start=row.get("start"), end=row.get("end"), on_silence="allow")
    check_segment_overrun(row, path, segment.offset + segment.duration, "audio")
    if on_silence == "error":
        check_not_silent(segment)
    return segment


def cell_intervals(centres: np.ndarray, duration: float, offset: float) -> np.ndarray:
    """(T, 2) intervals: the part of `[0, duration]` closer to each (sorted) frame centre than to
    its neighbours' (seconds), shifted by `offset`. Frames tile the segment without overlap."""
    centres = np.clip(np.asarray(centres, dtype=np.float64), 0.0, duration)
    bounds = (centres[1:] + centres[:-1]) / 2
    starts = np.concatenate([[0.0], bounds])[: len(centres)]
    ends = np.concatenate([bounds, [duration]])[-len(centres) :] if len(centres) else starts
    return np.stack([starts, ends], axis=1) + offset


def stft_intervals(n_frames: int, hop_length: int, segment: AudioSegment) -> np.ndarray:
    """Intervals of the frames of a centred STFT over `segment` (frame i centred at i * hop):
    `cell_intervals` of those centres, with the midpoints between them taken from a cached table."""
    rate = segment.sample_rate
    if n_frames < 2 or (n_frames - 1) * hop_length / rate > segment.duration:  # a centre to clip: the general case
        return cell_intervals(np.arange(n_frames) * hop_length / rate, segment.duration, segment.offset)
    bounds = _centre_midpoints(hop_length, rate, 1 << (n_frames - 1).bit_length())[: n_frames - 1]
    out = np.empty((n_frames, 2))
    out[0, 0] = 0.0
    out[1:, 0] = bounds
    out[:-1, 1] = bounds
    out[-1, 1] = segment.duration
    out += segment.offset
    return out


@functools.lru_cache(maxsize=64)
def _centre_midpoints(hop_length: int, sample_rate: int, size: int) -> np.ndarray:
    """Midpoints between consecutive frame centres `i * hop / rate`, for i < size (read-only)."""
    centres = np.arange(size) * hop_length / sample_rate
    bounds = (centres[1:] + centres[:-1]) / 2
    bounds.flags.writeable = False
    return bounds


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


class AudioFrameExtractor(Extractor):
    """Base of the frame-level audio extractors: decode = load the sample's audio."""

    modality: ClassVar = "audio"

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        return load_sample_audio(row, corpus_root, sample_rate=self.config.sample_rate, on_silence=self.config.on_silence)

    def decodes_safely_here(self, rows: list[dict[str, Any]]) -> bool:
        """Audio files libsndfile (or mmdata's own WAV reader) decodes; not the audio of a video (FFmpeg)."""
        return all(row.get("audio") and Path(row["audio"]).suffix.lower() in SOUNDFILE_SUFFIXES for row in rows)


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


# --- librosa: computed per item in the worker processes --------------------------------------


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


# --- torchaudio: one batched STFT per group of similar length, in the main process -----------


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


# --- Kaldi-compatible filter banks ------------------------------------------------------------


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
