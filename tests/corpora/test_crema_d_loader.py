"""The `crema-d` loader on the repository's layout: one sample per clip, its emotion, level, sentence and actor in
`extra` with the actor's demographics, the actor as group id, splits by actor (5 folds dealt in id order, option
test_fold and val_fold; or tensorflow_datasets' actors with split_scheme=tfds), media audio, video or both; the files
it leaves out named by path (a name that is no clip's, an unknown code, a level on a sentence without levels, a
folder or another suffix named as a clip's file, the release's damaged clips, a second file of a clip, an empty WAV,
a git-lfs pointer, a WAV of no frames, a clip one folder lacks; a clip's media problems only in the split loaded),
a malformed demographics row named `file:line`, an actor without one kept and named once; and the refusals that name
where they looked and the option."""
from __future__ import annotations

import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmdata.corpora.crema_d  # noqa: F401  (registers `crema-d` until builtin.py imports it)
from mmdata.corpora import crema_d
from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.corpora.crema_d import DAMAGED_CLIPS, TFDS_TEST_ACTORS, TFDS_VAL_ACTORS, fold_of
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes import append_rows, samples_by_id
from tests.fakes.av import write_empty_file, write_silent_wav, write_tone_wav
from tests.fakes.crema_d import ACTORS, FakeClip, fake_clips, write_fake_crema_d

LFS_POINTER = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:c6f94b2592487c7556bd86df7df6e8f4420d1b9c11414aeec9d8e5e640b51495\nsize 72862\n")


@pytest.fixture
def crema(tmp_path):
    return write_fake_crema_d(tmp_path / "CREMA-D")


def load(fake, split=None, **options):
    return load_corpus("crema-d", fake.root, split=split, options=options)


def test_one_sample_per_clip_with_its_emotion_actor_and_demographics(crema):
    result = load(crema)
    assert result.problems == []
    samples = samples_by_id(result)
    assert {sid: (s.split, s.audio, s.video, s.transcript) for sid, s in samples.items()} == {
        sid: (e.split, e.audio, e.video, e.transcript) for sid, e in crema.expected.items()}
    clip = samples["1005_IEO_ANG_HI"]
    assert (clip.split, clip.group_id, clip.corpus, clip.label, clip.captions) == ("test", "1005", "crema-d", None, ())
    assert clip.transcript == "It's eleven o'clock"
    assert clip.extra == {"emotion": "anger", "level": "high", "sentence": "IEO", "actor": 1005, "fold": 5, "age": 29,
                          "sex": "male", "race": "African American", "ethnicity": "Not Hispanic",
                          "audio_duration": 0.5}
    assert samples["1002_TIE_SAD_XX"].extra["level"] == "unspecified"
    # the CSV's Male/Female lower case, as RAVDESS's extra.sex: `fuse --class-label sex` lines the two up
    assert {s.extra["sex"] for s in samples.values()} == {"male", "female"}
    assert result.metadata == {"media": "audio", "split_scheme": "folds", "test_fold": 5, "val_fold": None,
                               "keep_damaged": False, "demographics_file": "VideoDemographics.csv",
                               "media_dirs": {"audio": "AudioWAV"}}


def test_the_91_actors_are_dealt_in_id_order_into_five_folds():
    folds = [fold_of(actor) for actor in range(1001, 1092)]
    assert folds[:7] == [1, 2, 3, 4, 5, 1, 2]
    assert [folds.count(f) for f in range(1, 6)] == [19, 18, 18, 18, 18]


@pytest.mark.parametrize("test_fold", [1, 3, 5])
def test_test_fold_holds_out_its_actors_as_test(crema, test_fold):
    samples = load(crema, test_fold=str(test_fold)).samples  # as `-o test_fold=3` passes it
    assert {s.extra["fold"] for s in samples if s.split == "test"} == {test_fold}
    assert {s.extra["fold"] for s in samples if s.split == "train"} == set(range(1, 6)) - {test_fold}
    test_only = load(crema, "test", test_fold=test_fold).samples
    assert sorted(s.sample_id for s in test_only) == sorted(s.sample_id for s in samples if s.split == "test")
    for sample in samples:  # every actor in one split
        assert {s.split for s in samples if s.group_id == sample.group_id} == {sample.split}


def test_the_five_folds_held_out_in_turn_test_every_clip_once(crema):
    tested = [s.sample_id for fold in range(1, 6) for s in load(crema, "test", test_fold=fold).samples]
    assert sorted(tested) == sorted(crema.expected)


