"""`mmdata extract iemocap` end to end on a fake IEMOCAP_full_release of real WAV tones (one pitch per emotion of the
4-class set): a bag of words per transcription and a log-mel sequence per utterance, the emotions in `extra`, an
utterance whose WAV is gone in the errors table with its `file:line`, `mmdata check` exiting 0, `fuse --class-label
emotion4 --missing-class keep` giving the 4 classes (excited as happy; no-agreement and frustration class -1) and
`mmdata train classify` leaving the rows without a class out; with `-o media=dialog` the dialog's WAV and AVI read
over each utterance's span alone; an utterance without transcription kept and named; a session option out of range
refused in one line before anything is written."""
from __future__ import annotations

import json

import pytest

from mmdata.fusion import FusedDataset
from tests.cli_errors import one_line_error
from tests.corpora.cli_extract import invoke_mmdata, run_extract, run_mmdata
from tests.fakes.iemocap import UTTERANCES, label_path, write_fake_iemocap

GONE = "Ses02M_impro02_M001"  # its WAV never unpacked
FEATURES = ("--text", "hashed-bow", "--audio", "librosa-logmel")
EMOTION4 = {"neu": "neutral", "hap": "happy", "exc": "happy", "ang": "angry", "sad": "sad"}
CLASSES = ["angry", "happy", "neutral", "sad"]  # by sorted name


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("iemocap")
    fake = write_fake_iemocap(tmp / "IEMOCAP_full_release", missing=(GONE,), dialog_media_files=False)
    return tmp, fake, run_extract("iemocap", fake.root, tmp / "out", FEATURES)


def test_every_utterance_is_a_row_with_its_emotions_and_features(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["audio"], row["transcript"], row["corpus"]) for sid, row in rows.items()} == {
        sid: (e.split, e.audio, e.transcript, "iemocap") for sid, e in fake.expected.items()}
    by_id = {u.sample_id: u for u in UTTERANCES}
    assert {sid: (json.loads(row["extra"]).get("emotion4"), row["group_id"], row["label"])
            for sid, row in rows.items()} == {sid: (EMOTION4.get(by_id[sid].code), by_id[sid].dialog, None)
                                               for sid in rows}
    assert json.loads(rows["Ses01F_impro01_M000"]["extra"])["emotion"] == "no-agreement"
    for table in ("text.hashed-bow", "audio.librosa-logmel"):
        assert sorted(data.read_table(table).column("sample_id").to_pylist()) == sorted(rows), table


def test_the_utterance_whose_wav_is_gone_is_in_the_errors_table_with_its_line(extracted):
    _, fake, data = extracted
    [error] = data.errors().to_pylist()
    assert (error["table"], error["sample_id"], error["path"]) == (
        "loader", GONE, f"{label_path(fake.root, 'Ses02M_impro02')}:17")
    assert error["reason"] == (f"audio file {GONE}.wav not found in Session2/sentences/wav/Ses02M_impro02/; line "
                               "left out")
    assert data.manifest.extra["loader"]["media_missing"] == 1


def test_check_exits_0(extracted):
    _, _, data = extracted
    result = run_mmdata("check", str(data.root))
    assert "split-leak" not in result.output


def test_fuse_emotion4_keeping_the_other_emotions_as_no_class_then_train_classify(extracted):
    tmp, _, data = extracted
    fused = tmp / "fused"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "emotion4",
               "--missing-class", "keep")
    assert json.loads((fused / "fused.json").read_text())["classes"] == CLASSES
    codes = {u.sample_id: u.code for u in UTTERANCES}
    for split in ("train", "test"):
        items = {item["sample_id"]: int(item["class_id"]) for item in FusedDataset(fused, split=split)}
        assert {sid: CLASSES[i] if i >= 0 else None for sid, i in items.items()} == {
            sid: EMOTION4.get(codes[sid]) for sid in items}
    metrics = tmp / "classify.json"
    run_mmdata("train", "classify", str(fused), "--json", str(metrics))
    info = json.loads(metrics.read_text())
    assert info["classes"] == CLASSES
    [linear] = [r for r in info["results"] if r["model"] == "linear" and r["details"]["split"] == "test"]
    assert linear["details"]["rows"] == sum(u.session == 5 and u.code in EMOTION4 for u in UTTERANCES)
    without = sum(u.code not in EMOTION4 for u in UTTERANCES if u.sample_id != GONE)  # the xxx and the fru
    assert f"rows without a class (class_id -1) left out: train {without}" in info["notes"]


