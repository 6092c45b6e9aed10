"""The `ravdess` loader on the zips' files however they were unpacked (Actor_NN folders merged in the root, or in
folders named after the zips): one sample per utterance with its emotion, intensity, vocal channel, statement,
actor and sex in `extra`, the statement as transcript and the actor as group id; the speech and song channels
(option channels); the audio-only WAV, the full-AV MP4 or both as the sample's media (option media), video-only
MP4s never a sample; six folds of four actors, one held out as `test` (option test_fold) and one as `val` (option
val_fold); the files left out and named by path (a name that is not seven codes, a code out of range, a strong
neutral, a song of disgust, an actor not its folder's, a second copy, an empty or unreadable WAV, an utterance
without the file media asks for); and the refusals that name the root and what was looked for."""
from __future__ import annotations

import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes import samples_by_id
from tests.fakes.av import write_empty_file, write_mp4, write_tone_wav
from tests.fakes.ravdess import (
    AUDIO_ONLY,
    FULL_AV,
    STATEMENTS,
    VIDEO_ONLY,
    FakeUtterance,
    fake_utterances,
    write_fake_ravdess,
    write_utterance_file,
)


@pytest.fixture
def ravdess(tmp_path):
    return write_fake_ravdess(tmp_path / "RAVDESS")


def load(fake, split=None, **options):
    return load_corpus("ravdess", fake.root, split=split, options=options)


def test_one_sample_per_utterance_with_its_codes_in_extra_its_statement_and_its_actor_as_group(ravdess):
    result = load(ravdess)
    assert result.problems == []
    samples = samples_by_id(result)
    assert {sid: (s.split, s.audio, s.transcript) for sid, s in samples.items()} == {
        sid: (e.split, e.audio, e.transcript) for sid, e in ravdess.expected.items()}
    sad = samples["01-04-01-02-01-22"]
    assert (sad.audio, sad.video, sad.split, sad.group_id, sad.corpus, sad.label) == (
        "Actor_22/03-01-04-01-02-01-22.wav", None, "test", "actor_22", "ravdess", None)
    assert sad.transcript == "Dogs are sitting by the door"
    assert sad.extra == {"emotion": "sad", "intensity": "normal", "vocal_channel": "speech", "statement": 2,
                         "repetition": 1, "actor": 22, "sex": "female", "fold": 6, "audio_duration": 0.5}
    assert samples["01-01-01-01-01-05"].extra["sex"] == "male"
    assert result.metadata == {"actor_folders": ["Actor_01", "Actor_02", "Actor_05", "Actor_21", "Actor_22"],
                               "media": "audio", "channels": "speech", "test_fold": 6, "val_fold": None,
                               "files": {"audio-only": 40}}


def test_folders_named_after_the_zips_are_read_and_speech_and_song_never_share_an_id(tmp_path):
    utterances = fake_utterances(actors=(3, 24), channels=(1, 2), emotions=(3,))
    fake = write_fake_ravdess(tmp_path / "r", utterances, layout="zips")
    result = load(fake, channels="speech+song")
    assert result.problems == []
    assert {s.sample_id: s.audio for s in result.samples} == {sid: e.audio for sid, e in fake.expected.items()}
    samples = samples_by_id(result)
    speech, song = samples["01-03-01-01-01-03"], samples["02-03-01-01-01-03"]
    assert speech.audio == "Audio_Speech_Actors_01-24/Actor_03/03-01-03-01-01-01-03.wav"
    assert song.audio == "Audio_Song_Actors_01-24/Actor_03/03-02-03-01-01-01-03.wav"
    assert (speech.extra["vocal_channel"], song.extra["vocal_channel"]) == ("speech", "song")
    assert {s.extra["vocal_channel"] for s in load(fake).samples} == {"speech"}  # channels=speech by default
    assert {s.extra["vocal_channel"] for s in load(fake, channels="song").samples} == {"song"}
    assert len(load(fake, channels="song").samples) == len(utterances) // 2


def test_zip_folders_in_another_case_are_read_as_some_copies_name_them(tmp_path):
    fake = write_fake_ravdess(tmp_path / "r", fake_utterances(actors=(1, 21)), layout="zips")
    (fake.root / "Audio_Speech_Actors_01-24").rename(fake.root / "audio_speech_actors_01-24")
    assert {s.audio.split("/")[0] for s in load(fake).samples} == {"audio_speech_actors_01-24"}


