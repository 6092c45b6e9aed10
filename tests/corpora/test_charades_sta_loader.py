"""The `charades-sta` loader on fake corpora (tests/fakes/charades_sta.py): train and test, one sample per moment
line numbered per video, lengths from Charades' CSVs (else the video's header), and each defective line left out
and named `file:line` in the errors table."""
from __future__ import annotations

import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.fakes.charades_sta import SPANS, moment_line, write_fake_charades_sta

KIND = "charades-sta"


def load(root, split=None, **options):
    return load_corpus(KIND, root, split=split, options=options)


def set_line(path, number: int, text: str) -> str:
    """Replace line `number` (1-based) of a moment file; return its `file:line`."""
    lines = path.read_text().split("\n")
    lines[number - 1] = text
    path.write_text("\n".join(lines))
    return f"{path}:{number}"


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
    set_line(fake.root / "charades_sta_test.txt", 2, moment_line("3MSZA", 0.9, 2.75, "the person drinks."))
    result = load(fake.root)
    [cut] = [s for s in result.samples if s.sample_id == "3MSZA[1]"]
    assert (cut.start, cut.end, cut.extra["annotated_end"]) == (0.9, 2.0, 2.75)
    assert result.problems == []


def test_without_the_charades_csvs_the_length_is_the_video_header_s(tmp_path):
    fake = write_fake_charades_sta(tmp_path / "charades", csv_dir=None)
    set_line(fake.root / "charades_sta_train.txt", 1, moment_line("AO8RW", 0.0, 9.0, "a person sits."))
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
    assert result.problems[0].reason == "video file AO8RW.mp4 not found in Charades_v1_480/, the root; row left out"


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
