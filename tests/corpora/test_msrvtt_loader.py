"""The `msrvtt` loader on the official layout and on the 1k-A retrieval split: splits, captions by sen_id,
YouTube fields in `extra`, the layout choice, and the entries it leaves out named `file:line[:column]`."""
from __future__ import annotations

import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.fakes import edit_json
from tests.fakes.captioned_media import (
    msrvtt_caption, msrvtt_query, write_csv, write_fake_msrvtt_1ka, write_fake_msrvtt_official,
)


@pytest.fixture
def official(tmp_path):
    return write_fake_msrvtt_official(tmp_path / "official")


@pytest.fixture
def one_k_a(tmp_path):
    return write_fake_msrvtt_1ka(tmp_path / "1ka")


def test_official_splits_are_train_val_test_with_captions_ordered_by_sen_id(official):
    result = load_corpus("msrvtt", official.root)
    assert {s.sample_id: (s.split, s.video) for s in result.samples} == {
        "video0": ("train", "TrainValVideo/video0.mp4"), "video1": ("train", "TrainValVideo/video1.mp4"),
        "video2": ("val", "TrainValVideo/video2.mp4"), "video7010": ("test", "TestVideo/video7010.mp4"),
        "video7011": ("test", "TestVideo/video7011.mp4")}
    video2 = next(s for s in result.samples if s.sample_id == "video2")
    assert video2.captions == tuple(msrvtt_caption("video2", k) for k in range(3))  # written in reverse
    assert video2.extra == {"category": 2, "url": "https://www.youtube.com/watch?v=yt1", "youtube_id": "yt1",
                            "youtube_start": 12.0, "youtube_end": 22.5, "sen_ids": [40, 41, 42]}
    assert video2.start is None and video2.end is None and video2.group_id == "video2"
    assert result.metadata["layout"] == "official"


def test_the_official_validate_split_is_val_and_validate_is_refused_naming_it(official):
    assert [s.sample_id for s in load_corpus("msrvtt", official.root, split="val").samples] == ["video2"]
    with pytest.raises(ConfigError, match="split 'validate' is named 'val' here.*--split val"):
        load_corpus("msrvtt", official.root, split="validate")


def test_1k_a_test_videos_carry_their_query_and_train_videos_all_captions(one_k_a):
    result = load_corpus("msrvtt", one_k_a.root)
    samples = {s.sample_id: s for s in result.samples}
    assert {sid: s.split for sid, s in samples.items()} == {
        "video0": "train", "video1": "train", "video2": "train", "video7010": "test", "video7011": "train"}
    assert samples["video7010"].captions == (msrvtt_query("video7010"),)
    assert samples["video0"].captions == tuple(msrvtt_caption("video0", k) for k in range(3))
    assert samples["video7010"].video == "MSRVTT_Videos/video7010.mp4"
    assert result.problems == [] and result.metadata["layout"] == "1k-a"
    everything = load_corpus("msrvtt", one_k_a.root, split="test", options={"test_captions": "all"}).samples
    assert [s.captions for s in everything] == [tuple(msrvtt_caption("video7010", k) for k in range(3))]


def test_1k_a_has_no_val_split_and_says_where_the_official_one_is(one_k_a):
    with pytest.raises(ConfigError, match="1k-A has no split 'val'.*layout=official"):
        load_corpus("msrvtt", one_k_a.root, split="val")


def test_1k_a_videos_in_no_split_file_are_in_split_unassigned(one_k_a):
    write_csv(one_k_a.root / "msrvtt_data" / "MSRVTT_train.7k.csv", ["video_id"], [["video0"]])
    result = load_corpus("msrvtt", one_k_a.root, options={"train_csv": "MSRVTT_train.7k.csv"})
    assert {s.sample_id: s.split for s in result.samples} == {
        "video0": "train", "video1": "unassigned", "video2": "unassigned", "video7010": "test",
        "video7011": "unassigned"}
    assert [s.sample_id for s in load_corpus("msrvtt", one_k_a.root, split="test").samples] == ["video7010"]


