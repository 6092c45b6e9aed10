"""`mmdata extract ravdess` end to end on a fake RAVDESS of real WAV tones (one pitch per emotion): a log-mel sequence
per utterance with its emotion in `extra`, an empty WAV and a misnamed file in the errors table by path, a `check`
without errors (every actor in one split), `fuse --class-label emotion` turning the emotions into class ids (by
sorted name) and `mmdata train classify` telling the emotions of the held-out actors apart, C chosen on a `val`
fold; with `-o media=video` the full-AV MP4s' sound tracks read; Kaggle's copy (the Actor_NN folders twice) read
once, one error row per repeated folder; a fold out of range refused in one line before anything is written."""
from __future__ import annotations

import json
import shutil

import pytest

from mmdata.checks import check_dataset
from mmdata.fusion import FusedDataset
from tests.cli_errors import one_line_error
from tests.corpora.cli_extract import invoke_mmdata, run_extract, run_mmdata
from tests.fakes.av import write_empty_file
from tests.fakes.ravdess import EMOTIONS, FULL_AV, VIDEO_ONLY, FakeUtterance, fake_utterances, write_fake_ravdess

ACTORS = (1, 2, 5, 6, 21, 22)  # folds 1, 2 and 6 (the test fold by default)
EMPTY = FakeUtterance(1, 3, 2, 1, 1, 6)  # happy, strong: its WAV is 0 bytes (a failed copy)
MISNAMED = "Actor_06/03-01-03-01-01-06.wav"  # six codes
LOGMEL = ("--audio", "librosa-logmel")
CLASSES = sorted(EMOTIONS.values())  # angry, happy, neutral, sad


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ravdess")
    fake = write_fake_ravdess(tmp / "RAVDESS", fake_utterances(ACTORS, repetitions=(1, 2)))
    write_empty_file(fake.root / "Actor_06" / EMPTY.name(3))
    (fake.root / MISNAMED).write_bytes((fake.root / "Actor_06" / "03-01-03-01-01-01-06.wav").read_bytes())
    return tmp, fake, run_extract("ravdess", fake.root, tmp / "out", LOGMEL)


def test_every_utterance_is_a_row_with_its_emotion_and_a_log_mel_sequence(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["audio"], row["transcript"], row["corpus"]) for sid, row in rows.items()} == {
        sid: (e.split, e.audio, e.transcript, "ravdess") for sid, e in fake.expected.items()}
    angry = rows["01-05-01-02-02-21"]
    assert (angry["split"], angry["group_id"], angry["label"]) == ("test", "actor_21", None)
    assert json.loads(angry["extra"]) == {"emotion": "angry", "intensity": "normal", "vocal_channel": "speech",
                                          "statement": 2, "repetition": 2, "actor": 21, "sex": "male", "fold": 6,
                                          "audio_duration": 0.5}
    assert sorted(data.read_table("audio.librosa-logmel").column("sample_id").to_pylist()) == sorted(rows)


def test_the_empty_wav_and_the_misnamed_file_are_in_the_errors_table_by_path(extracted):
    _, fake, data = extracted
    errors = {e["path"]: (e["table"], e["sample_id"], e["reason"]) for e in data.errors().to_pylist()}
    empty = str(fake.root / "Actor_06" / EMPTY.name(3))
    assert set(errors) == {empty, str(fake.root / MISNAMED)}
    assert errors[empty][:2] == ("loader", EMPTY.sample_id)
    assert errors[empty][2].startswith("audio file is empty (0 bytes)")
    assert errors[str(fake.root / MISNAMED)][2].startswith("03-01-03-01-01-06.wav: name is not seven two-digit codes")


def test_check_finds_no_error_every_actor_in_one_split(extracted):
    _, _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert {i.code for i in report.issues if i.severity == "warning"} == {"loader-errors"}


