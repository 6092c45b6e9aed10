"""The `charades-sta` loader on fake corpora (tests/fakes/charades_sta.py): train and test, one sample per moment
line numbered per video, lengths from Charades' CSVs (else Charades_duration.json, else the video's header), and
each defective line or length left out and named `file:line` in the errors table."""
from __future__ import annotations

import json
import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.fakes import replace_line
from tests.fakes.charades_sta import SPANS, moment_line, write_fake_charades_sta, write_fake_charades_sta_mmaction2

KIND = "charades-sta"


def load(root, split=None, **options):
    return load_corpus(KIND, root, split=split, options=options)


def set_csv_length(path, video: str, length: str) -> str:
    """Set the `length` (the last column) of `video`'s row of a Charades CSV; return its `file:line`."""
    lines = path.read_text().split("\n")
    [number] = [i for i, line in enumerate(lines) if line.startswith(f"{video},")]
    lines[number] = f"{lines[number].rsplit(',', 1)[0]},{length}"
    path.write_text("\n".join(lines))
    return f"{path}:{number + 1}"


@pytest.fixture
def fake(tmp_path):
    return write_fake_charades_sta(tmp_path / "charades")


def test_train_and_test_moments_are_segment_samples_of_their_videos(fake):
    result = load(fake.root)
    assert result.problems == []
    samples = {s.sample_id: s for s in result.samples}
    assert {sid: (s.start, s.end, s.group_id) for sid, s in samples.items()} == SPANS
    assert {sid: s.split for sid, s in samples.items()} == {sid: e.split for sid, e in fake.expected.items()}
    assert samples["AO8RW[1]"].captions == ("person begins to laugh.",)  # stripped, lowercase as written
    assert result.metadata == {"annotation_files": {"charades_sta_train.txt": "train", "charades_sta_test.txt": "test"},
                               "length_files": ["Charades/Charades_v1_train.csv", "Charades/Charades_v1_test.csv"]}


def test_extra_holds_the_csv_length_the_header_duration_the_index_and_the_file(fake):
    [second] = [s for s in load(fake.root, "train").samples if s.sample_id == "AO8RW[1]"]
    assert {k: second.extra[k] for k in ("duration", "segment", "annotation_file")} == {
        "duration": 2.0, "segment": 1, "annotation_file": "charades_sta_train.txt"}
    assert second.extra["video_duration"] == pytest.approx(2.0, abs=0.1)  # from the file's header
    assert "annotated_end" not in second.extra


def test_a_split_loads_its_own_file(fake):
    assert [s.sample_id for s in load(fake.root, "test").samples] == ["3MSZA[0]", "3MSZA[1]"]
    assert {s.split for s in load(fake.root, "train").samples} == {"train"}


def test_there_is_no_val_split_and_the_error_says_to_carve_one(fake):
    with pytest.raises(ConfigError, match="no validation split.*carve one out of train"):
        load(fake.root, "val")
    with pytest.raises(ConfigError, match="split 'testing' is named 'test' here"):
        load(fake.root, "testing")


def test_a_moment_ending_past_the_csv_length_is_cut_there_keeping_its_annotated_end(fake):
    replace_line(fake.root / "charades_sta_test.txt", 2, moment_line("3MSZA", 0.9, 2.75, "the person drinks."))
    result = load(fake.root)
    [cut] = [s for s in result.samples if s.sample_id == "3MSZA[1]"]
    assert (cut.start, cut.end, cut.extra["annotated_end"]) == (0.9, 2.0, 2.75)
    assert result.problems == []


def test_without_the_charades_csvs_the_length_is_the_video_header_s(tmp_path):
    fake = write_fake_charades_sta(tmp_path / "charades", csv_dir=None)
    replace_line(fake.root / "charades_sta_train.txt", 1, moment_line("AO8RW", 0.0, 9.0, "a person sits."))
    result = load(fake.root, "train")
    [cut] = [s for s in result.samples if s.sample_id == "AO8RW[0]"]
    assert "duration" not in cut.extra and result.metadata["length_files"] == []
    assert cut.end == pytest.approx(2.0, abs=0.1) and cut.extra["annotated_end"] == 9.0


