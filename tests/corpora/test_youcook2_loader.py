"""The `youcook2` loader on fake corpora (tests/fakes/youcook2.py): subsets as splits, one sample per timed
sentence, the release's `raw_videos/<subset>/<recipe_type>/` folders and flat ones, label_foodtype.csv's recipe
names, and each defect of an entry left out (or cut) and named `file:line:column: database.<video>...`."""
from __future__ import annotations

import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.corpora.timed_sentences import location
from tests.fakes import edit_json
from tests.fakes.activitynet import write_video
from tests.fakes.youcook2 import ANNOTATION_FILE, RECIPE_NAMES, RECIPE_NAMES_FILE, SEGMENTS, TEST_FILE, \
    write_fake_youcook2

KIND = "youcook2"


def load(root, split=None, **options):
    return load_corpus(KIND, root, split=split, options=options)


def edit_database(path, edit):
    """Let `edit` change the `database` object (video id -> entry) of a YouCook2 annotation file."""
    edit_json(path, lambda data: edit(data["database"]))


@pytest.fixture
def fake(tmp_path):
    return write_fake_youcook2(tmp_path / "YouCookII")


def test_training_is_train_and_validation_is_val(fake):
    result = load(fake.root)
    assert result.problems == []
    assert {s.sample_id: s.split for s in result.samples} == {sid: e.split for sid, e in fake.expected.items()}
    assert sorted(s.sample_id for s in load(fake.root, "val").samples) == ["9GX8f5EwwE4[0]", "9GX8f5EwwE4[1]"]
    assert {s.split for s in load(fake.root, "train").samples} == {"train"}
    assert result.metadata["annotation_files"] == {f"annotations/{ANNOTATION_FILE}": ["train", "val"]}
    assert load(fake.root, "val").metadata["annotation_files"] == {f"annotations/{ANNOTATION_FILE}": ["val"]}


def test_split_test_is_refused_naming_the_file_without_sentences_and_the_val_split(fake):
    with pytest.raises(ConfigError, match=f"no test sentences \\({re.escape(TEST_FILE)}.*--split val"):
        load(fake.root, "test")


@pytest.mark.parametrize(("native", "ours"), [("training", "train"), ("validation", "val")])
def test_the_release_s_subset_names_as_split_point_to_ours(fake, native, ours):
    with pytest.raises(ConfigError, match=f"split '{native}' is named '{ours}' here"):
        load(fake.root, native)


def test_each_timed_sentence_is_a_segment_sample_of_its_video(fake):
    samples = {s.sample_id: s for s in load(fake.root).samples}
    assert {sid: (s.start, s.end, s.group_id) for sid, s in samples.items()} == SEGMENTS
    second = samples["GLd3aX16zBg[1]"]
    assert second.captions == ("place a slice of cheese on the bread",)  # stripped
    assert second.video == "raw_videos/training/113/GLd3aX16zBg.mp4"
    assert {k: second.extra[k] for k in ("duration", "recipe_type", "recipe", "segment", "annotation_file")} == {
        "duration": 2.0, "recipe_type": "113", "recipe": RECIPE_NAMES["113"], "segment": 1,
        "annotation_file": ANNOTATION_FILE}
    assert second.extra["video_duration"] == pytest.approx(2.0, abs=0.1)  # from the file's header


def test_a_flat_folder_of_webm_downloads_beside_the_annotations_in_the_root(tmp_path):
    fake = write_fake_youcook2(tmp_path / "yc2", annotations_dir="", video_dir="videos", nested=False,
                               suffix=".webm")
    result = load(fake.root)
    assert result.problems == []
    assert {s.sample_id: s.video for s in result.samples} == {sid: e.video for sid, e in fake.expected.items()}
    assert result.samples[0].video.startswith("videos/") and result.samples[0].video.endswith(".webm")


def test_per_subset_folders_without_recipe_folders_and_option_video_dir(fake, tmp_path):
    clips = tmp_path / "clips"
    for subset, key in (("training", "GLd3aX16zBg"), ("training", "sGzBQrg1adY"), ("validation", "9GX8f5EwwE4")):
        write_video(clips / subset / f"{key}.mkv", 0)
    result = load(fake.root, video_dir=str(clips), allow_outside_root=True)
    assert result.problems == []
    samples = {s.sample_id: s.video for s in result.samples}
    assert samples.keys() == SEGMENTS.keys()
    assert samples["9GX8f5EwwE4[1]"] == f"{clips}/validation/9GX8f5EwwE4.mkv"
    assert samples["GLd3aX16zBg[0]"] == f"{clips}/training/GLd3aX16zBg.mkv"