def test_media_video_reads_the_full_av_mp4_as_video_and_sound_and_never_a_video_only_file(tmp_path):
    utterances = fake_utterances(actors=(1, 21), emotions=(1, 5), repetitions=(1,))
    fake = write_fake_ravdess(tmp_path / "r", utterances, modalities=(FULL_AV, VIDEO_ONLY, AUDIO_ONLY))
    result = load(fake, media="video")
    assert result.problems == []
    angry = samples_by_id(result)["01-05-01-01-01-21"]
    assert (angry.video, angry.audio, angry.split) == ("Actor_21/01-01-05-01-01-01-21.mp4", None, "test")
    assert angry.extra["audio_duration"] == pytest.approx(0.5, abs=0.05)  # the MP4's sound track
    assert angry.extra["video_duration"] == pytest.approx(0.5)
    both = samples_by_id(load(fake, media="audio+video"))["01-05-01-01-01-21"]
    assert (both.audio, both.video) == ("Actor_21/03-01-05-01-01-01-21.wav", "Actor_21/01-01-05-01-01-01-21.mp4")
    assert both.extra["audio_duration"] == 0.5  # the WAV's
    assert all("/02-" not in (s.video or "") for s in load(fake, media="video").samples)
    assert load(fake, media="video").metadata["files"] == {"full-AV": 8, "video-only": 8, "audio-only": 8}


def test_metadata_counts_the_files_read_of_the_channels_loaded(tmp_path):
    utterances = fake_utterances(actors=(1, 22), channels=(1, 2), emotions=(3,))
    fake = write_fake_ravdess(tmp_path / "r", utterances, layout="zips")
    for u in utterances[:2]:  # actor 1's speech MP4s
        write_utterance_file(fake.root, u, FULL_AV, "zips")
    speech = fake.root / "Audio_Speech_Actors_01-24" / "Actor_01"
    (speech / "03-01-03-01-01-01.wav").write_bytes(b"RIFF")  # misnamed: not read
    copy = fake.root / "Actor_01" / "03-01-03-01-01-01-01.wav"  # another copy, of another size: counted once
    copy.parent.mkdir()
    copy.write_bytes(b"RIFF")
    assert load(fake).metadata["files"] == {"audio-only": 4, "full-AV": 2}
    assert load(fake, channels="song").metadata["files"] == {"audio-only": 4}
    assert load(fake, channels="speech+song").metadata["files"] == {"audio-only": 8, "full-AV": 2}


def test_an_utterance_without_the_file_media_asks_for_is_named_with_what_was_found(tmp_path):
    utterances = fake_utterances(actors=(1, 21), emotions=(3,))
    fake = write_fake_ravdess(tmp_path / "r", utterances, modalities=(AUDIO_ONLY,))
    lone = FakeUtterance(1, 4, 1, 1, 1, 21)  # its full-AV and video-only MP4s, no WAV
    mp4 = write_utterance_file(fake.root, lone, FULL_AV)
    write_utterance_file(fake.root, lone, VIDEO_ONLY)
    result = load(fake)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("01-04-01-01-01-21", str(mp4))
    assert problem.reason == ("no audio-only file 03-01-04-01-01-01-21.wav of utterance 01-04-01-01-01-21 in an "
                              "Actor_21 folder (found: full-AV 01-01-04-01-01-01-21.mp4, video-only "
                              "02-01-04-01-01-01-21.mp4); utterance left out (-o media=video reads full-AV MP4s)")
    assert len(result.samples) == len(utterances)
    video = load(fake, media="video")  # the WAVs' utterances lack their MP4
    assert [s.sample_id for s in video.samples] == ["01-04-01-01-01-21"]
    assert len(video.problems) == len(utterances)
    assert video.problems[0].reason.endswith("utterance left out (-o media=audio reads audio-only WAVs)")


def test_only_video_only_files_are_refused_saying_they_are_no_samples(tmp_path):
    fake = write_fake_ravdess(tmp_path / "r", fake_utterances(actors=(21,), emotions=(1,)), modalities=(VIDEO_ONLY,))
    with pytest.raises(CorpusNotFoundError, match="found only video-only files: the video-only \\(02\\) MP4s found "
                                                  "are no samples"):
        load(fake, media="video")


