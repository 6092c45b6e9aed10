"""The `activitynet-captions` loader on fake corpora (tests/fakes/activitynet.py): split mapping, one sample per
timed sentence, each annotation defect left out (or cut) and named `file:line:column: <video>.timestamps[i]`,
and the video file names the download tools give."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from mmdata.corpora import activitynet_captions, load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.corpora.timed_sentences import location
from tests.fakes import edit_json
from tests.fakes.activitynet import SEGMENTS, write_fake_activitynet, write_video

KIND = "activitynet-captions"


def load(root, split=None, **options):
    return load_corpus(KIND, root, split=split, options=options)


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
    with pytest.raises(ConfigError, match="split 'val_2' is named 'test' here.*--split test"):
        load(fake.root, "val_2", val_2="test")


@pytest.mark.parametrize(("val_2", "how"), [("val", r"reads val_2.json as split val, with val_1.json \(--split val\)"),
                                            ("none", "leaves val_2.json unread")])
def test_split_val_2_points_to_reading_val_2_as_test(fake, val_2, how):
    with pytest.raises(ConfigError, match=f"no split 'val_2': -o val_2={val_2} {how}; pass -o val_2=test --split test"):
        load(fake.root, "val_2", val_2=val_2)


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
    assert problem.reason == ("video file v_QOlSCBRmfWY.mp4 not found in videos/, the root; also looked for "
                              "v_QOlSCBRmfWY.mkv, v_QOlSCBRmfWY.webm, QOlSCBRmfWY.mp4, QOlSCBRmfWY.mkv, "
                              "QOlSCBRmfWY.webm; segment left out")


def test_each_video_header_is_read_once_though_val_1_and_val_2_name_the_same_file(fake, monkeypatch):
    reads = Counter()
    real = activitynet_captions.record_video_span

    def counting(path, extra):  # the real header read, counted per file
        reads[path.name] += 1
        real(path, extra)

    monkeypatch.setattr(activitynet_captions, "record_video_span", counting)
    samples = load(fake.root).samples
    files = {s.video for s in samples}
    assert len(files) == 3 and len({s.group_id for s in samples}) == 3  # val_1 and val_2 share one video
    assert reads == Counter({f.rsplit("/", 1)[1]: 1 for f in files})
    assert [s.extra["video_duration"] for s in samples] == pytest.approx([2.0] * len(samples), abs=0.1)


@pytest.mark.parametrize("duration", [0, -5.0, "82.7", True, int("1" + "0" * 400)])
def test_a_duration_that_is_no_positive_number_leaves_that_video_out_named_at_its_duration(fake, duration):
    path = fake.root / "captions/train.json"
    edit_json(path, lambda d: d["v_QOlSCBRmfWY"].update(duration=duration))
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "v_QOlSCBRmfWY"
    assert re.fullmatch(location(path, "v_QOlSCBRmfWY.duration"), problem.path)
    assert "expected a positive number of seconds" in problem.reason and "its 2 segments left out" in problem.reason
    assert {s.group_id for s in result.samples} == {"v_ehGHCYKzyZ8", "v_nwznKOuZM7w"}  # the others load


@pytest.mark.parametrize("drop", [lambda e: e.update(duration=None), lambda e: e.pop("duration")],
                         ids=["null", "absent"])
def test_a_video_without_duration_is_held_to_its_file_s_header(fake, drop):
    path = fake.root / "captions/train.json"
    edit_json(path, lambda d: drop(d["v_QOlSCBRmfWY"]))
    edit_json(path, lambda d: d["v_QOlSCBRmfWY"].update(timestamps=[[0.1, 1.0], [0.8, 2.6]]))
    result = load(fake.root)
    assert result.problems == []
    cut = next(s for s in result.samples if s.sample_id == "v_QOlSCBRmfWY[1]")
    assert (cut.start, cut.end, cut.extra["annotated_end"]) == (0.8, cut.extra["video_duration"], 2.6)
    assert cut.end == pytest.approx(2.0, abs=0.1) and "duration" not in cut.extra


def test_a_video_without_duration_whose_file_is_missing_or_unreadable_is_left_out(fake):
    path = fake.root / "captions/train.json"
    edit_json(path, lambda d: [d[key].update(duration=None) for key in ("v_QOlSCBRmfWY", "v_ehGHCYKzyZ8")])
    (fake.root / "videos/v_QOlSCBRmfWY.mp4").unlink()
    (fake.root / "videos/v_ehGHCYKzyZ8.mp4").write_bytes(b"no video header here")
    result = load(fake.root, "train")
    assert result.samples == []
    assert [p.sample_id for p in result.problems] == ["v_QOlSCBRmfWY[0]", "v_QOlSCBRmfWY[1]", "v_ehGHCYKzyZ8"]
    assert all("not found" in p.reason for p in result.problems[:2])
    unreadable = result.problems[2]
    assert re.fullmatch(location(path, "v_ehGHCYKzyZ8.duration"), unreadable.path)
    assert unreadable.reason == ("video 'v_ehGHCYKzyZ8' has no duration, and the header of videos/v_ehGHCYKzyZ8.mp4 "
                                 "states none; its 1 segments left out")


def test_a_segment_starting_after_the_header_duration_is_left_out_saying_where_the_duration_is_from(fake):
    edit_json(fake.root / "captions/train.json",
              lambda d: d["v_ehGHCYKzyZ8"].update(duration=None, timestamps=[[2.5, 3.0]]))
    [problem] = load(fake.root, "train").problems
    assert problem.sample_id == "v_ehGHCYKzyZ8[0]"
    assert re.search(r"at or after the end of the video \(duration 2\.\d+ s, from videos/v_ehGHCYKzyZ8.mp4's header\)",
                     problem.reason)


def test_a_video_with_no_timed_sentence_is_named(fake):
    path = fake.root / "captions/train.json"
    edit_json(path, lambda d: d["v_ehGHCYKzyZ8"].update(timestamps=[], sentences=[]))
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "v_ehGHCYKzyZ8" and re.fullmatch(location(path, "v_ehGHCYKzyZ8"), problem.path)
    assert problem.reason == "video 'v_ehGHCYKzyZ8' has no timed sentence (empty timestamps and sentences); left out"


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


def test_the_annotations_folder_and_the_split_folders_of_option_video_dir_are_searched(tmp_path):
    fake = write_fake_activitynet(tmp_path / "anet", captions_dir="annotations", video_dir="clips", split_folders=True)
    result = load(fake.root, video_dir="clips")
    assert result.problems == []
    assert {s.sample_id: s.video for s in result.samples} == {sid: e.video for sid, e in fake.expected.items()}
    assert {s.video.rsplit("/", 1)[0] for s in result.samples} == {"clips/train", "clips/val"}
    assert set(result.metadata["annotation_files"]) == {f"annotations/{n}" for n in ("train.json", "val_1.json",
                                                                                      "val_2.json")}


def test_a_bare_youtube_id_starting_with_v_keeps_it(fake):
    """`v_` + 11 characters is an ActivityNet id; an 11-character key is a bare YouTube id, `v_` or not."""
    edit_json(fake.root / "captions/train.json", lambda d: d.__setitem__("v_Ab3dEfGhI", d.pop("v_QOlSCBRmfWY")))
    (fake.root / "videos/v_QOlSCBRmfWY.mp4").rename(fake.root / "videos/v_v_Ab3dEfGhI.mp4")
    [first, _] = [s for s in load(fake.root, "train").samples if s.group_id == "v_Ab3dEfGhI"]
    assert (first.video, first.extra["youtube_id"]) == ("videos/v_v_Ab3dEfGhI.mp4", "v_Ab3dEfGhI")


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


@pytest.mark.parametrize("val_2", ["val", "test"])
def test_a_video_of_train_listed_again_in_val_2_is_left_out_there_as_a_repeat(fake, val_2):
    path = fake.root / "captions/val_2.json"
    train = json.loads((fake.root / "captions/train.json").read_text())
    edit_json(path, lambda d: d.update(v_ehGHCYKzyZ8=train["v_ehGHCYKzyZ8"]))
    result = load(fake.root, val_2=val_2)
    [problem] = result.problems
    assert (problem.sample_id, problem.error_type) == ("v_ehGHCYKzyZ8.val_2[0]", REPEATED_ENTRY)
    assert "in split 'train' too, a leak between them (first in train.json)" in problem.reason
    assert re.fullmatch(location(path, "v_ehGHCYKzyZ8.timestamps[0]"), problem.path)
    assert {s.split for s in result.samples if s.group_id == "v_ehGHCYKzyZ8"} == {"train"}
    # the validation video val_1.json and val_2.json share by design is no repeat
    assert {s.sample_id for s in result.samples if s.group_id == "v_nwznKOuZM7w"} == {
        "v_nwznKOuZM7w[0]", "v_nwznKOuZM7w[1]", "v_nwznKOuZM7w.val_2[0]"}


def test_a_repeat_is_found_whether_or_not_its_key_has_the_v_prefix(fake):
    path = fake.root / "captions/val_1.json"
    train = json.loads((fake.root / "captions/train.json").read_text())
    edit_json(path, lambda d: d.update(ehGHCYKzyZ8=train["v_ehGHCYKzyZ8"]))
    [problem] = load(fake.root, "val").problems
    assert problem.sample_id == "ehGHCYKzyZ8[0]"
    assert problem.reason.endswith(
        "listed in split 'train' too, a leak between them (first in train.json, as 'v_ehGHCYKzyZ8'); segment left out")


@pytest.mark.parametrize(("entry", "message"), [
    ({"duration": 2.0, "timestamps": [[0.1]], "sentences": ["x"]}, r"expected \[start, end\] in seconds"),
    ({"duration": 2.0, "timestamps": [[0.1, int("1" + "0" * 400)]], "sentences": ["x"]},
     r"expected \[start, end\] in seconds \(finite numbers\)"),
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
    with pytest.raises(CorpusNotFoundError, match=r"no ActivityNet captions file \(train.json, val_1.json, "
                                                  r"val_2.json\) found in .* captions/, annotations/ folders"):
        load(tmp_path)


def test_a_captions_dir_given_without_annotation_files_is_named_as_the_option(fake):
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"found in {fake.root / 'nope'} (option captions_dir)")):
        load(fake.root, captions_dir="nope")


def test_a_split_whose_files_are_absent_names_them(fake):
    for name in ("val_1.json", "val_2.json"):
        (fake.root / "captions" / name).unlink()
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"split 'val' asked, but neither val_1.json nor val_2.json is in {fake.root / 'captions'}; "
            "splits there: ['train']")):
        load(fake.root, "val")


def test_only_val_2_json_with_val_2_none_says_it_is_there_but_not_read(fake):
    for name in ("train.json", "val_1.json"):
        (fake.root / "captions" / name).unlink()
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"{fake.root / 'captions' / 'val_2.json'} is there but not read (-o val_2=none), and neither train.json "
            "nor val_1.json is found; -o val_2=val (or test) reads it")):
        load(fake.root, val_2="none")