def test_val_fold_holds_out_another_fold_as_val(crema):
    samples = load(crema, test_fold=5, val_fold=1).samples
    actors = {split: {s.extra["actor"] for s in samples if s.split == split} for split in ("train", "val", "test")}
    assert actors == {"train": {1002, 1003, 1004}, "val": {1001}, "test": {1005, 1010, 1015}}
    with pytest.raises(ConfigError, match=re.escape("no split 'val' unless -o val_fold=N")):
        load(crema, "val")
    with pytest.raises(ConfigError, match=re.escape("val_fold=5: expected a fold of [1, 2, 3, 4, 5] other than")):
        load(crema, val_fold=5)


def test_split_scheme_tfds_takes_tensorflow_datasets_actors(crema):
    assert len(TFDS_TEST_ACTORS) == 19 and len(TFDS_VAL_ACTORS) == 9 and not TFDS_TEST_ACTORS & TFDS_VAL_ACTORS
    samples = load(crema, split_scheme="tfds").samples
    actors = {split: {s.extra["actor"] for s in samples if s.split == split} for split in ("train", "val", "test")}
    assert actors == {"train": {1001, 1002, 1003, 1004, 1005}, "val": {1015}, "test": {1010}}
    assert {s.extra["actor"] for s in load(crema, "val", split_scheme="tfds").samples} == {1015}
    assert {s.extra["fold"] for s in samples if s.extra["actor"] == 1010} == {5}  # folds kept for cross-validation
    with pytest.raises(ConfigError, match="split_scheme=tfds takes tensorflow_datasets' actors"):
        load(crema, split_scheme="tfds", test_fold=2)


def test_split_validation_is_refused_naming_val(crema):
    with pytest.raises(ConfigError, match=re.escape("CREMA-D's split 'validation' is named 'val' here")) as refused:
        load(crema, "validation", split_scheme="tfds")
    assert str(refused.value).endswith("pass --split val")
    with pytest.raises(ConfigError, match=re.escape("no split 'val' (asked as 'validation') unless -o val_fold=N")):
        load(crema, "validation")


def test_media_video_gives_the_flv_as_the_samples_video(tmp_path):
    fake = write_fake_crema_d(tmp_path / "c", fake_clips((1001, 1005)), media="video")
    result = load(fake, media="video")
    assert result.problems == []
    assert {s.sample_id: (s.audio, s.video) for s in result.samples} == {
        sid: (None, f"VideoFlash/{sid}.flv") for sid in fake.expected}
    with pytest.raises(CorpusNotFoundError, match=re.escape("-o audio_dir= (or video_dir=) names the folder")):
        load(fake)  # media=audio: no AudioWAV/, no WAV in the root


def test_media_audio_video_names_a_clip_one_folder_lacks(tmp_path):
    fake = write_fake_crema_d(tmp_path / "c", fake_clips((1001,)), media="audio+video")
    (fake.root / "VideoFlash" / "1001_DFA_SAD_XX.flv").unlink()
    (fake.root / "AudioWAV" / "1001_TIE_NEU_XX.wav").unlink()
    result = load(fake, media="audio+video")
    assert [(p.sample_id, p.path) for p in result.problems] == [
        ("1001_DFA_SAD_XX", f"{fake.root}/AudioWAV/1001_DFA_SAD_XX.wav"),
        ("1001_TIE_NEU_XX", f"{fake.root}/VideoFlash/1001_TIE_NEU_XX.flv")]
    assert result.problems[0].reason == ("no video file 1001_DFA_SAD_XX.flv in VideoFlash/ beside it (option "
                                         "media=audio+video reads both); clip left out")
    assert len(result.samples) == len(fake.expected) - 2