@pytest.mark.parametrize("test_fold", [1, 2, 6])
def test_six_folds_of_four_actors_one_held_out_as_test(ravdess, test_fold):
    samples = load(ravdess, test_fold=test_fold).samples
    assert {s.extra["actor"]: s.extra["fold"] for s in samples} == {1: 1, 2: 1, 5: 2, 21: 6, 22: 6}
    assert {s.extra["fold"] for s in samples if s.split == "test"} == {test_fold}
    assert {s.extra["fold"] for s in samples if s.split == "train"} == {1, 2, 6} - {test_fold}
    tested = load(ravdess, "test", test_fold=str(test_fold)).samples  # as `-o test_fold=2` passes it
    assert sorted(s.sample_id for s in tested) == sorted(s.sample_id for s in samples if s.split == "test")
    splits_of = {}
    for s in samples:  # speaker-independent: every actor in one split
        splits_of.setdefault(s.group_id, set()).add(s.split)
    assert all(len(splits) == 1 for splits in splits_of.values())


def test_the_folds_held_out_in_turn_test_every_utterance_once(ravdess):
    tested = [s.sample_id for fold in (1, 2, 6) for s in load(ravdess, "test", test_fold=fold).samples]
    assert sorted(tested) == sorted(ravdess.expected)


def test_val_fold_holds_out_another_fold_as_val(ravdess):
    samples = load(ravdess, test_fold=6, val_fold="2").samples
    folds = {split: {s.extra["fold"] for s in samples if s.split == split} for split in ("train", "val", "test")}
    assert folds == {"train": {1}, "val": {2}, "test": {6}}
    assert {s.extra["actor"] for s in load(ravdess, "val", val_fold=2).samples} == {5}


@pytest.mark.parametrize(("options", "message"), [
    ({"test_fold": 7}, "test_fold=7: expected a fold of [1, 2, 3, 4, 5, 6]"),
    ({"val_fold": 6}, "val_fold=6: expected a fold of [1, 2, 3, 4, 5, 6] other than test_fold=6"),
    ({"media": "images"}, "'images' is not one of ['audio', 'video', 'audio+video']"),
    ({"channels": "both"}, "'both' is not one of ['speech', 'song', 'speech+song']"),
])
def test_options_out_of_range_are_refused(ravdess, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(ravdess, **options)


def test_split_val_without_val_fold_and_an_unknown_split_are_refused(ravdess):
    with pytest.raises(ConfigError, match=re.escape("no split 'val' unless -o val_fold=N")):
        load(ravdess, "val")
    with pytest.raises(ConfigError, match=re.escape("expected one of ['all', 'train', 'val', 'test']")):
        load(ravdess, "dev")


def test_a_held_out_fold_whose_actors_lack_the_files_media_reads_is_refused_naming_those_they_have(ravdess):
    for u in fake_utterances(actors=(1, 2, 5)):  # full-AV MP4s of folds 1 and 2 only; fold 6 (test) WAVs alone
        write_utterance_file(ravdess.root, u, FULL_AV)
    with pytest.raises(CorpusNotFoundError) as refused:
        load(ravdess, media="video")
    assert str(refused.value) == (
        f"option test_fold=6 holds out actors 21-24, but none of their 16 utterances in {ravdess.root} has its "
        "full-AV MP4 (-o media=video): theirs are audio-only files (-o media=audio reads audio-only WAVs), so its "
        "split would be empty (folds with it there: [1, 2]); expected -o test_fold= one of those, or the full-AV "
        "MP4 files of actors 21-24 in their Actor_NN folders")
    with pytest.raises(CorpusNotFoundError, match=re.escape("option test_fold=6 holds out actors 21-24, but none of "
                                                            "their 16 utterances")):
        load(ravdess, "test", media="audio+video")
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            "option val_fold=3 holds out actors 9-12, but no file of theirs is in "
            f"{ravdess.root} (folds there: [1, 2, 6]; with its full-AV MP4: [1, 2]): its split would be empty; "
            "expected -o val_fold= one of the folds there with them")):
        load(ravdess, media="video", test_fold=1, val_fold=3)
    samples = load(ravdess, media="video", test_fold=2).samples
    assert {s.split: s.extra["fold"] for s in samples} == {"train": 1, "test": 2}
    assert len(load(ravdess, test_fold=6).samples) == len(ravdess.expected)  # the WAVs: every fold there


