"""The `activitynet-captions` loader on fake corpora (tests/fakes/activitynet.py): split mapping, one sample per
timed sentence, each annotation defect left out (or cut) and named `file:line:column: <video>.timestamps[i]`,
and the video file names the download tools give."""
from __future__ import annotations

import json
import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.fakes.activitynet import SEGMENTS, write_fake_activitynet, write_video

KIND = "activitynet-captions"


def load(root, split=None, **options):
    return load_corpus(KIND, root, split=split, options=options)


def edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))


def location(path, label: str) -> str:
    """The pattern of a JSON entry's location: `file:line:column: label`."""
    return re.escape(str(path)) + r":\d+:\d+: " + re.escape(label)


@pytest.fixture
def fake(tmp_path):
    return write_fake_activitynet(tmp_path / "anet")


def test_val_1_and_val_2_are_both_split_val_by_default_with_distinct_ids(fake):
    result = load(fake.root)
    assert result.problems == []
    assert {s.sample_id: s.split for s in result.samples} == {sid: e.split for sid, e in fake.expected.items()}
    val = load(fake.root, "val").samples
    assert sorted(s.sample_id for s in val) == ["v_nwznKOuZM7w.val_2[0]", "v_nwznKOuZM7w[0]", "v_nwznKOuZM7w[1]"]
    assert {s.extra["annotation_file"] for s in val} == {"val_1.json", "val_2.json"}
    assert result.metadata["annotation_files"] == {"captions/train.json": "train", "captions/val_1.json": "val",
                                                   "captions/val_2.json": "val"}


def test_val_2_can_be_split_test_or_left_unread(fake):
    test = load(fake.root, "test", val_2="test").samples
    assert [(s.sample_id, s.split) for s in test] == [("v_nwznKOuZM7w.val_2[0]", "test")]
    unread = load(fake.root, val_2="none")
    assert sorted(s.split for s in unread.samples) == ["train"] * 3 + ["val"] * 2
    assert "captions/val_2.json" not in unread.metadata["annotation_files"]


def test_a_test_split_or_a_file_name_as_split_is_refused_with_a_hint(fake):
    with pytest.raises(ConfigError, match="no test captions.*-o val_2=test"):
        load(fake.root, "test")
    with pytest.raises(ConfigError, match="split 'val_1' is named 'val' here"):
        load(fake.root, "val_1")


def test_each_timed_sentence_is_a_segment_sample_of_its_video(fake):
    samples = {s.sample_id: s for s in load(fake.root).samples}
    assert {sid: (s.start, s.end, s.group_id) for sid, s in samples.items()} == SEGMENTS
    second = samples["v_QOlSCBRmfWY[1]"]
    assert second.captions == ('She then dances, "twirling" around.',)  # stripped
    assert second.video == "videos/v_QOlSCBRmfWY.mp4"
    assert {k: second.extra[k] for k in ("duration", "segment", "youtube_id")} == {
        "duration": 2.0, "segment": 1, "youtube_id": "QOlSCBRmfWY"}
    assert second.extra["video_duration"] == pytest.approx(2.0, abs=0.1)  # from the file's header


def test_a_segment_ending_past_the_duration_is_cut_there_keeping_its_annotated_end(fake):
    edit_json(fake.root / "captions/train.json", lambda d: d["v_ehGHCYKzyZ8"].update(timestamps=[[0.2, 2.65]]))
    result = load(fake.root)
    [cut] = [s for s in result.samples if s.sample_id == "v_ehGHCYKzyZ8[0]"]
    assert (cut.start, cut.end, cut.extra["annotated_end"]) == (0.2, 2.0, 2.65)
    assert result.problems == []


@pytest.mark.parametrize(("stamp", "reason"), [
    ([1.5, 0.5], r"segment end 0.5 <= start 1.5 \(reversed\)"),
    ([1.0, 1.0], r"segment end 1.0 <= start 1.0 \(zero-length\)"),
    ([-0.5, 1.0], r"starts at -0.5 s, before the start of the video"),
    ([2.5, 3.0], r"starts at 2.5 s, at or after the end of the video \(duration 2.0 s\)"),
])
def test_an_unusable_span_leaves_its_segment_out_named_at_its_timestamps_entry(fake, stamp, reason):
    path = fake.root / "captions/train.json"
    edit_json(path, lambda d: d["v_QOlSCBRmfWY"]["timestamps"].__setitem__(0, stamp))
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "v_QOlSCBRmfWY[0]" and re.search(reason, problem.reason)
    assert re.fullmatch(location(path, "v_QOlSCBRmfWY.timestamps[0]"), problem.path)
    ids = {s.sample_id for s in result.samples}
    assert "v_QOlSCBRmfWY[0]" not in ids and "v_QOlSCBRmfWY[1]" in ids  # the other segment keeps its id


def test_a_blank_sentence_leaves_its_segment_out(fake):
    path = fake.root / "captions/val_1.json"
    edit_json(path, lambda d: d["v_nwznKOuZM7w"]["sentences"].__setitem__(1, "  "))
    [problem] = load(fake.root).problems
    assert (problem.sample_id, problem.reason) == ("v_nwznKOuZM7w[1]", "blank sentence; segment left out")