def test_media_dialog_reads_each_utterances_span_of_the_dialogs_wav_and_avi(tmp_path):
    fake = write_fake_iemocap(tmp_path / "IEMOCAP_full_release",
                              tuple(u for u in UTTERANCES if u.dialog in ("Ses01F_impro01", "Ses05F_script03_2")))
    data = run_extract("iemocap", fake.root, tmp_path / "out", ("--audio", "librosa-logmel", "--video",
                                                                "video-frames:pool=mean,fps=2"), "-o", "media=dialog")
    assert data.errors().num_rows == 0
    spans = {u.sample_id: (u.start, u.end) for u in UTTERANCES if u.dialog in ("Ses01F_impro01", "Ses05F_script03_2")}
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["start"], row["end"]) for sid, row in rows.items()} == spans
    logmel = {row["sample_id"]: row["intervals"] for row in data.read_table("audio.librosa-logmel").to_pylist()}
    assert set(logmel) == set(spans)
    for sid, intervals in logmel.items():  # the frames of the span alone, in the dialog's time line
        assert intervals[0][0] == pytest.approx(spans[sid][0]) and intervals[-1][1] == pytest.approx(spans[sid][1])
    assert data.read_table("video.frames-color-hist-mean").num_rows == len(spans)
    run_mmdata("check", str(data.root))


@pytest.mark.parametrize(("option", "expected"), [
    ("test_session=6", "option test_session=6: expected a session of [1, 2, 3, 4, 5]"),
    ("val_session=5", "option val_session=5: expected a session of [1, 2, 3, 4, 5] other than test_session=5"),
])
def test_a_session_option_out_of_range_is_one_line_before_anything_is_written(extracted, tmp_path, option, expected):
    _, fake, _ = extracted
    line = one_line_error(invoke_mmdata("extract", "iemocap", str(fake.root), str(tmp_path / "out"), "-q",
                                        "-o", option))
    assert expected in line and "corpus 'iemocap'" in line
    assert not (tmp_path / "out").exists()


def test_an_utterance_without_transcription_is_kept_named_by_the_loader_and_the_text_table(tmp_path):
    fake = write_fake_iemocap(tmp_path / "IEMOCAP_full_release", untranscribed=("Ses01F_impro01_M000",),
                              dialog_media_files=False)
    data = run_extract("iemocap", fake.root, tmp_path / "out", FEATURES)
    errors = {(e["table"], e["sample_id"]) for e in data.errors().to_pylist()}
    assert errors == {("loader", "Ses01F_impro01_M000"), ("text.hashed-bow", "Ses01F_impro01_M000")}
    assert "Ses01F_impro01_M000" in data.read_table("audio.librosa-logmel").column("sample_id").to_pylist()
    run_mmdata("check", str(data.root))  # warnings, exit 0


def test_leave_one_session_out_runs_from_this_one_extraction(extracted):
    tmp, _, data = extracted
    run_mmdata("train", "cross-validate", str(data.root), str(tmp / "cv"), "--fold-by", "session",
               "--class-label", "emotion4", "--missing-class", "keep", "--val", "next")
    saved = json.loads((tmp / "cv" / "cross-validate.json").read_text())
    sessions = sorted({u.session for u in UTTERANCES})  # the fake's: 1, 2, 3, 5
    assert [(f["fold"], f["val"]) for f in saved["folds"]] == [
        (str(s), str(sessions[(i + 1) % len(sessions)])) for i, s in enumerate(sessions)]
    for fold in saved["folds"]:
        [linear] = [r for r in fold["results"] if r["model"] == "linear" and r["details"]["split"] == "test"]
        assert linear["details"]["rows"] == sum(u.session == int(fold["fold"]) and u.code in EMOTION4
                                                and u.sample_id != GONE for u in UTTERANCES)
    assert saved["summary"]["models"]["linear"]["acc"]["n"] == len(sessions)