def test_files_whose_names_are_no_clip_are_named_by_path(crema):
    audio = crema.root / "AudioWAV"
    for stem in ("1040_ITH_SAD_X", "0999_DFA_ANG_XX", "1001_ABC_ANG_XX", "1001_DFA_JOY_XX", "1001_DFA_ANG_ZZ",
                 "1001_DFA_ANG_HI", "notes"):
        write_tone_wav(audio / f"{stem}.wav", duration=0.5)
    (audio / "README.txt").write_text("not a clip")  # no clip's name: not looked at
    result = load(crema)
    got = {p.path.removeprefix(f"{audio}/"): (p.sample_id, p.reason) for p in result.problems}
    assert got == {
        "0999_DFA_ANG_XX.wav": ("0999_DFA_ANG_XX", "actor 0999 is not one of CREMA-D's 1001-1091; file left out"),
        "1001_ABC_ANG_XX.wav": ("1001_ABC_ANG_XX", "sentence code 'ABC' is not one of CREMA-D's 12 (IEO, TIE, IOM, "
                                "IWW, TAI, MTI, IWL, ITH, DFA, ITS, TSI, WSI); file left out"),
        "1001_DFA_ANG_HI.wav": ("1001_DFA_ANG_HI", "level HI on sentence DFA: only IEO (\"It's eleven o'clock\") was "
                                "recorded at levels LO, MD, HI; expected XX; file left out"),
        "1001_DFA_ANG_ZZ.wav": ("1001_DFA_ANG_ZZ", "level code 'ZZ' is not one of LO, MD, HI, XX; file left out"),
        "1001_DFA_JOY_XX.wav": ("1001_DFA_JOY_XX", "emotion code 'JOY' is not one of ANG, DIS, FEA, HAP, NEU, SAD; "
                                "file left out"),
        "1040_ITH_SAD_X.wav": (None, "file name '1040_ITH_SAD_X.wav' is not ACTOR_SENTENCE_EMOTION_LEVEL (as "
                               "1001_DFA_ANG_XX.wav: a 4-digit actor and 3-, 3- and 2-letter codes); file left out"),
        "notes.wav": (None, "file name 'notes.wav' is not ACTOR_SENTENCE_EMOTION_LEVEL (as 1001_DFA_ANG_XX.wav: a "
                      "4-digit actor and 3-, 3- and 2-letter codes); file left out")}
    assert len(result.samples) == len(crema.expected)  # every good clip still loads


def test_a_second_file_of_a_clip_in_another_case_is_named_and_the_first_kept(crema):
    audio = crema.root / "AudioWAV"
    write_tone_wav(audio / "1001_dfa_ang_xx.wav", duration=0.5)
    write_tone_wav(audio / "1002_TIE_SAD_XX.WAV", duration=0.5)
    result = load(crema)
    assert [(p.sample_id, p.path, p.error_type) for p in result.problems] == [
        ("1001_DFA_ANG_XX", f"{audio}/1001_dfa_ang_xx.wav", REPEATED_ENTRY),
        ("1002_TIE_SAD_XX", f"{audio}/1002_TIE_SAD_XX.wav", REPEATED_ENTRY)]  # `.WAV` sorts first
    assert result.problems[0].reason == (f"a second file of clip 1001_DFA_ANG_XX (another letter case); "
                                         f"{audio}/1001_DFA_ANG_XX.wav is read; file left out")
    assert samples_by_id(result)["1002_TIE_SAD_XX"].audio == "AudioWAV/1002_TIE_SAD_XX.WAV"
    assert len(result.samples) == len(crema.expected)


def test_an_unreadable_copy_sorting_first_is_named_and_the_readable_one_read(crema):
    audio = crema.root / "AudioWAV"
    write_empty_file(audio / "1001_DFA_ANG_XX.WAV")  # sorts before the good `.wav`
    (audio / "1002_DFA_ANG_XX.WAV").write_text(LFS_POINTER)
    write_tone_wav(audio / "1002_dfa_ang_xx.wav", duration=0.5)  # a third copy, after the good one
    result = load(crema)
    assert [(p.sample_id, p.path, p.error_type) for p in result.problems] == [
        ("1001_DFA_ANG_XX", f"{audio}/1001_DFA_ANG_XX.WAV", "CorpusFormatError"),
        ("1002_DFA_ANG_XX", f"{audio}/1002_DFA_ANG_XX.WAV", "CorpusFormatError"),
        ("1002_DFA_ANG_XX", f"{audio}/1002_dfa_ang_xx.wav", REPEATED_ENTRY)]
    assert result.problems[0].reason.startswith(f"audio file is empty (0 bytes): {audio}/1001_DFA_ANG_XX.WAV")
    assert result.problems[2].reason == (f"a second file of clip 1002_DFA_ANG_XX (another letter case); "
                                         f"{audio}/1002_DFA_ANG_XX.wav is read; file left out")
    samples = samples_by_id(result)
    assert (samples["1001_DFA_ANG_XX"].audio, samples["1002_DFA_ANG_XX"].audio) == (
        "AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_DFA_ANG_XX.wav")
    assert len(result.samples) == len(crema.expected)


