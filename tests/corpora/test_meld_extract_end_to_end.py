"""`mmdata extract meld` end to end on a fake MELD.Raw of real 0.4 s MP4 clips: a bag of words per utterance and a
log-mel sequence of each clip's sound track, the sentiment as `label` and the emotion in `extra`, MELD's cp1252
characters kept in the transcripts, the clip the release lacks (dia125_utt3.mp4) in the errors table with its
`file:line`, a sample kept with a season that cannot be read (named there too), a test clip under both names read
under its plain one, `mmdata check` exiting 0, and `fuse --class-label emotion` turning the emotions into class ids
by sorted name."""
from __future__ import annotations

import json

import pytest

from mmdata.fusion import FusedDataset
from tests.corpora.cli_extract import run_extract, run_mmdata
from tests.fakes.meld import UTTERANCES, FakeUtterance, write_fake_meld

GONE = FakeUtterance("train", 125, 3, "I'm not gonna tell!", "Rachel", "neutral", "neutral")
KEPT = FakeUtterance("train", 126, 0, "Fine\x85", "Ross", "neutral", "neutral", season="S4")  # a copy's season
FEATURES = ("--text", "hashed-bow", "--audio", "librosa-logmel")
EMOTIONS = sorted({u.emotion for u in UTTERANCES})  # anger, disgust, joy, neutral, sadness, surprise


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("meld")
    fake = write_fake_meld(tmp / "MELD.Raw", (*UTTERANCES, GONE, KEPT), missing=(GONE.sample_id,),
                           recut=("test_dia0_utt1",))
    return tmp, fake, run_extract("meld", fake.root, tmp / "out", FEATURES)


def test_every_utterance_is_a_row_with_its_sentiment_label_emotion_and_features(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["video"], row["transcript"], row["corpus"]) for sid, row in rows.items()} == {
        sid: (e.split, e.video, e.transcript, "meld") for sid, e in fake.expected.items()}
    by_id = {u.sample_id: u for u in (*UTTERANCES, KEPT)}
    assert {sid: (row["label"], json.loads(row["extra"])["emotion"], row["group_id"]) for sid, row in rows.items()} == {
        sid: ({"negative": -1.0, "neutral": 0.0, "positive": 1.0}[u.sentiment], u.emotion, f"{u.split}_dia{u.dialogue}")
        for sid, u in by_id.items()}
    assert all(row["start"] is None and row["end"] is None for row in rows.values())  # whole clips read
    assert (rows["val_dia0_utt1"]["transcript"], rows[KEPT.sample_id]["transcript"]) == ("Yeah, it\x92s free\x85",
                                                                                          "Fine\x85")
    assert json.loads(rows[KEPT.sample_id]["extra"])["season"] is None
    assert json.loads(rows["test_dia0_utt1"]["extra"])["other_clip"] == (
        "output_repeated_splits_test/final_videos_testdia0_utt1.mp4")
    for table in ("text.hashed-bow", "audio.librosa-logmel"):
        assert sorted(data.read_table(table).column("sample_id").to_pylist()) == sorted(rows), table


def test_the_clip_the_release_lacks_and_the_season_not_read_are_in_the_errors_table_with_their_line(extracted):
    _, fake, data = extracted
    errors = data.errors().to_pylist()
    line = sum(u.split == "train" for u in UTTERANCES) + 2  # after the header and the other train rows
    assert [(e["table"], e["sample_id"], e["path"]) for e in errors] == [
        ("loader", "train_dia125_utt3", f"{fake.annotation_file}:{line}"),
        ("loader", KEPT.sample_id, f"{fake.annotation_file}:{line + 1}")]
    assert "clip file dia125_utt3.mp4 not found in train_splits/" in errors[0]["reason"]
    assert errors[1]["reason"].startswith("Season 'S4' is not a whole number >= 0; sample kept, extra.season null")
    assert data.manifest.extra["loader"]["clips_missing"] == 1


def test_check_exits_0(extracted):
    _, _, data = extracted
    result = run_mmdata("check", str(data.root))
    assert "split-leak" not in result.output
    assert "1 samples were kept with a problem the loader recorded" in result.output


def test_fuse_class_label_emotion_gives_class_ids_by_sorted_emotion_name(extracted):
    tmp, _, data = extracted
    fused = tmp / "fused"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "emotion")
    info = json.loads((fused / "fused.json").read_text())
    assert info["classes"] == EMOTIONS
    emotion_of = {u.sample_id: u.emotion for u in (*UTTERANCES, KEPT)}
    for split in ("train", "val", "test"):
        items = {item["sample_id"]: item for item in FusedDataset(fused, split=split)}
        assert set(items) == {u.sample_id for u in (*UTTERANCES, KEPT) if u.split == split}
        assert {sid: EMOTIONS[int(item["class_id"])] for sid, item in items.items()} == {
            sid: emotion_of[sid] for sid in items}
    train = {item["sample_id"]: int(item["class_id"]) for item in FusedDataset(fused, split="train")}
    assert (train["train_dia1_utt1"], train["train_dia0_utt0"], train["train_dia0_utt1"]) == (0, 4, 5)  # anger...