def test_the_recipe_folder_is_searched_before_the_plain_subset_folder(fake):
    write_video(fake.root / "raw_videos/training/GLd3aX16zBg.mp4", 5)
    samples = {s.sample_id: s.video for s in load(fake.root, "train").samples}
    assert samples["GLd3aX16zBg[0]"] == "raw_videos/training/113/GLd3aX16zBg.mp4"


def test_an_annotations_dir_given_is_read_and_the_release_unpacked_one_level_down_is_found(tmp_path):
    fake = write_fake_youcook2(tmp_path / "yc2", annotations_dir="YouCookII/annotations",
                               video_dir="YouCookII/raw_videos")
    result = load(fake.root)
    assert result.problems == [] and {s.sample_id: s.video for s in result.samples} == {
        sid: e.video for sid, e in fake.expected.items()}
    assert result.metadata["annotation_files"] == {f"YouCookII/annotations/{ANNOTATION_FILE}": ["train", "val"]}
    assert result.metadata["recipe_names_file"] == f"YouCookII/{RECIPE_NAMES_FILE}"
    given = load(fake.root, annotations_dir=str(fake.root / "YouCookII/annotations"))
    assert given.problems == [] and len(given.samples) == len(SEGMENTS)


@pytest.mark.parametrize(("value", "folder", "shown"), [("../101", None, "../101"), (101, "101", "101"),
                                                        ("x y", None, "x y")])
def test_recipe_type_is_the_json_s_value_and_only_a_plain_name_is_a_folder(fake, value, folder, shown):
    path = fake.annotation_file
    edit_database(path, lambda db: db["sGzBQrg1adY"].update(recipe_type=value))
    videos = fake.root / "raw_videos"
    if folder is None:
        (videos / "training/101/sGzBQrg1adY.mp4").rename(videos / "training/sGzBQrg1adY.mp4")
    # Other videos where `training/../101` and `training/x y` lead, were they followed as folders.
    write_video(videos / "101/sGzBQrg1adY.mp4", 7)
    write_video(videos / "training/x y/sGzBQrg1adY.mp4", 8)
    result = load(fake.root, "train")
    assert result.problems == []
    [sample] = [s for s in result.samples if s.group_id == "sGzBQrg1adY"]
    assert sample.video == f"raw_videos/training/{folder + '/' if folder else ''}sGzBQrg1adY.mp4"
    assert sample.extra["recipe_type"] == shown
    assert sample.extra.get("recipe") == RECIPE_NAMES.get(shown)


def test_a_recipe_type_that_is_no_string_or_integer_is_not_kept(fake):
    edit_database(fake.annotation_file, lambda db: db["sGzBQrg1adY"].update(recipe_type=[101]))
    (fake.root / "raw_videos/training/101/sGzBQrg1adY.mp4").rename(fake.root / "raw_videos/training/sGzBQrg1adY.mp4")
    [sample] = [s for s in load(fake.root, "train").samples if s.group_id == "sGzBQrg1adY"]
    assert "recipe_type" not in sample.extra and "recipe" not in sample.extra


def test_without_label_foodtype_csv_no_sample_has_a_recipe_name(tmp_path):
    fake = write_fake_youcook2(tmp_path / "yc2", recipe_names=False)
    result = load(fake.root)
    assert result.problems == [] and "recipe_names_file" not in result.metadata
    assert all("recipe" not in s.extra and "recipe_type" in s.extra for s in result.samples)


def test_a_bad_row_of_label_foodtype_csv_is_named_at_its_line_and_the_others_name_their_recipes(fake):
    path = fake.root / RECIPE_NAMES_FILE
    path.write_text("Key,Name\n101,grilled cheese\n113\nabc,toast\n212,\n101,again\n\n212,mapo tofu\n")
    result = load(fake.root)
    assert result.metadata["recipe_names_file"] == RECIPE_NAMES_FILE
    assert [(p.sample_id, p.path) for p in result.problems] == [(None, f"{path}:{n}") for n in (3, 4, 5, 6)]
    reasons = [p.reason for p in result.problems]
    assert reasons[0].startswith("1 fields '113'; expected <recipe type>,<recipe name>")
    assert reasons[1].startswith("recipe type 'abc' is no number") and "blank name" in reasons[2]
    assert reasons[3].startswith("recipe type 101 is named again (first 'grilled cheese', kept)")
    assert all(r.endswith("row left out (videos of that recipe type get no extra.recipe)") for r in reasons)
    recipes = {s.group_id: s.extra.get("recipe") for s in result.samples}
    assert recipes == {"GLd3aX16zBg": None, "sGzBQrg1adY": "grilled cheese", "9GX8f5EwwE4": "mapo tofu"}