def test_a_held_out_fold_with_no_actor_there_is_refused_naming_the_folds_there(ravdess):
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"option test_fold=4 holds out actors 13-16, but no file of theirs is in {ravdess.root} (folds there: "
            "[1, 2, 6])")):
        load(ravdess, test_fold=4)
    with pytest.raises(CorpusNotFoundError, match=re.escape("option val_fold=3 holds out actors 9-12")):
        load(ravdess, val_fold=3)


def test_files_badly_named_are_left_out_and_named_by_path(ravdess):
    actor_01, actor_21 = ravdess.root / "Actor_01", ravdess.root / "Actor_21"
    bad = {actor_01 / "03-01-01-01-01-01.wav": (None, "name is not seven two-digit codes"),
           actor_01 / "03-01-09-01-01-01-01.wav": (None, "emotion code 09 is not one of 01-08"),
           actor_01 / "04-01-03-01-01-01-01.wav": (None, "modality code 04 is not one of 01-03"),
           actor_01 / "03-03-03-01-01-01-01.wav": (None, "vocal channel code 03 is not one of 01, 02"),
           actor_01 / "03-01-03-03-01-01-01.wav": (None, "intensity code 03 is not one of 01, 02"),
           actor_01 / "03-01-03-01-00-01-01.wav": (None, "statement code 00 is not one of 01, 02"),
           actor_01 / "03-01-03-01-01-03-01.wav": (None, "repetition code 03 is not one of 01, 02"),
           actor_01 / "03-01-01-02-01-01-01.wav": ("01-01-02-01-01-01", "intensity code 02 (strong) with emotion 01 "
                                                   "(neutral); RAVDESS has no strong neutral"),
           actor_01 / "03-02-07-01-01-01-01.wav": ("02-07-01-01-01-01", "emotion code 07 (disgust) in a song (vocal "
                                                   "channel 02); RAVDESS's songs are neutral, calm, happy, sad, "
                                                   "angry, fearful only"),
           actor_01 / "03-01-03-01-01-02-01.mp4": ("01-03-01-01-02-01", "suffix '.mp4' is not '.wav', as modality 03 "
                                                   "(audio-only) files are"),
           actor_21 / "03-01-03-01-01-02-22.wav": ("01-03-01-01-02-22", "actor code 22 is not its folder's "
                                                   "(Actor_21/); expected the actor of the Actor_NN folder"),
           actor_21 / "03-01-03-01-01-02-25.wav": (None, "actor code 25 is not one of 01-24"),
           actor_21 / "notes.txt": (None, "name is not seven two-digit codes")}
    for path in bad:
        path.write_bytes(actor_01.joinpath("03-01-03-01-01-01-01.wav").read_bytes())  # a real WAV, misnamed
    write_tone_wav(actor_01 / "._03-01-03-01-01-01-01.wav")  # macOS's AppleDouble copy: skipped unnamed
    (actor_01 / ".DS_Store").write_bytes(b"\0")
    result = load(ravdess)
    got = {problem.path: problem for problem in result.problems}
    assert set(got) == {str(path) for path in bad}
    for path, (sample_id, reason) in bad.items():
        assert got[str(path)].sample_id == sample_id, path
        assert got[str(path)].reason.startswith(f"{path.name}: {reason}"), got[str(path)].reason
        assert got[str(path)].reason.endswith("; file left out")
    assert len(result.samples) == len(ravdess.expected)  # every good file still loads


def test_a_second_copy_of_another_size_in_another_folder_is_named_and_the_first_kept(ravdess):
    first = ravdess.root / "Actor_21" / "03-01-03-01-01-01-21.wav"
    copy = ravdess.root / "Audio_Speech_Actors_01-24" / "Actor_21" / first.name
    copy.parent.mkdir(parents=True)
    copy.write_bytes(first.read_bytes() + b"\0\0")  # not the same file
    result = load(ravdess)
    [problem] = result.problems
    assert (problem.sample_id, problem.path, problem.error_type) == ("01-03-01-01-01-21", str(copy), REPEATED_ENTRY)
    assert problem.reason == (f"{first.name}: utterance 01-03-01-01-01-21's audio-only file is also {first}; expected "
                              "one copy of each file (a zip unpacked twice?); this copy left out")
    assert samples_by_id(result)["01-03-01-01-01-21"].audio == "Actor_21/03-01-03-01-01-01-21.wav"
    assert len(result.samples) == len(ravdess.expected)


