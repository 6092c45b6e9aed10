"""mosi-raw: a missing WAV is a load problem and an audio error, never silently the MP4's audio track."""
from __future__ import annotations

from mmdata.corpora import load_corpus
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset
from tests.fakes import samples_by_id
from tests.fakes.av import tone, write_fake_mosi_cmu, write_mp4, write_tone_wav

WAV_DIR = "Raw/Audio/WAV_16000/Segmented"


def test_a_clip_missing_its_wav_is_a_problem_and_keeps_the_missing_wav_as_its_audio(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / WAV_DIR / "a_b-1_1.wav").unlink()  # its MP4 has an audio track; a_b-1_2 keeps its WAV
    result = load_corpus("mosi-raw", fake.root)
    samples = samples_by_id(result)
    assert sorted(samples) == ["Xy9_1", "a_b-1_1", "a_b-1_2"]  # the sample stays, for its video and text
    assert (samples["a_b-1_1"].audio, samples["a_b-1_1"].video) == (f"{WAV_DIR}/a_b-1_1.wav",
                                                                     "Raw/Video/Segmented/a_b-1_1.mp4")
    assert samples["a_b-1_1"].transcript == "i thought it was pretty good"
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("a_b-1_1", str(fake.root / WAV_DIR / "a_b-1_1.wav"))
    assert problem.reason.startswith(f"WAV file not found: {WAV_DIR}/a_b-1_1.wav (the other clips of video 'a_b-1' "
                                     "have one); sample kept with that audio path")
    # A video without any WAV (MP4-only clips) still takes its audio from the MP4.
    assert samples["Xy9_1"].audio is None


def test_a_corpus_without_a_wav_folder_takes_the_audio_from_the_mp4s(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    for wav in (fake.root / WAV_DIR).glob("*.wav"):
        wav.unlink()
    (fake.root / WAV_DIR).rmdir()
    result = load_corpus("mosi-raw", fake.root)
    assert {s.sample_id: s.audio for s in result.samples} == {"Xy9_1": None, "a_b-1_1": None}
    assert [p.sample_id for p in result.problems if "WAV file not found" in p.reason] == []  # a_b-1_2 had only a WAV


def test_extraction_fails_the_audio_of_the_clip_naming_the_missing_wav(tmp_path, librosa_ready):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / WAV_DIR / "a_b-1_1.wav").unlink()
    report = extract("mosi-raw", fake.root, tmp_path / "out", extractors=["librosa-logmel", "hashed-bow"],
                     num_workers=0)
    assert {t.name: (t.rows, t.errors) for t in report.tables} == {"audio.librosa-logmel": (3, 1),
                                                                   "text.hashed-bow": (3, 0)}
    data = open_dataset(tmp_path / "out")
    errors = {(e["table"], e["sample_id"]): e for e in data.errors().to_pylist()}
    assert sorted(errors) == [("audio.librosa-logmel", "a_b-1_1"), ("loader", "a_b-1_1")]
    audio = errors[("audio.librosa-logmel", "a_b-1_1")]
    assert audio["path"] == f"{WAV_DIR}/a_b-1_1.wav"
    assert audio["reason"] == f"audio file not found: {fake.root / WAV_DIR / 'a_b-1_1.wav'}"
    assert errors[("loader", "a_b-1_1")]["path"] == str(fake.root / WAV_DIR / "a_b-1_1.wav")
    assert data.manifest.samples["loader_errors"] == 1
    features = {r["sample_id"]: r["feature"] for r in data.table("audio.librosa-logmel").to_table().to_pylist()}
    assert features["a_b-1_1"] is None and features["Xy9_1"] is not None  # Xy9_1: MP4-only, its audio track


def test_mosei_recording_missing_its_wav_is_a_problem(tmp_path):
    root = tmp_path / "mosei"
    combined = root / "Raw/Transcript/Segmented/Combined"
    combined.mkdir(parents=True)
    (combined / "v1.txt").write_text("v1___1___0.0___0.5___fine\n")
    (combined / "v2.txt").write_text("v2___1___0.0___0.5___also fine\n")
    write_tone_wav(root / "Raw/Audio/Full/WAV_16000/v1.wav", duration=1.0)
    write_mp4(root / "Raw/Videos/Full/Combined/v2.mp4", [(32, 96, 224)], fps=10, frames_per_color=10, size=(32, 24),
              audio=tone(220, 1.0))
    result = load_corpus("mosi-raw", root)
    samples = samples_by_id(result)
    assert (samples["v2_1"].audio, samples["v2_1"].video) == ("Raw/Audio/Full/WAV_16000/v2.wav",
                                                              "Raw/Videos/Full/Combined/v2.mp4")
    assert [(p.sample_id, p.path) for p in result.problems] == [("v2_1", str(root / "Raw/Audio/Full/WAV_16000/v2.wav"))]
    assert "WAV file not found: Raw/Audio/Full/WAV_16000/v2.wav (the other recordings have one)" in result.problems[0].reason


def test_check_counts_a_clip_kept_with_a_load_problem_as_kept_not_left_out(tmp_path):
    from mmdata.checks import check_dataset

    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / WAV_DIR / "a_b-1_1.wav").unlink()
    extract("mosi-raw", fake.root, tmp_path / "out", extractors=["hashed-bow"], num_workers=0)
    [issue] = [i for i in check_dataset(tmp_path / "out").issues if i.code == "loader-errors"]
    assert issue.sample_id == "a_b-1_1" and "1 samples were kept with a problem the loader recorded" in issue.message
    assert "left out" not in issue.message
