"""The `vggsound` loader on the layouts copies of VGGSound have: one sample per clip of vggsound.csv with its class
in `extra.class`, the YouTube id as group, `video` for an MP4 and `audio` for sound alone, and the rows it leaves
out (a clip gone from YouTube, a row of the wrong shape, a start that is no whole number of seconds, an unknown
split, a clip listed again) named `file:line` in the problems, with the count of missing clips kept."""
from __future__ import annotations

import logging
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes import append_rows, samples_by_id
from tests.fakes.vggsound import CLASSES, CLIPS, write_clip, write_fake_vggsound


def test_an_mp4_clip_is_a_video_sample_with_its_class_group_and_header_durations(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c")
    result = load_corpus("vggsound", fake.root)
    samples = samples_by_id(result)
    assert {sid: (s.split, s.video, s.audio) for sid, s in samples.items()} == {
        sid: (e.split, e.video, None) for sid, e in fake.expected.items()}
    clip = samples["-5Jlimvx0A0_000000"]
    assert clip.group_id == "-5Jlimvx0A0" and clip.corpus == "vggsound" and clip.captions == ()
    assert clip.extra["class"] == "male speech, man speaking"  # the quoted comma kept inside the class
    assert (clip.extra["youtube_id"], clip.extra["start_seconds"]) == ("-5Jlimvx0A0", 0)
    assert clip.extra["video_duration"] == pytest.approx(1.0)  # from the file's header, for `check`
    assert clip.extra["audio_duration"] == pytest.approx(1.0, abs=0.1)  # its AAC track's header
    assert {sid: s.extra["class"] for sid, s in samples.items()} == CLASSES
    assert result.metadata == {"annotation_file": "vggsound.csv", "clips_listed": 5, "clips_missing": 0}


def test_sound_alone_in_split_folders_is_an_audio_sample(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c", csv_dir="data", media_dir="audio", suffix=".flac",
                               split_folders=True)
    samples = samples_by_id(load_corpus("vggsound", fake.root))
    clip = samples["_9fQ2WgM8Vs_000250"]
    assert (clip.audio, clip.video, clip.split) == ("audio/test/_9fQ2WgM8Vs_000250.flac", None, "test")
    assert clip.extra["audio_duration"] == 1.0


@pytest.mark.parametrize(("name", "options"), [
    ("{id}_{start}.wav", {}),                      # unpadded start, WAV
    ("{id}_{start:06d}.wav", {"media_dir": "clips"}),  # a folder named by the option
])
def test_other_namings_and_folders_are_found(tmp_path, name, options):
    root = tmp_path / "c"
    fake = write_fake_vggsound(root, clips=CLIPS[:2])
    (root / "video").rename(root / "old")
    folder = options.get("media_dir", "audio")
    for seed, (youtube_id, start, _, _) in enumerate(CLIPS[:2]):
        write_clip(root / folder / name.format(id=youtube_id, start=start), seed)
    result = load_corpus("vggsound", root, options=options)
    assert result.problems == []
    assert {s.sample_id: s.audio for s in result.samples} == {
        f"{y}_{s:06d}": f"{folder}/{name.format(id=y, start=s)}" for y, s, _, _ in CLIPS[:2]}
    assert set(samples_by_id(result)) == set(list(fake.expected)[:2])


def test_a_bare_youtube_id_is_taken_only_for_a_video_with_one_clip(tmp_path):
    root = tmp_path / "c"
    write_fake_vggsound(root, clips=CLIPS[2:])
    for path in (root / "video").iterdir():
        path.rename(path.with_name(path.name.split("_0")[0] + ".mp4"))  # `<id>.mp4`
    result = load_corpus("vggsound", root)
    assert [s.sample_id for s in result.samples] == ["---g-f_I2yQ_000001"]
    reasons = {p.sample_id: p.reason for p in result.problems}
    assert set(reasons) == {"_9fQ2WgM8Vs_000120", "_9fQ2WgM8Vs_000250"}
    assert "not as _9fQ2WgM8Vs: the CSV lists 2 clips of that video" in reasons["_9fQ2WgM8Vs_000120"]


def test_a_missing_clip_is_named_at_its_row_and_counted(tmp_path, caplog):
    fake = write_fake_vggsound(tmp_path / "c")
    (fake.root / "video" / "--0PQM4-hqg_000030.mp4").unlink()
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.vggsound"):
        result = load_corpus("vggsound", fake.root)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("--0PQM4-hqg_000030", f"{fake.annotation_file}:1")
    assert problem.reason.startswith("clip file --0PQM4-hqg_000030.{mp4,flac,wav} not found in video/")
    assert "also looked for --0PQM4-hqg_30.{mp4,flac,wav}, --0PQM4-hqg.{mp4,flac,wav} (" in problem.reason
    assert result.metadata["clips_missing"] == 1 and len(result.samples) == 4
    assert "1 of 5 VGGSound clips listed" in caplog.text


def test_bad_rows_are_named_file_line_and_left_out(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c")
    first = append_rows(fake.annotation_file,
                        'abcdefghijk,30,dog barking, no quotes,train',   # a class with an unquoted comma
                        'abcdefghijk,thirty,"dog barking",train',
                        'abcdefghijk,12.5,"dog barking",train',
                        'abcdefghijk,30,"dog barking",val',
                        ',30,"dog barking",train',
                        'abcdefghijk,30,"",test')
    result = load_corpus("vggsound", fake.root)
    assert len(result.samples) == len(fake.expected)
    got = [(p.path, p.reason) for p in result.problems]
    assert [path for path, _ in got] == [f"{fake.annotation_file}:{first + i}" for i in range(6)]
    assert "expected 4 fields (youtube_id,start_seconds,label,split), got 5" in got[0][1]
    assert "start_seconds 'thirty' is not a whole number of seconds" in got[1][1]
    assert "start_seconds '12.5' is not a whole number" in got[2][1]
    assert "split 'val' is not one of ['train', 'test']" in got[3][1]
    assert "youtube_id '' is empty" in got[4][1]
    assert "empty label" in got[5][1]
    assert all(reason.endswith("row left out") for _, reason in got)


def test_a_clip_listed_again_is_a_repeated_entry_naming_the_first_row_and_the_leak(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c")
    line = append_rows(fake.annotation_file, '---g-f_I2yQ,1,"people marching",train', '---g-f_I2yQ,1.0,"x",test')
    result = load_corpus("vggsound", fake.root)
    assert samples_by_id(result)["---g-f_I2yQ_000001"].split == "test"  # the first listing kept
    assert [(p.path, p.error_type) for p in result.problems] == [
        (f"{fake.annotation_file}:{line}", REPEATED_ENTRY), (f"{fake.annotation_file}:{line + 1}", REPEATED_ENTRY)]
    assert f"in split 'test' too, a leak between them (first at {fake.annotation_file}:4)" in result.problems[0].reason
    assert "is listed again" in result.problems[1].reason


def test_split_loads_one_split_and_its_problems_only(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c")
    append_rows(fake.annotation_file, 'abcdefghijk,x,"dog barking",train', 'abcdefghijk,y,"dog barking",test')
    (fake.root / "video" / "--0PQM4-hqg_000030.mp4").unlink()  # a train clip
    result = load_corpus("vggsound", fake.root, split="test")
    assert {s.sample_id for s in result.samples} == {sid for sid, e in fake.expected.items() if e.split == "test"}
    assert [p.path for p in result.problems] == [f"{fake.annotation_file}:7"]
    assert result.metadata["clips_listed"] == 2


@pytest.mark.parametrize("header", ["# YouTube ID,start seconds,label,train/test split\n",
                                    "\nyoutube_id,start_seconds,label,split\n"])  # after a blank line too
def test_a_header_line_is_skipped(tmp_path, header):
    fake = write_fake_vggsound(tmp_path / "c")
    text = fake.annotation_file.read_text(encoding="utf-8")
    fake.annotation_file.write_text(header + text, encoding="utf-8")
    result = load_corpus("vggsound", fake.root)
    assert result.problems == [] and len(result.samples) == len(fake.expected)


def test_a_malformed_first_row_is_reported_not_taken_for_a_header(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c")
    text = fake.annotation_file.read_text(encoding="utf-8")
    fake.annotation_file.write_text('abcdefghijk,,"dog barking",val\n' + text, encoding="utf-8")
    result = load_corpus("vggsound", fake.root)
    assert [p.path for p in result.problems] == [f"{fake.annotation_file}:1"]
    assert "start_seconds '' is not a whole number" in result.problems[0].reason
    assert len(result.samples) == len(fake.expected)


def test_an_unquoted_class_is_read_as_the_release_writes_it(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c")
    text = fake.annotation_file.read_text(encoding="utf-8")
    assert "---g-f_I2yQ,1,people marching,test\n" in text and '"male speech, man speaking"' in text
    assert samples_by_id(load_corpus("vggsound", fake.root))["---g-f_I2yQ_000001"].extra["class"] == "people marching"


@pytest.mark.parametrize(("files", "chosen"), [
    (("{id}_000030.wav", "{id}_30.wav", "{id}.wav"), "{id}_000030.wav"),
    (("{id}_30.wav", "{id}.wav"), "{id}_30.wav"),
    (("{id}.wav", "{id}_000030.flac"), "{id}_000030.flac"),
    (("{id}_000030.wav", "{id}_000030.flac"), "{id}_000030.flac"),
])
def test_the_padded_name_wins_then_the_unpadded_then_the_bare_id_and_flac_before_wav(tmp_path, files, chosen):
    root = tmp_path / "c"
    youtube_id = "--0PQM4-hqg"
    write_fake_vggsound(root, clips=CLIPS[:1])
    (root / "video" / f"{youtube_id}_000030.mp4").unlink()
    for seed, name in enumerate(files):
        write_clip(root / "audio" / name.format(id=youtube_id), seed)
    [sample] = load_corpus("vggsound", root).samples
    assert (sample.audio, sample.video) == ("audio/" + chosen.format(id=youtube_id), None)


def test_an_mp4_and_the_wav_extracted_from_it_fill_video_and_audio(tmp_path):
    root = tmp_path / "c"
    write_fake_vggsound(root, clips=CLIPS[:2])
    write_clip(root / "audio" / "--0PQM4-hqg_000030.wav", 0, duration=2.0)  # CLIPSep's extract_audio layout
    write_clip(root / "audio" / "-5Jlimvx0A0_000000.mp4", 1)  # an MP4 in an audio folder is still a video
    (root / "video" / "-5Jlimvx0A0_000000.mp4").unlink()
    result = load_corpus("vggsound", root)
    samples = samples_by_id(result)
    both = samples["--0PQM4-hqg_000030"]
    assert (both.video, both.audio) == ("video/--0PQM4-hqg_000030.mp4", "audio/--0PQM4-hqg_000030.wav")
    assert both.extra["audio_duration"] == 2.0  # the WAV's header, which audio extractors read
    assert both.extra["video_duration"] == pytest.approx(1.0)
    moved = samples["-5Jlimvx0A0_000000"]
    assert (moved.video, moved.audio) == ("audio/-5Jlimvx0A0_000000.mp4", None)
    assert result.problems == []


def test_the_bare_id_rule_counts_every_row_naming_the_video(tmp_path):
    root = tmp_path / "c"
    write_fake_vggsound(root, clips=CLIPS[3:5])
    (root / "video" / "---g-f_I2yQ_000001.mp4").rename(root / "video" / "---g-f_I2yQ.mp4")
    csv_path = root / "vggsound.csv"
    append_rows(csv_path, "---g-f_I2yQ,1.0,people marching,test")  # the same clip again: still one clip
    result = load_corpus("vggsound", root, split="test")
    assert samples_by_id(result)["---g-f_I2yQ_000001"].video == "video/---g-f_I2yQ.mp4"
    append_rows(csv_path, "---g-f_I2yQ,x,people marching,train")  # a row of the other split, unreadable start
    result = load_corpus("vggsound", root, split="test")
    assert "---g-f_I2yQ_000001" not in samples_by_id(result)
    [reason] = [p.reason for p in result.problems if p.sample_id == "---g-f_I2yQ_000001" and "not found" in p.reason]
    assert "not as ---g-f_I2yQ: the CSV lists 2 clips of that video" in reason


def test_a_folder_both_splits_look_in_is_listed_once(tmp_path, monkeypatch):
    fake = write_fake_vggsound(tmp_path / "c")
    listed = []
    real_scandir = os.scandir

    def counting_scandir(path):
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)
    assert len(load_corpus("vggsound", fake.root).samples) == len(fake.expected)
    assert sorted(listed) == sorted(set(listed)) and str(fake.root / "video") in listed


def test_refusals_name_what_was_looked_for(tmp_path):
    fake = write_fake_vggsound(tmp_path / "c")
    with pytest.raises(ConfigError, match=re.escape("unknown split 'val'")):
        load_corpus("vggsound", fake.root, split="val")
    with pytest.raises(CorpusNotFoundError, match=r"no VGGSound vggsound.csv found in .*nowhere \(option csv_dir\)"):
        load_corpus("vggsound", fake.root, options={"csv_dir": "nowhere"})
    with pytest.raises(CorpusNotFoundError, match=r"none of the 5 VGGSound clips found in empty/ .*-o media_dir="):
        load_corpus("vggsound", fake.root, options={"media_dir": "empty"})
    fake.annotation_file.write_text('abc,1,"unterminated\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{fake.annotation_file}:1:")):
        load_corpus("vggsound", fake.root)


FIELDS = st.one_of(st.sampled_from(["abc", "30", "30.0", "-1", "1e400", "nan", "train", "test", "val", "",
                                    '"a, b"', '"open', "x\"y", "a/b", "\u00e9"]), st.text(max_size=6))


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(FIELDS, max_size=5), max_size=5), raw=st.binary(max_size=40), use_raw=st.booleans(),
       split=st.sampled_from([None, "train", "test"]))
def test_any_csv_gives_samples_or_a_corpus_error_and_every_problem_names_its_place(tmp_path, rows, raw, use_raw,
                                                                                   split):
    root = tmp_path / "fuzz"
    write_clip(root / "audio" / "abc_000030.wav", 0, duration=0.1)
    data = raw if use_raw else "\n".join(",".join(row) for row in rows).encode("utf-8", "surrogatepass")
    (root / "vggsound.csv").write_bytes(data)
    try:
        result = load_corpus("vggsound", root, split=split)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(p.path.startswith(str(root / "vggsound.csv") + ":") for p in result.problems)
