"""Audio extractors against the reference libraries called directly on the same decoded samples:
librosa's melspectrogram/mfcc, torchaudio's MelSpectrogram/MFCC and compliance.kaldi.fbank; frame
counts and media-file intervals as the module docstring of `mmdata.features.audio` defines them."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.media.audio import AudioSegment, load_audio

RATE = 16000
#: The librosa/torchaudio agreement the module docstring states.
LOGMEL_ATOL = 1e-3
MFCC_ATOL = 2e-3
#: A variant of every documented STFT option: window shorter than n_fft, band limits, reflect padding.
OPTIONS = ["", "pad_mode=reflect,n_mels=64,f_min=30,f_max=7000,n_fft=512,win_length=400,hop_length=128"]


def row(path, start=None, end=None):
    return {"sample_id": "s", "audio": path.name, "video": None, "start": start, "end": end}


@pytest.fixture(scope="module")
def segments(media):
    """Decoded segments: speech ending in digital silence, a cut of a tone, a 44.1 kHz stereo file."""
    return [
        load_audio(media.speech_wav, sample_rate=RATE),
        load_audio(media.tone_wav, sample_rate=RATE, start=0.2, end=0.537),
        load_audio(media.stereo_44k_wav, sample_rate=RATE, start=0.1, end=0.9),
    ]


def make(name: str, options: str):
    return create_extractor(name + (":" + options if options else ""))


def librosa_kwargs(cfg) -> dict:
    return dict(sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length, window="hann",
                center=True, pad_mode=cfg.pad_mode, power=2.0, n_mels=cfg.n_mels, fmin=cfg.f_min, fmax=cfg.f_max,
                htk=False)


def torchaudio_kwargs(cfg) -> dict:
    return dict(n_fft=cfg.n_fft, win_length=cfg.win_length, hop_length=cfg.hop_length, f_min=cfg.f_min, f_max=cfg.f_max,
                n_mels=cfg.n_mels, center=True, pad_mode=cfg.pad_mode, norm="slaney", mel_scale="slaney")


def burst_at_the_end(hop: int = 160) -> np.ndarray:
    """A quiet tone, digital silence, then a loud two-sample click that ends 150 samples after the
    last frame's centre: the frame after it (batch padding) holds the click at its window peak."""
    x = np.zeros(50 * hop + 150, np.float32)
    x[:4000] = 0.01 * np.sin(2 * np.pi * 300 * np.arange(4000) / RATE)
    x[-2:] = [-0.9, 0.9]
    return x