def test_entries_named_as_a_clips_file_that_are_none_are_named_and_other_files_silent(crema):
    audio = crema.root / "AudioWAV"
    (audio / "1001_ITS_ANG_XX.wav").mkdir()
    write_tone_wav(audio / "1001_ITS_SAD_XX.flac", duration=0.5)
    (audio / "1001_ITS_NEU_XX.wav.part").write_bytes(b"RIFF")
    for name in ("README", ".DS_Store", "._1001_DFA_ANG_XX.wav", "1001_DFA_ANG_XX.mp3", "1001_DFA_ANG_XX.flv"):
        (audio / name).write_bytes(b"\x00\x05\x16\x07")  # other files, another medium of the release: silent
    result = load(crema)
    assert {p.path.removeprefix(f"{audio}/"): (p.sample_id, p.reason) for p in result.problems} == {
        "1001_ITS_ANG_XX.wav": (None, "a folder named as clip 1001_ITS_ANG_XX's file, no clip: expected "
                                "1001_ITS_ANG_XX.wav in AudioWAV/; left out"),
        "1001_ITS_NEU_XX.wav.part": (None, "a file named as clip 1001_ITS_NEU_XX's but of suffix '.wav.part', no clip "
                                     "(an unfinished copy, another format): expected 1001_ITS_NEU_XX.wav in AudioWAV/; "
                                     "left out"),
        "1001_ITS_SAD_XX.flac": (None, "a file named as clip 1001_ITS_SAD_XX's but of suffix '.flac', no clip (an "
                                 "unfinished copy, another format): expected 1001_ITS_SAD_XX.wav in AudioWAV/; left "
                                 "out")}
    assert len(result.samples) == len(crema.expected)
    assert load(crema, "test").problems == result.problems  # a name's problem, whatever the split


def test_the_releases_damaged_clips_are_left_out_and_named_unless_keep_damaged(crema):
    audio = crema.root / "AudioWAV"
    for sample_id in DAMAGED_CLIPS:
        write_tone_wav(audio / f"{sample_id}.wav", duration=0.5)
    result = load(crema)
    assert {p.sample_id: (p.path, p.reason) for p in result.problems} == {
        sid: (f"{audio}/{sid}.wav", f"a damaged clip of the release ({why}) that other loaders skip; "
              "-o keep_damaged=true keeps it; clip left out") for sid, why in DAMAGED_CLIPS.items()}
    assert result.problems[0].reason.startswith("a damaged clip of the release (a ~1-minute file holding every "
                                                "emotion of the sentence, not a disgust clip)")
    assert len(result.samples) == len(crema.expected)
    kept = load(crema, keep_damaged="true")  # as `-o keep_damaged=true` passes it
    assert set(DAMAGED_CLIPS) <= set(samples_by_id(kept))
    assert {p.sample_id for p in kept.problems} == {None}  # actors 1064, 1076: no row in the fake's demographics
    assert samples_by_id(kept)["1064_IEO_DIS_MD"].extra["emotion"] == "disgust"


def test_a_damaged_clip_of_audio_and_video_is_named_once(tmp_path):
    fake = write_fake_crema_d(tmp_path / "c", fake_clips((1001,)), media="audio+video")
    write_tone_wav(fake.root / "AudioWAV" / "1076_MTI_SAD_XX.wav", duration=0.5)
    (fake.root / "VideoFlash" / "1076_MTI_SAD_XX.flv").write_bytes(b"FLV")
    result = load(fake, media="audio+video")
    assert [(p.sample_id, p.path) for p in result.problems] == [
        ("1076_MTI_SAD_XX", f"{fake.root}/AudioWAV/1076_MTI_SAD_XX.wav")]
    assert len(result.samples) == len(fake.expected)


