"""`mmdata extract crema-d` end to end on a fake clone of real WAV tones (one pitch per emotion): a log-mel sequence
per clip with its emotion and actor in `extra`, an empty WAV, a git-lfs pointer and a clip the release holds damaged
in the errors table by path, a `check` that finds no error (every actor in one split), `fuse --class-label emotion`
turning the emotions into class ids, and `mmdata train classify` telling the emotions of the held-out actors apart
better than the majority class."""
from __future__ import annotations

import json

import pytest

import mmdata.corpora.crema_d  # noqa: F401  (registers `crema-d` until builtin.py imports it)
from mmdata.checks import check_dataset
from mmdata.fusion import FusedDataset
from tests.corpora.cli_extract import run_extract, run_mmdata
from tests.fakes.av import write_empty_file, write_tone_wav
from tests.fakes.crema_d import EMOTIONS, fake_clips, write_fake_crema_d

LOGMEL = ("--audio", "librosa-logmel")  # the features extracted
EMPTY, POINTER = "1001_DFA_NEU_XX", "1002_TIE_SAD_XX"  # a download that failed, a clone without git-lfs
DAMAGED = "1076_MTI_SAD_XX"  # silent in the release: left out unless -o keep_damaged=true


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crema-d")
    fake = write_fake_crema_d(tmp / "CREMA-D", fake_clips())
    write_empty_file(fake.root / "AudioWAV" / f"{EMPTY}.wav")
    (fake.root / "AudioWAV" / f"{POINTER}.wav").write_text("version https://git-lfs.github.com/spec/v1\n"
                                                           "oid sha256:00\nsize 72862\n")
    write_tone_wav(fake.root / "AudioWAV" / f"{DAMAGED}.wav", duration=0.5)
    for sample_id in (EMPTY, POINTER):
        del fake.expected[sample_id]
    return tmp, fake, run_extract("crema-d", fake.root, tmp / "out", LOGMEL)


def test_every_clip_is_a_row_with_its_emotion_actor_and_a_log_mel_sequence(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["audio"], row["transcript"], row["corpus"]) for sid, row in rows.items()} == {
        sid: (e.split, e.audio, e.transcript, "crema-d") for sid, e in fake.expected.items()}
    row = rows["1010_IEO_ANG_HI"]
    extra = json.loads(row["extra"])
    assert (row["split"], row["group_id"]) == ("test", "1010")
    assert (extra["emotion"], extra["level"], extra["actor"], extra["fold"], extra["sex"]) == (
        "anger", "high", 1010, 5, "female")
    logmel = data.read_table("audio.librosa-logmel").column("sample_id").to_pylist()
    assert sorted(logmel) == sorted(fake.expected)


def test_the_empty_wav_the_lfs_pointer_and_the_damaged_clip_are_in_the_errors_table_by_path(extracted):
    _, fake, data = extracted
    errors = {e["sample_id"]: e for e in data.errors().to_pylist()}
    assert {sid: (e["table"], e["path"]) for sid, e in errors.items()} == {
        sid: ("loader", f"{fake.root}/AudioWAV/{sid}.wav") for sid in (EMPTY, POINTER, DAMAGED)}
    assert "audio file is empty (0 bytes)" in errors[EMPTY]["reason"]
    assert "git-lfs pointer" in errors[POINTER]["reason"] and "git lfs pull" in errors[POINTER]["reason"]
    assert errors[DAMAGED]["reason"] == ("a damaged clip of the release (silent) that other loaders skip; "
                                         "-o keep_damaged=true keeps it; clip left out")


def test_check_finds_no_error(extracted):
    _, _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert {i.code for i in report.issues if i.severity == "warning"} == {"loader-errors"}


def test_fuse_class_label_emotion_and_train_classify_tell_the_held_out_actors_apart(extracted):
    tmp, fake, data = extracted
    fused = tmp / "fused"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "emotion")
    classes = sorted({"ANG": "anger", "NEU": "neutral", "SAD": "sad"}[e] for e in EMOTIONS)
    assert json.loads((fused / "fused.json").read_text())["classes"] == classes
    metrics = tmp / "classify.json"
    run_mmdata("train", "classify", str(fused), "--json", str(metrics))
    info = json.loads(metrics.read_text())
    [linear] = [r for r in info["results"] if r["model"] == "linear" and r["details"]["split"] == "test"]
    [majority] = [r for r in info["results"] if r["model"] == "majority" and r["details"]["split"] == "test"]
    assert linear["details"]["rows"] == sum(e.split == "test" for e in fake.expected.values())
    assert linear["metrics"]["acc"] > majority["metrics"]["acc"]
    assert linear["metrics"]["acc"] == 1.0  # one pitch per emotion: separable
    tested = {item["sample_id"] for item in FusedDataset(fused, split="test")}
    assert {sid[:4] for sid in tested} == {"1005", "1010", "1015"}  # fold 5's actors


def test_media_audio_video_extracts_the_wavs_beside_the_flvs(tmp_path):
    fake = write_fake_crema_d(tmp_path / "corpus", fake_clips((1001, 1005)), media="audio+video")
    data = run_extract("crema-d", fake.root, tmp_path / "out", LOGMEL, "-o", "media=audio+video")
    assert data.errors().num_rows == 0
    rows = data.samples_table().to_pylist()
    assert {r["sample_id"]: (r["audio"], r["video"]) for r in rows} == {
        sid: (e.audio, e.video) for sid, e in fake.expected.items()}
    assert sorted(data.read_table("audio.librosa-logmel").column("sample_id").to_pylist()) == sorted(fake.expected)