def test_recipe_types_are_compared_as_ascii_numbers_and_the_first_non_blank_row_may_be_a_header(fake):
    path = fake.root / RECIPE_NAMES_FILE
    path.write_text("\n \nType,Name\n0101,grilled cheese\n101,again\n\uff11\uff11\uff13,bangers\n\u00b2,squared\n"
                    "212,mapo tofu\n")
    edit_database(fake.annotation_file, lambda db: db["sGzBQrg1adY"].update(recipe_type=101))  # an integer
    result = load(fake.root)
    assert [p.path for p in result.problems] == [f"{path}:{n}" for n in (5, 6, 7)]
    reasons = [p.reason for p in result.problems]
    assert reasons[0].startswith("recipe type 101 is named again (first 'grilled cheese', kept)")
    assert reasons[1].startswith("recipe type '\uff11\uff11\uff13' is no number (digits 0-9)")
    assert reasons[2].startswith("recipe type '\u00b2' is no number (digits 0-9)")
    recipes = {s.group_id: (s.extra["recipe_type"], s.extra.get("recipe")) for s in result.samples}
    assert recipes == {"GLd3aX16zBg": ("113", None), "sGzBQrg1adY": ("101", "grilled cheese"),
                       "9GX8f5EwwE4": ("212", "mapo tofu")}


def test_a_quoted_name_closed_lines_later_is_named_at_its_row_and_the_rows_after_it_load(fake):
    path = fake.root / RECIPE_NAMES_FILE
    path.write_text('101,"grilled\n113,bangers and mash"\n212,mapo tofu\n')
    result = load(fake.root)
    [problem] = result.problems
    assert problem.path == f"{path}:1"
    assert problem.reason.startswith("field 'grilled\\n113,bangers and mash' holds a line break")
    recipes = {s.group_id: s.extra.get("recipe") for s in result.samples}
    assert recipes == {"GLd3aX16zBg": None, "sGzBQrg1adY": None, "9GX8f5EwwE4": "mapo tofu"}


@pytest.mark.parametrize(("data", "line", "reason"), [
    (b'101,"mac\n113,bangers and mash\n', 1, "no CSV from this row on (unexpected end of data); expected"),
    (b'101,grilled cheese\n113,"bangers" and mash\n', 2, "no CSV from this row on (',' expected after '\"')"),
    (b"101,grilled cheese\r113,bangers and mash\r", 1, "a line ends in a lone carriage return (\\r, old Mac OS"),
    (b"101,grilled cheese\n113,bangers and mash\n212,ma\xe7o tofu\n", 3, "not valid UTF-8 (byte 0xe7"),
])
def test_a_label_foodtype_csv_that_cannot_be_read_is_one_problem_and_the_load_goes_on(fake, data, line, reason):
    path = fake.root / RECIPE_NAMES_FILE
    path.write_bytes(data)
    result = load(fake.root)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == (None, f"{path}:{line}")
    assert problem.reason.startswith(reason), problem.reason
    assert problem.reason.endswith("; file not read (it is optional: no sample gets extra.recipe)")
    assert len(result.samples) == len(SEGMENTS) and all("recipe" not in s.extra for s in result.samples)


def test_label_foodtype_csv_above_a_root_named_annotations_is_outside_the_root_and_not_read(tmp_path):
    fake = write_fake_youcook2(tmp_path / "annotations", annotations_dir="")
    outside = tmp_path / RECIPE_NAMES_FILE
    (fake.root / RECIPE_NAMES_FILE).rename(outside)
    result = load(fake.root)
    assert result.problems == [] and "recipe_names_file" not in result.metadata
    assert len(result.samples) == len(SEGMENTS) and all("recipe" not in s.extra for s in result.samples)
    allowed = load(fake.root, allow_outside_root=True)
    assert allowed.metadata["recipe_names_file"] == outside.as_posix()
    assert {s.group_id: s.extra["recipe"] for s in allowed.samples} == {
        "GLd3aX16zBg": RECIPE_NAMES["113"], "sGzBQrg1adY": RECIPE_NAMES["101"], "9GX8f5EwwE4": RECIPE_NAMES["212"]}


