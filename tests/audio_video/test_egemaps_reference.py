"""`egemaps`: LLDs and functionals equal the opensmile package's own output for the same segment,
LLD intervals follow openSMILE's frame times, samples beyond full scale are clipped (not wrapped),
and segments too short for openSMILE fail with a MediaError instead of a row of NaN."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ConfigError, MediaError
from mmdata.features import create_extractor
from mmdata.features.audio_opensmile import MIN_SECONDS
from tests.fakes.av import speech, tone, write_silent_wav, write_wav


def row(path, start=None, end=None, sample_id="s1"):
    return {"sample_id": sample_id, "audio": path.name, "video": None, "start": start, "end": end}


def smile(level: str):
    import opensmile

    levels = {"lld": opensmile.FeatureLevel.LowLevelDescriptors, "functionals": opensmile.FeatureLevel.Functionals}
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=levels[level])


def reference_segment(path, start: float, end: float, sample_rate: int = 16000) -> np.ndarray:
    """The segment decoded without mmdata: soundfile, channel mean, soxr (high quality) to `sample_rate`."""
    import librosa
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data[int(round(start * rate)) : int(round(end * rate))].mean(axis=1, dtype=np.float32)
    return librosa.resample(mono, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq").astype(np.float32)


@pytest.fixture(scope="module")
def stereo_speech(tmp_path_factory):
    """espeak-ng speech as a 44.1 kHz stereo WAV (right channel at half amplitude)."""
    voice = speech("openSMILE measures loudness and pitch", sample_rate=44100)
    root = tmp_path_factory.mktemp("smile")
    return write_wav(root / "stereo44k.wav", np.stack([voice, 0.5 * voice], axis=1), 44100)


def test_egemaps_lld_equals_opensmile_and_intervals_follow_its_frame_times(stereo_speech):
    start, end = 0.4, 1.6
    extractor = create_extractor("egemaps")
    frames, intervals = extractor.decode(row(stereo_speech, start, end), stereo_speech.parent)
    expected = smile("lld").process_signal(reference_segment(stereo_speech, start, end), 16000)
    assert frames.shape == expected.shape and frames.shape[1] == 25 and 110 <= len(frames) <= 120
    assert extractor.provenance()["columns"] == list(expected.columns)
    np.testing.assert_allclose(frames, expected.to_numpy(np.float32), rtol=1e-6, atol=1e-6)
    assert np.isfinite(frames).all()
    # openSMILE's frame i spans [t_i, t_i + 20 ms] of the segment; its row owns the 10 ms cell around
    # t_i + 10 ms, in media-file seconds (the first from the segment start, the last to its end)
    times = expected.index.get_level_values("start").total_seconds().to_numpy()
    np.testing.assert_allclose(times, np.arange(len(frames)) * 0.01, atol=1e-9)
    assert extractor.output_spec().frame_rate == 100.0
    np.testing.assert_allclose(intervals[1:-1].mean(axis=1), start + times[1:-1] + 0.01, atol=1e-9)
    assert intervals[0, 0] == pytest.approx(start) and intervals[-1, 1] == pytest.approx(end)
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])


def test_egemaps_functionals_equal_opensmile_one_vector_per_segment(stereo_speech):
    extractor = create_extractor("egemaps:level=functionals")
    vector = extractor.decode(row(stereo_speech, 0.4, 1.6), stereo_speech.parent)
    expected = smile("functionals").process_signal(reference_segment(stereo_speech, 0.4, 1.6), 16000)
    assert vector.shape == (88,) == (expected.shape[1],) and len(expected) == 1
    assert extractor.provenance()["columns"] == list(expected.columns)
    np.testing.assert_allclose(vector, expected.to_numpy(np.float32)[0], rtol=1e-6, atol=1e-6)
    assert extractor.compute([vector]) == [vector]


def test_egemaps_clips_samples_beyond_full_scale_instead_of_wrapping_them(tmp_path):
    # a float WAV at 1.2x full scale: opensmile's int16 cast would turn +1.2 into about -0.8
    loud = 1.2 * tone(200, 1.0, amplitude=1.0)
    path = write_wav(tmp_path / "over.wav", loud, subtype="FLOAT")
    vector = create_extractor("egemaps:level=functionals").decode(row(path), tmp_path)
    names = list(smile("functionals").feature_names)
    clipped = smile("functionals").process_signal(np.clip(loud, -1, 32767 / 32768), 16000).to_numpy(np.float32)[0]
    wrapped = smile("functionals").process_signal(loud, 16000).to_numpy(np.float32)[0]
    np.testing.assert_allclose(vector, clipped, rtol=1e-6, atol=1e-6)
    jitter, loudness = names.index("jitterLocal_sma3nz_amean"), names.index("loudness_sma3_amean")
    assert vector[jitter] == pytest.approx(0, abs=1e-3) and wrapped[jitter] > 0.1  # a clipped sine has no jitter
    assert vector[loudness] < 0.5 * wrapped[loudness]


def test_egemaps_rejects_a_segment_shorter_than_one_pitch_window(tmp_path):
    path = write_wav(tmp_path / "tone.wav", tone(200, 1.0))
    for level in ("lld", "functionals"):
        extractor = create_extractor(f"egemaps:level={level}")
        with pytest.raises(MediaError, match=r"tone.wav: segment of 59.9 ms is too short for openSMILE eGeMAPS: "
                                             r"expected at least 60 ms \(one pitch window\)"):
            extractor.decode(row(path, 0.5, 0.5 + 959 / 16000), tmp_path)
        shortest = extractor.decode(row(path, 0.5, 0.5 + MIN_SECONDS), tmp_path)
        values = shortest[0] if level == "lld" else shortest
        assert np.isfinite(values).all()  # openSMILE gives frames from 60 ms on: no NaN
    frames, intervals = create_extractor("egemaps").decode(row(path, 0.5, 0.56), tmp_path)
    assert len(frames) == 2 and intervals[0, 0] == pytest.approx(0.5) and intervals[-1, 1] == pytest.approx(0.56)


def test_egemaps_of_allowed_silence_is_finite_and_silence_fails_by_default(tmp_path):
    path = write_silent_wav(tmp_path / "silent.wav", 0.5)
    with pytest.raises(MediaError, match="is silent"):
        create_extractor("egemaps:level=functionals").decode(row(path), tmp_path)
    vector = create_extractor("egemaps:level=functionals,on_silence=allow").decode(row(path), tmp_path)
    names = list(smile("functionals").feature_names)
    assert np.isfinite(vector).all() and vector[names.index("F0semitoneFrom27.5Hz_sma3nz_amean")] == 0


def test_egemaps_rejects_a_non_positive_sample_rate():
    with pytest.raises(ConfigError, match="sample_rate must be > 0, got 0"):
        create_extractor("egemaps:sample_rate=0")
