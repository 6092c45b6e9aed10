"""`mmdata extract kinetics` end to end on a fake copy laid out as the ActivityNet crawler writes it (class folders,
Kinetics-600 file names, a test file without labels): a pooled video vector per clip with its class in `extra`, a
clip of a video taken down in the errors table with its `file:line`, a clean `check`, `fuse --class-label class`
turning the classes into ids (sorted names, or a label file's line order), the unlabelled test clips kept as -1;
and a video with clips in train and val, a leak `check` reports."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import invoke_mmdata, run_extract, run_mmdata
from tests.fakes.kinetics import CLIPS, clip_id, write_fake_kinetics, write_video_clip

VIDEO = ("--video", "video-frames:pool=mean,fps=2")
NAMES = {split: f"kinetics-600_{split}.csv" for split in ("train", "val", "test")}
GONE_ROW = "abseiling,gonefromYT1,20,30,train,0"  # line 6 of the train CSV: taken down before any download
LABELS = sorted({label for label, *_ in CLIPS})


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kinetics")
    fake = write_fake_kinetics(tmp / "corpus", annotations_dir="data", file_names=NAMES, media_dir="videos",
                               class_folders=True, labelled_test=False)
    with fake.annotation_file.open("a", encoding="utf-8") as f:
        f.write(GONE_ROW + "\n")
    return tmp, fake, run_extract("kinetics", fake.root, tmp / "out", VIDEO)


def test_every_clip_is_a_row_with_its_class_and_a_pooled_video_vector(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["video"]) for sid, row in rows.items()} == {
        sid: (e.split, e.video) for sid, e in fake.expected.items()}
    assert {sid: (row["group_id"], json.loads(row["extra"]).get("class")) for sid, row in rows.items()} == {
        clip_id(y, s, e): (y, label if split != "test" else None) for label, y, s, e, split in CLIPS}
    assert all(row["start"] is None and row["end"] is None for row in rows.values())  # whole files read
    ids, video = data.to_numpy("video.frames-color-hist-mean")
    assert sorted(ids) == sorted(rows) and video.shape[0] == len(rows)


def test_the_clip_taken_down_is_in_the_errors_table_with_its_line(extracted):
    _, fake, data = extracted
    errors = data.errors().to_pylist()
    assert [(e["table"], e["sample_id"], e["path"]) for e in errors] == [
        ("loader", "gonefromYT1_000020_000030", f"{fake.annotation_file}:6")]
    assert "gonefromYT1_000020_000030.{mp4,mkv,webm} not found in videos/train/" in errors[0]["reason"]
    assert data.manifest.extra["loader"] == {
        "annotation_files": [f"data/{NAMES[s]}" for s in ("train", "val", "test")],
        "clips_listed": len(CLIPS) + 1, "clips_missing": 1}


def test_check_finds_no_error(extracted):
    _, _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []


def test_fuse_class_label_gives_ids_by_sorted_name_or_label_file_order_and_minus_one_without_label(extracted):
    tmp, _, data = extracted
    refused = invoke_mmdata("fuse", str(data.root), str(tmp / "refused"), "--format", "arrow", "--class-label", "class")
    assert refused.exit_code != 0 and "--missing-class keep" in refused.output  # the test clip has no label
    run_mmdata("fuse", str(data.root), str(tmp / "fused"), "--format", "arrow", "--class-label", "class",
               "--missing-class", "keep")
    info = json.loads((tmp / "fused" / "fused.json").read_text())
    assert info["classes"] == LABELS
    assert info["class_label"]["counts"]["train"] == [3, 1, 0] and info["class_label"]["unlabeled"]["test"] == 1
    labels_file = tmp / "labels.txt"
    labels_file.write_text("".join(f"{name}\n" for name in reversed(LABELS)), encoding="utf-8")
    run_mmdata("fuse", str(data.root), str(tmp / "fused-file"), "--format", "arrow", "--class-label", "class",
               "--missing-class", "keep", "--classes", str(labels_file))
    info = json.loads((tmp / "fused-file" / "fused.json").read_text())
    assert info["classes"] == LABELS[::-1] and info["class_label"]["order"] == "file"


def test_a_video_with_clips_in_train_and_val_is_a_leak_check_reports(tmp_path):
    fake = write_fake_kinetics(tmp_path / "corpus")
    leak = ("playing guitar", "0347ZoDXyP0", 50, 60, "val")  # another clip of a train video
    with (fake.annotation_file.parent / "validate.csv").open("a", encoding="utf-8") as f:
        f.write(f"{leak[0]},{leak[1]},50,60,val,0\n")
    write_video_clip(fake.root / "val" / f"{clip_id(*leak[1:4])}.mp4", seed=9)
    data = run_extract("kinetics", fake.root, tmp_path / "out", VIDEO, "-o", "annotations_dir=annotations")
    assert data.errors().num_rows == 0
    [issue] = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    assert issue.severity == "error" and "group_id '0347ZoDXyP0' in splits" in issue.message


def test_a_whole_video_found_by_its_bare_id_is_read_over_the_clip_span_only(tmp_path):
    whole = ("abseiling", "WholeVideo1", 1, 2, "train")  # a 1 s clip of the 4 s video its file holds
    fake = write_fake_kinetics(tmp_path / "corpus", clips=CLIPS + (whole,))
    (fake.root / "train" / f"{clip_id(*whole[1:4])}.mp4").unlink()
    write_video_clip(fake.root / "train" / "WholeVideo1.mp4", seed=5, duration=4.0)
    data = run_extract("kinetics", fake.root, tmp_path / "out", VIDEO)
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert (rows[clip_id(*whole[1:4])]["start"], rows[clip_id(*whole[1:4])]["end"]) == (1.0, 2.0)
    assert data.errors().num_rows == 0
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []
