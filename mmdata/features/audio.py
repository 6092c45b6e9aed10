"""Frame-level audio features: log-mel and MFCC (librosa and torchaudio), Kaldi fbank.

Every extractor here writes a temporal table (`kind='sequence'`, one row per frame, with
intervals in seconds of the media file and the frame rate in the metadata). Audio is decoded in
the worker processes (`mmdata.media.audio.load_audio`: soundfile, PyAV for the audio track of a
video, soxr resampling to `sample_rate`, the sample's start/end honoured). A sample without an
`audio` path falls back to the audio track of its `video`. A segment that runs past the end of its
audio by more than a tenth of its length (a transcript's segment times beyond a recording), or starts
that much before it (an audio track that starts late in its video), fails the sample naming both
times; a shorter overrun is cut at the end of the audio.

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

This module documents the family and keeps every name importable; the code lives in:
    mmdata.features.audio_frames       decoding a sample's audio, frame intervals, `AudioFrameExtractor`
    mmdata.features.audio_stft         the log-mel/MFCC settings (`StftConfig`) and their shared base
    mmdata.features.audio_librosa      `librosa-logmel`, `librosa-mfcc`: per item, in the workers
    mmdata.features.audio_torchaudio   `torchaudio-logmel`, `torchaudio-mfcc`: batched, in the main process
    mmdata.features.audio_kaldi        `kaldi-fbank`
Importing this module registers the five extractors.
"""
from __future__ import annotations

from mmdata.features.audio_frames import (  # noqa: F401 - also re-exported from here
    SEGMENT_OVERRUN_TOLERANCE, AudioFrameExtractor, Feature, _centre_midpoints, cell_intervals, check_segment_overrun,
    load_sample_audio, stft_intervals,
)
from mmdata.features.audio_stft import (  # noqa: F401 - also re-exported from here
    LogMelConfig, MfccConfig, PadMode, StftConfig, _StftExtractor, check_holds_one_window,
)
# In the order the extractors registered when they were defined here: librosa, torchaudio, Kaldi.
from mmdata.features.audio_librosa import (  # noqa: F401 - also re-exported from here
    LibrosaLogMel, LibrosaMfcc, _librosa_mel_kwargs, _LibrosaFrames, librosa_logmel, librosa_mfcc,
    quiet_short_signal_warning,
)
from mmdata.features.audio_torchaudio import (  # noqa: F401 - also re-exported from here
    SUB_BATCH, TorchaudioLogMel, TorchaudioMfcc, _dct_matrix, _hz_to_slaney_mel, _n_frames, _slaney_mel_to_hz,
    _stft_constants, _TorchaudioStft, centred_batch, mel_power_frames, slaney_mel_filters,
)
from mmdata.features.audio_kaldi import KaldiFbank, KaldiFbankConfig  # noqa: F401 - also re-exported from here
