"""Cross-corpus emotion recognition end to end: a fake CREMA-D and a fake RAVDESS (real WAV tones, one pitch per
emotion, the same in both) extracted with log-mel, merged by `mmdata merge`, checked clean, fused with the
built-in `emotions` class map (CREMA-D's `anger` and RAVDESS's `angry` one class), trained on one corpus and
tested on the other, and cross-validated leaving each corpus out in turn (`--fold-by source_dataset`)."""
from __future__ import annotations

import json

import pytest

from mmdata import check_dataset, open_dataset
from tests.corpora.cli_extract import invoke_mmdata, run_extract, run_mmdata
from tests.fakes import crema_d as fake_crema_d
from tests.fakes.ravdess import fake_utterances, pitch, write_fake_ravdess

LOGMEL = ("--audio", "librosa-logmel")
EMOTIONS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
#: RAVDESS's codes of the emotions CREMA-D's fake speaks (angry, neutral, sad): CREMA-D's tones made the same.
SAME_TONES = {"ANG": pitch(5), "NEU": pitch(1), "SAD": pitch(4)}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("emotion")
    with pytest.MonkeyPatch.context() as patch:
        for code, tone in SAME_TONES.items():
            patch.setitem(fake_crema_d.PITCH, code, tone)
        crema = fake_crema_d.write_fake_crema_d(tmp / "CREMA-D")
    ravdess = write_fake_ravdess(tmp / "RAVDESS", fake_utterances((1, 2, 5, 21)))
    run_extract("crema-d", crema.root, tmp / "crema-d", LOGMEL)
    run_extract("ravdess", ravdess.root, tmp / "ravdess", LOGMEL)
    return tmp


def test_the_merged_dataset_holds_both_corpora_and_checks_clean(corpora):
    tmp = corpora
    result = run_mmdata("merge", str(tmp / "crema-d"), str(tmp / "ravdess"), str(tmp / "emotion"))
    assert "table audio.librosa-logmel: 88 rows, 0 failed" in result.output
    data = open_dataset(tmp / "emotion")
    samples = data.samples_table().to_pylist()
    assert {s["sample_id"].split("/")[0] for s in samples} == {"crema-d", "ravdess"}
    assert {json.loads(s["extra"])["source_dataset"] for s in samples} == {"crema-d", "ravdess"}
    assert {s["group_id"].split(":")[0] for s in samples} == {"crema-d", "ravdess"}
    root = data.manifest.corpus_location()
    assert root == tmp / "emotion" / "corpora"
    assert all((root / s["audio"]).read_bytes()[:4] == b"RIFF" for s in samples)  # <name>/<path> through the links
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []


def test_trained_on_crema_d_and_tested_on_ravdess_with_one_label_set(corpora):
    tmp = corpora
    run_mmdata("merge", str(tmp / "crema-d"), str(tmp / "ravdess"), str(tmp / "cross"),
               "--split", "crema-d=train", "--split", "ravdess=test")
    fused = tmp / "cross-fused"
    run_mmdata("fuse", str(tmp / "cross"), str(fused), "--format", "arrow", "--class-label", "emotion",
               "--class-map", "emotions")
    assert json.loads((fused / "fused.json").read_text())["classes"] == EMOTIONS
    metrics = tmp / "cross.json"
    run_mmdata("train", "classify", str(fused), "--json", str(metrics))
    [linear] = [r for r in json.loads(metrics.read_text())["results"]
                if r["model"] == "linear" and r["details"]["split"] == "test"]
    # RAVDESS's angry, neutral and sad are told apart; its happy is a class CREMA-D's fake never speaks.
    assert linear["details"]["rows"] == 32
    assert linear["metrics"]["acc"] == pytest.approx(0.75)


def test_leave_one_corpus_out_cross_validation(corpora):
    tmp = corpora
    run_mmdata("merge", str(tmp / "crema-d"), str(tmp / "ravdess"), str(tmp / "loco"))
    result = run_mmdata("train", "cross-validate", str(tmp / "loco"), str(tmp / "loco-cv"), "--fold-by",
                        "source_dataset", "--class-label", "emotion", "--class-map", "emotions")
    record = json.loads((tmp / "loco-cv" / "cross-validate.json").read_text())
    assert [(f["fold"], f["rows"]) for f in record["folds"]] == [("crema-d", {"train": 32, "test": 56}),
                                                                 ("ravdess", {"train": 56, "test": 32})]
    linear = {f["fold"]: r["metrics"]["acc"] for f in record["folds"] for r in f["results"] if r["model"] == "linear"}
    assert linear == {"crema-d": 1.0, "ravdess": pytest.approx(0.75)}  # RAVDESS's happy: no CREMA-D fake speaks it
    assert [line.split()[0] for line in result.output.splitlines() if line.startswith(("crema-d", "ravdess"))] == [
        "crema-d", "ravdess"]


def test_without_the_class_map_the_corpora_name_one_emotion_twice(corpora):
    tmp = corpora
    if not (tmp / "loco").exists():
        run_mmdata("merge", str(tmp / "crema-d"), str(tmp / "ravdess"), str(tmp / "loco"))
    run_mmdata("fuse", str(tmp / "loco"), str(tmp / "unmapped"), "--class-label", "emotion")
    assert json.loads((tmp / "unmapped" / "fused.json").read_text())["classes"] == [
        "anger", "angry", "happy", "neutral", "sad"]
    result = invoke_mmdata("merge", str(tmp / "crema-d"), str(tmp / "loco"), str(tmp / "again"))
    assert result.exit_code == 2 and "is a merged dataset already" in result.output