def test_kaggles_copy_of_the_actor_folders_twice_is_read_once_and_named_once_per_folder(ravdess):
    kaggle = ravdess.root / "audio_speech_actors_01-24"  # Kaggle's mirror: Actor_NN/ in the root and in this folder
    for actor in ("Actor_01", "Actor_02", "Actor_05", "Actor_21", "Actor_22"):
        shutil.copytree(ravdess.root / actor, kaggle / actor)
    other = kaggle / "Actor_21" / "03-01-03-01-01-01-21.wav"
    other.write_bytes(other.read_bytes() + b"\0\0")  # of another size: another file under the same name
    result = load(ravdess)
    assert {s.sample_id: s.audio for s in result.samples} == {sid: e.audio for sid, e in ravdess.expected.items()}
    assert all(p.error_type == REPEATED_ENTRY for p in result.problems)
    by_path = {p.path: p for p in result.problems}
    assert sorted(by_path) == sorted([str(kaggle / "Actor_01"), str(kaggle / "Actor_02"), str(kaggle / "Actor_05"),
                                      str(kaggle / "Actor_21"), str(kaggle / "Actor_22"), str(other)])
    assert by_path[str(kaggle / "Actor_01")].sample_id is None
    assert by_path[str(kaggle / "Actor_01")].reason == (
        "8 files of audio_speech_actors_01-24/Actor_01/ repeat Actor_01/'s (same names and sizes): each read once "
        "from Actor_01/")
    assert by_path[str(kaggle / "Actor_21")].reason.startswith("7 files of audio_speech_actors_01-24/Actor_21/ ")
    assert by_path[str(other)].sample_id == "01-03-01-01-01-21"
    assert by_path[str(other)].reason.endswith("is also " + str(ravdess.root / "Actor_21" / other.name) + "; expected "
                                               "one copy of each file (a zip unpacked twice?); this copy left out")
    assert result.metadata["files"] == {"audio-only": 40}


def test_a_link_whose_target_is_missing_is_named_as_such_not_skipped(ravdess):
    wav = ravdess.root / "Actor_21" / "03-01-03-01-01-01-21.wav"
    wav.unlink()
    wav.symlink_to("../.git/annex/objects/Xy/Zw/SHA256E-s1--0.wav/SHA256E-s1--0.wav")  # not fetched
    odd = ravdess.root / "Actor_21" / "take 1.wav"
    odd.symlink_to(ravdess.root / "gone.wav")
    result = load(ravdess)
    got = {p.path: (p.sample_id, p.reason) for p in result.problems}
    fetch = ("a link whose target is missing; expected the file's content there: fetch it (`git annex get` or "
             "`datalad get` in a git-annex or DataLad copy); file left out")
    assert got == {str(wav): ("01-03-01-01-01-21", f"{wav.name}: {fetch}"), str(odd): (None, f"take 1.wav: {fetch}")}
    assert sorted(s.sample_id for s in result.samples) == sorted(set(ravdess.expected) - {"01-03-01-01-01-21"})


def test_actor_folders_of_links_whose_targets_are_missing_are_refused_saying_to_fetch_them(tmp_path):
    (tmp_path / "Actor_21").mkdir()
    for name in ("03-01-03-01-01-01-21.wav", "03-01-03-01-02-01-21.wav"):
        (tmp_path / "Actor_21" / name).symlink_to(tmp_path / "annex" / name)
    with pytest.raises(CorpusNotFoundError) as refused:
        load_corpus("ravdess", tmp_path)
    assert str(refused.value) == (
        f"no RAVDESS file in {tmp_path}: the 2 files in its Actor_NN folders are links whose targets are missing "
        f"(first {tmp_path / 'Actor_21' / '03-01-03-01-01-01-21.wav'}): the content was not fetched; fetch it "
        "(`git annex get .` or `datalad get .` in the root of a git-annex or DataLad copy), or copy the files "
        "themselves")


def test_an_empty_or_unreadable_wav_is_named_and_its_utterance_left_out(ravdess):
    empty = write_empty_file(ravdess.root / "Actor_02" / "03-01-03-01-01-01-02.wav")
    garbled = ravdess.root / "Actor_05" / "03-01-04-01-01-01-05.wav"
    garbled.write_bytes(b"not a RIFF file at all" * 10)
    result = load(ravdess)
    got = {p.path: (p.sample_id, p.reason) for p in result.problems}
    assert got == {
        str(empty): ("01-03-01-01-01-02", f"audio file is empty (0 bytes): {empty}; the copy or download that wrote it "
                                          "may have failed: fetch it again; utterance left out"),
        str(garbled): ("01-04-01-01-01-05", "audio file Actor_05/03-01-04-01-01-01-05.wav's header cannot be read as "
                                            "a WAV's (expected RIFF/WAVE PCM, as RAVDESS's 48 kHz 16-bit files); "
                                            "utterance left out")}
    assert sorted(s.sample_id for s in result.samples) == sorted(
        set(ravdess.expected) - {"01-03-01-01-01-02", "01-04-01-01-01-05"})