def test_media_problems_are_named_only_for_the_split_loaded(crema):
    audio = crema.root / "AudioWAV"
    write_empty_file(audio / "1001_DFA_ANG_XX.wav")  # fold 1: train
    write_empty_file(audio / "1005_DFA_ANG_XX.wav")  # fold 5: test
    write_tone_wav(audio / "1001_dfa_ang_xx.wav", duration=0.5)
    write_tone_wav(audio / "1001_DFA_SAD_X.wav", duration=0.5)  # no clip's name: named in every load
    write_tone_wav(audio / "1076_MTI_NEU_XX.wav", duration=0.5)  # damaged, fold 1: train
    named = {p.path.removeprefix(f"{audio}/") for p in load(crema, "test").problems}
    assert named == {"1005_DFA_ANG_XX.wav", "1001_DFA_SAD_X.wav"}
    named = {p.path.removeprefix(f"{audio}/") for p in load(crema, "train").problems}
    assert named == {"1001_DFA_ANG_XX.wav", "1001_DFA_SAD_X.wav", "1076_MTI_NEU_XX.wav"}
    assert len(load(crema).problems) == 4


def test_an_empty_wav_an_lfs_pointer_and_a_wav_of_no_frames_are_left_out_and_named(crema):
    audio = crema.root / "AudioWAV"
    write_empty_file(audio / "1001_DFA_ANG_XX.wav")
    (audio / "1002_DFA_ANG_XX.wav").write_text(LFS_POINTER)
    write_silent_wav(audio / "1003_DFA_ANG_XX.wav", duration=0.0)
    result = load(crema)
    reasons = {p.sample_id: (p.path, p.reason) for p in result.problems}
    assert list(reasons) == ["1001_DFA_ANG_XX", "1002_DFA_ANG_XX", "1003_DFA_ANG_XX"]
    assert reasons["1001_DFA_ANG_XX"][1].startswith(f"audio file is empty (0 bytes): {audio}/1001_DFA_ANG_XX.wav")
    assert reasons["1002_DFA_ANG_XX"] == (f"{audio}/1002_DFA_ANG_XX.wav", (
        f"audio file is a git-lfs pointer ({len(LFS_POINTER)} bytes of text, not the audio); the clone did not fetch "
        "its media: run `git lfs pull` in it (or clone with git-lfs installed); file left out"))
    assert reasons["1003_DFA_ANG_XX"][1].startswith("audio file's header states no sound (a WAV of 0 frames")
    assert len(result.samples) == len(crema.expected) - 3


def test_a_readable_clip_file_is_opened_once_by_its_header_read_and_only_copies_looked_at(crema, monkeypatch):
    looked_at = []
    real = crema_d.media_file_problem
    monkeypatch.setattr(crema_d, "media_file_problem", lambda path, kind: looked_at.append(path) or real(path, kind))
    assert len(load(crema).samples) == len(crema.expected) and looked_at == []
    audio = crema.root / "AudioWAV"
    write_tone_wav(audio / "1001_dfa_ang_xx.wav", duration=0.5)  # a copy: the clip's first file is looked at
    write_silent_wav(audio / "1002_DFA_ANG_XX.wav", duration=0.0)  # its header states no sound: looked at, kept
    result = load(crema)
    assert looked_at == [audio / "1001_DFA_ANG_XX.wav", audio / "1002_DFA_ANG_XX.wav"]
    assert [p.sample_id for p in result.problems] == ["1001_DFA_ANG_XX", "1002_DFA_ANG_XX"]
    assert result.problems[1].reason.startswith("audio file's header states no sound")


def test_media_audio_video_names_an_unreadable_file_of_a_clip_the_other_folder_lacks_not_the_lack(tmp_path):
    fake = write_fake_crema_d(tmp_path / "c", fake_clips((1001,)), media="audio+video")
    (fake.root / "VideoFlash" / "1001_DFA_SAD_XX.flv").unlink()
    write_empty_file(fake.root / "AudioWAV" / "1001_DFA_SAD_XX.wav")
    write_empty_file(fake.root / "VideoFlash" / "1001_TIE_NEU_XX.flv")
    result = load(fake, media="audio+video")
    assert [(p.sample_id, p.path) for p in result.problems] == [
        ("1001_DFA_SAD_XX", f"{fake.root}/AudioWAV/1001_DFA_SAD_XX.wav"),
        ("1001_TIE_NEU_XX", f"{fake.root}/VideoFlash/1001_TIE_NEU_XX.flv")]
    assert result.problems[0].reason.startswith("audio file is empty (0 bytes)")
    assert result.problems[1].reason.startswith("video file is empty (0 bytes)")
    assert len(result.samples) == len(fake.expected) - 2