def test_a_segment_ending_past_the_duration_is_cut_there_keeping_its_annotated_end(fake):
    edit_database(fake.annotation_file, lambda db: db["sGzBQrg1adY"]["annotations"][0].update(segment=[0.2, 2.6]))
    result = load(fake.root)
    [cut] = [s for s in result.samples if s.sample_id == "sGzBQrg1adY[0]"]
    assert (cut.start, cut.end, cut.extra["annotated_end"]) == (0.2, 2.0, 2.6)
    assert result.problems == []


@pytest.mark.parametrize(("segment", "reason"), [
    ([1.5, 0.5], r"segment end 0.5 <= start 1.5 \(reversed\)"),
    ([1, 1], r"segment end 1.0 <= start 1.0 \(zero-length\)"),
    ([-0.5, 1.0], r"starts at -0.5 s, before the start of the video"),
    ([2.5, 3.0], r"starts at 2.5 s, at or after the end of the video \(duration 2.0 s\)"),
    ([0.1], r"segment \[0.1\] is no \[start, end\] pair"),
    (["0", 1], r"segment \['0', 1\] is no \[start, end\] pair"),
    ([0, int("1" + "0" * 400)], r"is no \[start, end\] pair of seconds \(finite numbers\)"),
])
def test_an_unusable_span_leaves_its_segment_out_named_at_its_annotation(fake, segment, reason):
    path = fake.annotation_file
    edit_database(path, lambda db: db["GLd3aX16zBg"]["annotations"][0].update(segment=segment))
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "GLd3aX16zBg[0]" and re.search(reason, problem.reason)
    assert re.fullmatch(location(path, "database.GLd3aX16zBg.annotations[0]"), problem.path)
    ids = {s.sample_id for s in result.samples}
    assert "GLd3aX16zBg[0]" not in ids and "GLd3aX16zBg[1]" in ids  # the other segment keeps its id


@pytest.mark.parametrize(("annotation", "reason"), [
    ({"id": 1, "segment": [1, 2], "sentence": "   "}, "blank sentence; segment left out"),
    ({"id": 1, "segment": [1, 2], "sentence": 7}, "expected a sentence as a string, got 7"),
    ({"id": 1, "segment": [1, 2]}, r"expected a sentence as a string, got nothing \(the key is missing or null\)"),
    ({"id": 1, "segment": [1, 2], "sentence": "dice \udc80"}, r"a sentence is not valid Unicode text: 'dice \\udc80'"),
    ([1, 2, "add salt"], r"expected \{\"id\": 0, \"segment\": \[start, end\], \"sentence\": \"...\"\}, got \[1, 2"),
])
def test_a_malformed_annotation_is_left_out_and_the_rest_loads(fake, annotation, reason):
    path = fake.annotation_file
    edit_database(path, lambda db: db["9GX8f5EwwE4"]["annotations"].__setitem__(1, annotation))
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "9GX8f5EwwE4[1]" and re.search(reason, problem.reason)
    assert re.fullmatch(location(path, "database.9GX8f5EwwE4.annotations[1]"), problem.path)
    assert len(result.samples) == len(SEGMENTS) - 1


@pytest.mark.parametrize(("edit", "member", "reason"), [
    (lambda e: e.update(subset="testing"), ".subset", "has subset 'testing'; expected 'training' or 'validation'"),
    (lambda e: e.pop("subset"), ".subset", "has subset None; expected 'training' or 'validation'"),
    (lambda e: e.update(duration=0), ".duration", "has duration 0; expected a positive number of seconds"),
    (lambda e: e.update(duration="2.0"), ".duration", "has duration '2.0'; expected a positive number"),
    (lambda e: e.update(annotations={}), "", "has no 'annotations' list (got {}); video left out"),
    (lambda e: e.update(annotations=[]), ".annotations", "has no timed sentence (empty annotations); left out"),
])
def test_an_unusable_video_entry_leaves_its_segments_out_named_at_the_member(fake, edit, member, reason):
    path = fake.annotation_file
    edit_database(path, lambda db: edit(db["GLd3aX16zBg"]))
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "GLd3aX16zBg" and reason in problem.reason
    assert re.fullmatch(location(path, "database.GLd3aX16zBg" + member), problem.path)
    assert {s.group_id for s in result.samples} == {"sGzBQrg1adY", "9GX8f5EwwE4"}


