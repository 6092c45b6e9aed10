"""`mmdata extract esc50` end to end on a fake release of real WAV tones (one pitch per class): a pooled log-mel
sequence per clip with its class in `extra`, a clip whose WAV is gone in the errors table with its `file:line`, a
clean `check`, `fuse --class-label class` turning the classes into class ids (by sorted name, not by target),
and `mmdata train classify` telling the classes of the held-out fold apart, C chosen on a `val` fold; a
recording whose takes of one class straddle train and test is a leak `check` reports and `fuse` refuses, while
the release's recordings with clips of two classes in two folds fuse for every test fold."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from mmdata.errors import MmdataError
from mmdata.fusion import FusedDataset
from mmdata.fusion.fuse import fuse
from tests.corpora.cli_extract import run_extract, run_mmdata
from tests.fakes.esc50 import CLASSES, TWO_CLASS_RECORDINGS, FakeClip, fake_clips, write_fake_esc50

GONE = FakeClip(2, "900000", "A", 0, "dog", True)  # listed in esc50.csv, its WAV never unzipped
LOGMEL = ("--audio", "librosa-logmel")  # the features extracted


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("esc50")
    fake = write_fake_esc50(tmp / "ESC-50-master", [*fake_clips(takes=2), GONE], test_fold=3)
    (fake.root / "audio" / GONE.filename).unlink()
    del fake.expected[GONE.filename.removesuffix(".wav")]
    return tmp, fake, run_extract("esc50", fake.root, tmp / "out", LOGMEL, "-o", "test_fold=3")


def test_every_clip_is_a_row_with_its_class_and_a_log_mel_sequence(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["audio"], row["corpus"]) for sid, row in rows.items()} == {
        sid: (e.split, e.audio, "esc50") for sid, e in fake.expected.items()}
    extra = json.loads(rows["3-103005-B-5"]["extra"])
    assert (rows["3-103005-B-5"]["split"], rows["3-103005-B-5"]["group_id"]) == ("test", "103005-5")
    assert (extra["class"], extra["target"], extra["fold"], extra["audio_duration"]) == ("cat", 5, 3, 0.5)
    logmel = data.read_table("audio.librosa-logmel").column("sample_id").to_pylist()
    assert sorted(logmel) == sorted(fake.expected)  # `fuse` pools each sequence into one vector


def test_the_clip_whose_wav_is_gone_is_in_the_errors_table_with_its_line(extracted):
    _, fake, data = extracted
    errors = data.errors().to_pylist()
    line = len(fake_clips(takes=2)) + 2  # after the header and the other rows
    assert [(e["table"], e["sample_id"], e["path"]) for e in errors] == [
        ("loader", "2-900000-A-0", f"{fake.annotation_file}:{line}")]
    assert "audio file 2-900000-A-0.wav not found in audio/" in errors[0]["reason"]


def test_check_finds_no_error(extracted):
    _, _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert {i.code for i in report.issues if i.severity == "warning"} == {"loader-errors"}


def test_fuse_class_label_and_train_classify_tell_the_held_out_fold_apart(extracted):
    tmp, _, data = extracted
    fused = tmp / "fused"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "class")
    classes = sorted(category for _, category, _ in CLASSES)
    assert json.loads((fused / "fused.json").read_text())["classes"] == classes
    metrics = tmp / "classify.json"
    run_mmdata("train", "classify", str(fused), "--json", str(metrics))
    info = json.loads(metrics.read_text())
    assert info["classes"] == classes
    [linear] = [r for r in info["results"] if r["model"] == "linear" and r["details"]["split"] == "test"]
    [majority] = [r for r in info["results"] if r["model"] == "majority" and r["details"]["split"] == "test"]
    assert linear["details"]["rows"] == 2 * len(CLASSES)  # fold 3's clips
    assert linear["metrics"]["acc"] == 1.0 > majority["metrics"]["acc"]  # one pitch per class: separable
    ids = {item["sample_id"]: int(item["class_id"]) for item in FusedDataset(fused, split="test")}
    category_of = {target: category for target, category, _ in CLASSES}
    assert {sid: classes[i] for sid, i in ids.items()} == {sid: category_of[int(sid.split("-")[-1])] for sid in ids}
    # by sorted name (cat, dog, rooster), not by target (dog 0, rooster 1, cat 5)
    assert (ids["3-103000-A-0"], ids["3-103001-A-1"], ids["3-103005-A-5"]) == (1, 2, 0)


def test_classes_file_in_target_order_gives_the_class_ids_esc50s_numbers(extracted):
    tmp, _, data = extracted
    order = tmp / "classes.txt"
    order.write_text("".join(f"{category}\n" for _, category, _ in sorted(CLASSES)))  # dog, rooster, cat
    fused = tmp / "fused-by-target"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "class",
               "--classes", str(order))
    ids = {item["sample_id"]: int(item["class_id"]) for item in FusedDataset(fused, split="test")}
    assert (ids["3-103000-A-0"], ids["3-103001-A-1"], ids["3-103005-A-5"]) == (0, 1, 2)


def test_val_fold_is_the_split_train_classify_picks_c_on(tmp_path):
    fake = write_fake_esc50(tmp_path / "corpus", fake_clips(), test_fold=1)
    data = run_extract("esc50", fake.root, tmp_path / "out", LOGMEL, "-o", "test_fold=1", "-o", "val_fold=2")
    assert {row["split"] for row in data.samples_table().to_pylist()} == {"train", "val", "test"}
    run_mmdata("fuse", str(data.root), str(tmp_path / "fused"), "--format", "arrow", "--class-label", "class")
    run_mmdata("train", "classify", str(tmp_path / "fused"), "--json", str(tmp_path / "classify.json"))
    info = json.loads((tmp_path / "classify.json").read_text())
    assert {r["details"]["split"] for r in info["results"] if r["model"] == "linear"} == {"val", "test"}
    assert any("chosen on 'val' accuracy" in note for note in info["notes"])


def test_a_recording_whose_takes_straddle_train_and_test_is_a_leak_check_reports(tmp_path):
    clips = [*fake_clips(folds=2), FakeClip(2, "101000", "B", 0, "dog", True)]  # fold 1's dog recording, in fold 2
    fake = write_fake_esc50(tmp_path / "corpus", clips)
    data = run_extract("esc50", fake.root, tmp_path / "out", LOGMEL)
    assert data.errors().num_rows == 0  # both takes load, each in its fold's split
    [leak] = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    assert leak.severity == "error" and "group_id '101000-0' in splits" in leak.message
    with pytest.raises(MmdataError, match="101000-0"):
        fuse(data.root, tmp_path / "fused", class_label="class")


@pytest.mark.parametrize("test_fold", [1, 2, 3, 4, 5])
def test_the_releases_recordings_in_two_classes_and_folds_fuse_for_every_test_fold(tmp_path, test_fold):
    fake = write_fake_esc50(tmp_path / "corpus", [*fake_clips(folds=5), *TWO_CLASS_RECORDINGS], test_fold=test_fold)
    data = run_extract("esc50", fake.root, tmp_path / "out", LOGMEL, "-o", f"test_fold={test_fold}")
    assert data.errors().num_rows == 0
    assert [i for i in check_dataset(data.root).issues if i.severity == "error"] == []
    fuse(data.root, tmp_path / "fused", class_label="class", format="arrow")
    tested = {item["sample_id"] for item in FusedDataset(tmp_path / "fused", split="test")}
    assert tested == {sid for sid, e in fake.expected.items() if e.split == "test"}
    assert {c.filename.removesuffix(".wav") for c in TWO_CLASS_RECORDINGS if c.fold == test_fold} <= tested


def test_the_5_fold_protocol_runs_from_this_one_extraction(extracted):
    tmp, _, data = extracted
    result = run_mmdata("train", "cross-validate", str(data.root), str(tmp / "cv"), "--fold-by", "fold",
                        "--class-label", "class")
    saved = json.loads((tmp / "cv" / "cross-validate.json").read_text())
    assert [f["fold"] for f in saved["folds"]] == ["1", "2", "3", "4", "5"]
    for fold in saved["folds"]:
        [linear] = [r for r in fold["results"] if r["model"] == "linear" and r["details"]["split"] == "test"]
        assert linear["details"]["rows"] == 2 * len(CLASSES)  # that fold's clips, whatever test_fold the load used
        assert linear["metrics"]["acc"] == 1.0
    assert saved["summary"]["models"]["linear"]["acc"] == {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0, "n": 5}
    assert "5 folds of extra['fold']" in result.output