@pytest.mark.parametrize(("line", "sample_id", "reason"), [
    ("AO8RW 0.0 1.0 a person sits.", "AO8RW[1]", r"no '##' between the moment and its sentence; expected '<video> "),
    ("AO8RW 1.0##a person sits.", "AO8RW[1]", r"2 fields before '##' \('AO8RW 1.0'\)"),
    ("AO8RW 0.0 one##a person sits.", "AO8RW[1]", r"start and end '0.0', 'one' are not both numbers"),
    ("AO8RW 0.0 nan##a person sits.", "AO8RW[1]", r"are not both numbers"),
    ("##a person sits.", None, r"0 fields before '##'"),
    ("AO8RW 0.2 1.0##   ", "AO8RW[1]", r"blank sentence; line left out"),
    ("AO8RW 1.5 0.5##a person sits.", "AO8RW[1]", r"segment end 0.5 <= start 1.5 \(reversed\)"),
    ("AO8RW 1.0 1.0##a person sits.", "AO8RW[1]", r"segment end 1.0 <= start 1.0 \(zero-length\)"),
    ("AO8RW -0.5 1.0##a person sits.", "AO8RW[1]", r"starts at -0.5 s, before the start of the video"),
    ("AO8RW 2.5 3.0##a person sits.", "AO8RW[1]", r"starts at 2.5 s, at or after the end of the video \(length 2.0"),
])
def test_a_defective_line_is_left_out_named_at_its_file_and_line(fake, line, sample_id, reason):
    path = fake.root / "charades_sta_train.txt"
    lines = path.read_text().split("\n")
    path.write_text("\n".join([*lines[:2], line, *lines[2:]]))  # before AO8RW's second moment
    result = load(fake.root, "train")
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == (sample_id, f"{path}:3") and re.search(reason, problem.reason)
    ids = {s.sample_id for s in result.samples}
    if sample_id is None:
        assert ids == {"AO8RW[0]", "Y6R7T[0]", "AO8RW[1]"}
    else:  # the line takes its index: the video's next moment is [2], as it will be once the line is fixed
        assert ids == {"AO8RW[0]", "Y6R7T[0]", "AO8RW[2]"}


def test_blank_lines_and_crlf_endings_are_read_as_lines(fake):
    path = fake.root / "charades_sta_test.txt"
    path.write_bytes(b"\r\n".join(line.encode() for line in path.read_text().split("\n")[:2]) + b"\r\n\r\n")
    samples = load(fake.root, "test").samples
    assert [(s.sample_id, s.captions) for s in samples] == [
        ("3MSZA[0]", ("a person is pouring coffee into a cup",)), ("3MSZA[1]", ("the person drinks from the cup.",))]


def test_a_missing_video_leaves_each_of_its_moments_out_naming_the_file_looked_for(fake):
    (fake.root / "Charades_v1_480/AO8RW.mp4").unlink()
    result = load(fake.root, "train")
    assert [s.sample_id for s in result.samples] == ["Y6R7T[0]"]
    train = fake.root / "charades_sta_train.txt"
    assert [(p.sample_id, p.path) for p in result.problems] == [("AO8RW[0]", f"{train}:1"), ("AO8RW[1]", f"{train}:3")]
    assert result.problems[0].reason == "video file AO8RW.mp4 not found in Charades_v1_480/, the root; line left out"


def test_no_video_found_at_all_names_the_folders_and_the_option(fake, tmp_path):
    (fake.root / "Charades_v1_480").rename(tmp_path / "elsewhere")
    with pytest.raises(CorpusNotFoundError, match=r"none of the 3 Charades videos found in the root.*video_dir"):
        load(fake.root)
    assert len(load(fake.root, video_dir=str(tmp_path / "elsewhere"), allow_outside_root=True).samples) == 5


def test_a_video_in_both_files_numbers_its_moments_across_them(fake):
    path = fake.root / "charades_sta_test.txt"
    path.write_text(path.read_text() + moment_line("AO8RW", 0.1, 0.9, "a person holds a book.") + "\n")
    samples = {s.sample_id: s.split for s in load(fake.root).samples}
    assert (samples["AO8RW[0]"], samples["AO8RW[1]"], samples["AO8RW[2]"]) == ("train", "train", "test")
    assert [s.sample_id for s in load(fake.root, "test").samples][-1] == "AO8RW[2]"  # train's file still counted


def test_the_annotations_folder_and_its_csvs_are_found(tmp_path):
    fake = write_fake_charades_sta(tmp_path / "c", annotations_dir="annotations", csv_dir="annotations")
    result = load(fake.root)
    assert result.problems == [] and len(result.samples) == 5
    assert result.metadata["length_files"] == ["annotations/Charades_v1_train.csv", "annotations/Charades_v1_test.csv"]


def test_a_charades_csv_without_a_length_column_stops_the_load_naming_it(fake):
    path = fake.root / "Charades/Charades_v1_test.csv"
    path.write_text("id,subject\n3MSZA,HR43\n")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:1: expected Charades' columns id and length")):
        load(fake.root)