def test_timestamps_and_sentences_of_different_counts_leave_the_video_out(fake):
    path = fake.root / "captions/train.json"
    edit_json(path, lambda d: d["v_QOlSCBRmfWY"]["sentences"].pop())
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "v_QOlSCBRmfWY" and re.fullmatch(location(path, "v_QOlSCBRmfWY"), problem.path)
    assert "2 timestamps but 1 sentences" in problem.reason
    assert not any(s.group_id == "v_QOlSCBRmfWY" for s in result.samples)


def test_a_missing_video_leaves_each_of_its_segments_out_naming_the_files_looked_for(fake):
    (fake.root / "videos/v_QOlSCBRmfWY.mp4").unlink()
    result = load(fake.root, "train")
    assert [s.sample_id for s in result.samples] == ["v_ehGHCYKzyZ8[0]"]
    assert [p.sample_id for p in result.problems] == ["v_QOlSCBRmfWY[0]", "v_QOlSCBRmfWY[1]"]
    problem = result.problems[1]
    assert re.fullmatch(location(fake.root / "captions/train.json", "v_QOlSCBRmfWY.timestamps[1]"), problem.path)
    assert problem.reason.startswith("video file v_QOlSCBRmfWY.mp4 not found in videos/")
    assert "also looked for v_QOlSCBRmfWY.mkv, v_QOlSCBRmfWY.webm, QOlSCBRmfWY.mp4" in problem.reason


def test_no_video_found_at_all_names_the_folders_and_the_option(fake, tmp_path):
    (fake.root / "videos").rename(tmp_path / "elsewhere")
    with pytest.raises(CorpusNotFoundError, match=r"none of the 3 ActivityNet videos found in the root.*video_dir"):
        load(fake.root)
    assert len(load(fake.root, video_dir=str(tmp_path / "elsewhere"), allow_outside_root=True).samples) == 6


@pytest.mark.parametrize(("key", "file_name"), [("v_QOlSCBRmfWY", "QOlSCBRmfWY.webm"),
                                                 ("QOlSCBRmfWY", "v_QOlSCBRmfWY.mkv")])
def test_videos_are_found_with_or_without_the_v_prefix_and_any_download_suffix(fake, key, file_name):
    (fake.root / "videos/v_QOlSCBRmfWY.mp4").unlink()
    write_video(fake.root / "clips" / file_name, 0)
    if key != "v_QOlSCBRmfWY":
        edit_json(fake.root / "captions/train.json", lambda d: d.__setitem__(key, d.pop("v_QOlSCBRmfWY")))
    samples = {s.sample_id: s for s in load(fake.root, "train", video_dir="clips").samples}
    assert samples[f"{key}[0]"].video == f"clips/{file_name}"
    assert samples[f"{key}[0]"].extra["youtube_id"] == "QOlSCBRmfWY"


def test_per_split_folders_of_bare_ids_are_searched(tmp_path):
    fake = write_fake_activitynet(tmp_path / "anet", captions_dir="", prefix=False, suffix=".mkv", split_folders=True)
    samples = {s.sample_id: s.video for s in load(fake.root).samples}
    assert samples["v_nwznKOuZM7w[0]"] == "videos/val/nwznKOuZM7w.mkv"
    assert samples["v_QOlSCBRmfWY[0]"] == "videos/train/QOlSCBRmfWY.mkv"


def test_a_video_of_train_listed_again_in_val_1_is_left_out_there_as_a_repeat(fake):
    path = fake.root / "captions/val_1.json"
    train = json.loads((fake.root / "captions/train.json").read_text())
    edit_json(path, lambda d: d.update(v_ehGHCYKzyZ8=train["v_ehGHCYKzyZ8"]))
    assert load(fake.root, "train").problems == []  # val_1's entry is not loaded
    result = load(fake.root, "val")
    [problem] = result.problems
    assert (problem.sample_id, problem.error_type) == ("v_ehGHCYKzyZ8[0]", REPEATED_ENTRY)
    assert "in split 'train' too, a leak between them (first in train.json)" in problem.reason
    assert re.fullmatch(location(path, "v_ehGHCYKzyZ8.timestamps[0]"), problem.path)
    assert not any(s.group_id == "v_ehGHCYKzyZ8" for s in result.samples)


@pytest.mark.parametrize(("entry", "message"), [
    ({"timestamps": [], "sentences": []}, "expected a positive 'duration' in seconds, got None"),
    ({"duration": 2.0, "timestamps": [[0.1]], "sentences": ["x"]}, r"expected \[start, end\] in seconds"),
    ({"duration": 2.0, "timestamps": [[0.1, 1.0]], "sentences": [7]}, "expected a sentence as a string, got 7"),
    ({"duration": 2.0, "sentences": []}, "expected a 'timestamps' list"),
])
def test_a_malformed_entry_stops_the_load_naming_it(fake, entry, message):
    path = fake.root / "captions/val_1.json"
    edit_json(path, lambda d: d.update(v_broken=entry))
    with pytest.raises(CorpusFormatError, match=re.escape(str(path)) + r":\d+:\d+: v_broken.*" + message):
        load(fake.root)


def test_no_annotation_file_names_the_folders_looked_in(tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(CorpusNotFoundError, match="no ActivityNet Captions annotation file .* captions/, annotations/"):
        load(tmp_path)
