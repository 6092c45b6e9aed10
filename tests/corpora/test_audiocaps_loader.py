"""The `audiocaps` loader on the layouts AudioCaps' download tools leave: one sample per clip with its captions in
file order, and the rows it leaves out (a clip gone from YouTube, an empty field, a start_time that is no
number, a blank caption, a repeated audiocap_id, a clip in two splits) named `file:line` in the problems; absolute
csv_dir and audio_dir, M4A clips, and a video with two clips, whose start-less file names could be either."""
from __future__ import annotations

import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.fakes import samples_by_id
from tests.fakes.captioned_media import audiocaps_caption, write_csv, write_fake_audiocaps

HEADER = ["audiocap_id", "youtube_id", "start_time", "caption"]


@pytest.fixture
def audiocaps(tmp_path):
    return write_fake_audiocaps(tmp_path / "audiocaps")


def test_one_sample_per_clip_keyed_by_youtube_id_and_start_with_the_video_as_group(audiocaps):
    samples = samples_by_id(load_corpus("audiocaps", audiocaps.root))
    assert {sid: (s.split, s.audio, s.captions) for sid, s in samples.items()} == {
        sid: (e.split, e.audio, e.captions) for sid, e in audiocaps.expected.items()}
    clip = samples["r1nicOVtvkQ_130"]
    assert clip.group_id == "r1nicOVtvkQ"
    assert clip.extra == {"youtube_id": "r1nicOVtvkQ", "start_time": 130, "audiocap_ids": ["1001"],
                          "audio_duration": 0.5}  # the duration read from the WAV header, for `check`


def test_the_captions_of_a_clip_are_grouped_in_file_order_from_interleaved_rows(audiocaps):
    rows = (audiocaps.root / "val.csv").read_text(encoding="utf-8").splitlines()[1:4]
    assert [row.split(",")[1] for row in rows] == ["7fmOlUlwoNg", "_xTdsMFR_Xc", "7fmOlUlwoNg"]  # interleaved
    clip = samples_by_id(load_corpus("audiocaps", audiocaps.root, split="val"))["7fmOlUlwoNg_20"]
    assert clip.captions == tuple(audiocaps_caption("7fmOlUlwoNg", k) for k in range(1, 6))
    assert clip.extra["audiocap_ids"] == ["1002", "1003", "1004", "1005", "1006"]


@pytest.mark.parametrize(("layout", "options"), [
    (dict(csv_dir="AUDIOCAPS", audio_dir="AUDIOCAPS/audio_32000Hz", suffix=".flac"), {}),   # aac-datasets' root
    (dict(audio_dir="audio_16000Hz", suffix=".flac"), {}),                                    # ... its AUDIOCAPS/
    (dict(naming="audiocap_id"), {}),                                                          # audiocaps-download
    (dict(csv_dir="dataset", audio_dir="audio", naming="audioset", split_folders=False), {}),  # one AudioSet folder
    (dict(csv_dir="csv_files", naming="youtube", split_folders=False), {}),                    # clips in the root
    (dict(csv_dir="meta/captions", audio_dir="wavs", naming="audioset"),
     {"csv_dir": "meta/captions", "audio_dir": "wavs"}),                                       # named by options
    (dict(audio_dir="clips", naming="youtube", split_folders=False, suffix=".flac"), {"audio_dir": "clips/"}),
])
def test_each_layout_and_file_naming_loads_the_same_samples(tmp_path, layout, options):
    fake = write_fake_audiocaps(tmp_path / "c", **layout)
    result = load_corpus("audiocaps", fake.root, options=options)
    assert result.problems == []
    assert {s.sample_id: (s.split, s.audio, s.captions) for s in result.samples} == {
        sid: (e.split, e.audio, e.captions) for sid, e in fake.expected.items()}


@pytest.mark.parametrize(("split", "ids"), [("train", ["--BfvyPmVMo_20", "r1nicOVtvkQ_130"]),
                                            ("val", ["7fmOlUlwoNg_20", "_xTdsMFR_Xc_0"]),
                                            ("test", ["zk-xJEngAJo_400"])])
def test_a_split_loads_only_its_clips(audiocaps, split, ids):
    assert [s.sample_id for s in load_corpus("audiocaps", audiocaps.root, split=split).samples] == ids