def test_an_entry_that_is_no_object_is_named(fake):
    path = fake.annotation_file
    edit_database(path, lambda db: db.update(brokenVideo1=["training"]))
    [problem] = load(fake.root).problems
    assert problem.sample_id == "brokenVideo1" and re.fullmatch(location(path, "database.brokenVideo1"), problem.path)
    assert problem.reason.startswith("expected an object with subset, duration, recipe_type and annotations")


def test_defects_of_the_other_split_are_not_reported_but_an_unknown_subset_always_is(fake):
    edit_database(fake.annotation_file, lambda db: (db["GLd3aX16zBg"]["annotations"][0].update(segment=[2, 1]),
                                                    db["sGzBQrg1adY"].update(subset="test")))
    assert [p.sample_id for p in load(fake.root, "val").problems] == ["sGzBQrg1adY"]
    assert [p.sample_id for p in load(fake.root, "train").problems] == ["GLd3aX16zBg[0]", "sGzBQrg1adY"]


@pytest.mark.parametrize("drop", [lambda e: e.update(duration=None), lambda e: e.pop("duration")],
                         ids=["null", "absent"])
def test_a_video_without_duration_is_held_to_its_file_s_header(fake, drop):
    edit_database(fake.annotation_file, lambda db: (drop(db["GLd3aX16zBg"]),
                                                    db["GLd3aX16zBg"]["annotations"][1].update(segment=[1, 2.7])))
    result = load(fake.root)
    assert result.problems == []
    cut = next(s for s in result.samples if s.sample_id == "GLd3aX16zBg[1]")
    assert (cut.start, cut.end, cut.extra["annotated_end"]) == (1.0, cut.extra["video_duration"], 2.7)
    assert cut.end == pytest.approx(2.0, abs=0.1) and "duration" not in cut.extra


def test_a_null_duration_whose_file_s_header_states_none_either_leaves_the_video_out(fake):
    path = fake.annotation_file
    edit_database(path, lambda db: db["9GX8f5EwwE4"].update(duration=None))
    (fake.root / "raw_videos/validation/212/9GX8f5EwwE4.mp4").write_bytes(b"no video header here")
    result = load(fake.root, "val")
    assert result.samples == []
    [problem] = result.problems
    assert problem.sample_id == "9GX8f5EwwE4"
    assert re.fullmatch(location(path, "database.9GX8f5EwwE4.duration"), problem.path)
    assert problem.reason == ("video '9GX8f5EwwE4' has no duration, and the header of "
                              "raw_videos/validation/212/9GX8f5EwwE4.mp4 states none; its 2 segments left out")


def test_a_download_left_without_suffix_is_found_last(fake):
    folder = fake.root / "raw_videos/training/113"
    (folder / "GLd3aX16zBg.mp4").rename(folder / "GLd3aX16zBg")
    result = load(fake.root, "train")
    assert result.problems == []
    bare = next(s for s in result.samples if s.sample_id == "GLd3aX16zBg[0]")
    assert bare.video == "raw_videos/training/113/GLd3aX16zBg"
    assert bare.extra["video_duration"] == pytest.approx(2.0, abs=0.1)  # the header is read without a suffix
    write_video(folder / "GLd3aX16zBg.webm", 0)
    assert next(s.video for s in load(fake.root, "train").samples if s.group_id == "GLd3aX16zBg").endswith(".webm")


def test_a_video_listed_twice_keeps_its_first_entry_and_records_the_later_one_s_segments(fake):
    path = fake.annotation_file
    text = path.read_text()
    later = ('    "GLd3aX16zBg": {"subset": "training", "duration": 2.0, "recipe_type": "113",\n'
             '      "annotations": [{"id": 0, "segment": [0, 2], "sentence": "a later sentence"},\n'
             '                      {"id": 1, "segment": [1, 2], "sentence": "another one"}]}')
    edited = text.replace('\n  }\n}', ",\n" + later + "\n  }\n}")
    assert edited != text
    path.write_text(edited)
    result = load(fake.root)
    assert {s.sample_id: s.captions for s in result.samples if s.group_id == "GLd3aX16zBg"} == {
        "GLd3aX16zBg[0]": ("spread margarine on two slices of bread",),
        "GLd3aX16zBg[1]": ("place a slice of cheese on the bread",)}
    later_at = edited.rindex('"GLd3aX16zBg"')
    line, column = edited.count("\n", 0, later_at) + 1, later_at - edited.rindex("\n", 0, later_at)
    first_line = edited.count("\n", 0, edited.index('"GLd3aX16zBg"')) + 1
    assert [(p.sample_id, p.path, p.error_type) for p in result.problems] == [
        (f"GLd3aX16zBg[{i}]", f"{path}:{line}:{column}: database.GLd3aX16zBg", REPEATED_ENTRY) for i in (0, 1)]
    assert result.problems[0].reason.startswith(
        f"segment 0 of video 'GLd3aX16zBg' is listed again in this file (first at line {first_line}:")
    assert load(fake.root, "val").problems == []  # a training entry's repeat is not the val split's


