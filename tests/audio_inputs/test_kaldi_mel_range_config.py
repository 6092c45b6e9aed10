"""Kaldi fbank's low_freq/high_freq are checked against the Nyquist frequency when the extractor is made
(high_freq <= 0 read as an offset below Nyquist, Kaldi's convention), so `--audio
kaldi-fbank:sample_rate=8000,high_freq=5000` is refused up front, as librosa-logmel's f_max is, instead
of failing every item with torchaudio's bare AssertionError."""
from __future__ import annotations

import pytest

from mmdata.errors import ConfigError
from mmdata.features.audio import KaldiFbankConfig
from mmdata.features.base import create_extractor


@pytest.mark.parametrize(("spec", "message"), [
    ("kaldi-fbank:sample_rate=8000,high_freq=5000", r"high_freq=5000 must lie in \(low_freq=20, sample_rate/2=4000\]"),
    ("kaldi-fbank:sample_rate=8000,high_freq=-4000", r"high_freq=-4000 \(an offset below Nyquist: 0 Hz\) must lie"),
    ("kaldi-fbank:low_freq=8000", r"low_freq must be in \[0, sample_rate/2=8000\), got 8000"),
    ("kaldi-fbank:low_freq=7000,high_freq=-1000", r"\(an offset below Nyquist: 7000 Hz\) must lie in \(low_freq=7000"),
    ("kaldi-fbank:num_mel_bins=3", r"num_mel_bins > 3"),
])
def test_a_mel_range_outside_nyquist_is_a_config_error(spec, message):
    with pytest.raises(ConfigError, match=rf"extractor 'kaldi-fbank'.*{message}"):
        create_extractor(spec)


def test_ranges_inside_nyquist_and_offsets_below_it_are_accepted():
    assert KaldiFbankConfig(sample_rate=8000, high_freq=4000).mel_high_freq == 4000
    assert KaldiFbankConfig(high_freq=-400).mel_high_freq == 7600
    assert KaldiFbankConfig().mel_high_freq == 8000
    create_extractor("kaldi-fbank:sample_rate=8000,high_freq=3800,low_freq=100")