def test_the_name_validation_is_refused_naming_val(audiocaps):
    with pytest.raises(ConfigError, match="split 'validation' is named 'val' here.*--split val"):
        load_corpus("audiocaps", audiocaps.root, split="validation")


def test_a_clip_gone_from_youtube_is_left_out_naming_its_first_line_and_the_names_looked_for(audiocaps):
    (audiocaps.root / "val" / "_xTdsMFR_Xc_0.wav").unlink()
    result = load_corpus("audiocaps", audiocaps.root)
    assert "_xTdsMFR_Xc_0" not in samples_by_id(result) and len(result.samples) == 4
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("_xTdsMFR_Xc_0", f"{audiocaps.root / 'val.csv'}:3")
    assert "audio file _xTdsMFR_Xc_0.wav not found in val/" in problem.reason
    assert "also looked for _xTdsMFR_Xc_0, Y_xTdsMFR_Xc, _xTdsMFR_Xc, 1007, 1008, 1009, 1010, 1011 as " \
           ".wav/.flac/.ogg/.mp3" in problem.reason
    assert "its 5 rows (lines 3, 5, 7, 9, 11) left out" in problem.reason


def test_a_start_time_written_as_a_decimal_names_the_clip_by_its_whole_seconds(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "c", clips=(("r1nicOVtvkQ", "130.0", "train", 1),))
    (fake.root / "train" / "r1nicOVtvkQ_130.0.wav").rename(fake.root / "train" / "r1nicOVtvkQ_130.wav")
    [sample] = load_corpus("audiocaps", fake.root).samples
    assert (sample.sample_id, sample.audio, sample.extra["start_time"]) == (
        "r1nicOVtvkQ_130", "train/r1nicOVtvkQ_130.wav", 130)


def test_bad_rows_are_left_out_and_named_by_line(audiocaps):
    test_csv = audiocaps.root / "test.csv"
    caption = audiocaps_caption("zk-xJEngAJo", 1)
    write_csv(test_csv, HEADER, [
        ["2000", "zk-xJEngAJo", "400", caption],         # line 2: kept
        ["2001", "", "400", caption],                    # line 3: no youtube_id
        ["2002", "zk-xJEngAJo", "four hundred", caption],  # line 4: start_time not a number
        ["2003", "zk-xJEngAJo", "-5", caption],          # line 5: a negative start
        ["2004", "zk-xJEngAJo", "400", ""],              # line 6: blank caption
        ["", "zk-xJEngAJo", "400", caption],             # line 7: no audiocap_id
        ["2000", "zk-xJEngAJo", "400", "again"],         # line 8: audiocap_id listed again
        ["2005", "zk-xJEngAJo", "400", "second caption"],  # line 9: kept
    ])
    result = load_corpus("audiocaps", audiocaps.root, split="test")
    problems = {p.path.rpartition(":")[2]: p for p in result.problems}
    assert sorted(problems, key=int) == ["3", "4", "5", "6", "7", "8"]
    assert all(p.path.startswith(f"{test_csv}:") for p in result.problems)
    assert "empty youtube_id" in problems["3"].reason
    assert "start_time 'four hundred' is not a number of seconds" in problems["4"].reason
    assert "start_time '-5'" in problems["5"].reason
    assert "blank caption (audiocap_id 2004)" in problems["6"].reason and problems["6"].sample_id == "zk-xJEngAJo_400"
    assert "empty audiocap_id" in problems["7"].reason
    assert problems["8"].error_type == REPEATED_ENTRY and f"first at {test_csv}:2" in problems["8"].reason
    [sample] = result.samples
    assert sample.captions == (caption, "second caption") and sample.extra["audiocap_ids"] == ["2000", "2005"]


