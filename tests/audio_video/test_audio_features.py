"""Audio extractors: librosa and torchaudio agree, batching changes nothing, intervals tile segments,
pYIN finds a tone's pitch, openSMILE eGeMAPS has its documented shapes."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.features.audio import cell_intervals, slaney_mel_filters, stft_intervals
from mmdata.features.audio_prosody import prosody_columns
from mmdata.media.audio import AudioSegment

# Stated tolerances of the librosa/torchaudio agreement (float32 on both sides).
LOGMEL_ATOL = 1e-3
MFCC_ATOL = 1e-2


def row(media, path, start=None, end=None, sample_id="s1", video=None):
    return {"sample_id": sample_id, "audio": None if path is None else path.name, "video": video,
            "start": start, "end": end}


def run(extractor, rows, root):
    return extractor.compute([extractor.decode(r, root) for r in rows])


@pytest.fixture(scope="module")
def rows(media):
    return [
        row(media, media.speech_wav, sample_id="speech"),
        row(media, media.tone_wav, start=0.2, end=0.537, sample_id="tone-part"),
        row(media, media.stereo_44k_wav, sample_id="resampled"),
    ]


@pytest.mark.parametrize("pad_mode, sample_rate", [("constant", 16000), ("reflect", 16000), ("constant", 11025)])
@pytest.mark.parametrize("kind", ["logmel", "mfcc"])
def test_librosa_and_torchaudio_agree_within_stated_tolerance(media, rows, librosa_ready, kind, pad_mode, sample_rate):
    # 11025 Hz: an odd rate, where torchaudio's own filter bank (bins up to sample_rate // 2) differs
    options = f":pad_mode={pad_mode},n_mels=64,sample_rate={sample_rate}" + (",n_mfcc=20" if kind == "mfcc" else "")
    by_librosa = run(create_extractor(f"librosa-{kind}{options}"), rows, media.root)
    by_torch = run(create_extractor(f"torchaudio-{kind}{options}"), rows, media.root)
    for (a, ia), (b, ib) in zip(by_librosa, by_torch):
        assert a.shape == b.shape and a.shape[1] == (20 if kind == "mfcc" else 64)
        np.testing.assert_allclose(a, b, atol=LOGMEL_ATOL if kind == "logmel" else MFCC_ATOL, rtol=0)
        np.testing.assert_array_equal(ia, ib)


@pytest.mark.parametrize("sample_rate, n_fft, n_mels, f_min, f_max", [
    (16000, 400, 80, 0.0, None), (11025, 512, 64, 0.0, None), (22050, 2048, 128, 0.0, None),
    (44100, 1024, 40, 0.0, 8000.0), (11025, 400, 80, 0.0, 4000.0), (16000, 400, 80, 50.0, 7000.0),
])
def test_mel_filters_are_librosas(sample_rate, n_fft, n_mels, f_min, f_max):
    import librosa

    ours = slaney_mel_filters(sample_rate, n_fft, n_mels, f_min, f_max)
    theirs = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=False,
                                 norm="slaney").T
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6 * theirs.max())


def test_torchaudio_batch_gives_the_same_frames_as_one_item_at_a_time(media, rows):
    for name in ("torchaudio-logmel", "torchaudio-mfcc"):
        extractor = create_extractor(name)
        items = [extractor.decode(r, media.root) for r in rows]
        batched = extractor.compute(items)
        for item, (frames, intervals) in zip(items, batched):
            alone, alone_intervals = extractor.compute([item])[0]
            np.testing.assert_allclose(frames, alone, atol=1e-4, rtol=0)
            np.testing.assert_array_equal(intervals, alone_intervals)


def test_frames_tile_the_segment_in_media_file_seconds(media, rows):
    extractor = create_extractor("torchaudio-logmel")
    spec = extractor.output_spec()
    assert (spec.kind, spec.intervals, spec.frame_rate, spec.dim) == ("sequence", True, 100.0, 80)
    frames, intervals = run(extractor, [rows[1]], media.root)[0]
    n = int(round((0.537 - 0.2) * 16000))
    assert len(frames) == 1 + n // 160
    assert intervals[0, 0] == pytest.approx(0.2) and intervals[0, 1] == pytest.approx(0.205)
    assert intervals[-1, 1] == pytest.approx(0.2 + n / 16000)
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])  # contiguous, no overlap
    np.testing.assert_allclose(intervals[1:-1, 1] - intervals[1:-1, 0], 0.01)


@pytest.mark.parametrize("sample_rate, hop, samples, frames", [
    (16000, 160, 32000, 201), (16000, 160, 32000, 1), (16000, 160, 32000, 0), (22050, 512, 22050, 44),
    (8000, 80, 8123, 102), (16000, 160, 1000, 9),  # the last centre, 0.08 s, lies past the 0.0625 s segment
])
def test_stft_intervals_equal_the_cells_of_the_frame_centres(sample_rate, hop, samples, frames):
    segment = AudioSegment(np.zeros(samples, np.float32), sample_rate, 3.25, "x.wav")
    expected = cell_intervals(np.arange(frames) * hop / sample_rate, segment.duration, segment.offset)
    got = stft_intervals(frames, hop, segment)
    assert got.shape == (frames, 2) and got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)  # bit for bit: the cached midpoints are the same sums


def test_kaldi_fbank_matches_torchaudio_compliance_and_centres_intervals(media):
    import torch
    from torchaudio.compliance import kaldi

    extractor = create_extractor("kaldi-fbank:num_mel_bins=40")
    segment = extractor.decode(row(media, media.tone_wav), media.root)
    frames, intervals = extractor.compute([segment])[0]
    expected = kaldi.fbank(torch.from_numpy(segment.samples * 32768.0)[None], num_mel_bins=40, dither=0.0).numpy()
    np.testing.assert_allclose(frames, expected, atol=1e-5)
    assert frames.shape == (1 + (16000 - 400) // 160, 40)
    # window i spans [i*10ms, i*10ms + 25ms]: cells of 10 ms around the window centres, the first from 0
    np.testing.assert_allclose(intervals[:2], [[0.0, 0.0175], [0.0175, 0.0275]])
    assert intervals[-1, 1] == pytest.approx(1.0)
    assert extractor.output_spec().frame_rate == 100.0


def test_kaldi_fbank_rejects_a_segment_shorter_than_one_frame(media):
    extractor = create_extractor("kaldi-fbank")
    with pytest.raises(MediaError, match=r"shorter than one Kaldi frame \(25.0 ms\)"):
        extractor.decode(row(media, media.tone_wav, start=0.0, end=0.01), media.root)


def test_sample_without_audio_uses_the_audio_track_of_its_video(media):
    extractor = create_extractor("torchaudio-logmel")
    frames, intervals = run(extractor, [row(media, None, video=media.video_with_audio.name, start=0.5, end=1.0)], media.root)[0]
    assert len(frames) == 51 and intervals[0, 0] == pytest.approx(0.5)
    with pytest.raises(MediaError, match="no audio stream"):
        extractor.decode(row(media, None, video=media.video_without_audio.name), media.root)
    with pytest.raises(MediaError, match="sample 's1' has no audio or video file"):
        extractor.decode(row(media, None), media.root)


def test_prosody_f0_of_a_tone_is_its_pitch_and_columns_are_documented(media, librosa_ready):
    extractor = create_extractor("prosody")
    frames, intervals = run(extractor, [row(media, media.tone_wav)], media.root)[0]
    columns = prosody_columns(13)
    assert frames.shape == (101, len(columns)) == (101, 23)
    assert extractor.provenance()["columns"] == list(columns)
    f0, voiced = frames[:, columns.index("f0_hz")], frames[:, columns.index("voiced")]
    assert voiced[5:-5].all()
    assert np.median(f0[voiced > 0]) == pytest.approx(220, abs=3)
    assert frames[:, columns.index("rms")].mean() == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    centroid = frames[5:-5, columns.index("spectral_centroid_hz")]
    assert np.median(centroid) == pytest.approx(220, abs=60)
    np.testing.assert_allclose(intervals[1, :], [0.005, 0.015])


def test_prosody_marks_speech_voiced_and_trailing_silence_unvoiced(media, librosa_ready):
    extractor = create_extractor("prosody")
    frames, intervals = run(extractor, [row(media, media.speech_wav)], media.root)[0]
    columns = prosody_columns(13)
    voiced = frames[:, columns.index("voiced")].astype(bool)
    f0 = frames[:, columns.index("f0_hz")]
    in_speech = intervals[:, 1] <= media.speech_seconds
    in_silence = intervals[:, 0] >= media.speech_seconds + 0.05
    assert voiced[in_speech].mean() > 0.3  # vowels are voiced
    assert not voiced[in_speech].all()  # consonants and pauses are not
    assert not voiced[in_silence].any() and not f0[in_silence].any()
    assert 60 <= np.median(f0[voiced]) <= 300  # a speaking voice


def test_egemaps_lld_and_functionals_are_distinct_tables_with_documented_dims(media):
    lld = create_extractor("egemaps")
    functionals = create_extractor("egemaps:level=functionals")
    assert (lld.table_name, functionals.table_name) == ("audio.egemaps-lld", "audio.egemaps-functionals")
    r = row(media, media.tone_wav, start=0.25, end=0.75)
    frames, intervals = run(lld, [r], media.root)[0]
    assert frames.shape[1] == 25 and 45 <= len(frames) <= 50
    assert lld.output_spec().frame_rate == 100.0 and len(lld.provenance()["columns"]) == 25
    assert intervals[0, 0] == pytest.approx(0.25) and intervals[-1, 1] == pytest.approx(0.75)
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])
    np.testing.assert_allclose(np.diff(intervals[1:-1, 0]), 0.01, atol=1e-6)
    (vector,) = run(functionals, [r], media.root)
    spec = functionals.output_spec()
    assert vector.shape == (88,) and (spec.kind, spec.dim) == ("pooled", 88)
    names = functionals.provenance()["columns"]
    assert vector[names.index("F0semitoneFrom27.5Hz_sma3nz_amean")] == pytest.approx(12 * np.log2(220 / 27.5), abs=1.0)


def test_silent_segment_fails_unless_allowed(media):
    with pytest.raises(MediaError, match="is silent"):
        create_extractor("librosa-logmel").decode(row(media, media.silent_wav), media.root)
    frames, _ = run(create_extractor("torchaudio-logmel:on_silence=allow"), [row(media, media.silent_wav)], media.root)[0]
    np.testing.assert_allclose(frames, np.log(1e-6), atol=1e-4)


@pytest.mark.parametrize("spec", ["torchaudio-logmel:n_mfcc=3", "librosa-mfcc:n_mfcc=100", "prosody:f0_min=10",
                                  "prosody:frame_rate=99", "kaldi-fbank:frame_shift_ms=0"])
def test_bad_options_are_config_errors(spec):
    from mmdata.errors import ConfigError

    with pytest.raises(ConfigError):
        create_extractor(spec)


@pytest.mark.parametrize("name", ["librosa-logmel", "torchaudio-mfcc", "kaldi-fbank", "prosody", "egemaps"])
def test_audio_tables_record_the_decoders_versions(name):
    from importlib.metadata import version

    versions = create_extractor(name).provenance()["versions"]
    # libsndfile, PyAV (the audio of a video, M4A) and the soxr resampler (through librosa) shape every frame
    for library in ("soundfile", "av", "librosa", "soxr"):
        assert versions[library] == version(library)
