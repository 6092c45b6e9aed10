"""`mmdata extract vggsound` end to end on a fake copy of real clips (WAV sound alone, and one MP4 whose AAC track
the audio extractor reads): a log-mel sequence per clip with its class in `extra`, a clip of a video taken down
in the errors table with its `file:line`, a clean `check`, `fuse --class-label class` turning the classes into
class ids; and two clips of one video in train and test, a leak `check` reports and `fuse` refuses unless
`--allow-split-leaks`."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import invoke_mmdata, run_extract, run_mmdata
from tests.fakes.vggsound import CLIPS, write_clip, write_fake_vggsound

#: Two classes, three clips each; the test split's first clip is an MP4.
E2E_CLIPS = (("--0PQM4-hqg", 30, "waterfall burbling", "train"),
             ("-5Jlimvx0A0", 0, "male speech, man speaking", "train"),
             ("a1b2c3d4e5f", 10, "waterfall burbling", "train"),
             ("z9y8x7w6v5u", 40, "male speech, man speaking", "train"),
             ("---g-f_I2yQ", 1, "waterfall burbling", "test"),
             ("q1w2e3r4t5y", 5, "male speech, man speaking", "test"))
MP4_CLIP = "---g-f_I2yQ_000001"
GONE_ROW = "gonefromYT1,20,waterfall burbling,train"  # line 7: its video was taken down before any download
LOGMEL = ("--audio", "librosa-logmel")  # the features extracted


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vggsound")
    fake = write_fake_vggsound(tmp / "corpus", media_dir="audio", suffix=".wav", clips=E2E_CLIPS)
    (fake.root / "audio" / f"{MP4_CLIP}.wav").unlink()
    write_clip(fake.root / "video" / f"{MP4_CLIP}.mp4", seed=4)
    with fake.annotation_file.open("a", encoding="utf-8") as f:
        f.write(GONE_ROW + "\n")
    return tmp, fake, run_extract("vggsound", fake.root, tmp / "out", LOGMEL)


def test_every_clip_is_a_row_with_its_class_and_a_log_mel_sequence(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert set(rows) == set(fake.expected)
    assert (rows[MP4_CLIP]["video"], rows[MP4_CLIP]["audio"]) == (f"video/{MP4_CLIP}.mp4", None)
    assert rows["-5Jlimvx0A0_000000"]["audio"] == "audio/-5Jlimvx0A0_000000.wav"
    assert {sid: (row["split"], row["group_id"], json.loads(row["extra"])["class"]) for sid, row in rows.items()} \
        == {f"{y}_{s:06d}": (split, y, label) for y, s, label, split in E2E_CLIPS}
    ids, offsets, _, _ = data.read_sequences("audio.librosa-logmel")
    assert sorted(ids) == sorted(fake.expected)  # the MP4's AAC track read as its sound
    assert all(n > 50 for n in offsets[1:] - offsets[:-1])  # about 1 s of 10 ms frames each


def test_the_clip_taken_down_is_in_the_errors_table_with_its_line(extracted):
    _, fake, data = extracted
    errors = data.errors().to_pylist()
    assert [(e["table"], e["sample_id"], e["path"]) for e in errors] == [
        ("loader", "gonefromYT1_000020", f"{fake.annotation_file}:7")]
    assert "clip file gonefromYT1_000020.{mp4,flac,wav} not found in video/, audio/, the root" in errors[0]["reason"]
    assert data.manifest.extra["loader"] == {"annotation_file": "vggsound.csv", "clips_listed": 7, "clips_missing": 1}


def test_check_finds_no_error(extracted):
    _, _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert {i.code for i in report.issues if i.severity == "warning"} == {"loader-errors"}


def test_fuse_class_label_gives_each_clip_its_class_id(extracted):
    tmp, _, data = extracted
    fused = tmp / "fused"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "class")
    info = json.loads((fused / "fused.json").read_text())
    assert info["classes"] == ["male speech, man speaking", "waterfall burbling"]
    assert (info["class_label"]["key"], info["class_label"]["counts"]) == ("class", {"train": [2, 2], "test": [1, 1]})


def test_two_clips_of_one_video_in_train_and_test_are_a_leak_check_reports(tmp_path):
    fake = write_fake_vggsound(tmp_path / "corpus", media_dir="audio", suffix=".flac", split_folders=True)
    data = run_extract("vggsound", fake.root, tmp_path / "out", LOGMEL)
    assert data.errors().num_rows == 0  # both clips of _9fQ2WgM8Vs load, each in its split
    [leak] = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    assert leak.severity == "error" and "group_id '_9fQ2WgM8Vs' in splits" in leak.message
    assert "re-split by group id" in leak.message
    assert [c for c in CLIPS if c[0] == "_9fQ2WgM8Vs"][1][3] == "test"
    refused = invoke_mmdata("fuse", str(data.root), str(tmp_path / "fused"), "--format", "arrow")
    assert refused.exit_code != 0 and "--allow-split-leaks" in refused.output
    run_mmdata("fuse", str(data.root), str(tmp_path / "fused"), "--format", "arrow", "--allow-split-leaks")
