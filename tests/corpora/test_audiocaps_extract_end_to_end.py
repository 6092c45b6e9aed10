"""`mmdata extract audiocaps` end to end on aac-datasets' layout of real FLAC clips: caption-level text and audio
tables, a clip gone from YouTube in the errors table with its `file:line`, `--split`, a clean `check`, and
`mmdata train retrieval` taking the pooled audio table as its media side."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import SOUND_AND_CAPTIONS, run_extract, run_mmdata
from tests.fakes.captioned_media import write_fake_audiocaps

CLIPS = (("--BfvyPmVMo", "20", "train", 1), ("r1nicOVtvkQ", "130", "train", 1), ("8F-ndyrEWJ8", "60", "train", 1),
         ("7fmOlUlwoNg", "20", "val", 5), ("_xTdsMFR_Xc", "0", "val", 5),
         ("zk-xJEngAJo", "400", "test", 5), ("gOHsRSCfpkk", "30", "test", 5))
LAYOUT = dict(csv_dir="AUDIOCAPS", audio_dir="AUDIOCAPS/audio_32000Hz", suffix=".flac")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audiocaps")
    fake = write_fake_audiocaps(tmp / "corpus", clips=CLIPS, **LAYOUT)
    with (fake.root / "AUDIOCAPS" / "train.csv").open("a", encoding="utf-8") as f:
        f.write("9000,gonefromYT1,10,a video taken down since\n")  # line 5: its clip was never downloaded
    return fake, run_extract("audiocaps", fake.root, tmp / "out", SOUND_AND_CAPTIONS)


def test_every_clip_is_a_row_with_one_text_vector_per_caption(extracted):
    fake, data = extracted
    samples = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["audio"], tuple(row["captions"]), row["corpus"]) for sid, row in samples.items()} \
        == {sid: (e.split, e.audio, e.captions, "audiocaps") for sid, e in fake.expected.items()}
    assert samples["7fmOlUlwoNg_20"]["group_id"] == "7fmOlUlwoNg"
    text = {row["sample_id"]: len(row["feature"]) for row in data.read_table("text.hashed-bow.caption").to_pylist()}
    assert text == {sid: len(e.captions) for sid, e in fake.expected.items()}  # one vector per caption
    assert sorted(data.to_numpy("audio.egemaps-functionals")[0]) == sorted(fake.expected)
    assert data.read_table("audio.librosa-logmel").num_rows == len(fake.expected)
    extra = json.loads(samples["zk-xJEngAJo_400"]["extra"])
    assert extra["audio_duration"] == 0.5 and extra["start_time"] == 400 and len(extra["audiocap_ids"]) == 5


def test_the_clip_gone_from_youtube_is_in_the_errors_table_with_its_line(extracted):
    fake, data = extracted
    errors = data.errors().to_pylist()
    assert [(e["table"], e["sample_id"], e["path"]) for e in errors] == [
        ("loader", "gonefromYT1_10", f"{fake.root / 'AUDIOCAPS' / 'train.csv'}:5")]
    assert "audio file gonefromYT1_10.wav not found in AUDIOCAPS/audio_32000Hz/train/" in errors[0]["reason"]
    assert "also looked for gonefromYT1_10, YgonefromYT1, gonefromYT1, 9000 as .wav/.flac/.ogg/.mp3" \
        in errors[0]["reason"]


def test_check_finds_no_error(extracted):
    _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert {i.code for i in report.issues if i.severity == "warning"} == {"loader-errors"}


def test_split_val_extracts_the_val_clips_only(extracted, tmp_path):
    fake, _ = extracted
    data = run_extract("audiocaps", fake.root, tmp_path / "val", SOUND_AND_CAPTIONS, "--split", "val")
    assert data.samples_table().column("sample_id").to_pylist() == ["7fmOlUlwoNg_20", "_xTdsMFR_Xc_0"]
    assert data.errors().num_rows == 0  # the clip gone is a train row


def test_train_retrieval_takes_the_pooled_audio_table_as_its_media_side(extracted, tmp_path):
    _, data = extracted
    metrics = tmp_path / "retrieval.json"
    run_mmdata("train", "retrieval", str(data.root), "--json", str(metrics), "-m", "mse", "--epochs", "2")
    info = json.loads(metrics.read_text())
    assert info["image_tables"] == ["audio.egemaps-functionals"]
    assert (info["train_splits"], info["test_split"], info["train_images"], info["test_images"]) \
        == (["train"], "test", 3, 2)
    assert [row["model"] for row in info["results"] if not row.get("error")][-1] == "mse"


def test_check_reports_one_youtube_video_in_two_splits_as_a_leak_of_its_group(tmp_path):
    clips = (("r1nicOVtvkQ", "130", "train", 1), ("--BfvyPmVMo", "20", "train", 1),
             ("r1nicOVtvkQ", "30", "test", 1), ("zk-xJEngAJo", "400", "test", 1))
    fake = write_fake_audiocaps(tmp_path / "corpus", clips=clips)
    data = run_extract("audiocaps", fake.root, tmp_path / "out", ("--text", "hashed-bow:level=caption"))
    assert data.errors().num_rows == 0  # two clips of one video: both kept, each in its split
    [leak] = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    assert leak.severity == "error" and leak.examples == ("r1nicOVtvkQ_30",)  # the clip outside its video's split
    assert "group_id 'r1nicOVtvkQ' in splits ['train', 'test']" in leak.message
