"""The `kinetics` loader on the layouts copies of Kinetics have: one sample per clip of the split CSVs with its
class in `extra.class`, the YouTube id as group, the clip's span kept in `extra` (not as a sample span: the file is
the cut clip), and what it leaves out (a clip gone from YouTube, a row of the wrong shape, a bad time, a start not
before its end, an empty label, a clip listed again) named `file:line` in the problems, with the count of missing
clips kept; and the refusals: no annotation file, files of several versions, two files of one split."""
from __future__ import annotations

import logging
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes import append_rows, samples_by_id
from tests.fakes.kinetics import CLASSES, CLIPS, HEADER, annotation_csv, clip_id, write_fake_kinetics, \
    write_live_matroska_clip, write_video_clip


def test_a_clip_is_a_video_sample_with_its_class_group_and_span_kept_in_extra(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    result = load_corpus("kinetics", fake.root)
    samples = samples_by_id(result)
    assert {sid: (s.split, s.video) for sid, s in samples.items()} == {
        sid: (e.split, e.video) for sid, e in fake.expected.items()}
    clip = samples["-3Ssbl6_Xo8_000000_000010"]
    assert clip.group_id == "-3Ssbl6_Xo8" and clip.corpus == "kinetics" and clip.audio is None
    assert (clip.start, clip.end) == (None, None)  # the file is the cut clip: extractors read all of it
    assert (clip.extra["time_start"], clip.extra["time_end"], clip.extra["youtube_id"]) == (0, 10, "-3Ssbl6_Xo8")
    assert clip.extra["video_duration"] == pytest.approx(1.0)  # from the file's header, for `check`
    assert clip.extra["audio_duration"] == pytest.approx(1.0, abs=0.1)
    assert {sid: s.extra["class"] for sid, s in samples.items()} == CLASSES
    assert samples["_xk4Ey1WbXw_000030_000040"].group_id == samples["_xk4Ey1WbXw_000095_000105"].group_id
    assert result.metadata == {"annotation_files": ["annotations/train.csv", "annotations/validate.csv",
                                                    "annotations/test.csv"], "clips_listed": 7, "clips_missing": 0}


def test_class_folders_named_as_the_label_or_with_underscores_an_mkv_and_an_unlabelled_test_file(tmp_path):
    names = {split: f"kinetics-600_{split}.csv" for split in ("train", "val", "test")}
    mkv = clip_id("-3Ssbl6_Xo8", 0, 10)
    fake = write_fake_kinetics(tmp_path / "c", annotations_dir="data", file_names=names, media_dir="videos",
                               class_folders=True, labelled_test=False, suffixes={mkv: ".mkv"})
    result = load_corpus("kinetics", fake.root)
    samples = samples_by_id(result)
    assert result.problems == []
    assert samples[mkv].video == f"videos/train/passing American football (in game)/{mkv}.mkv"
    assert samples["zZZ9-tqMm3I_000003_000013"].video == \
        "videos/val/passing_American_football_(in_game)/zZZ9-tqMm3I_000003_000013.mp4"
    test_clip = samples["a1b2c3d4e5f_000120_000130"]
    assert test_clip.split == "test" and "class" not in test_clip.extra  # Kinetics-600's test labels unpublished
    assert samples["--07WQ2iBlw_000001_000011"].extra["class"] == "playing guitar"


@pytest.mark.parametrize(("layout", "file_names", "split_folders"), [
    ("torchvision", {"train": "train.csv", "val": "val.csv"}, {"train": "train", "val": "val"}),
    ("mmaction2", {"train": "kinetics_train.csv", "val": "kinetics_val.csv"},
     {"train": "videos_train", "val": "videos_val"}),
])
def test_torchvision_and_mmaction2_class_folder_layouts_are_found(tmp_path, layout, file_names, split_folders):
    root = tmp_path / layout
    clips = tuple(c for c in CLIPS if c[4] != "test")
    root.mkdir()
    (root / "annotations").mkdir()
    for split, name in file_names.items():
        (root / "annotations" / name).write_text(annotation_csv([c for c in clips if c[4] == split]))
    for seed, (label, youtube_id, start, end, split) in enumerate(clips):
        folder = label.replace(" ", "_").replace("(", "").replace(")", "") if layout == "mmaction2" else label
        write_video_clip(root / split_folders[split] / folder / f"{clip_id(youtube_id, start, end)}.mp4", seed)
    result = load_corpus("kinetics", root)
    assert result.problems == []
    assert {s.sample_id: s.video.split("/")[:2] for s in result.samples} == {
        clip_id(y, s, e): [split_folders[split], label.replace(" ", "_").replace("(", "").replace(")", "")
                           if layout == "mmaction2" else label] for label, y, s, e, split in clips}


def test_a_webm_and_a_bare_youtube_id_where_the_video_has_one_clip(tmp_path):
    root = tmp_path / "c"
    write_fake_kinetics(root)
    webm, bare = clip_id("0347ZoDXyP0", 14, 24), clip_id("zZZ9-tqMm3I", 3, 13)
    (root / "train" / f"{webm}.mp4").rename(root / "train" / f"{webm}.webm")
    (root / "val" / f"{bare}.mp4").rename(root / "val" / "zZZ9-tqMm3I.mp4")
    twice = clip_id("_xk4Ey1WbXw", 30, 40)  # its video has two clips: a bare id could be either
    (root / "train" / f"{twice}.mp4").rename(root / "train" / "_xk4Ey1WbXw.mp4")
    result = load_corpus("kinetics", root)
    samples = samples_by_id(result)
    assert (samples[webm].video, samples[bare].video) == (f"train/{webm}.webm", "val/zZZ9-tqMm3I.mp4")
    [problem] = result.problems
    assert problem.sample_id == twice and problem.path == f"{root / 'annotations' / 'train.csv'}:4"


def test_a_missing_clip_is_named_at_its_row_and_counted(tmp_path, caplog):
    fake = write_fake_kinetics(tmp_path / "c")
    line = append_rows(fake.annotation_file, "abseiling,gonefromYT1,20,30,train,0")
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.kinetics"):
        result = load_corpus("kinetics", fake.root)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("gonefromYT1_000020_000030", f"{fake.annotation_file}:{line}")
    assert "clip file gonefromYT1_000020_000030.{mp4,mkv,webm} not found in train/, the root" in problem.reason
    assert "also looked for gonefromYT1.{mp4,mkv,webm}; row left out (a video taken down" in problem.reason
    assert result.metadata["clips_listed"] == 8 and result.metadata["clips_missing"] == 1
    assert "1 of 8 Kinetics clips listed not found" in caplog.text


def test_bad_rows_are_named_file_line_and_left_out(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    rows = ["abseiling,0347ZoDXyP0,14,24,train",           # a field missing
            "abseiling,Xyz123abcde,fourteen,24,train,0",   # a time that is no number
            "abseiling,Xyz123abcde,24,24,train,0",         # start not before end
            "abseiling,Xyz123abcde,-1,9,train,0",          # a negative time
            ",Xyz123abcde,4,14,train,0",                   # no label
            "abseiling,,4,14,train,0"]                     # no YouTube id
    first = append_rows(fake.annotation_file, *rows)
    result = load_corpus("kinetics", fake.root)
    assert len(result.samples) == len(CLIPS)
    reasons = {int(p.path.rsplit(":", 1)[1]) - first: p.reason for p in result.problems}
    assert all(p.path.startswith(f"{fake.annotation_file}:") for p in result.problems)
    assert "expected 6 fields" in reasons[0] and "time_start 'fourteen' is not a number" in reasons[1]
    assert "time_start 24 is not before time_end 24" in reasons[2] and "time_start '-1'" in reasons[3]
    assert "empty label" in reasons[4] and "youtube_id '' is empty" in reasons[5]
    assert all(r.endswith("row left out") for r in reasons.values()) and len(reasons) == len(rows)


def test_a_clip_listed_again_is_a_repeated_entry_and_in_another_split_a_leak(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    again = append_rows(fake.annotation_file, "abseiling,0347ZoDXyP0,14,24,train,0")
    val_csv = fake.annotation_file.parent / "validate.csv"
    leak = append_rows(val_csv, "abseiling,0347ZoDXyP0,14,24,val,0")
    result = load_corpus("kinetics", fake.root)
    assert len(result.samples) == len(CLIPS)
    first = f"{fake.annotation_file}:2"
    assert [(p.path, p.error_type) for p in result.problems] == [(f"{fake.annotation_file}:{again}", REPEATED_ENTRY),
                                                                 (f"{val_csv}:{leak}", REPEATED_ENTRY)]
    assert f"listed again (first at {first})" in result.problems[0].reason
    assert "in split 'train' too, a leak between them" in result.problems[1].reason


def test_split_loads_one_split_and_native_names_are_refused_with_ours(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    result = load_corpus("kinetics", fake.root, split="val")
    assert {s.split for s in result.samples} == {"val"} and len(result.samples) == 2
    assert result.metadata["annotation_files"] == ["annotations/validate.csv"]
    with pytest.raises(ConfigError, match="pass --split val"):
        load_corpus("kinetics", fake.root, split="validate")
    (fake.annotation_file.parent / "test.csv").unlink()
    with pytest.raises(CorpusNotFoundError, match=r"split 'test' asked.*splits there: \['train', 'val'\]"):
        load_corpus("kinetics", fake.root, split="test")


def test_no_annotation_file_is_refused_naming_the_folders_and_the_option(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    shutil.rmtree(fake.annotation_file.parent)
    with pytest.raises(CorpusNotFoundError) as refused:
        load_corpus("kinetics", fake.root)
    message = str(refused.value)
    assert all(str(fake.root / d) in message for d in ("annotations", "data"))
    assert "-o annotations_dir=" in message
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"{fake.root / 'labels'} (option annotations_dir)")):
        load_corpus("kinetics", fake.root, options={"annotations_dir": "labels"})


def test_a_header_without_the_required_columns_stops_the_load_at_line_1(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    text = fake.annotation_file.read_text().replace(HEADER, "label,id,start,end,split,is_cc")
    fake.annotation_file.write_text(text)
    with pytest.raises(CorpusFormatError, match=re.escape(f"{fake.annotation_file}:1:") + ".*lacks youtube_id, "
                       "time_start, time_end"):
        load_corpus("kinetics", fake.root)


def test_files_of_several_versions_need_the_version_option(tmp_path):
    root = tmp_path / "c"
    names = {split: f"kinetics-400_{split}.csv" for split in ("train", "val", "test")}
    write_fake_kinetics(root, annotations_dir="data", file_names=names)
    (root / "data" / "kinetics-600_train.csv").write_text(annotation_csv([CLIPS[0]]))
    with pytest.raises(ConfigError, match="Kinetics 400, 600 .*-o version= names the one to read"):
        load_corpus("kinetics", root)
    result = load_corpus("kinetics", root, options={"version": "600"})
    assert [s.sample_id for s in result.samples] == [clip_id(*CLIPS[0][1:4])]
    assert result.metadata["annotation_files"] == ["data/kinetics-600_train.csv"]
    assert len(load_corpus("kinetics", root, options={"version": "400"}).samples) == len(CLIPS)
    with pytest.raises(CorpusNotFoundError, match="-o version=700: no annotation file of that version"):
        load_corpus("kinetics", root, options={"version": "700"})
    with pytest.raises(ConfigError, match="is not one of"):
        load_corpus("kinetics", root, options={"version": "800"})


def test_two_files_of_one_split_are_refused_naming_both(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    shutil.copy(fake.annotation_file.parent / "validate.csv", fake.annotation_file.parent / "val.csv")
    with pytest.raises(ConfigError, match="2 Kinetics annotation files of split 'val': val.csv, validate.csv") as e:
        load_corpus("kinetics", fake.root)
    assert ".txt" not in str(e.value)  # the advice to keep the .txt is for a .txt beside its .csv alone


def test_no_clip_found_is_refused_naming_the_video_dir_option(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    for split in ("train", "val", "test"):
        shutil.rmtree(fake.root / split)
    with pytest.raises(CorpusNotFoundError, match=r"none of the 7 Kinetics clips found.*-o video_dir="):
        load_corpus("kinetics", fake.root)


def test_a_video_dir_option_names_the_folder_of_the_split_folders(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c", media_dir="k400")
    result = load_corpus("kinetics", fake.root, options={"video_dir": "k400"})
    assert result.problems == [] and {s.video for s in result.samples} == {e.video for e in fake.expected.values()}


FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
cells = st.one_of(st.sampled_from(["abseiling", "0347ZoDXyP0", "14", "24", "1e400", "nan", "-3", "", " ", "a/b",
                                   "train", "\ud800", '"x,y"']), st.text(max_size=6))
csv_rows = st.lists(st.lists(cells, min_size=0, max_size=7).map(",".join), max_size=5)


@FUZZ
@given(header=st.sampled_from([HEADER, "youtube_id,time_start,time_end,split", "label,youtube_id", ""]),
       rows=csv_rows, raw=st.one_of(st.none(), st.binary(max_size=40)))
def test_fuzz_annotation_csv(tmp_path, header, rows, raw):
    data = raw if raw is not None else "\n".join([header, *rows]).encode("utf-8", "surrogatepass")
    (tmp_path / "train.csv").write_bytes(data)
    try:
        result = load_corpus("kinetics", tmp_path)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(p.path for p in result.problems)


def test_cvdf_kinetics_600_txt_split_files_are_read_and_the_holdout_file_is_not(tmp_path):
    names = {"train": "train.txt", "val": "val.txt", "test": "test.csv"}  # CVDF's k600 downloader's names
    fake = write_fake_kinetics(tmp_path / "c", file_names=names, labelled_test=False)
    holdout = fake.root / "annotations" / "kinetics600_holdout_test.csv"
    holdout.write_text("youtube_id,time_start,time_end,split\nHoLdOuT0001,1,11,test\n", encoding="utf-8")
    result = load_corpus("kinetics", fake.root)
    assert result.problems == [] and {s.sample_id: s.split for s in result.samples} == {
        sid: e.split for sid, e in fake.expected.items()}
    assert result.metadata["annotation_files"] == ["annotations/train.txt", "annotations/val.txt",
                                                   "annotations/test.csv"]
    shutil.copy(fake.root / "annotations" / "train.txt", fake.root / "annotations" / "train.csv")
    with pytest.raises(ConfigError, match=r"2 Kinetics annotation files of split 'train': train.csv, train.txt; "
                       r"(.|\n)*the .txt is the complete file and the .csv a partial one (.|\n)*keep the .txt"):
        load_corpus("kinetics", fake.root)


@pytest.mark.parametrize("name", ["kinetics700_2020_{}.csv", "kinetics-700-2020_{}.csv"])
def test_kinetics_700_2020_file_names_and_the_version_option(tmp_path, name):
    root = tmp_path / "c"
    names = {split: name.format(split) for split in ("train", "val", "test")}
    write_fake_kinetics(root, annotations_dir="data", file_names=names, labelled_test=False)
    assert len(load_corpus("kinetics", root).samples) == len(CLIPS)
    (root / "data" / "kinetics-700_train.csv").write_text(annotation_csv([CLIPS[0]]))
    with pytest.raises(ConfigError, match="Kinetics 700, 700-2020 .*-o version= names the one to read"):
        load_corpus("kinetics", root)
    result = load_corpus("kinetics", root, options={"version": "700-2020"})
    assert result.metadata["annotation_files"] == [f"data/{names[s]}" for s in ("train", "val", "test")]
    assert len(result.samples) == len(CLIPS) and "class" not in samples_by_id(result)[clip_id(*CLIPS[-1][1:4])].extra
    assert [s.sample_id for s in load_corpus("kinetics", root, options={"version": "700"}).samples] == \
        [clip_id(*CLIPS[0][1:4])]


@pytest.mark.parametrize("video_dir", [None, "k400"])
def test_a_replacement_for_a_corrupt_clip_wins_under_the_root_or_a_media_folder(tmp_path, video_dir):
    root = tmp_path / "c"
    write_fake_kinetics(root, media_dir=video_dir or "")
    corrupt = clip_id("0347ZoDXyP0", 14, 24)
    base = f"{video_dir}/" if video_dir else ""
    (root / f"{base}train" / f"{corrupt}.mp4").write_bytes(b"corrupt")
    replacement = f"{base}replacement/replacement_for_corrupted_k400/{corrupt}.mp4"
    write_video_clip(root / replacement, 3)
    result = load_corpus("kinetics", root, options={"video_dir": video_dir} if video_dir else {})
    assert result.problems == [] and samples_by_id(result)[corrupt].video == replacement
    assert samples_by_id(result)[corrupt].extra["video_duration"] == pytest.approx(1.0)


def test_a_bare_id_file_longer_than_its_clip_is_the_whole_video_and_the_sample_its_span(tmp_path):
    root = tmp_path / "c"
    short = ("abseiling", "ShortWhole1", 2, 3, "train")   # a 1 s clip of a 4 s video
    past = ("abseiling", "PastTheEnd1", 5, 6, "train")    # starts after the 4 s file ends: the clip, cut long
    cut = ("abseiling", "AlreadyCut1", 7, 11, "train")    # the 4 s clip itself, named by its video's id
    over = ("abseiling", "RunsOverIt1", 2, 6, "val")      # a 4 s clip of a 5.6 s video: its end held there
    write_fake_kinetics(root, clips=CLIPS + (short, past, cut, over))
    for label, youtube_id, start, end, split in (short, past, cut, over):
        (root / split / f"{clip_id(youtube_id, start, end)}.mp4").unlink()
        seconds = 5.6 if youtube_id == "RunsOverIt1" else 4.0
        write_video_clip(root / split / f"{youtube_id}.mp4", 2, duration=seconds)
    result = load_corpus("kinetics", root)
    samples = samples_by_id(result)
    whole = samples[clip_id(*short[1:4])]
    assert (whole.video, whole.start, whole.end) == ("train/ShortWhole1.mp4", 2, 3)
    assert whole.extra["video_duration"] == pytest.approx(4.0) and "annotated_end" not in whole.extra
    held = samples[clip_id(*over[1:4])]
    assert (held.start, held.end, held.extra["annotated_end"]) == (2, pytest.approx(5.6), 6)
    for read_whole in (cut, past):
        sample = samples[clip_id(*read_whole[1:4])]
        assert (sample.start, sample.end) == (None, None) and "annotated_end" not in sample.extra
    assert all((s.start, s.end) == (None, None) for sid, s in samples.items() if sid in CLASSES)
    assert result.problems == [] and "bare_id_files_without_duration" not in result.metadata


def test_a_bare_id_file_ending_before_its_only_clip_starts_is_that_clip_cut_long(tmp_path):
    root = tmp_path / "c"
    clip = ("abseiling", "CutLongClip", 14, 24, "train")  # a 12 s file of the 10 s clip (cut at key frames)
    write_fake_kinetics(root, clips=(clip,))
    (root / "train" / f"{clip_id(*clip[1:4])}.mp4").unlink()
    write_video_clip(root / "train" / "CutLongClip.mp4", 1, duration=12.0)
    result = load_corpus("kinetics", root)
    [sample] = result.samples
    assert (sample.sample_id, sample.video, sample.start, sample.end) == (clip_id(*clip[1:4]),
                                                                         "train/CutLongClip.mp4", None, None)
    assert sample.extra["video_duration"] == pytest.approx(12.0) and "annotated_end" not in sample.extra
    assert result.problems == [] and result.metadata["clips_missing"] == 0


def test_a_bare_id_file_stating_no_duration_is_read_as_the_clip_and_counted_and_named(tmp_path, caplog):
    root = tmp_path / "c"
    write_fake_kinetics(root)
    live = clip_id("zZZ9-tqMm3I", 3, 13)
    (root / "val" / f"{live}.mp4").unlink()
    write_live_matroska_clip(root / "val" / "zZZ9-tqMm3I.mkv", 3, duration=15.0)  # longer than its clip
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.kinetics"):
        result = load_corpus("kinetics", root)
    sample = samples_by_id(result)[live]
    assert (sample.video, sample.start, sample.end) == ("val/zZZ9-tqMm3I.mkv", None, None)
    assert "video_duration" not in sample.extra and result.problems == []
    assert result.metadata["bare_id_files_without_duration"] == {"count": 1, "files": ["val/zZZ9-tqMm3I.mkv"]}
    [warning] = [r.getMessage() for r in caplog.records if "state no video duration" in r.getMessage()]
    assert "1 Kinetics files named by the bare YouTube id" in warning and "val/zZZ9-tqMm3I.mkv" in warning
    assert "read whole as its clip" in warning


def test_the_bare_id_is_read_only_for_a_video_with_one_clip_in_every_split_file_whatever_the_split(tmp_path):
    root = tmp_path / "c"
    write_fake_kinetics(root)
    bare = clip_id("zZZ9-tqMm3I", 3, 13)
    (root / "val" / f"{bare}.mp4").rename(root / "val" / "zZZ9-tqMm3I.mp4")
    append_rows(root / "annotations" / "train.csv", "abseiling,zZZ9-tqMm3I,40,50,train,0")  # its video's 2nd clip
    write_video_clip(root / "train" / f"{clip_id('zZZ9-tqMm3I', 40, 50)}.mp4", 4)
    for split in (None, "val"):
        result = load_corpus("kinetics", root, split=split)
        assert bare not in samples_by_id(result)
        [problem] = [p for p in result.problems if p.sample_id == bare]
        assert "also looked for" not in problem.reason  # the bare id is not looked for: it could be either clip


def test_crawler_test_clips_in_test_test_are_found(tmp_path):
    names = {split: f"kinetics-600_{split}.csv" for split in ("train", "val", "test")}
    fake = write_fake_kinetics(tmp_path / "c", annotations_dir="data", file_names=names, media_dir="videos",
                               class_folders=True, labelled_test=False)
    test_clip = clip_id("a1b2c3d4e5f", 120, 130)
    (fake.root / "videos" / "test" / "test").mkdir()
    (fake.root / "videos" / "test" / f"{test_clip}.mp4").rename(fake.root / "videos" / "test" / "test" /
                                                                  f"{test_clip}.mp4")
    result = load_corpus("kinetics", fake.root)
    assert result.problems == [] and samples_by_id(result)[test_clip].video == f"videos/test/test/{test_clip}.mp4"


def test_a_headerless_root_train_csv_is_refused_naming_the_annotations_folder_it_hid(tmp_path):
    fake = write_fake_kinetics(tmp_path / "c")
    (fake.root / "train.csv").write_text("train/abseiling/0347ZoDXyP0_000014_000024.mp4 0\n")  # PySlowFast's list
    with pytest.raises(CorpusFormatError) as refused:
        load_corpus("kinetics", fake.root)
    message = str(refused.value)
    assert f"{fake.root / 'train.csv'}:1:" in message and "-o annotations_dir=" in message
    assert "annotations/ holds annotation files too, not read: the root's came first" in message
    assert len(load_corpus("kinetics", fake.root, options={"annotations_dir": "annotations"}).samples) == len(CLIPS)
