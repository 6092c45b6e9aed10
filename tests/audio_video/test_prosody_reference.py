"""`prosody`: every column equals librosa's own computation frame by frame, on resampled stereo
speech cut from a longer file; rates, silence and too-short segments; bad items as error rows."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ConfigError, MediaError
from mmdata.features import create_extractor
from mmdata.features.audio_prosody import ProsodyConfig, prosody_columns, prosody_frames
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset
from tests.fakes.av import speech, tone, write_silent_wav, write_tone_wav, write_wav


def row(path, start=None, end=None, sample_id="s1"):
    return {"sample_id": sample_id, "audio": path.name, "video": None, "start": start, "end": end}


def reference_segment(path, start: float, end: float, sample_rate: int = 16000) -> np.ndarray:
    """The segment decoded without mmdata: soundfile, channel mean, soxr (high quality) to `sample_rate`."""
    import librosa
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data[int(round(start * rate)) : int(round(end * rate))].mean(axis=1, dtype=np.float32)
    return librosa.resample(mono, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq").astype(np.float32)


def reference_columns(y: np.ndarray) -> dict[str, np.ndarray]:
    """The prosody columns computed straight with librosa (each feature from the waveform)."""
    import librosa

    sr, hop, n_fft = 16000, 160, 400
    f0, voiced, voiced_prob = librosa.pyin(y, fmin=60, fmax=500, sr=sr, frame_length=1024, hop_length=hop)
    stft = dict(n_fft=n_fft, hop_length=hop, pad_mode="constant")
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)[0]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13, n_mels=40, **stft)
    return {
        "f0_hz": np.where(voiced, f0, 0.0), "voiced": voiced, "voiced_prob": voiced_prob,
        "rms": rms, "rms_db": 20 * np.log10(np.maximum(rms, 1e-10)),
        **{f"mfcc_{i}": mfcc[i] for i in range(13)},
        "spectral_centroid_hz": librosa.feature.spectral_centroid(y=y, sr=sr, **stft)[0],
        "spectral_bandwidth_hz": librosa.feature.spectral_bandwidth(y=y, sr=sr, **stft)[0],
        "spectral_flatness": librosa.feature.spectral_flatness(y=y, **stft)[0],
        "spectral_rolloff_hz": librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85, **stft)[0],
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)[0],
    }


# float32 storage of float64 librosa results: relative 1e-5 of each column's scale
def test_prosody_columns_equal_librosa_frame_by_frame_on_a_resampled_stereo_segment(tmp_path, librosa_ready):
    voice = speech("a quick test of pitch and energy", sample_rate=44100)
    path = write_wav(tmp_path / "stereo44k.wav", np.stack([voice, 0.5 * voice], axis=1), 44100)
    start, end = 0.3, 1.5
    extractor = create_extractor("prosody")
    frames, intervals = extractor.decode(row(path, start, end), tmp_path)
    y = reference_segment(path, start, end)
    columns = prosody_columns(13)
    assert frames.shape == (1 + len(y) // 160, len(columns)) and frames.dtype == np.float32
    assert extractor.provenance()["columns"] == list(columns)
    assert np.isfinite(frames).all()
    for name, expected in reference_columns(y).items():
        got, expected = frames[:, columns.index(name)], np.asarray(expected, np.float64)
        assert len(expected) == len(got), name
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * max(1.0, np.abs(expected).max()), err_msg=name)
    voiced = frames[:, columns.index("voiced")] > 0
    assert 0.2 < voiced.mean() < 1 and 70 < np.median(frames[voiced, 0]) < 300
    # intervals: media-file seconds, frame i centred at start + i / 100 s, 10 ms cells tiling the segment
    spec = extractor.output_spec()
    assert (spec.kind, spec.frame_rate, spec.dim) == ("sequence", 100.0, len(columns))
    centres = start + np.arange(len(frames)) / 100
    assert intervals[0, 0] == pytest.approx(start) and intervals[-1, 1] == pytest.approx(start + len(y) / 16000)
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])
    np.testing.assert_allclose(intervals[1:-1].mean(axis=1), centres[1:-1], atol=1e-9)
    np.testing.assert_allclose(intervals[1:-1, 1] - intervals[1:-1, 0], 0.01, atol=1e-9)


@pytest.mark.parametrize("sample_rate", [8000, 22050, 44100, 48000])
def test_prosody_resamples_any_file_rate_to_the_100_hz_grid(tmp_path, librosa_ready, sample_rate):
    path = write_tone_wav(tmp_path / f"tone{sample_rate}.wav", 200.0, 1.0, sample_rate)
    frames, intervals = create_extractor("prosody").decode(row(path), tmp_path)
    assert frames.shape == (101, 23) and intervals[-1, 1] == pytest.approx(1.0)
    assert frames[5:-5, 1].all() and np.median(frames[5:-5, 0]) == pytest.approx(200, abs=2)


def test_prosody_of_silence_is_unvoiced_with_zero_f0_and_finite_values(tmp_path, librosa_ready):
    path = write_silent_wav(tmp_path / "silent.wav", 0.5)
    with pytest.raises(MediaError, match="is silent"):
        create_extractor("prosody").decode(row(path), tmp_path)
    frames, _ = create_extractor("prosody:on_silence=allow").decode(row(path), tmp_path)
    columns = prosody_columns(13)
    assert frames.shape == (51, 23) and np.isfinite(frames).all()
    for name, value in [("f0_hz", 0), ("voiced", 0), ("voiced_prob", 0), ("rms", 0), ("rms_db", -200),
                        ("spectral_flatness", 1)]:  # flatness 1 in digital silence, as documented
        np.testing.assert_allclose(frames[:, columns.index(name)], value, atol=1e-4, err_msg=name)


def test_prosody_rejects_a_segment_too_short_for_pitch_and_keeps_the_shortest_allowed(tmp_path, librosa_ready):
    cfg = ProsodyConfig()
    assert cfg.min_samples == 534  # two periods of 60 Hz at 16 kHz, more than n_fft = 400
    noise = (0.3 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    path = write_wav(tmp_path / "noise.wav", noise, subtype="FLOAT")
    # 20 ms of white noise: pYIN would call it voiced at some made-up pitch
    with pytest.warns(UserWarning, match="n_fft=400 is too large"):
        assert prosody_frames(noise[:320], cfg)[:, 1].any()
    with pytest.raises(MediaError, match=r"noise.wav: segment of 20.0 ms is too short for prosody: expected at "
                                         r"least 33.4 ms \(two periods of f0_min=60 Hz and one n_fft=400 frame\)"):
        create_extractor("prosody").decode(row(path, 0.5, 0.52), tmp_path)
    frames, intervals = create_extractor("prosody").decode(row(path, 0.5, 0.5 + 534 / 16000), tmp_path)
    assert frames.shape == (4, 23) and not frames[:, 1].any()
    assert intervals[0, 0] == pytest.approx(0.5) and intervals[-1, 1] == pytest.approx(0.5 + 534 / 16000)
    # a higher f0_min lowers the bound to one n_fft frame
    assert ProsodyConfig(f0_min=100).min_samples == 400


def test_too_short_segments_become_error_rows_for_prosody_and_egemaps(tmp_path, librosa_ready):
    root = tmp_path / "raw"
    write_tone_wav(root / "audio/a.wav", 220, 1.0)
    # 20 ms: too short for both; 45 ms: enough for pYIN (33.4 ms), not for openSMILE's pitch window (60 ms)
    rows = ["segment_id,audio,video,start,end,label", "good,audio/a.wav,,0.2,0.7,1.0",
            "blip,audio/a.wav,,0.5,0.52,0.0", "word,audio/a.wav,,0.5,0.545,0.0"]
    (root / "segments.csv").write_text("\n".join(rows) + "\n")
    report = extract("mosi-raw", root, tmp_path / "out", extractors=["prosody", "egemaps"], num_workers=0)
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [("audio.prosody", 3, 1), ("audio.egemaps-lld", 3, 2)]
    data = open_dataset(tmp_path / "out")
    errors = {(e["table"], e["sample_id"]): e for e in data.errors().to_pylist()}
    assert sorted(errors) == [("audio.egemaps-lld", "blip"), ("audio.egemaps-lld", "word"), ("audio.prosody", "blip")]
    for e in errors.values():
        assert (e["error_type"], e["stage"], e["path"]) == ("MediaError", "decode", "audio/a.wav")
        assert "a.wav: segment of" in e["reason"] and "expected at least" in e["reason"]
    assert "is too short for prosody" in errors["audio.prosody", "blip"]["reason"]
    assert "45.0 ms is too short for openSMILE eGeMAPS" in errors["audio.egemaps-lld", "word"]["reason"]
    for table, failed, sizes in [("audio.prosody", {"blip"}, {"good": 51, "word": 5}),
                                 ("audio.egemaps-lld", {"blip", "word"}, {})]:
        by_id = {r["sample_id"]: r for r in data.table(table).to_table().to_pylist()}
        assert all(by_id[s]["feature"] is None for s in failed)
        for sample_id, frames in sizes.items():
            assert len(by_id[sample_id]["feature"]) == frames
        good, intervals = np.array(by_id["good"]["feature"]), np.array(by_id["good"]["intervals"])
        assert np.isfinite(good).all()
        assert intervals[0, 0] == pytest.approx(0.2) and intervals[-1, 1] == pytest.approx(0.7)
        assert data.spec(table).frame_rate == 100.0 and len(data.table_metadata(table)["columns"]) == good.shape[1]


@pytest.mark.parametrize("spec", ["prosody:frame_rate=0", "prosody:n_fft=0", "prosody:sample_rate=-16000"])
def test_prosody_rejects_non_positive_rates_and_sizes_as_config_errors(spec):
    with pytest.raises(ConfigError, match="must be > 0"):
        create_extractor(spec)


def test_prosody_tone_segment_values_do_not_depend_on_the_rest_of_the_file(tmp_path, librosa_ready):
    # the segment is cut before analysis: frames of [0.25, 0.75] of a file equal those of the cut alone
    signal = np.concatenate([tone(150, 0.25), tone(220, 0.5), tone(330, 0.25)])
    whole = write_wav(tmp_path / "three.wav", signal)
    alone = write_wav(tmp_path / "middle.wav", signal[4000:12000])
    extractor = create_extractor("prosody")
    cut, cut_intervals = extractor.decode(row(whole, 0.25, 0.75), tmp_path)
    own, own_intervals = extractor.decode(row(alone), tmp_path)
    np.testing.assert_array_equal(cut, own)
    np.testing.assert_allclose(cut_intervals, own_intervals + 0.25)