def test_both_layouts_in_one_folder_are_refused_until_one_is_named(tmp_path):
    root = tmp_path / "both"
    write_fake_msrvtt_official(root)
    write_fake_msrvtt_1ka(root)
    with pytest.raises(ConfigError, match="both MSR-VTT layouts.*-o layout=official or -o layout=1k-a"):
        load_corpus("msrvtt", root)
    assert len(load_corpus("msrvtt", root, split="test", options={"layout": "official"}).samples) == 2
    assert len(load_corpus("msrvtt", root, split="test", options={"layout": "1k-a"}).samples) == 1


def test_official_entries_left_out_are_named_by_file_line_and_column(official):
    path = official.root / "train_val_videodatainfo.json"

    def damage(data):
        data["videos"].append(dict(data["videos"][0]))                              # video0 listed again
        data["videos"].append({**data["videos"][0], "video_id": "video5"})          # no clip file
        data["videos"].append({**data["videos"][0], "video_id": "video6"})          # no sentence
        data["sentences"][0]["caption"] = "  "                                      # a blank caption
        data["sentences"].append({"caption": "again", "video_id": "video0", "sen_id": 0})   # sen_id repeated
        data["sentences"].append({"caption": "a clip", "video_id": "video5", "sen_id": 900})
        data["sentences"].append({"caption": "lost", "video_id": "video9", "sen_id": 901})  # no video entry

    edit_json(path, damage)
    (official.root / "TrainValVideo" / "video6.mp4").write_bytes(b"")  # there, but no caption
    result = load_corpus("msrvtt", official.root)
    location = re.compile(re.escape(str(path)) + r":\d+:\d+")
    by_video = {}
    for p in result.problems:
        by_video.setdefault(p.sample_id, []).append(p)
    assert sorted(by_video) == ["video0", "video5", "video6", "video9"] and len(by_video["video0"]) == 3
    assert all(location.match(p.path) for problems in by_video.values() for p in problems), by_video
    assert [p.error_type for p in by_video["video0"]].count(REPEATED_ENTRY) == 2
    assert {p.reason.split(";")[0] for p in by_video["video0"]} == {
        "video 'video0' is listed again (first at " + f"{path}:6:5: videos[0])",
        "empty caption (sen_id 2) of video0", "sen_id 0 of video0 is given again"}
    assert "video file video5.mp4 not found in TrainValVideo/, TestVideo/" in by_video["video5"][0].reason
    assert "has no caption" in by_video["video6"][0].reason
    assert "which no 'videos' entry lists" in by_video["video9"][0].reason
    samples = {s.sample_id: s for s in result.samples}
    assert "video5" not in samples and "video6" not in samples
    assert samples["video0"].extra["sen_ids"] == [0, 1]


def test_a_malformed_entry_stops_the_load_naming_its_line_and_column(official):
    path = official.root / "test_videodatainfo.json"
    edit_json(path, lambda data: data["videos"][0].update(split="dev"))
    with pytest.raises(CorpusFormatError, match=re.escape(str(path)) + r":\d+:\d+: videos\[0\]: split 'dev'"):
        load_corpus("msrvtt", official.root)


def test_1k_a_repeats_and_blank_queries_are_named_by_csv_line(one_k_a):
    data = one_k_a.root / "msrvtt_data"
    write_csv(data / "MSRVTT_train.9k.csv", ["video_id"], [["video0"], ["video0"], ["video7010"]])
    write_csv(data / "MSRVTT_JSFUSION_test.csv", ["key", "vid_key", "video_id", "sentence"],
              [["ret0", "msr7010", "video7010", "a query"], ["ret1", "msr7011", "video7011", ""]])
    result = load_corpus("msrvtt", one_k_a.root)
    got = {(p.sample_id, p.path): p.reason for p in result.problems}
    train, test = data / "MSRVTT_train.9k.csv", data / "MSRVTT_JSFUSION_test.csv"
    assert set(got) == {("video0", f"{train}:3"), ("video7010", f"{test}:2"), ("video7011", f"{test}:3")}
    assert "in split 'train' too, a leak between them" in got[("video7010", f"{test}:2")]
    assert got[("video7011", f"{test}:3")].startswith("empty sentence of test video 'video7011'")


def test_a_missing_layout_names_both_layouts_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusNotFoundError, match="train_val_videodatainfo.json or test_videodatainfo.json.*"
                                                  "MSRVTT_data.json"):
        load_corpus("msrvtt", tmp_path / "empty")