def test_a_key_repeated_inside_an_entry_refuses_the_file(fake):
    path = fake.annotation_file
    path.write_text(path.read_text().replace('"duration": 2.0,', '"duration": 2.0, "duration": 3.0,', 1))
    with pytest.raises(CorpusFormatError, match=r"repeated key 'duration' in the object at database\.GLd3aX16zBg"):
        load(fake.root)


def test_a_missing_video_leaves_each_of_its_segments_out_naming_the_folders_and_files_looked_for(fake):
    (fake.root / "raw_videos/training/113/GLd3aX16zBg.mp4").unlink()
    result = load(fake.root, "train")
    assert [s.sample_id for s in result.samples] == ["sGzBQrg1adY[0]"]
    assert [p.sample_id for p in result.problems] == ["GLd3aX16zBg[0]", "GLd3aX16zBg[1]"]
    problem = result.problems[1]
    assert re.fullmatch(location(fake.annotation_file, "database.GLd3aX16zBg.annotations[1]"), problem.path)
    assert problem.reason == ("video file GLd3aX16zBg.mp4 not found in raw_videos/training/113/, raw_videos/training/, "
                              "raw_videos/, the root; also looked for GLd3aX16zBg.mkv, GLd3aX16zBg.webm, GLd3aX16zBg; "
                              "segment left out")


def test_no_video_found_at_all_names_the_folders_and_the_option(fake, tmp_path):
    (fake.root / "raw_videos").rename(tmp_path / "elsewhere")
    searched = ", ".join(f"{base}<subset>/<recipe_type>/, {base}<subset>/, {base or 'the root'}"
                         for base in ("raw_videos/", "YouCookII/raw_videos/", "videos/", ""))
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"none of the 3 YouCook2 videos found in {fake.root} (looked for <id> with .mp4, .mkv, .webm or none, in "
            f"those there of {searched}); -o video_dir= names")):
        load(fake.root)
    assert len(load(fake.root, video_dir=str(tmp_path / "elsewhere"), allow_outside_root=True).samples) == 5


def test_no_annotation_file_names_the_folders_looked_in(tmp_path):
    (tmp_path / "raw_videos").mkdir()
    with pytest.raises(CorpusNotFoundError, match=f"no YouCook2 captions file \\({ANNOTATION_FILE}\\) found in "
                                                  r".* annotations/, YouCookII/annotations/ folders"):
        load(tmp_path)


def test_only_the_test_file_says_it_holds_no_sentences(fake):
    fake.annotation_file.unlink()
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"{fake.root / 'annotations' / TEST_FILE} is there, but not {ANNOTATION_FILE}: the test file holds no "
            "sentences")):
        load(fake.root)


def test_an_annotations_dir_given_without_the_file_is_named_as_the_option(fake):
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"found in {fake.root / 'nope'} (option annotations_dir)")):
        load(fake.root, annotations_dir="nope")


@pytest.mark.parametrize(("text", "where", "got"), [
    ('{"database": [1, 2]}', ":1:14: database", "got database [1, 2]"),
    ('{\n  "version": "1.0",\n  "database": null\n}', ":3:15: database", "got database None"),
    ('{"GLd3aX16zBg": {}}', ":1:1: database", "got no 'database' key (keys ['GLd3aX16zBg'])"),
    ('\n [{"database": {}}]', ":2:2", "got [{'database': {}}]"),
])
def test_a_file_that_is_no_database_object_stops_the_load_naming_where(fake, text, where, got):
    fake.annotation_file.write_text(text)
    with pytest.raises(CorpusFormatError, match=re.escape(
            f"{fake.annotation_file}{where}: expected {{\"database\": {{<video id>: {{subset, duration, recipe_type, "
            f"annotations}}}}}} (YouCook2's {ANNOTATION_FILE}), {got}")):
        load(fake.root)


def test_a_file_that_is_no_json_stops_the_load_naming_it(fake):
    fake.annotation_file.write_text('{"database": {')
    with pytest.raises(CorpusFormatError, match=re.escape(str(fake.annotation_file)) + r":1:15: invalid JSON"):
        load(fake.root)