def test_a_link_out_of_the_root_is_refused_unless_allow_outside_root_and_the_other_files_stay_relative(crema):
    outside = crema.root.parent / "elsewhere.wav"
    write_tone_wav(outside, duration=0.5)
    link = crema.root / "AudioWAV" / "1001_DFA_SAD_XX.wav"
    link.unlink()
    link.symlink_to(outside)
    (crema.root / "AudioWAV" / "1002_DFA_SAD_XX.wav").unlink()
    (crema.root / "AudioWAV" / "1002_DFA_SAD_XX.wav").symlink_to("1002_DFA_ANG_XX.wav")  # a link inside: kept
    with pytest.raises(CorpusFormatError, match=re.escape(f"{link}: media path 'AudioWAV/1001_DFA_SAD_XX.wav' points "
                                                          "outside the corpus root")):
        load(crema)
    samples = samples_by_id(load(crema, allow_outside_root="true"))
    assert samples["1001_DFA_SAD_XX"].audio == str(outside.resolve())
    assert samples["1002_DFA_SAD_XX"].audio == "AudioWAV/1002_DFA_SAD_XX.wav"
    assert {s.audio for sid, s in samples.items() if sid != "1001_DFA_SAD_XX"} == {
        f"AudioWAV/{sid}.wav" for sid in crema.expected if sid != "1001_DFA_SAD_XX"}


def test_an_audio_dir_given_absolute_is_kept_relative_inside_the_root_and_refused_outside(crema, tmp_path):
    samples = load(crema, audio_dir=str(crema.root / "AudioWAV")).samples
    assert sorted(s.audio for s in samples) == sorted(f"AudioWAV/{sid}.wav" for sid in crema.expected)
    moved = tmp_path / "wavs"
    (crema.root / "AudioWAV").rename(moved)
    with pytest.raises(CorpusFormatError, match="points outside the corpus root"):
        load(crema, audio_dir=str(moved))
    samples = load(crema, audio_dir=str(moved), allow_outside_root="true").samples
    assert sorted(s.audio for s in samples) == sorted(f"{moved.resolve()}/{sid}.wav" for sid in crema.expected)


def test_a_clone_without_git_lfs_is_refused_naming_the_pointers_and_git_lfs_pull(crema):
    for path in (crema.root / "AudioWAV").iterdir():
        path.write_text(LFS_POINTER)
    with pytest.raises(CorpusNotFoundError) as refused:
        load(crema)
    message = str(refused.value)
    assert message.startswith(f"none of the CREMA-D clip files in {crema.root} loads; the most common reason "
                              f"({len(crema.expected)} of {len(crema.expected)} problems, first ")
    assert "audio file is a git-lfs pointer" in message and "run `git lfs pull`" in message


def test_malformed_demographics_rows_are_named_at_their_line_and_their_actors_kept_without_fields(crema):
    path = crema.annotation_file
    text = path.read_text().splitlines()
    path.write_text("\n".join(line for line in text if not line.startswith(("1003,", "1004,", "1010,"))) + "\n")
    first = append_rows(path, '1003,21,"Female","Caucasian"',                     # four fields of five
                        '1004,old,"Female","Caucasian","Not Hispanic"',           # age no number
                        '1010,27,"F","Caucasian","Not Hispanic"',                 # sex not Male/Female
                        '1092,30,"Male","Asian","Not Hispanic"',                  # no actor of CREMA-D
                        '1001,51,"Male","Caucasian","Not Hispanic"')              # listed again
    result = load(crema)
    rows = [p for p in result.problems if ":" in p.path.rsplit("/", 1)[-1]]
    assert [p.path for p in rows] == [f"{path}:{first + k}" for k in range(5)]
    assert [p.reason for p in rows] == [
        f"expected 5 fields (ActorID,Age,Sex,Race,Ethnicity), got 4: '1003,21,Female,Caucasian'; row left out",
        "Age 'old' is not an age in years (a whole number 1-129); row left out",
        "Sex 'F' is not one of Male, Female; row left out",
        "ActorID '1092' is not one of CREMA-D's actors 1001-1091; row left out",
        f"actor 1001 is listed again (first at {path}:2); row left out"]
    unknown = [p for p in result.problems if p.path == str(path)]
    assert [p.reason for p in unknown] == [
        f"no row of actor {a}: its 8 clips kept without age, sex, race and ethnicity (expected a row "
        f"{a},AGE,SEX,RACE,ETHNICITY)" for a in (1003, 1004, 1010)]
    samples = samples_by_id(result)
    assert len(samples) == len(crema.expected)
    assert "sex" not in samples["1003_DFA_ANG_XX"].extra and samples["1001_DFA_ANG_XX"].extra["sex"] == "male"