def test_a_clip_listed_in_two_splits_keeps_the_first_and_reports_the_leak_whatever_split_is_asked(audiocaps):
    train_csv, val_csv = audiocaps.root / "train.csv", audiocaps.root / "val.csv"
    with val_csv.open("a", encoding="utf-8") as f:
        f.write("3000,r1nicOVtvkQ,130,the train clip again\n")  # line 12
    for split in (None, "val"):
        result = load_corpus("audiocaps", audiocaps.root, split=split)
        [leak] = result.problems
        assert (leak.sample_id, leak.path, leak.error_type) == ("r1nicOVtvkQ_130", f"{val_csv}:12", REPEATED_ENTRY)
        assert f"in split 'train' too (first at {train_csv}:3), a leak between them" in leak.reason
    assert samples_by_id(load_corpus("audiocaps", audiocaps.root))["r1nicOVtvkQ_130"].split == "train"
    assert load_corpus("audiocaps", audiocaps.root, split="train").problems == []


def test_the_same_video_at_another_start_is_another_clip_of_the_same_group(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "c", clips=(("r1nicOVtvkQ", "130", "train", 1),
                                                        ("r1nicOVtvkQ", "30", "test", 1)))
    result = load_corpus("audiocaps", fake.root)
    assert result.problems == []
    assert {(s.sample_id, s.split, s.group_id) for s in result.samples} == {
        ("r1nicOVtvkQ_130", "train", "r1nicOVtvkQ"), ("r1nicOVtvkQ_30", "test", "r1nicOVtvkQ")}


def test_a_header_without_the_four_columns_stops_the_load_naming_line_1(audiocaps):
    write_csv(audiocaps.root / "val.csv", ["audiocap_id", "youtube_id", "caption"], [["1", "abc", "a caption"]])
    expected = f"{audiocaps.root / 'val.csv'}:1: expected the header 'audiocap_id,youtube_id,start_time,caption'"
    with pytest.raises(CorpusFormatError, match=re.escape(expected) + ".*no start_time"):
        load_corpus("audiocaps", audiocaps.root)


def test_a_split_without_audio_folders_is_refused_naming_the_option(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "c")
    for wav in (fake.root / "test").iterdir():
        wav.unlink()
    (fake.root / "test").rmdir()
    with pytest.raises(CorpusNotFoundError, match="no AudioCaps audio folder for split 'test'.*option audio_dir"):
        load_corpus("audiocaps", fake.root)
    assert len(load_corpus("audiocaps", fake.root, split="val").samples) == 2


def test_no_csv_or_not_the_split_asked_is_refused(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "c", clips=(("r1nicOVtvkQ", "130", "train", 1),))
    (fake.root / "test.csv").unlink()
    with pytest.raises(CorpusNotFoundError, match=r"test.csv is not in .*splits there: \['train', 'val'\]"):
        load_corpus("audiocaps", fake.root, split="test")
    with pytest.raises(CorpusNotFoundError, match="no AudioCaps captions file .* dataset/, csv_files/, AUDIOCAPS/"):
        load_corpus("audiocaps", fake.root / "train")


def test_an_absolute_csv_dir_outside_the_root_and_an_absolute_audio_dir_load_the_clips(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "root", csv_dir="meta", audio_dir="clips")
    meta = (fake.root / "meta").rename(tmp_path / "meta")
    result = load_corpus("audiocaps", fake.root, options={"csv_dir": str(meta), "audio_dir": str(fake.root / "clips")})
    assert result.problems == []
    assert {s.sample_id: (s.split, s.audio, s.captions) for s in result.samples} == {
        sid: (e.split, e.audio, e.captions) for sid, e in fake.expected.items()}  # paths relative to the root
    assert result.metadata["captions_files"] == {s: (meta / f"{s}.csv").as_posix() for s in ("train", "val", "test")}


def test_the_audio_folder_of_an_absolute_csv_dir_is_found_there_not_under_the_root(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "root", csv_dir="meta", audio_dir="meta/audio")
    meta = (fake.root / "meta").rename(tmp_path / "meta")
    options = {"csv_dir": str(meta), "allow_outside_root": True}
    result = load_corpus("audiocaps", fake.root, options=options)
    assert result.problems == []
    assert {s.sample_id: s.audio for s in result.samples} == {
        sid: str(meta / "audio" / e.split / f"{sid}.wav") for sid, e in fake.expected.items()}
    with pytest.raises(CorpusFormatError, match="outside"):  # without the option, a path out of the root is refused
        load_corpus("audiocaps", fake.root, options={"csv_dir": str(meta)})