@pytest.mark.parametrize("options", OPTIONS)
def test_librosa_extractors_equal_librosa_feature_calls_frame_by_frame(segments, librosa_ready, options):
    import librosa
    import scipy.fft

    logmel, mfcc = make("librosa-logmel", options + ",log_offset=1e-3"), make("librosa-mfcc", options + ",n_mfcc=20")
    for segment in segments:
        x = segment.samples
        mel = librosa.feature.melspectrogram(y=x, norm="slaney", **librosa_kwargs(logmel.config))
        frames = logmel.frames(x)
        assert frames.shape == (1 + len(x) // logmel.config.hop_length, logmel.config.n_mels)
        np.testing.assert_array_equal(frames, np.log(mel + 1e-3).T)
        expected = librosa.feature.mfcc(y=x, n_mfcc=20, dct_type=2, norm="ortho", lifter=0, mel_norm="slaney",
                                        **librosa_kwargs(mfcc.config))
        np.testing.assert_array_equal(mfcc.frames(x), expected.T)
        # the documented definition spelt out: orthonormal DCT-II of dB floored 80 dB below the peak
        decibels = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
        by_definition = scipy.fft.dct(decibels, type=2, norm="ortho", axis=0)[:20].T
        np.testing.assert_allclose(mfcc.frames(x), by_definition, atol=1e-3, rtol=0)


@pytest.mark.parametrize("options", OPTIONS)
def test_torchaudio_extractors_equal_torchaudio_transforms(segments, options):
    import torch
    import torchaudio

    logmel, mfcc = make("torchaudio-logmel", options), make("torchaudio-mfcc", options + ",n_mfcc=20")
    cfg = logmel.config
    mel_transform = torchaudio.transforms.MelSpectrogram(sample_rate=RATE, power=2.0, **torchaudio_kwargs(cfg))
    mfcc_transform = torchaudio.transforms.MFCC(sample_rate=RATE, n_mfcc=20, dct_type=2, norm="ortho", log_mels=False,
                                                melkwargs=torchaudio_kwargs(cfg))
    for segment, (frames, _), (coefficients, _) in zip(segments, logmel.compute(segments), mfcc.compute(segments)):
        x = torch.from_numpy(segment.samples)
        np.testing.assert_allclose(frames, torch.log(mel_transform(x) + cfg.log_offset).T.numpy(), atol=1e-4, rtol=0)
        np.testing.assert_allclose(coefficients, mfcc_transform(x).T.numpy(), atol=1e-3, rtol=0)


@pytest.mark.parametrize("options", OPTIONS)
def test_librosa_and_torchaudio_agree_within_the_documented_tolerance(segments, librosa_ready, options):
    extra = [AudioSegment(burst_at_the_end(), RATE, 0.0, "burst.wav")]
    for kind, atol in (("logmel", LOGMEL_ATOL), ("mfcc", MFCC_ATOL)):
        by_librosa, by_torch = make(f"librosa-{kind}", options), make(f"torchaudio-{kind}", options)
        for segment, (frames, _) in zip(segments + extra, by_torch.compute(segments + extra)):
            np.testing.assert_allclose(frames, by_librosa.frames(segment.samples), atol=atol, rtol=0)


def test_mfcc_of_a_short_item_does_not_depend_on_the_longer_items_of_its_batch():
    # MFCC floors each item at 80 dB below its peak; a peak taken over the padded frames of the batch
    # moved the floor of this item's silent frames by ~58 dB.
    short = AudioSegment(burst_at_the_end(), RATE, 0.0, "short.wav")
    long_ = AudioSegment(np.random.default_rng(0).normal(0, 0.3, 2 * RATE).astype(np.float32), RATE, 0.0, "long.wav")
    extractor = create_extractor("torchaudio-mfcc")
    (alone, _), = extractor.compute([short])
    (batched, _), _ = extractor.compute([short, long_])
    np.testing.assert_allclose(batched, alone, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["torchaudio-logmel", "torchaudio-mfcc", "torchaudio-logmel:pad_mode=reflect"])
def test_a_batch_of_64_gives_each_item_the_frames_and_intervals_it_has_alone(name):
    rng = np.random.default_rng(1)
    lengths = [1, 2, 199, 200, 399, 400, 401, 4150] + list(rng.integers(1, 3 * RATE, 56))
    items = [AudioSegment(rng.normal(0, 0.2, n).astype(np.float32), RATE, 1.5, f"{i}.wav") for i, n in enumerate(lengths)]
    items[7] = AudioSegment(burst_at_the_end(), RATE, 1.5, "burst.wav")
    extractor = create_extractor(name)
    for item, (frames, intervals) in zip(items, extractor.compute(items)):
        (alone, alone_intervals), = extractor.compute([item])
        assert frames.shape == alone.shape == (1 + len(item.samples) // 160, extractor.output_spec().dim)
        np.testing.assert_allclose(frames, alone, atol=1e-4, rtol=0)
        np.testing.assert_array_equal(intervals, alone_intervals)


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large for input signal:UserWarning")  # librosa, on the reference side
@pytest.mark.parametrize("n", [1, 399, 400, 401])
@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
def test_clips_up_to_n_fft_give_librosa_frames_on_both_paths(librosa_ready, n, pad_mode):
    x = np.random.default_rng(n).normal(0, 0.2, n).astype(np.float32)
    segment = AudioSegment(x, RATE, 0.25, "x.wav")
    for kind, atol in (("logmel", LOGMEL_ATOL), ("mfcc", MFCC_ATOL)):
        reference = create_extractor(f"librosa-{kind}:pad_mode={pad_mode}").frames(x)
        frames, intervals = create_extractor(f"torchaudio-{kind}:pad_mode={pad_mode}").compute([segment])[0]
        assert len(frames) == len(reference) == 1 + n // 160
        np.testing.assert_allclose(frames, reference, atol=atol, rtol=0)
        assert intervals[0, 0] == 0.25 and intervals[-1, 1] == pytest.approx(0.25 + n / RATE)


def test_resampled_stereo_segment_frames_and_intervals_in_file_seconds(media, librosa_ready):
    import librosa

    extractor = create_extractor("librosa-logmel")
    frames, intervals = extractor.decode(row(media.stereo_44k_wav, start=0.1, end=0.9), media.root)
    # the reference decoding: librosa.load (channel mean, then soxr_hq) of the same 0.1-0.9 s cut
    y, _ = librosa.load(media.stereo_44k_wav, sr=RATE, mono=True, offset=0.1, duration=0.8, res_type="soxr_hq")
    np.testing.assert_allclose(frames, extractor.frames(y), atol=1e-4, rtol=0)
    assert len(frames) == 1 + int(0.8 * RATE) // 160 == 81
    centres = 0.1 + np.arange(81) * 0.01
    np.testing.assert_allclose(intervals[1:-1].mean(axis=1), centres[1:-1], atol=1e-12)
    np.testing.assert_allclose(intervals[[0, -1]].ravel(), [0.1, 0.105, 0.895, 0.9])
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])