def test_no_demographics_file_is_a_warning_and_no_field(tmp_path, caplog):
    fake = write_fake_crema_d(tmp_path / "c", demographics=False)
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.crema_d"):
        result = load(fake)
    assert result.problems == [] and len(result.samples) == len(fake.expected)
    assert not {"age", "sex", "race", "ethnicity"} & set(result.samples[0].extra)
    assert result.metadata["demographics_file"] is None
    assert "no VideoDemographics.csv in" in caplog.text


def test_a_demographics_header_without_the_five_columns_is_a_format_error_at_line_1(crema):
    where = crema.corrupt()
    with pytest.raises(CorpusFormatError, match=re.escape(f"{where}: header 'ActorID,Age' lacks Sex, Race, Ethnicity")):
        load(crema)


def test_no_clip_is_refused_naming_where_it_looked_and_option_audio_dir(crema):
    (crema.root / "AudioWAV").rename(crema.root / "wavs")
    with pytest.raises(CorpusNotFoundError) as refused:
        load(crema)
    assert str(refused.value).startswith(f"no CREMA-D clip (ACTOR_SENTENCE_EMOTION_LEVEL, as 1001_DFA_ANG_XX.wav) in "
                                         f"{crema.root}: looked for audio (.wav) in the root; -o audio_dir=")
    result = load(crema, audio_dir="wavs")
    assert result.problems == [] and len(result.samples) == len(crema.expected)
    assert result.samples[0].audio.startswith("wavs/")


def test_wavs_in_the_root_are_read_where_there_is_no_audiowav_folder(tmp_path):
    fake = write_fake_crema_d(tmp_path / "c", fake_clips((1001,)))
    for path in (fake.root / "AudioWAV").iterdir():
        path.rename(fake.root / path.name)
    (fake.root / "AudioWAV").rmdir()
    result = load(fake)
    assert result.problems == []
    assert sorted(s.audio for s in result.samples) == sorted(f"{sid}.wav" for sid in fake.expected)


@pytest.mark.parametrize(("options", "message"), [
    ({"test_fold": 6}, "test_fold=6: expected a fold of [1, 2, 3, 4, 5]"),
    ({"media": "flash"}, "'flash' is not one of ['audio', 'video', 'audio+video']"),
    ({"split_scheme": "random"}, "'random' is not one of ['folds', 'tfds']"),
])
def test_options_out_of_range_are_refused(crema, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(crema, **options)


names = st.one_of(st.sampled_from(["1001_DFA_ANG_XX", "1001_dfa_ang_xx", "1001_IEO_NEU_LO", "9999_DFA_ANG_XX",
                                   "1001_DFA_ANG", "1001_DFA_ANG_XX_XX", "_", "", "1\u00e901_DFA_ANG_XX"]),
                  st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), max_size=16))


@settings(max_examples=100, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stems=st.lists(names, max_size=4), demographics=st.lists(st.text(max_size=30), max_size=3))
def test_any_file_names_and_demographics_rows_give_samples_or_a_corpus_error(tmp_path_factory, stems, demographics):
    root = tmp_path_factory.mktemp("fuzz")
    write_fake_crema_d(root, [FakeClip(1001, "DFA", "NEU")])
    wav = (root / "AudioWAV" / "1001_DFA_NEU_XX.wav").read_bytes()
    for stem in stems:
        try:
            (root / "AudioWAV" / f"{stem}.wav").write_bytes(wav)
        except OSError:  # a name the file system refuses (too long)
            continue
    append_rows(root / "VideoDemographics.csv", *(row.replace("\r", "").replace("\n", "") for row in demographics))
    try:
        result = load_corpus("crema-d", root)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(p.path.startswith(str(root)) for p in result.problems)
    assert all(s.sample_id.isascii() and s.group_id == s.sample_id[:4] for s in result.samples)


def test_the_fake_covers_every_fold_and_tfds_split():
    assert {fold_of(a) for a in ACTORS} == {1, 2, 3, 4, 5}
    assert set(ACTORS) & TFDS_TEST_ACTORS and set(ACTORS) & TFDS_VAL_ACTORS