def test_a_clip_whose_earlier_rows_all_have_blank_captions_is_kept_in_the_split_of_its_first_kept_row(audiocaps):
    train_csv = audiocaps.root / "train.csv"
    write_csv(train_csv, HEADER, [["1", "--BfvyPmVMo", "20", audiocaps_caption("--BfvyPmVMo", 1)],
                                  ["2", "7fmOlUlwoNg", "20", ""]])  # line 3: val's clip, blank
    result = load_corpus("audiocaps", audiocaps.root)
    [blank] = result.problems
    assert (blank.sample_id, blank.path) == ("7fmOlUlwoNg_20", f"{train_csv}:3")
    assert "blank caption (audiocap_id 2)" in blank.reason
    clip = samples_by_id(result)["7fmOlUlwoNg_20"]
    assert (clip.split, clip.captions) == ("val", audiocaps.expected["7fmOlUlwoNg_20"].captions)
    assert "7fmOlUlwoNg_20" in samples_by_id(load_corpus("audiocaps", audiocaps.root, split="val"))


TWO_CLIPS_OF_ONE_VIDEO = (("r1nicOVtvkQ", "130", "train", 1), ("r1nicOVtvkQ", "30", "test", 1),
                          ("zk-xJEngAJo", "400", "test", 1))


def test_start_less_names_are_not_used_for_a_video_with_two_clips_and_the_problem_says_why(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "c", naming="youtube", split_folders=False, audio_dir="audio",
                                clips=TWO_CLIPS_OF_ONE_VIDEO)
    result = load_corpus("audiocaps", fake.root)
    assert [s.sample_id for s in result.samples] == ["zk-xJEngAJo_400"]  # its video has one clip: its name serves
    problems = {p.sample_id: p for p in result.problems}
    assert sorted(problems) == ["r1nicOVtvkQ_130", "r1nicOVtvkQ_30"]
    reason = problems["r1nicOVtvkQ_30"].reason
    assert problems["r1nicOVtvkQ_30"].path == f"{fake.root / 'test.csv'}:2"
    assert "audio file r1nicOVtvkQ_30.wav not found in audio/" in reason
    assert "also looked for r1nicOVtvkQ_30, 1001 as .wav/.flac/.ogg/.mp3/.m4a" in reason
    assert "not for Yr1nicOVtvkQ or r1nicOVtvkQ: video r1nicOVtvkQ has 2 clips in the CSVs (r1nicOVtvkQ_130, " \
           "r1nicOVtvkQ_30), so a start-less name is ambiguous for it" in reason
    assert "ambiguous" in load_corpus("audiocaps", fake.root, split="train").problems[0].reason  # test.csv counts


@pytest.mark.parametrize("naming", ["clip", "audiocap_id"])
def test_the_clips_of_one_video_take_their_own_files_beside_a_start_less_one(tmp_path, naming):
    fake = write_fake_audiocaps(tmp_path / "c", naming=naming, split_folders=False, audio_dir="audio",
                                clips=TWO_CLIPS_OF_ONE_VIDEO)
    (fake.root / "audio" / "Yr1nicOVtvkQ.wav").write_bytes((fake.root / fake.expected["zk-xJEngAJo_400"].audio)
                                                          .read_bytes())  # first looked for before the rest
    result = load_corpus("audiocaps", fake.root)
    assert result.problems == []
    assert {s.sample_id: s.audio for s in result.samples} == {sid: e.audio for sid, e in fake.expected.items()}


def test_m4a_clips_as_audiocaps_download_can_save_them_load_and_decode(tmp_path):
    from mmdata.media.audio import load_audio

    fake = write_fake_audiocaps(tmp_path / "c", naming="audiocap_id", suffix=".m4a")
    result = load_corpus("audiocaps", fake.root)
    assert result.problems == []
    assert {s.sample_id: s.audio for s in result.samples} == {sid: e.audio for sid, e in fake.expected.items()}
    clip = samples_by_id(result)["zk-xJEngAJo_400"]
    assert clip.audio == "test/1012.m4a"
    assert load_audio(fake.root / clip.audio).duration == pytest.approx(0.5, abs=1e-3)  # AAC in MP4, by PyAV
    assert clip.extra["audio_duration"] == pytest.approx(0.5, abs=1e-3)  # the MP4 header's, read by PyAV