@pytest.mark.parametrize("options, window, shift", [
    ("", 400, 160), ("sample_rate=11025", 275, 110), ("frame_shift_ms=10.3", 400, 164),
    ("snip_edges=false", 400, 160), ("use_energy=true,num_mel_bins=40", 400, 160),
])
def test_kaldi_fbank_equals_compliance_fbank_with_kaldi_frame_geometry(media, options, window, shift):
    import torch
    from torchaudio.compliance import kaldi

    extractor = create_extractor("kaldi-fbank:" + options)
    cfg = extractor.config
    segment = extractor.decode(row(media.speech_wav, start=0.3, end=1.3), media.root)
    (frames, intervals), = extractor.compute([segment])
    expected = kaldi.fbank(torch.from_numpy(segment.samples * 32768.0)[None], num_mel_bins=cfg.num_mel_bins, dither=0.0,
                           frame_shift=cfg.frame_shift_ms, sample_frequency=cfg.sample_rate, snip_edges=cfg.snip_edges,
                           use_energy=cfg.use_energy).numpy()
    np.testing.assert_array_equal(frames, expected)
    n = len(segment.samples)
    count = 1 + (n - window) // shift if cfg.snip_edges else (n + shift // 2) // shift
    assert (cfg.frame_length, cfg.frame_shift, len(frames)) == (window, shift, count)
    assert extractor.output_spec().frame_rate == cfg.sample_rate / shift
    first_centre = window / 2 if cfg.snip_edges else shift / 2
    centres = 0.3 + (np.arange(count) * shift + first_centre) / cfg.sample_rate
    np.testing.assert_allclose(intervals[1:-1].mean(axis=1), centres[1:-1], atol=1e-12)
    assert intervals[0, 0] == pytest.approx(0.3) and intervals[-1, 1] == pytest.approx(0.3 + n / cfg.sample_rate)
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])


def test_kaldi_fbank_rejects_a_segment_shorter_than_one_window_without_snip_edges(media):
    extractor = create_extractor("kaldi-fbank:snip_edges=false")
    with pytest.raises(MediaError, match=r"shorter than one Kaldi frame \(25.0 ms\)"):
        extractor.decode(row(media.tone_wav, start=0.0, end=0.02), media.root)
    (frames, _), = extractor.compute([extractor.decode(row(media.tone_wav, start=0.0, end=0.025), media.root)])
    assert len(frames) == 3  # (400 + 80) // 160 centred frames


@pytest.mark.parametrize("spec", ["kaldi-fbank:sample_rate=0", "kaldi-fbank:num_mel_bins=0",
                                  "kaldi-fbank:frame_shift_ms=0.01", "kaldi-fbank:frame_length_ms=0.1"])
def test_kaldi_settings_giving_no_window_are_config_errors(spec):
    from mmdata.errors import ConfigError
    from mmdata.features.base import create_extractor

    with pytest.raises(ConfigError, match="extractor 'kaldi-fbank'"):
        create_extractor(spec)