def test_a_full_av_mp4_without_a_sound_track_or_empty_is_named_under_media_video(tmp_path):
    fake = write_fake_ravdess(tmp_path / "r", fake_utterances(actors=(21,), emotions=(3,)), modalities=(FULL_AV,))
    silent = fake.root / "Actor_21" / "01-01-03-01-01-01-21.mp4"
    write_mp4(silent, [(10, 20, 30)], frames_per_color=5, size=(32, 24))  # no audio given: no sound track
    empty = write_empty_file(fake.root / "Actor_21" / "01-01-03-01-02-01-21.mp4")
    result = load(fake, media="video")
    got = {p.path: p.reason for p in result.problems}
    assert got == {str(silent): "full-AV file Actor_21/01-01-03-01-01-01-21.mp4: its header states no sound track "
                                "(a video-only file named as full-AV?); expected an MP4 with video and sound; "
                                "utterance left out",
                   str(empty): f"audio file is empty (0 bytes): {empty}; the copy or download that wrote it may have "
                               "failed: fetch it again; utterance left out"}
    assert result.samples == []


def test_an_actor_folder_linked_outside_the_root_needs_allow_outside_root(tmp_path):
    fake = write_fake_ravdess(tmp_path / "elsewhere", fake_utterances(actors=(21,), emotions=(3,)))
    root = tmp_path / "root"
    root.mkdir()
    (root / "Actor_21").symlink_to(fake.root / "Actor_21")
    with pytest.raises(CorpusFormatError, match="points outside the corpus root .*allow_outside_root=true"):
        load_corpus("ravdess", root)
    result = load_corpus("ravdess", root, options={"allow_outside_root": True})
    assert {s.audio for s in result.samples} == {str(fake.root / e.audio) for e in fake.expected.values()}


def test_files_none_of_which_is_named_as_ravdess_names_them_are_refused_naming_the_reason(ravdess):
    first = ravdess.corrupt()
    with pytest.raises(CorpusFormatError) as refused:
        load(ravdess)
    assert str(refused.value) == (
        f"none of the 40 files in the Actor_NN folders of {ravdess.root} is named as RAVDESS names them; the most "
        f"common reason (40 of 40 files), first {first}: name is not seven two-digit codes MM-VV-EE-II-SS-RR-AA and a "
        "suffix (as 03-01-06-01-02-01-12.wav)")


def test_the_most_common_reason_is_counted_by_its_kind_whatever_the_file_names_hold(tmp_path):
    actor = tmp_path / "Actor_01"
    actor.mkdir()
    for name in ("a: 1.wav", "b 2.wav", "c 3.wav", "03-01-03-01-01-01-25.wav", "03-01-09-01-01-01-01.wav"):
        write_tone_wav(actor / name)
    with pytest.raises(CorpusFormatError) as refused:
        load_corpus("ravdess", tmp_path)
    assert str(refused.value) == (
        f"none of the 5 files in the Actor_NN folders of {tmp_path} is named as RAVDESS names them; the most common "
        f"reason (3 of 5 files), first {actor / 'a: 1.wav'}: name is not seven two-digit codes MM-VV-EE-II-SS-RR-AA "
        "and a suffix (as 03-01-06-01-02-01-12.wav)")


def test_a_root_without_actor_folders_is_refused_naming_it_and_the_folders_looked_for(tmp_path):
    fake = write_fake_ravdess(tmp_path / "r", fake_utterances(actors=(21,)))
    (fake.root / "RAVDESS").mkdir()
    (fake.root / "Actor_21").rename(fake.root / "RAVDESS" / "Actor_21")  # one level too deep: not looked in
    with pytest.raises(CorpusNotFoundError) as refused:
        load(fake)
    message = str(refused.value)
    assert message.startswith(f"no RAVDESS file in {fake.root}: no Actor_NN folder; expected the Actor_01/ to "
                              "Actor_24/ folders the zips unpack")
    assert ("in folders of it named as the zips (Audio_Speech_Actors_01-24/, Audio_Song_Actors_01-24/, "
            "Video_Speech_Actor_NN/, Video_Song_Actor_NN/)") in message
    assert message.endswith("pass the folder the zips were unpacked into as the corpus root")
    assert len(load_corpus("ravdess", fake.root / "RAVDESS").samples) == fake.num_examples


