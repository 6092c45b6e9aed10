"""The `didemo` loader on fake corpora (tests/fakes/didemo.py): one sample per description timed by the span most
annotators chose, or one per video with `-o level=video`; each bad entry left out and named
`file:line:column: [i]`, a bad annotator's pair named and left out of the vote; the file names the download and
conversion tools give the videos, in one folder or a folder per split."""
from __future__ import annotations

import json
import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import samples_to_table
from tests.corpora.timed_sentences import location
from tests.fakes import edit_json
from tests.fakes.av import write_mp4
from tests.fakes.didemo import SPANS, write_fake_didemo

KIND = "didemo"
DOG = "10015567@N08_3655084291_d8b58466fa.mov"
BEACH = "73313398@N00_5213766418_fc7a9f7db2.mp4"
FIELD = "13191254@N00_3433006936_6f1b5ea9f4.avi"


def load(root, split=None, **options):
    return load_corpus(KIND, root, split=split, options=options)


def set_times(fake, index: int, times) -> None:
    """Give train_data.json's entry `index` these annotators' pairs."""
    set_key(fake, "train_data.json", index, "times", times)


def set_key(fake, file_name: str, index: int, key: str, value) -> None:
    """Set `key` of entry `index` of one annotation file."""
    edit_json(fake.root / file_name, lambda data: data[index].__setitem__(key, value))


@pytest.fixture
def fake(tmp_path):
    return write_fake_didemo(tmp_path / "didemo")


def test_each_description_is_a_sample_of_its_video_timed_by_the_span_most_annotators_chose(fake):
    result = load(fake.root)
    assert result.problems == []
    samples = {s.sample_id: s for s in result.samples}
    assert {sid: (s.start, s.end, s.group_id) for sid, s in samples.items()} == SPANS
    first = samples[f"{DOG}[0]"]
    assert first.extra["times"] == [[1, 1], [1, 1], [1, 2], [0, 1]]  # every annotator's pair is kept
    assert (first.extra["segments"], first.extra["span_votes"]) == ([1, 1], 2)
    assert (first.extra["annotation_id"], first.extra["annotation_file"]) == (3001, "train_data.json")
    assert samples[f"{DOG}[1]"].captions == ("the dog swims back",)  # stripped
    assert result.metadata["annotation_files"] == {"train_data.json": "train", "val_data.json": "val",
                                                   "test_data.json": "test"}


def test_a_span_past_the_video_is_cut_at_its_length_keeping_the_annotated_end(fake):
    [swims] = [s for s in load(fake.root, "train").samples if s.sample_id == f"{DOG}[1]"]
    assert (swims.start, swims.end, swims.extra["annotated_end"]) == (5.0, 12.0, 15.0)
    assert swims.extra["video_duration"] == pytest.approx(12.0)


@pytest.mark.parametrize(("times", "span", "votes"), [
    ([[0, 0], [1, 1], [0, 1], [2, 2]], (0.0, 10.0), 1),  # no majority: the pair overlapping the others most
    ([[2, 2], [0, 0], [0, 0], [2, 2]], (10.0, 12.0), 2),  # a tie overlapping alike: the first annotated
    ([[1, 1], [0, 1], [1, 1], [0, 1], [0, 0]], (0.0, 10.0), 2),  # a tie: [0, 1] overlaps [0, 0] too
    ([[0, 0], [0, 1], [0, 2], [1, 5]], (0.0, 10.0), 1),  # IoU sums tie exactly (7/3): the first annotated
])
def test_tied_spans_go_to_the_one_overlapping_the_others_most_then_to_the_first_annotated(fake, times, span, votes):
    set_times(fake, 2, times)
    [beach] = [s for s in load(fake.root, "train").samples if s.group_id == BEACH]
    assert ((beach.start, beach.end), beach.extra["span_votes"]) == (span, votes)


def test_splits_are_the_three_files_and_validation_is_named_val(fake):
    assert [s.sample_id for s in load(fake.root, "val").samples] == [f"{FIELD}[0]"]
    with pytest.raises(ConfigError, match="split 'validation' is named 'val' here"):
        load(fake.root, "validation")
    (fake.root / "test_data.json").unlink()
    with pytest.raises(CorpusNotFoundError, match="split 'test' asked, but test_data.json is not in"):
        load(fake.root, "test")