def test_no_moment_file_names_the_folders_looked_in(tmp_path):
    (tmp_path / "Charades_v1_480").mkdir()
    with pytest.raises(CorpusNotFoundError, match=r"no Charades-STA captions file .* annotations/, charades_sta/"):
        load(tmp_path)


def test_cr_only_line_endings_are_read_as_lines(fake):
    path = fake.root / "charades_sta_train.txt"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    samples = load(fake.root, "train").samples
    assert [(s.sample_id, s.captions) for s in samples] == [
        ("AO8RW[0]", ("a person is putting a book on a shelf.",)), ("Y6R7T[0]", ("person opens the door.",)),
        ("AO8RW[1]", ("person begins to laugh.",))]


def test_a_second_separator_in_the_sentence_leaves_the_line_out(fake):
    where = replace_line(fake.root / "charades_sta_train.txt", 2, "Y6R7T 0.3 1.5##person opens ## the door.")
    result = load(fake.root, "train")
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("Y6R7T[0]", where)
    assert problem.reason.startswith("a second '##' in the sentence ('person opens ## the door.'); expected '<video>")
    assert [s.sample_id for s in result.samples] == ["AO8RW[0]", "AO8RW[1]"]


def test_a_wrong_annotations_dir_names_that_option(fake):
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"found in {fake.root / 'nothere'} (option "
                                                            "annotations_dir)")):
        load(fake.root, annotations_dir="nothere")


def test_the_annotations_dir_option_finds_moment_files_in_another_folder(fake):
    for name in ("charades_sta_train.txt", "charades_sta_test.txt"):
        (fake.root / name).rename(fake.root / "Charades_v1_480" / name)
    result = load(fake.root, annotations_dir="Charades_v1_480")
    assert len(result.samples) == 5 and result.problems == []
    assert list(result.metadata["annotation_files"]) == ["Charades_v1_480/charades_sta_train.txt",
                                                         "Charades_v1_480/charades_sta_test.txt"]


def test_a_csv_dir_without_the_charades_csvs_stops_the_load_naming_the_folder_and_the_files(fake):
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"neither Charades_v1_train.csv nor Charades_v1_test.csv found in {fake.root / 'nothere'} (option "
            "csv_dir)")):
        load(fake.root, csv_dir="nothere")


def test_the_csv_dir_option_reads_the_lengths_from_that_folder(fake):
    (fake.root / "Charades").rename(fake.root / "lengths")
    set_csv_length(fake.root / "lengths/Charades_v1_train.csv", "AO8RW", "1.5")
    [cut] = [s for s in load(fake.root, "train", csv_dir="lengths").samples if s.sample_id == "AO8RW[1]"]
    assert (cut.end, cut.extra["annotated_end"], cut.extra["duration"]) == (1.5, 2.0, 1.5)


def test_the_video_ext_option_names_the_videos_suffix(fake):
    for video in (fake.root / "Charades_v1_480").glob("*.mp4"):
        video.rename(video.with_suffix(".mkv"))
    with pytest.raises(CorpusNotFoundError, match=r"none of the 3 Charades videos found .*\(as <id>\.mp4\)"):
        load(fake.root)
    samples = load(fake.root, video_ext=".mkv").samples
    assert sorted(s.video for s in samples) == sorted(f"Charades_v1_480/{SPANS[s.sample_id][2]}.mkv" for s in samples)
    assert len(samples) == 5


def test_the_csv_length_cuts_a_moment_where_it_and_the_header_disagree(fake):
    set_csv_length(fake.root / "Charades/Charades_v1_train.csv", "AO8RW", "1.5")  # the MP4 is two seconds long
    [cut] = [s for s in load(fake.root, "train").samples if s.sample_id == "AO8RW[1]"]
    assert (cut.start, cut.end, cut.extra["annotated_end"], cut.extra["duration"]) == (0.8, 1.5, 2.0, 1.5)
    assert cut.extra["video_duration"] == pytest.approx(2.0, abs=0.1)


def test_an_empty_csv_length_falls_back_to_the_header_s(fake):
    set_csv_length(fake.root / "Charades/Charades_v1_train.csv", "AO8RW", "")
    replace_line(fake.root / "charades_sta_train.txt", 1, moment_line("AO8RW", 0.0, 9.0, "a person sits."))
    result = load(fake.root, "train")
    [cut] = [s for s in result.samples if s.sample_id == "AO8RW[0]"]
    assert "duration" not in cut.extra and result.problems == []
    assert cut.end == pytest.approx(2.0, abs=0.1) and cut.extra["annotated_end"] == 9.0