def test_mp4s_outside_any_actor_folder_are_named_where_they_are_and_where_they_belong(tmp_path):
    utterances = fake_utterances(actors=(1, 21), emotions=(3,))
    fake = write_fake_ravdess(tmp_path / "r", utterances, layout="zips")
    for u in utterances:  # the MP4s put in Video_Speech_Actor_NN/ themselves, no Actor_NN/ in it
        mp4 = write_utterance_file(fake.root, u, FULL_AV, "zips")
        mp4.rename(mp4.parent.parent / mp4.name)
        mp4.parent.rmdir()
    where = ("the MP4s in Video_Speech_Actor_01/, Video_Speech_Actor_21/ are outside any Actor_NN folder, where the "
             "loader does not look; expected them in its Actor_NN/ folder, as the Video_*_Actor_NN zips unpack "
             "(Video_Speech_Actor_01/Actor_01/01-01-01-01-01-01-01.mp4)")
    with pytest.raises(CorpusNotFoundError) as refused:
        load(fake, media="video")
    assert str(refused.value) == (f"none of the 4 RAVDESS utterances found in {fake.root} has its full-AV MP4 "
                                  f"(-o media=video); found only audio-only files: {where}")
    shutil.rmtree(fake.root / "Audio_Speech_Actors_01-24")  # the MP4s alone
    with pytest.raises(CorpusNotFoundError) as refused:
        load(fake, media="video")
    assert str(refused.value).startswith(f"no RAVDESS file in {fake.root}: no Actor_NN folder; ")
    assert str(refused.value).endswith(f"as the corpus root; {where}")


def test_empty_actor_folders_are_refused_as_no_file(tmp_path):
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / ".DS_Store").write_bytes(b"\0")
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"no RAVDESS file in {tmp_path}: only empty Actor_NN "
                                                            "folders (Actor_01/...)")):
        load_corpus("ravdess", tmp_path)


@pytest.mark.parametrize(("options", "message"), [
    ({"media": "video"}, "none of the 40 RAVDESS utterances found in {root} has its full-AV MP4 (-o media=video); "
                         "found only audio-only files: -o media=audio reads audio-only WAVs"),
    ({"channels": "song"}, "no song file among the 40 RAVDESS files in {root} (they are all of the other vocal "
                           "channel); -o channels=speech+song reads both channels"),
])
def test_media_or_channels_of_which_no_file_is_there_are_refused_naming_the_option_reading_them(ravdess, options,
                                                                                                message):
    with pytest.raises(CorpusNotFoundError, match=re.escape(message.format(root=ravdess.root))):
        load(ravdess, **options)


def test_ids_and_samples_are_the_same_on_every_load_and_make_a_samples_table(ravdess):
    first, second = load(ravdess), load(ravdess)
    assert [s.sample_id for s in first.samples] == [s.sample_id for s in second.samples]
    table = samples_to_table(first.samples)
    assert table.column("transcript").to_pylist().count(STATEMENTS[1]) == 20


names = st.one_of(
    st.builds(lambda codes, suffix: "-".join(codes) + suffix,
              st.lists(st.sampled_from(["00", "01", "02", "03", "07", "08", "09", "21", "25", "1", "x1", "٠١"]),
                       min_size=5, max_size=8),
              st.sampled_from([".wav", ".mp4", ".WAV", ".txt", "", "."])),
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12))


@settings(max_examples=200, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file_names=st.lists(names, max_size=5))
def test_any_file_names_give_samples_or_a_corpus_error(tmp_path_factory, file_names):
    root = tmp_path_factory.mktemp("fuzz")
    write_fake_ravdess(root, [FakeUtterance(1, 3, 1, 1, 1, 21)])
    for name in file_names:
        if name not in (".", ".."):
            (root / "Actor_21" / name).write_bytes(b"RIFF")
    try:
        result = load_corpus("ravdess", root)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(p.path.startswith(str(root / "Actor_21")) for p in result.problems)