def test_fuse_class_label_emotion_and_train_classify_tell_the_held_out_actors_emotions_apart(extracted):
    tmp, fake, data = extracted
    fused = tmp / "fused"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "emotion")
    assert json.loads((fused / "fused.json").read_text())["classes"] == CLASSES
    ids = {item["sample_id"]: int(item["class_id"]) for item in FusedDataset(fused, split="test")}
    assert {sid: CLASSES[i] for sid, i in ids.items()} == {
        sid: EMOTIONS[int(sid.split("-")[1])] for sid, e in fake.expected.items() if e.split == "test"}
    metrics = tmp / "classify.json"
    run_mmdata("train", "classify", str(fused), "--json", str(metrics))
    info = json.loads(metrics.read_text())
    assert info["classes"] == CLASSES
    [linear] = [r for r in info["results"] if r["model"] == "linear" and r["details"]["split"] == "test"]
    [majority] = [r for r in info["results"] if r["model"] == "majority" and r["details"]["split"] == "test"]
    assert linear["details"]["rows"] == 2 * len(EMOTIONS) * 2 * 2  # actors 21, 22: 4 emotions, 2 statements, 2 takes
    assert linear["metrics"]["acc"] > majority["metrics"]["acc"]  # one pitch per emotion: separable
    assert linear["metrics"]["acc"] == 1.0


def test_val_fold_is_the_split_train_classify_picks_c_on(tmp_path):
    fake = write_fake_ravdess(tmp_path / "corpus", fake_utterances(ACTORS))
    data = run_extract("ravdess", fake.root, tmp_path / "out", LOGMEL, "-o", "test_fold=1", "-o", "val_fold=2")
    assert {(row["split"], row["group_id"]) for row in data.samples_table().to_pylist()} == {
        ("test", "actor_01"), ("test", "actor_02"), ("val", "actor_05"), ("val", "actor_06"),
        ("train", "actor_21"), ("train", "actor_22")}
    run_mmdata("fuse", str(data.root), str(tmp_path / "fused"), "--format", "arrow", "--class-label", "emotion")
    run_mmdata("train", "classify", str(tmp_path / "fused"), "--json", str(tmp_path / "classify.json"))
    info = json.loads((tmp_path / "classify.json").read_text())
    assert {r["details"]["split"] for r in info["results"] if r["model"] == "linear"} == {"val", "test"}
    assert any("chosen on 'val' accuracy" in note for note in info["notes"])


def test_media_video_reads_the_sound_track_of_each_full_av_mp4(tmp_path):
    utterances = fake_utterances((1, 21), emotions=(1, 5))
    fake = write_fake_ravdess(tmp_path / "corpus", utterances, modalities=(FULL_AV, VIDEO_ONLY))
    data = run_extract("ravdess", fake.root, tmp_path / "out", LOGMEL, "-o", "media=video")
    assert data.errors().num_rows == 0
    rows = data.samples_table().to_pylist()
    assert sorted((row["sample_id"], row["video"], row["audio"]) for row in rows) == sorted(
        (u.sample_id, f"Actor_{u.actor:02d}/{u.name(FULL_AV)}", None) for u in utterances)
    assert sorted(data.read_table("audio.librosa-logmel").column("sample_id").to_pylist()) == sorted(
        u.sample_id for u in utterances)
    run_mmdata("check", str(data.root))


def test_kaggles_copy_holding_the_actor_folders_twice_is_one_error_row_per_folder(tmp_path):
    fake = write_fake_ravdess(tmp_path / "corpus", fake_utterances((1, 21), emotions=(3,)))
    for actor in ("Actor_01", "Actor_21"):  # Kaggle's mirror: Actor_NN/ again in audio_speech_actors_01-24/
        shutil.copytree(fake.root / actor, fake.root / "audio_speech_actors_01-24" / actor)
    data = run_extract("ravdess", fake.root, tmp_path / "out", LOGMEL)
    assert sorted(row["sample_id"] for row in data.samples_table().to_pylist()) == sorted(fake.expected)
    errors = data.errors().to_pylist()
    assert sorted((e["path"], e["error_type"], e["sample_id"]) for e in errors) == [
        (str(fake.root / "audio_speech_actors_01-24" / actor), "RepeatedEntry", None)
        for actor in ("Actor_01", "Actor_21")]
    assert all(e["reason"].startswith("2 files of audio_speech_actors_01-24/Actor_") for e in errors)
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []


def test_a_fold_out_of_range_is_one_line_before_anything_is_written(extracted, tmp_path):
    _, fake, _ = extracted
    line = one_line_error(invoke_mmdata("extract", "ravdess", str(fake.root), str(tmp_path / "out"), "-q",
                                        "-o", "test_fold=7"))
    assert "option test_fold=7: expected a fold of [1, 2, 3, 4, 5, 6]" in line and "corpus 'ravdess'" in line
    assert not (tmp_path / "out").exists()