def test_no_annotation_file_is_refused_naming_the_folders_and_the_option(tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(CorpusNotFoundError, match=r"train_data.json.*data/, annotations/.*-o annotations_dir="):
        load(tmp_path)


@pytest.mark.parametrize(("edit", "label", "reason"), [
    (lambda e: e.__setitem__("times", [[2, 1], [0, 9]]), "[0].times[0]",
     r"annotator 0's pair is \[2, 1\].*none of the 2 annotators' pairs is valid"),
    (lambda e: e.__setitem__("times", "1-2"), "[0].times", "non-empty list of"),
    (lambda e: e.__setitem__("times", [[1, 6]]), "[0].times[0]", r"0 <= start <= end <= 5"),
    (lambda e: e.update(times=[[0, 5]], num_segments=5), "[0].times[0]", r"end <= 4 \(num_segments 5\)"),
    (lambda e: e.__setitem__("times", [[0.5, 1]]), "[0].times[0]", r"pair is \[0.5, 1\]"),
    (lambda e: e.__setitem__("times", []), "[0].times", "non-empty list of"),
    (lambda e: e.__setitem__("description", "   "), "[0].description", "blank description"),
    (lambda e: e.__setitem__("description", 7), "[0].description", "expected a description as a string, got 7"),
])
def test_a_bad_entry_is_left_out_and_named_while_the_videos_other_descriptions_keep_their_ids(fake, edit, label,
                                                                                             reason):
    edit_json(fake.root / "train_data.json", lambda data: edit(data[0]))
    result = load(fake.root, "train")
    [problem] = result.problems
    assert problem.sample_id == f"{DOG}[0]"
    assert re.fullmatch(location(fake.root / "train_data.json", label), problem.path)
    assert re.search(reason, problem.reason) and "description left out" in problem.reason
    assert f"{DOG}[1]" in {s.sample_id for s in result.samples}


@pytest.mark.parametrize(("entry", "label"), [("a dog", "[3]"), ({"description": "x", "times": [[0, 0]]}, "[3].video")])
def test_an_entry_without_a_video_name_is_left_out_and_named(fake, entry, label):
    edit_json(fake.root / "train_data.json", lambda data: data.append(entry))
    result = load(fake.root, "train")
    [problem] = result.problems
    assert problem.sample_id is None and re.fullmatch(location(fake.root / "train_data.json", label), problem.path)
    assert len(result.samples) == 3


def test_a_moment_starting_after_the_video_ends_is_left_out(fake):
    set_times(fake, 2, [[3, 3]] * 4)  # 15 s into a 12 s video
    [problem] = load(fake.root, "train").problems
    assert problem.sample_id == f"{BEACH}[0]"
    assert "moment starts at 15.0 s, at or after the end of the video" in problem.reason


def test_a_missing_video_names_every_file_name_looked_for(fake):
    (fake.root / "videos" / BEACH).unlink()
    [problem] = load(fake.root, "train").problems
    assert problem.sample_id == f"{BEACH}[0]"
    assert re.fullmatch(location(fake.root / "train_data.json", "[2]"), problem.path)
    assert problem.reason.startswith(f"video file {BEACH} not found in videos/, the root; also looked for {BEACH}.mp4")
    assert problem.reason.endswith("moment left out")


def test_no_video_found_at_all_stops_the_load_with_the_option_hint(fake):
    (fake.root / "videos").rename(fake.root / "elsewhere")
    with pytest.raises(CorpusNotFoundError, match="none of the 4 DiDeMo videos found.*-o video_dir="):
        load(fake.root)
    assert len(load(fake.root, video_dir="elsewhere").samples) == 5


def test_videos_converted_to_mp4_are_found_under_their_stem(tmp_path):
    fake = write_fake_didemo(tmp_path / "c", annotations_dir="annotations", naming="converted")
    result = load(fake.root)
    assert result.problems == []
    assert {s.video for s in result.samples if s.group_id == DOG} == {"videos/10015567@N08_3655084291_d8b58466fa.mp4"}


def test_a_file_that_is_no_list_or_not_json_stops_the_load_naming_it(fake):
    path = fake.root / "val_data.json"
    path.write_text('{"annotation_id": 1}')
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:1:1: expected a list of descriptions")):
        load(fake.root)
    path.write_text('[\n  {"video": x}\n]')
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:2:")):
        load(fake.root)


def test_level_video_gives_a_sample_per_video_with_its_descriptions_as_captions(fake):
    result = load(fake.root, level="video")
    assert result.problems == [] and result.metadata["level"] == "video"
    samples = {s.sample_id: s for s in result.samples}
    assert {sid: (s.split, s.group_id, s.captions) for sid, s in samples.items()} == {
        DOG: ("train", DOG, ("a dog jumps into the pool", "the dog swims back")),
        BEACH: ("train", BEACH, ("a man walks on the beach",)),
        FIELD: ("val", FIELD, ("kids run across the field",)),
        "44477141@N00_4866548578_0b1e4a3bcd.mov": ("test", "44477141@N00_4866548578_0b1e4a3bcd.mov",
                                                   ("the camera pans to the left",)),
    }
    dog = samples[DOG]
    assert (dog.start, dog.end) == (None, None)  # the whole 12 s video was annotated
    assert dog.extra["annotation_ids"] == [3001, 3002] and dog.extra["moments"] == [[5.0, 10.0], [5.0, 15.0]]


def test_level_video_holds_a_video_longer_than_30_s_to_its_annotated_first_30_s(fake):
    write_mp4(fake.root / "videos" / BEACH, [(0, 0, 0), (255, 255, 255)], fps=1, frames_per_color=16)
    [beach] = [s for s in load(fake.root, "train", level="video").samples if s.group_id == BEACH]
    assert (beach.start, beach.end) == (0.0, 30.0)


def test_level_video_leaves_out_the_descriptions_of_a_video_another_split_holds(fake):
    entry = {"annotation_id": 9, "description": "the dog again", "video": DOG, "times": [[0, 0]]}
    edit_json(fake.root / "test_data.json", lambda data: data.append(entry))
    result = load(fake.root, level="video")
    [problem] = result.problems
    assert (problem.sample_id, problem.error_type) == (f"{DOG}[2]", REPEATED_ENTRY)
    assert "listed in split 'train' too, a leak" in problem.reason
    assert [s.split for s in result.samples if s.sample_id == DOG] == ["train"]
    assert load(fake.root, "test", level="video").problems == [problem]  # found though train is not loaded


def test_level_video_names_a_leaked_descriptions_bad_pair_under_the_id_of_the_video_sample_kept(fake):
    entry = {"annotation_id": 9, "description": "the dog again", "video": DOG, "times": [[0, 0], [9, 9]]}
    edit_json(fake.root / "test_data.json", lambda data: data.append(entry))
    pair, leak = load(fake.root, level="video").problems
    assert (pair.sample_id, leak.sample_id) == (DOG, f"{DOG}[2]")
    assert re.fullmatch(location(fake.root / "test_data.json", "[1].times[1]"), pair.path)
    assert pair.reason.startswith("annotator 1's pair is [9, 9]") and "a leak" in leak.reason


@pytest.mark.parametrize(("times", "label", "reason"), [
    ([[2, 1], [0, 9]], "[0].times[0]", "none of the 2 annotators' pairs is valid"),
    ("1-2", "[0].times", "non-empty list of"),
    ([], "[0].times", "non-empty list of"),
])
def test_level_video_keeps_a_description_without_a_valid_pair_in_the_captions_naming_its_lost_moment(fake, times,
                                                                                                      label, reason):
    set_times(fake, 0, times)
    result = load(fake.root, "train", level="video")
    [problem] = result.problems
    assert problem.sample_id == DOG and re.fullmatch(location(fake.root / "train_data.json", label), problem.path)
    assert reason in problem.reason and problem.reason.endswith(
        "its moment left out (null in extra.moments), the description kept in its video's captions")
    [dog] = [s for s in result.samples if s.sample_id == DOG]
    assert dog.captions == ("a dog jumps into the pool", "the dog swims back")
    assert dog.extra["moments"] == [None, [5.0, 15.0]] and dog.extra["annotation_ids"] == [3001, 3002]
    samples_to_table(result.samples)
    [joined] = [s for s in load(fake.root, "train", level="video", paragraph="join").samples if s.sample_id == DOG]
    assert joined.captions == ("a dog jumps into the pool the dog swims back",)  # every description, as CLIP4Clip
    assert f"{DOG}[0]" not in {s.sample_id for s in load(fake.root, "train").samples}  # level=moment: left out


def test_an_unknown_level_is_refused(fake):
    with pytest.raises(ConfigError, match="'paragraph' is not one of"):
        load(fake.root, level="paragraph")


def test_a_bad_annotator_pair_is_named_and_left_out_of_the_vote_keeping_the_description(fake):
    set_times(fake, 0, [[2, 2], [2, 1], [1, 1], [1, 1], "x"])  # without the bad pairs [1, 1] has the majority
    result = load(fake.root, "train")
    assert [p.sample_id for p in result.problems] == [f"{DOG}[0]"] * 2
    for problem, label, shown in zip(result.problems, ("[0].times[1]", "[0].times[4]"), ("[2, 1]", "'x'")):
        assert re.fullmatch(location(fake.root / "train_data.json", label), problem.path)
        assert problem.reason.startswith(f"annotator {label[-2]}'s pair is {shown}; expected [start, end]")
        assert problem.reason.endswith("pair left out of the vote, the description kept with the other annotators' "
                                       "pairs")
    [dog] = [s for s in result.samples if s.sample_id == f"{DOG}[0]"]
    assert dog.extra["times"] == [[2, 2], [1, 1], [1, 1]] and dog.extra["span_votes"] == 2
    assert (dog.start, dog.end) == (5.0, 10.0)
    by_video = load(fake.root, "train", level="video")
    assert [p.sample_id for p in by_video.problems] == [DOG, DOG]  # the sample the description is part of
    assert [p.path for p in by_video.problems] == [p.path for p in result.problems]


@pytest.mark.parametrize("num_segments", [None, "6", 0, 9, True, 2.5])
def test_a_missing_or_invalid_num_segments_allows_all_six_segments(fake, num_segments):
    set_times(fake, 2, [[0, 5]] * 4)
    set_key(fake, "train_data.json", 2, "num_segments", num_segments)
    result = load(fake.root, "train")
    assert result.problems == []
    [beach] = [s for s in result.samples if s.group_id == BEACH]
    assert (beach.start, beach.end, beach.extra["annotated_end"]) == (0.0, 12.0, 30.0)


@pytest.mark.parametrize(("file_name", "index", "named", "on_disk"), [
    ("train_data.json", 2, "73313398@N00_5213766418_fc7a9f7db2.3gp", BEACH),
    ("val_data.json", 0, "13191254@N00_3433006936_6f1b5ea9f4.AVI", "13191254@N00_3433006936_6f1b5ea9f4.mp4"),
    ("test_data.json", 0, "44477141@N00_4866548578_0b1e4a3bcd.MOV", "44477141@N00_4866548578_0b1e4a3bcd.mp4"),
])
def test_a_video_of_any_suffix_converted_to_mp4_is_found_under_its_stem(fake, file_name, index, named, on_disk):
    old = json.loads((fake.root / file_name).read_text())[index]["video"]
    (fake.root / "videos" / old).rename(fake.root / "videos" / on_disk)
    set_key(fake, file_name, index, "video", named)
    result = load(fake.root)
    assert result.problems == []
    assert [s.video for s in result.samples if s.group_id == named] == [f"videos/{on_disk}"]


def test_a_string_annotation_id_is_kept_as_it_is(fake):
    set_key(fake, "train_data.json", 0, "annotation_id", "a-3001")
    [dog] = [s for s in load(fake.root, "train").samples if s.sample_id == f"{DOG}[0]"]
    assert dog.extra["annotation_id"] == "a-3001"
    [video] = [s for s in load(fake.root, "train", level="video").samples if s.sample_id == DOG]
    assert video.extra["annotation_ids"] == ["a-3001", 3002]


@pytest.mark.parametrize(("video_dir", "option", "split_folders"), [
    ("videos", None, {"train": "train", "val": "val", "test": "test"}),  # LAVIS's, VINDLU's `train/<name>.mp4`
    ("DiDeMo_Videos", None, {"train": "train_videos", "val": "val_videos", "test": "test_videos"}),
    ("", None, {"train": "train", "val": "val", "test": "test"}),  # the split folders in the root
    ("DiDeMo/videos", "DiDeMo/videos", {"train": "train_videos", "val": "val", "test": "test"}),
])
def test_videos_in_a_folder_per_split_are_found(tmp_path, video_dir, option, split_folders):
    fake = write_fake_didemo(tmp_path / "d", annotations_dir="data", video_dir=video_dir, split_folders=split_folders)
    result = load(fake.root, **({"video_dir": option} if option else {}))
    assert result.problems == []
    assert {s.sample_id: s.video for s in result.samples} == {sid: e.video for sid, e in fake.expected.items()}
    [field] = [s for s in result.samples if s.split == "val"]
    assert field.video == "/".join(part for part in (video_dir, split_folders["val"], FIELD) if part)


def test_no_video_found_names_the_per_split_subfolders_looked_in(fake):
    (fake.root / "videos").rename(fake.root / "elsewhere")
    with pytest.raises(CorpusNotFoundError, match=r"their per-split subfolders train/, train_videos/, val/.*"
                                                  r"-o video_dir= names the folder holding them or their per-split"):
        load(fake.root)


def test_level_video_with_paragraph_join_gives_one_caption_per_video_as_clip4clip(fake):
    result = load(fake.root, level="video", paragraph="join")
    assert result.problems == [] and result.metadata["paragraph"] == "join"
    [dog] = [s for s in result.samples if s.sample_id == DOG]
    assert dog.captions == ("a dog jumps into the pool the dog swims back",)  # each stripped, single spaces
    assert dog.extra["moments"] == [[5.0, 10.0], [5.0, 15.0]]  # one per description still
    assert load(fake.root, level="video").metadata["paragraph"] == "separate"


@pytest.mark.parametrize(("options", "message"), [
    ({"paragraph": "join"}, "paragraph=join applies to level=video"),
    ({"level": "video", "paragraph": "merge"}, "'merge'"),
])
def test_paragraph_is_refused_without_level_video_or_with_an_unknown_value(fake, options, message):
    with pytest.raises(ConfigError, match=message):
        load(fake.root, **options)