@pytest.mark.parametrize("length", ["two", "0", "-3.5", "inf"])
def test_a_bad_csv_length_is_a_problem_of_its_video_whose_moments_take_the_header_s(fake, length):
    where = set_csv_length(fake.root / "Charades/Charades_v1_train.csv", "AO8RW", length)
    result = load(fake.root)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("AO8RW", where)
    assert problem.reason.startswith(f"length {length!r} of video 'AO8RW' is not a positive number of seconds")
    assert len(result.samples) == 5
    first = next(s for s in result.samples if s.sample_id == "AO8RW[0]")
    assert "duration" not in first.extra and first.extra["video_duration"] == pytest.approx(2.0, abs=0.1)


def test_a_bad_csv_length_of_a_video_no_moment_names_does_not_stop_the_load(fake):
    path = fake.root / "Charades/Charades_v1_test.csv"
    path.write_text(path.read_text() + 'ZZZZZ,HR43,Kitchen,6,7,Yes,"x",y,"x",c1 0 1,two\n')
    result = load(fake.root)
    assert len(result.samples) == 5
    assert [(p.sample_id, p.path) for p in result.problems] == [("ZZZZZ", f"{path}:3")]  # after 3MSZA's row


def test_mmaction2_s_charadessta_folder_and_its_duration_json_are_read(tmp_path):
    fake = write_fake_charades_sta_mmaction2(tmp_path / "data")
    durations = fake.root / "CharadesSTA/Charades_duration.json"
    durations.write_text(json.dumps({"AO8RW": 1.5, "Y6R7T": 2.0, "3MSZA": 2}, indent=4))
    result = load(fake.root)
    assert result.problems == [] and len(result.samples) == 5
    assert result.metadata == {
        "annotation_files": {"CharadesSTA/Charades_sta_train.txt": "train",
                             "CharadesSTA/Charades_sta_test.txt": "test"},
        "length_files": ["CharadesSTA/Charades_duration.json"]}
    [cut] = [s for s in result.samples if s.sample_id == "AO8RW[1]"]
    assert (cut.end, cut.extra["annotated_end"], cut.extra["duration"]) == (1.5, 2.0, 1.5)


@pytest.mark.parametrize(("length", "shown"), [("0", "0"), ("-2.0", "-2.0"), ('"33.67"', "'33.67'"), ("true", "True")])
def test_a_bad_duration_json_length_is_a_problem_of_its_video_named_at_its_line(tmp_path, length, shown):
    fake = write_fake_charades_sta_mmaction2(tmp_path / "data")
    durations = fake.root / "CharadesSTA/Charades_duration.json"
    durations.write_text(f'{{\n    "AO8RW": {length},\n    "Y6R7T": 2.0,\n    "3MSZA": 2.0\n}}')
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "AO8RW" and re.fullmatch(rf"{re.escape(str(durations))}:2:\d+: AO8RW", problem.path)
    assert problem.reason.startswith(f"length {shown} of video 'AO8RW' is not a positive number")
    assert len(result.samples) == 5


def test_a_duration_json_length_past_float_range_is_a_problem_of_its_video_not_a_crash(tmp_path):
    fake = write_fake_charades_sta_mmaction2(tmp_path / "data")
    durations = fake.root / "CharadesSTA/Charades_duration.json"
    durations.write_text(f'{{\n    "AO8RW": 1{"0" * 400},\n    "Y6R7T": 2.0,\n    "3MSZA": 2.0\n}}')
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == "AO8RW" and re.fullmatch(rf"{re.escape(str(durations))}:2:\d+: AO8RW", problem.path)
    assert "of video 'AO8RW' is not a positive number" in problem.reason
    assert len(result.samples) == 5


def test_a_null_duration_json_length_is_none_and_the_header_gives_it(tmp_path):
    fake = write_fake_charades_sta_mmaction2(tmp_path / "data")
    (fake.root / "CharadesSTA/Charades_duration.json").write_text('{"AO8RW": null, "Y6R7T": 2.0, "3MSZA": 2.0}')
    result = load(fake.root, "train")
    first = next(s for s in result.samples if s.sample_id == "AO8RW[0]")
    assert result.problems == [] and "duration" not in first.extra and "video_duration" in first.extra


def test_the_charades_csvs_are_read_before_the_duration_json(tmp_path):
    fake = write_fake_charades_sta(tmp_path / "c", duration_json=True)
    (fake.root / "Charades_duration.json").write_text(json.dumps({"AO8RW": 1.5}))
    result = load(fake.root, "train")
    assert result.metadata["length_files"] == ["Charades/Charades_v1_train.csv", "Charades/Charades_v1_test.csv"]
    assert {s.extra["duration"] for s in result.samples} == {2.0}
