"""The `vatex` loader on fakes of the release: the three annotation files with the cut clips or the whole
YouTube videos, the caption languages (`-o captions=`), spans from the videoID, a cut clip saved under its
YouTube id, retrieval papers' split lists (`-o split_lists=`), what is left out and named, and random entries
(samples whose captions come from their entry, or a corpus error, never a crash)."""
from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes.activitynet import write_video
from tests.fakes.vatex import CLIPS, FILES, chinese, clip_id, english, write_fake_vatex

VAL = clip_id(*CLIPS[3][:3])  # the validation clip, a_bc-DEfGh1_000000_000001


def load(root, split=None, **options):
    return load_corpus("vatex", root, split=split, options=options)


def add_entries(path, *entries) -> int:
    """Append `entries` to an annotation file; returns the index of the first."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data += list(entries)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return len(data) - len(entries)


def problems_by_id(result) -> dict:
    return {(p.sample_id, p.path.rsplit(": ", 1)[-1]): p for p in result.problems}


def test_cut_clips_are_samples_grouped_by_youtube_video_without_a_span(tmp_path):
    fake = write_fake_vatex(tmp_path)
    result = load(fake.root)
    assert result.problems == []
    samples = {s.sample_id: s for s in result.samples}
    assert sorted(samples) == sorted(fake.expected)
    first, second = samples[clip_id("Ptf_2VRj-V0", 0, 1)], samples[clip_id("Ptf_2VRj-V0", 1, 2)]
    assert (first.group_id, second.group_id) == ("Ptf_2VRj-V0", "Ptf_2VRj-V0")
    assert (first.video, first.start, first.end) == ("videos/Ptf_2VRj-V0_000000_000001.mp4", None, None)
    assert first.extra == {"youtube_id": "Ptf_2VRj-V0", "clip_start": 0, "clip_end": 1,
                           "annotation_file": FILES["train"]}
    assert first.captions == tuple(english(first.sample_id, k) for k in range(10))
    assert result.metadata["annotation_files"] == {name: split for split, name in FILES.items()}


def test_whole_youtube_videos_give_the_clips_span_from_the_video_id(tmp_path):
    fake = write_fake_vatex(tmp_path, annotations_dir="annotations", whole_videos=True, suffix=".webm")
    samples = {s.sample_id: s for s in load(fake.root).samples}
    clips = {sid: (s.video, s.start, s.end, s.group_id) for sid, s in samples.items() if s.group_id == "Ptf_2VRj-V0"}
    assert clips == {"Ptf_2VRj-V0_000000_000001": ("videos/Ptf_2VRj-V0.webm", 0.0, 1.0, "Ptf_2VRj-V0"),
                     "Ptf_2VRj-V0_000001_000002": ("videos/Ptf_2VRj-V0.webm", 1.0, 2.0, "Ptf_2VRj-V0")}
    assert samples[VAL].extra["video_duration"] == pytest.approx(2.0, abs=0.11)


def test_a_clip_past_the_end_of_its_whole_video_is_cut_there_or_left_out_where_it_starts_after_it(tmp_path):
    fake = write_fake_vatex(tmp_path, whole_videos=True)
    path = fake.root / FILES["val"]
    first = add_entries(path, {"videoID": "a_bc-DEfGh1_000001_000004", "enCap": ["runs past the end"]},
                        {"videoID": "a_bc-DEfGh1_000003_000006", "enCap": ["starts after the end"]})
    result = load(fake.root, "val")
    cut = next(s for s in result.samples if s.sample_id == "a_bc-DEfGh1_000001_000004")
    assert (cut.start, cut.end, cut.extra["annotated_end"]) == (1.0, pytest.approx(2.0, abs=0.11), 4)
    assert "video_is_clip" not in cut.extra
    [problem] = result.problems
    assert problem.sample_id == "a_bc-DEfGh1_000003_000006"
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+:\d+: \[{first + 1}\]", problem.path)
    assert "at or after the end of the video" in problem.reason
    assert "name it a_bc-DEfGh1_000003_000006.mp4" in problem.reason


def test_a_cut_clip_saved_under_its_youtube_id_is_the_whole_file_not_a_span_of_it(tmp_path):
    fake = write_fake_vatex(tmp_path, whole_videos=True)
    add_entries(fake.root / FILES["val"], {"videoID": "a_bc-DEfGh1_000003_000005", "enCap": ["a 2 s clip"]},
                {"videoID": "a_bc-DEfGh1_000000_000002", "enCap": ["the whole 2 s video"]})
    result = load(fake.root, "val")
    assert result.problems == []
    samples = {s.sample_id: s for s in result.samples}
    whole = samples["a_bc-DEfGh1_000000_000002"]  # as long as the video but ending within it: a span, no cut clip
    assert whole.start == 0.0 and whole.end == pytest.approx(2.0, abs=0.11) and "video_is_clip" not in whole.extra
    clip = samples["a_bc-DEfGh1_000003_000005"]  # the 2 s file a_bc-DEfGh1.mp4: the clip 3-5 s, not [3, 2]
    assert (clip.video, clip.start, clip.end) == ("videos/a_bc-DEfGh1.mp4", None, None)
    assert clip.extra["video_is_clip"] is True and clip.extra["video_duration"] == pytest.approx(2.0, abs=0.11)
    assert (clip.extra["clip_start"], clip.extra["clip_end"]) == (3, 5)
    assert (samples[VAL].start, samples[VAL].end) == (0.0, 1.0)  # a 1 s clip of the 2 s video stays a span
    assert "video_is_clip" not in samples[VAL].extra


def test_a_youtube_id_ending_in_underscore_digits_keeps_them(tmp_path):
    fake = write_fake_vatex(tmp_path, whole_videos=True)
    add_entries(fake.root / FILES["val"], {"videoID": "abcd_123456_000000_000001", "enCap": ["id ends in digits"]})
    write_video(fake.root / "videos" / "abcd_123456.mp4", 4)
    sample = next(s for s in load(fake.root, "val").samples if s.sample_id == "abcd_123456_000000_000001")
    assert (sample.group_id, sample.video, sample.start, sample.end) == (
        "abcd_123456", "videos/abcd_123456.mp4", 0.0, 1.0)
    assert (sample.extra["youtube_id"], sample.extra["clip_start"], sample.extra["clip_end"]) == ("abcd_123456", 0, 1)


@pytest.mark.parametrize("video_id", ["a b_000000_000001", "a\x00b_000000_000001", "ab_\u0660\u0660\u0660_\u0661",
                                      "a/b_000000_000001", "ab_000000_0000000001"])
def test_a_video_id_with_other_characters_than_youtube_ids_and_ascii_digits_is_refused(tmp_path, video_id):
    fake = write_fake_vatex(tmp_path)
    index = add_entries(fake.root / FILES["val"], {"videoID": video_id, "enCap": ["x"]})
    [problem] = load(fake.root, "val").problems
    assert problem.path.endswith(f": [{index}].videoID") and "is not <youtube_id>_<start>_<end>" in problem.reason


def test_a_clip_file_is_taken_before_its_whole_youtube_video(tmp_path):
    fake = write_fake_vatex(tmp_path, whole_videos=True)
    write_video(fake.root / "videos" / f"{VAL}.mp4", 9)
    sample = next(s for s in load(fake.root, "val").samples if s.sample_id == VAL)
    assert (sample.video, sample.start, sample.end) == (f"videos/{VAL}.mp4", None, None)


def test_captions_zh_keeps_the_chinese_captions_and_has_no_test_split(tmp_path):
    fake = write_fake_vatex(tmp_path)
    result = load(fake.root, captions="zh")
    assert result.problems == []
    assert {s.sample_id: s.captions for s in result.samples} == {
        sid: tuple(chinese(sid, k) for k in range(10)) for sid, e in fake.expected.items() if e.split != "test"}
    with pytest.raises(ConfigError, match="English captions only.*-o captions=en"):
        load(fake.root, "test", captions="zh")


def test_captions_both_keeps_english_then_chinese_and_english_alone_in_the_public_test(tmp_path):
    fake = write_fake_vatex(tmp_path, captions=2)
    result = load(fake.root, captions="both")
    assert result.problems == []
    captions = {s.sample_id: s.captions for s in result.samples}
    assert captions[VAL] == (english(VAL, 0), english(VAL, 1), chinese(VAL, 0), chinese(VAL, 1))
    test_clip = clip_id(*CLIPS[4][:3])
    assert captions[test_clip] == (english(test_clip, 0), english(test_clip, 1))


def test_a_missing_video_is_named_at_its_entry_with_the_names_looked_for(tmp_path):
    fake = write_fake_vatex(tmp_path)
    (fake.root / "videos" / f"{VAL}.mp4").unlink()
    result = load(fake.root)
    [problem] = result.problems
    assert problem.sample_id == VAL
    assert re.fullmatch(rf"{re.escape(str(fake.root / FILES['val']))}:2:3: \[0\]", problem.path)
    assert f"video file {VAL}.mp4 not found in videos/" in problem.reason
    assert "a_bc-DEfGh1.mp4" in problem.reason and problem.reason.endswith("entry left out")
    assert VAL not in {s.sample_id for s in result.samples}


def test_bad_entries_are_named_at_file_line_column_and_left_out(tmp_path):
    fake = write_fake_vatex(tmp_path)
    path = fake.root / FILES["val"]
    first = add_entries(path, 3, {"videoID": "no-times"}, {"videoID": "x_000005_000002", "enCap": ["a"]},
                        {"videoID": "y_000000_000001", "enCap": "a caption"},
                        {"videoID": "z_000000_000001", "enCap": [" ", 5]},
                        {"videoID": "w_000000_000001", "enCap": ["kept", ""], "chCap": None})
    write_video(fake.root / "videos" / "w_000000_000001.mp4", 3)
    result = load(fake.root, "val")
    steps = {p.path.rsplit(": ", 1)[-1]: (p.sample_id, p.reason) for p in result.problems}
    assert all(re.match(rf"{re.escape(str(path))}:\d+:\d+: ", p.path) for p in result.problems)
    assert steps[f"[{first}]"][1].startswith("expected a clip object")
    assert "is not <youtube_id>_<start>_<end>" in steps[f"[{first + 1}].videoID"][1]
    assert "at or before its start" in steps[f"[{first + 2}].videoID"][1]
    assert steps[f"[{first + 3}].enCap"] == ("y_000000_000001", "expected enCap as a list of captions, got "
                                              "'a caption'; entry left out")
    assert [steps[f"[{first + 4}].enCap[{k}]"][1].endswith("that caption left out") for k in (0, 1)] == [True, True]
    assert "has no enCap caption left" in steps[f"[{first + 4}]"][1]
    assert steps[f"[{first + 5}].enCap[1]"][0] == "w_000000_000001"
    assert len(result.problems) == 8
    kept = {s.sample_id: s.captions for s in result.samples}
    assert kept == {VAL: fake.expected[VAL].captions, "w_000000_000001": ("kept",)}


def test_a_clip_listed_again_is_left_out_as_a_repeat_or_a_leak(tmp_path):
    fake = write_fake_vatex(tmp_path)
    train_clip = clip_id(*CLIPS[0][:3])
    again = add_entries(fake.root / FILES["val"], {"videoID": VAL, "enCap": ["again"]},
                        {"videoID": train_clip, "enCap": ["in val too"]})
    result = load(fake.root, "val")
    problems = problems_by_id(result)
    repeat, leak = problems[(VAL, f"[{again}]")], problems[(train_clip, f"[{again + 1}]")]
    assert {repeat.error_type, leak.error_type} == {REPEATED_ENTRY}
    assert "is listed again" in repeat.reason
    assert "in split 'train' too, a leak between them" in leak.reason and FILES["train"] in leak.reason
    assert [s.sample_id for s in result.samples] == [VAL]
    assert [s.captions for s in result.samples] == [fake.expected[VAL].captions]


def test_a_non_loaded_splits_own_problems_stay_out_of_the_load(tmp_path):
    fake = write_fake_vatex(tmp_path)
    add_entries(fake.root / FILES["train"], 3, {"videoID": "no-times"}, {"videoID": "y_000000_000001", "enCap": [" "]})
    (fake.root / "videos" / f"{clip_id(*CLIPS[4][:3])}.mp4").unlink()  # a test clip's video is gone
    result = load(fake.root, "val")
    assert result.problems == []
    assert [s.sample_id for s in result.samples] == [VAL]
    assert len(load(fake.root, "train").problems) == 4  # the entry, the videoID, the blank caption, no caption left


def test_default_video_folders_include_videos_validation_and_videos_public_test(tmp_path):
    fake = write_fake_vatex(tmp_path)
    test_clip = clip_id(*CLIPS[4][:3])
    for folder, name in (("validation", VAL), ("public_test", test_clip)):
        (fake.root / "videos" / folder).mkdir()
        (fake.root / "videos" / f"{name}.mp4").rename(fake.root / "videos" / folder / f"{name}.mp4")
    result = load(fake.root)
    assert result.problems == []
    videos = {s.sample_id: s.video for s in result.samples}
    assert (videos[VAL], videos[test_clip]) == (f"videos/validation/{VAL}.mp4", f"videos/public_test/{test_clip}.mp4")


def test_an_absolute_video_dir_outside_the_root_needs_allow_outside_root(tmp_path):
    fake = write_fake_vatex(tmp_path / "corpus")
    outside = tmp_path / "elsewhere"
    (fake.root / "videos").rename(outside)
    with pytest.raises(CorpusFormatError, match=r"outside|escape"):
        load(fake.root, "val", video_dir=str(outside))
    result = load(fake.root, "val", video_dir=str(outside), allow_outside_root="true")
    assert [(s.sample_id, s.video) for s in result.samples] == [(VAL, str(outside / f"{VAL}.mp4"))]


def test_options_name_the_annotation_and_video_folders_with_per_split_subfolders(tmp_path):
    root = tmp_path / "corpus"
    write_fake_vatex(root, annotations_dir="json", video_dir="")
    (root / "clips" / "val").mkdir(parents=True)
    (root / f"{VAL}.mp4").rename(root / "clips" / "val" / f"{VAL}.mp4")
    with pytest.raises(CorpusNotFoundError, match="annotations_dir"):
        load(root)
    result = load(root, "val", annotations_dir="json", video_dir="clips")
    assert [(s.sample_id, s.video) for s in result.samples] == [(VAL, f"clips/val/{VAL}.mp4")]


def test_missing_annotation_files_and_split_names_are_refused_with_a_hint(tmp_path):
    fake = write_fake_vatex(tmp_path)
    (fake.root / FILES["val"]).unlink()
    with pytest.raises(CorpusNotFoundError, match=rf"split 'val' asked, but {re.escape(FILES['val'])} is not"):
        load(fake.root, "val")
    with pytest.raises(ConfigError, match="pass --split val"):
        load(fake.root, "validation")
    for name in FILES.values():
        (fake.root / name).unlink(missing_ok=True)
    (fake.root / "vatex_private_test_without_annotations.json").write_text('[{"videoID": "a_000000_000010"}]')
    with pytest.raises(CorpusNotFoundError, match="without captions and is not read"):
        load(fake.root)


def test_the_private_test_file_in_an_annotation_subfolder_is_named_in_the_refusal(tmp_path):
    (tmp_path / "annotations").mkdir()
    private = tmp_path / "annotations" / "vatex_private_test_without_annotations.json"
    private.write_text('[{"videoID": "a_000000_000010"}]')
    with pytest.raises(CorpusNotFoundError, match=rf"{re.escape(str(private))} lists clips without captions"):
        load(tmp_path)


def test_captions_zh_with_only_the_public_test_file_says_it_is_english_only(tmp_path):
    fake = write_fake_vatex(tmp_path, annotations_dir="vatex")
    for split in ("train", "val"):
        (fake.root / "vatex" / FILES[split]).unlink()
    with pytest.raises(CorpusNotFoundError, match=rf"{re.escape(FILES['test'])} has English captions only.*"
                                                  r"pass -o captions=en"):
        load(fake.root, captions="zh")
    assert [s.sample_id for s in load(fake.root).samples] == [clip_id(*CLIPS[4][:3])]


def test_no_video_found_at_all_stops_the_load_naming_the_folders(tmp_path):
    fake = write_fake_vatex(tmp_path)
    (fake.root / "elsewhere").mkdir()
    with pytest.raises(CorpusNotFoundError, match=r"none of the 1 VATEX videos found in elsewhere/.*-o video_dir="):
        load(fake.root, "val", video_dir="elsewhere")


def test_a_file_that_is_no_list_of_clips_stops_the_load_naming_it(tmp_path):
    fake = write_fake_vatex(tmp_path)
    (fake.root / FILES["val"]).write_text('{"videoID": "a_000000_000010"}')
    where = re.escape(str(fake.root / FILES["val"]))
    with pytest.raises(CorpusFormatError, match=rf"{where}:1:1: expected a list of clips"):
        load(fake.root)


# Entries near the release's shape whose every field may be any JSON value (lone surrogates, huge numbers, ...).
_texts = st.one_of(st.text(st.characters(codec=None, exclude_categories=()), max_size=8),
                   st.sampled_from(["", " ", "\ud800", "Ptf_2VRj-V0_000000_000001", "x_" + "9" * 30 + "_1"]))
_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-3, 2**70), st.floats(), _texts),
                       lambda c: st.lists(c, max_size=2) | st.dictionaries(_texts, c, max_size=2), max_leaves=3)
_entries = st.lists(st.one_of(_values, st.fixed_dictionaries({}, optional={
    "videoID": st.one_of(_texts, _values), "enCap": st.one_of(st.lists(_texts, max_size=3), _values),
    "chCap": st.one_of(st.lists(_texts, max_size=3), _values)})), max_size=4)


@settings(max_examples=200, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entries=_entries, captions=st.sampled_from(["en", "zh", "both"]))
def test_any_entries_give_a_valid_samples_table_or_a_corpus_error(tmp_path, entries, captions):
    (tmp_path / "videos").mkdir(exist_ok=True)
    if not (tmp_path / "videos" / "Ptf_2VRj-V0.mp4").exists():  # a whole video, so that spans are held to it
        write_video(tmp_path / "videos" / "Ptf_2VRj-V0.mp4", 0)
    (tmp_path / FILES["train"]).write_bytes(json.dumps(entries).encode("utf-8", "surrogatepass"))
    try:
        result = load(tmp_path, captions=captions)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(p.path for p in result.problems)
    ids = [s.sample_id for s in result.samples]
    assert len(ids) == len(set(ids))
    keys = {"en": ("enCap",), "zh": ("chCap",), "both": ("enCap", "chCap")}[captions]
    for sample in result.samples:
        parts = re.fullmatch(r"([A-Za-z0-9_-]+)_([0-9]{1,9})_([0-9]{1,9})", sample.sample_id)
        assert parts and (sample.group_id, sample.extra["clip_start"], sample.extra["clip_end"]) == (
            parts[1], int(parts[2]), int(parts[3]))
        assert sample.split == "train" and sample.extra["annotation_file"] == FILES["train"]
        assert sample.captions and any(_captions_of(e, keys) == sample.captions for e in entries
                                       if isinstance(e, dict) and e.get("videoID") == sample.sample_id)


def _captions_of(entry: dict, keys: tuple[str, ...]) -> tuple:
    """The captions a valid entry gives: the stripped non-blank texts of its `keys` lists, in order."""
    return tuple(v.strip() for k in keys if isinstance(entry.get(k), list) for v in entry[k]
                 if isinstance(v, str) and v.strip())


HGR = "hgrTestClp1_000000_000001"  # an official validation clip that HGR's protocol puts in its test half
BLANK = "blankCapsXY_000000_000001"  # a validation clip whose every caption is blank
BACKWARDS = "endsEarly12_000005_000002"  # a validation clip ending before its start


def write_split_lists(root, folder: str = "vatex_data", end: str = "\n", **lists: list[str]):
    """CLIP2Video's list files in `folder`: `train_list.txt=[...]` as `train_list_txt`, one videoID a line, each
    line ending in `end`."""
    (root / folder).mkdir(exist_ok=True)
    for name, ids in lists.items():
        (root / folder / name.replace("_txt", ".txt")).write_bytes("".join(f"{i}{end}" for i in ids).encode())


def fake_with_split_lists(tmp_path):
    """The fake with HGR's test clip, a blank-captioned clip and one ending before its start in val, an unlisted
    train clip with a blank caption, and lists that leave clips out, list an unknown clip, a clip twice and the
    two clips whose entries are left out."""
    fake = write_fake_vatex(tmp_path)
    add_entries(fake.root / FILES["val"], {"videoID": HGR, "enCap": ["en hgr"], "chCap": ["zh hgr"]},
                {"videoID": BLANK, "enCap": [" "], "chCap": [""]}, {"videoID": BACKWARDS, "enCap": ["x"]})
    add_entries(fake.root / FILES["train"], {"videoID": "unlisted123_000000_000001", "enCap": ["ok", ""]})
    for seed, name in enumerate((HGR, BLANK, "unlisted123_000000_000001")):
        write_video(fake.root / "videos" / f"{name}.mp4", seed + 5)
    train = [clip_id(*CLIPS[k][:3]) for k in (0, 1)]
    write_split_lists(fake.root, train_list_txt=[*train, "", "missingClip_000000_000001"],
                      val_list_txt=[VAL, train[0], BLANK, BACKWARDS], vatex_test_HGR_txt=[HGR])
    return fake, train


def test_split_lists_assign_each_listed_clip_its_split_with_captions_from_the_annotation_files(tmp_path, caplog):
    fake, train = fake_with_split_lists(tmp_path)
    with caplog.at_level(logging.WARNING):
        result = load(fake.root, split_lists="vatex_data")
    samples = {s.sample_id: s for s in result.samples}
    assert {sid: s.split for sid, s in samples.items()} == {train[0]: "train", train[1]: "train", VAL: "val",
                                                            HGR: "test"}
    assert samples[train[0]].captions == fake.expected[train[0]].captions and samples[HGR].captions == ("en hgr",)
    assert (samples[HGR].extra["split_list"], samples[HGR].extra["annotation_file"]) == (
        "vatex_test_HGR.txt", FILES["val"])
    lists = fake.root / "vatex_data"
    by_place = {p.path: p for p in result.problems}
    missing, leak, blank, backwards = (by_place[f"{lists / name}:{line}"] for name, line in (
        ("train_list.txt", 4), ("val_list.txt", 2), ("val_list.txt", 3), ("val_list.txt", 4)))
    assert missing.reason.endswith("is in none of the annotation files read; line left out")
    assert leak.error_type == REPEATED_ENTRY and "in split 'train' too, a leak" in leak.reason
    entry_problems = [p for p in result.problems if p.path.startswith(str(fake.root / FILES["val"]))]
    assert {p.sample_id for p in entry_problems} == {BLANK, BACKWARDS}
    assert len(result.problems) == 4 + len(entry_problems)
    for line, clip in ((blank, BLANK), (backwards, BACKWARDS)):  # named at their entry's (last) problem
        [*_, entry] = [p for p in entry_problems if p.sample_id == clip]
        assert f"its entry was left out (its problem is named at {entry.path}); line left out" in line.reason
    assert "at or before its start" in entry.reason
    # unlisted: the third train clip, the test clip and unlisted123 (its blank caption is no problem here)
    assert result.metadata["split_lists"] == {
        "files": {"vatex_data/train_list.txt": "train", "vatex_data/val_list.txt": "val",
                  "vatex_data/vatex_test_HGR.txt": "test"}, "not_read": [], "unlisted_clips": 3}
    assert any("3 clips of the annotation files are in none of the split lists" in r.getMessage()
               for r in caplog.records)


def test_split_lists_load_one_split_alone_with_its_own_problems_and_chinese_captions_in_test(tmp_path):
    fake, _ = fake_with_split_lists(tmp_path)
    result = load(fake.root, "test", split_lists="vatex_data", captions="zh")
    assert result.problems == []  # the other lists' unknown clip and leak are theirs
    assert [(s.sample_id, s.split, s.captions) for s in result.samples] == [(HGR, "test", ("zh hgr",))]


def test_split_lists_refuse_a_folder_without_lists_and_a_split_without_its_list(tmp_path):
    fake, _ = fake_with_split_lists(tmp_path)
    with pytest.raises(CorpusNotFoundError, match=r"no VATEX split list .*\(option split_lists\)"):
        load(fake.root, split_lists="nowhere")
    (fake.root / "vatex_data" / "vatex_test_HGR.txt").rename(fake.root / "vatex_data" / "test_list.txt")
    assert [s.sample_id for s in load(fake.root, "test", split_lists="vatex_data").samples] == [HGR]
    (fake.root / "vatex_data" / "test_list.txt").unlink()
    with pytest.raises(CorpusNotFoundError, match="split 'test' asked, but neither vatex_test_HGR.txt nor "
                                                  "test_list.txt is in"):
        load(fake.root, "test", split_lists="vatex_data")
    with pytest.raises(CorpusNotFoundError, match="split 'val' asked, but val_list.txt is not in"):
        (fake.root / "vatex_data" / "val_list.txt").unlink()
        load(fake.root, "val", split_lists="vatex_data")


def test_split_lists_with_both_test_lists_read_hgrs_and_say_the_other_is_not_read(tmp_path, caplog):
    fake, train = fake_with_split_lists(tmp_path)
    write_split_lists(fake.root, test_list_txt=[VAL, train[1]])  # CLIP2Video's own test list, another clip set
    with caplog.at_level(logging.WARNING):
        result = load(fake.root, "test", split_lists="vatex_data")
    assert [(s.sample_id, s.extra["split_list"]) for s in result.samples] == [(HGR, "vatex_test_HGR.txt")]
    assert result.metadata["split_lists"]["not_read"] == ["vatex_data/test_list.txt"]
    assert result.metadata["split_lists"]["files"]["vatex_data/vatex_test_HGR.txt"] == "test"
    assert any(f"{fake.root / 'vatex_data' / 'test_list.txt'} is not read: vatex_test_HGR.txt, beside it, is read"
               in r.getMessage() for r in caplog.records)


def test_split_list_lines_ending_in_crlf_or_spaces_name_their_clips(tmp_path):
    fake, train = fake_with_split_lists(tmp_path)
    write_split_lists(fake.root, end=" \t\r\n", train_list_txt=[f"  {train[0]}", train[1]], val_list_txt=[VAL])
    result = load(fake.root, split_lists="vatex_data")
    assert result.problems == []
    assert {s.sample_id: s.split for s in result.samples} == {train[0]: "train", train[1]: "train", VAL: "val",
                                                              HGR: "test"}


def test_split_lists_name_the_annotation_files_missing_and_refuse_a_list_none_of_whose_clips_is_found(tmp_path):
    fake, _ = fake_with_split_lists(tmp_path)
    (fake.root / FILES["val"]).unlink()  # the HGR lists' clips are all in it
    [missing] = [p for p in load(fake.root, "train", split_lists="vatex_data").problems
                 if p.path.startswith(str(fake.root / "vatex_data" / "train_list.txt"))]
    assert missing.reason.endswith(f"is in none of the annotation files read; {FILES['val']} not found in "
                                   f"{fake.root}; line left out")
    for split in ("test", None):
        with pytest.raises(CorpusNotFoundError, match=(
                rf"none of the \d clips {re.escape(str(fake.root / 'vatex_data'))}/\S+ lists \(split '(val|test)'\) "
                rf"is in the annotation files read, and {re.escape(FILES['val'])} is not in .*-o annotations_dir=")):
            load(fake.root, split, split_lists="vatex_data")
