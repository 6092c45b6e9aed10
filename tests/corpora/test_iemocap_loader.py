"""The `iemocap` loader on a fake IEMOCAP_full_release (sessions 1, 2, 3 and 5): one sample per labelled utterance
whose WAV is found, the utterance id as sample id and its dialog as group id, the split by session (test_session,
val_session), the emotion's name, the 4-class `emotion4` (excited merged into happy, absent for the others), V/A/D,
the speaker from the utterance id's letter (not the dialog's), improvised or scripted, the span in the dialog; with
media=dialog the dialog's WAV and AVI and the span as start/end; the turn lines it leaves out named `file:line`
(their shape, times, an end not after the start, an id of another dialog, an emotion code or V/A/D not IEMOCAP's, an
utterance listed again, a WAV gone), transcriptions missing named with their sample kept; the root as the release
folder or the folder holding it; the refusals naming what was looked for and the options."""
from __future__ import annotations

import logging
import re
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import samples_to_table
from tests.fakes import FakeCorpus, append_rows, samples_by_id
from tests.fakes.iemocap import (
    UTTERANCES,
    corrupt_line,
    dialog_length,
    dialog_media,
    label_path,
    sentence_wav,
    transcription_path,
    write_fake_iemocap,
)

ALL_IDS = {u.sample_id for u in UTTERANCES}


@pytest.fixture
def iemocap(tmp_path):
    """A fake without the dialogs' WAVs and AVIs (media=sentences needs none)."""
    return write_fake_iemocap(tmp_path / "IEMOCAP_full_release", dialog_media_files=False)


@pytest.fixture(scope="module")
def with_media(tmp_path_factory):
    """A fake with each dialog's WAV and AVI (written once: the AVIs take the time)."""
    return write_fake_iemocap(tmp_path_factory.mktemp("iemocap") / "IEMOCAP_full_release")


def load(fake_or_root, split=None, **options):
    root = fake_or_root.root if isinstance(fake_or_root, FakeCorpus) else fake_or_root
    return load_corpus("iemocap", root, split=split, options=options)


def test_one_sample_per_labelled_utterance_with_its_wav_and_transcript(iemocap, caplog):
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.iemocap"):
        result = load(iemocap)
    assert result.problems == []  # the AppleDouble files, Categorical/ and the MXX lines are not read
    assert {s.sample_id: (s.split, s.audio, s.transcript) for s in result.samples} == {
        sid: (e.split, e.audio, e.transcript) for sid, e in iemocap.expected.items()}
    assert {s.corpus for s in result.samples} == {"iemocap"}
    assert all((s.video, s.start, s.end, s.label) == (None, None, None, None) for s in result.samples)
    assert result.metadata == {"sessions_dir": ".", "sessions": [1, 2, 3, 5], "media": "sentences",
                               "test_session": 5, "val_session": None, "utterances_listed": len(UTTERANCES),
                               "media_missing": 0, "transcripts_missing": 0, "sessions_absent": [4]}
    assert [r.getMessage() for r in caplog.records] == [
        f"IEMOCAP session folder Session4/ not in {iemocap.root} (or without dialog/EmoEvaluation/): session 4 not "
        "loaded"]
    samples_to_table(result.samples)  # a valid samples table


def test_extra_holds_the_emotion_vad_speaker_session_dialog_and_span(iemocap):
    samples = samples_by_id(load(iemocap))
    sample = samples["Ses01F_impro01_F001"]
    assert (sample.group_id, sample.transcript) == ("Ses01F_impro01", "Yeah, I have them right here.")
    assert sample.extra == {"emotion": "anger", "emotion4": "angry", "valence": 1.5, "arousal": 4.0,
                            "dominance": 4.0, "speaker": "Ses01F", "session": 1, "dialog": "Ses01F_impro01",
                            "improvised": True, "dialog_start": 1.0, "dialog_end": 1.4, "audio_duration": 0.4}
    scripted = samples["Ses01F_script01_1_M000"]
    assert (scripted.group_id, scripted.extra["improvised"], scripted.extra["dialog"]) == (
        "Ses01F_script01_1", False, "Ses01F_script01_1")


def test_the_speaker_is_the_session_and_the_utterance_ids_letter_not_the_dialogs(iemocap):
    samples = samples_by_id(load(iemocap))
    assert {sid: samples[sid].extra["speaker"] for sid in (
        "Ses01F_impro01_F000", "Ses01F_impro01_M000", "Ses02M_impro02_F000", "Ses02M_impro02_M001",
        "Ses05F_script03_2_M000")} == {
        "Ses01F_impro01_F000": "Ses01F", "Ses01F_impro01_M000": "Ses01M", "Ses02M_impro02_F000": "Ses02F",
        "Ses02M_impro02_M001": "Ses02M", "Ses05F_script03_2_M000": "Ses05M"}


def test_emotion_names_and_emotion4_merges_excited_into_happy_leaving_the_others_out(iemocap):
    samples = samples_by_id(load(iemocap))
    codes = {u.sample_id: u.code for u in UTTERANCES}
    names = {"neu": "neutral", "hap": "happiness", "exc": "excited", "ang": "anger", "sad": "sadness",
             "fru": "frustration", "xxx": "no-agreement"}
    assert {sid: s.extra["emotion"] for sid, s in samples.items()} == {sid: names[codes[sid]] for sid in samples}
    four = {sid: s.extra.get("emotion4") for sid, s in samples.items()}
    assert four["Ses01F_script01_1_M000"] == four["Ses02M_impro02_M000"] == "happy"  # exc and hap
    assert four["Ses01F_impro01_M000"] is None and "emotion4" not in samples["Ses01F_impro01_M000"].extra  # xxx
    assert "emotion4" not in samples["Ses02M_impro02_F000"].extra  # fru
    assert {v for v in four.values() if v} == {"neutral", "happy", "angry", "sad"}


@pytest.mark.parametrize(("options", "splits"), [
    ({}, {1: "train", 2: "train", 3: "train", 5: "test"}),
    ({"test_session": "1"}, {1: "test", 2: "train", 3: "train", 5: "train"}),  # as `-o test_session=1` passes it
    ({"test_session": 2, "val_session": "3"}, {1: "train", 2: "test", 3: "val", 5: "train"}),
])
def test_the_split_is_the_sessions(iemocap, options, splits):
    samples = load(iemocap, **options).samples
    assert {s.sample_id: s.split for s in samples} == {u.sample_id: splits[u.session] for u in UTTERANCES}


def test_split_loads_its_sessions_alone(iemocap):
    assert {s.sample_id for s in load(iemocap, "test").samples} == {u.sample_id for u in UTTERANCES
                                                                     if u.session == 5}
    assert {s.extra["session"] for s in load(iemocap, "train").samples} == {1, 2, 3}
    assert {s.extra["session"] for s in load(iemocap, "val", val_session=2).samples} == {2}
    assert len(load(iemocap, "all").samples) == len(UTTERANCES)
    with pytest.raises(ConfigError, match=re.escape("no split 'val' unless -o val_session=N names the session")):
        load(iemocap, "val")
    with pytest.raises(ConfigError, match=re.escape("no split 'val' (asked as 'dev') unless -o val_session=N names the session")):
        load(iemocap, "dev")  # not "named 'val' here": val is refused too without val_session
    with pytest.raises(ConfigError, match=re.escape("IEMOCAP's split 'dev' is named 'val' here")):
        load(iemocap, "dev", val_session=2)


def test_option_sessions_loads_those_sessions(iemocap):
    result = load(iemocap, sessions="1+5")
    assert {s.extra["session"] for s in result.samples} == {1, 5}
    assert result.metadata["sessions"] == [1, 5] and "sessions_absent" not in result.metadata
    assert {s.extra["session"] for s in load(iemocap, "train", sessions="1+5").samples} == {1}
    with pytest.raises(ConfigError, match=re.escape("split 'test' asked, but option sessions=1+2 leaves out its "
                                                    "session (test_session=5, val_session=None)")):
        load(iemocap, "test", sessions="1+2")


@pytest.mark.parametrize(("options", "message"), [
    ({"test_session": 6}, "option test_session=6: expected a session of [1, 2, 3, 4, 5]"),
    ({"test_session": 0}, "option test_session=0: expected a session of [1, 2, 3, 4, 5]"),
    ({"val_session": 5}, "option val_session=5: expected a session of [1, 2, 3, 4, 5] other than test_session=5"),
    ({"test_session": 2, "val_session": 2}, "option val_session=2: expected a session of [1, 2, 3, 4, 5] other than "
                                            "test_session=2"),
    ({"val_session": 9}, "option val_session=9: expected a session"),
    ({"sessions": "1+1"}, "option sessions='1+1': expected sessions of [1, 2, 3, 4, 5], each once"),
    ({"sessions": "2+7"}, "option sessions='2+7': expected sessions of [1, 2, 3, 4, 5]"),
    ({"media": "video"}, "'video' is not one of ['sentences', 'dialog', 'dialog-audio']"),
])
def test_options_out_of_range_are_refused_in_one_line(iemocap, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        load(iemocap, **options)
    assert "\n" not in str(refused.value)


def test_media_dialog_reads_the_dialogs_wav_and_avi_over_the_utterances_span(with_media):
    result = load(with_media, media="dialog")
    assert result.problems == []
    samples = samples_by_id(result)
    assert set(samples) == ALL_IDS
    for u in UTTERANCES:
        sample = samples[u.sample_id]
        assert (sample.audio, sample.video) == dialog_media(u.dialog)
        assert (sample.start, sample.end) == (u.start, u.end) == (sample.extra["dialog_start"],
                                                                  sample.extra["dialog_end"])
        assert sample.extra["audio_duration"] == dialog_length(u.dialog)
        assert sample.extra["video_duration"] == pytest.approx(dialog_length(u.dialog), abs=0.051)
    assert result.metadata["media"] == "dialog"


def test_media_dialog_leaves_out_an_utterance_whose_dialog_avi_is_gone(tmp_path):
    fake = write_fake_iemocap(tmp_path / "IEMOCAP_full_release",
                              tuple(u for u in UTTERANCES if u.dialog in ("Ses01F_impro01", "Ses05M_impro04")))
    (fake.root / dialog_media("Ses05M_impro04")[1]).unlink()
    result = load(fake, media="dialog")
    where = label_path(fake.root, "Ses05M_impro04")
    assert [(p.sample_id, p.path, p.reason) for p in result.problems] == [
        (sid, f"{where}:{line}", "video file Ses05M_impro04.avi not found in Session5/dialog/avi/DivX/; line left out")
        for sid, line in (("Ses05M_impro04_M000", 3), ("Ses05M_impro04_F000", 10))]
    assert {s.extra["dialog"] for s in result.samples} == {"Ses01F_impro01"}
    assert result.metadata["media_missing"] == 2


def test_an_utterance_whose_wav_is_gone_is_named_at_its_line_and_counted(tmp_path, caplog):
    fake = write_fake_iemocap(tmp_path / "IEMOCAP_full_release", missing=("Ses02M_impro02_F000",),
                              dialog_media_files=False)
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.iemocap"):
        result = load(fake)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("Ses02M_impro02_F000",
                                                 f"{label_path(fake.root, 'Ses02M_impro02')}:10")
    assert problem.reason == ("audio file Ses02M_impro02_F000.wav not found in Session2/sentences/wav/Ses02M_impro02/; "
                              "line left out")
    assert set(samples_by_id(result)) == ALL_IDS - {"Ses02M_impro02_F000"}
    assert (result.metadata["utterances_listed"], result.metadata["media_missing"]) == (len(UTTERANCES), 1)
    assert f"1 of {len(UTTERANCES)} IEMOCAP utterances' WAV files not found (utterances left out): " \
           "Ses02M_impro02_F000; each is named in the errors table" in [r.getMessage() for r in caplog.records]


def test_no_media_file_found_is_refused_naming_the_other_media(iemocap):
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"none of the {len(UTTERANCES)} IEMOCAP utterances' audio files found in {iemocap.root} (the first looked "
            "for as Session1/dialog/wav/Ses01F_impro01.wav); -o media=sentences reads the utterances' files")):
        load(iemocap, media="dialog")


def test_bad_turn_lines_are_left_out_and_named_at_their_line(iemocap):
    path = label_path(iemocap.root, "Ses01F_impro01")
    first = append_rows(path,
                        "[1.5000 - 1.9000]\tSes01F_impro01_F002\tneu",                                # no V/A/D
                        "[1.5000 - x]\tSes01F_impro01_F003\tneu\t[2.5000, 2.5000, 2.5000]",           # times
                        "[1.9000 - 1.5000]\tSes01F_impro01_F004\tneu\t[2.5000, 2.5000, 2.5000]",      # end < start
                        "[1.5000 - 1.9000]\tSes01F_impro02_F005\tneu\t[2.5000, 2.5000, 2.5000]",      # other dialog
                        "[1.5000 - 1.9000]\tSes01F_impro01_F006\tcalm\t[2.5000, 2.5000, 2.5000]",     # code
                        "[1.5000 - 1.9000]\tSes01F_impro01_F007\tneu\t[2.5000, high, 2.5000]",        # V/A/D
                        "[1.5000 - 1.9000]\tSes01F_impro01_F008\tneu\t[2.5000, 2.5000]",              # two of three
                        "[1.5000 - 1.9000]\tSes01F_impro01_M000\tneu\t[2.5000, 2.5000, 2.5000]",      # listed again
                        "Ses01F_impro01_F009 neu 2.5",                                                # no turn line
                        "[1.5000 - 1.5000]\tSes01F_impro01_F010\tneu\t[2.5000, 2.5000, 2.5000]")      # empty span
    result = load(iemocap)
    assert [p.path for p in result.problems] == [f"{path}:{first + k}" for k in range(10)]
    assert [p.sample_id for p in result.problems] == [
        None, "Ses01F_impro01_F003", "Ses01F_impro01_F004", None, "Ses01F_impro01_F006", "Ses01F_impro01_F007",
        "Ses01F_impro01_F008", "Ses01F_impro01_M000", None, "Ses01F_impro01_F010"]
    reasons = [p.reason for p in result.problems]
    assert reasons[0] == ("expected '[START - END]<TAB>UTTERANCE_ID<TAB>EMOTION<TAB>[V, A, D]' (as [6.2901 - 8.2357]"
                          "\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]), got '[1.5000 - 1.9000]\\t"
                          "Ses01F_impro01_F002\\tneu'; line left out")
    assert reasons[1] == ("times [1.5000 - x] are not '[START - END]' in seconds >= 0 (as [6.2901 - 8.2357]); line "
                          "left out")
    assert reasons[2] == ("end 1.5000 is not after start 1.9000; expected a span [START - END] with END > START; "
                          "line left out")
    assert reasons[3] == ("utterance id 'Ses01F_impro02_F005' is not of dialog Ses01F_impro01; expected "
                          "Ses01F_impro01_F000 (the dialog id, the speaker's F or M, 3 digits); line left out")
    assert reasons[4] == ("emotion 'calm' is not one of IEMOCAP's codes neu, hap, sad, ang, exc, fru, fea, sur, dis, "
                          "oth, xxx; line left out")
    assert reasons[5] == ("[2.5000, high, 2.5000] is not [V, A, D]: three numbers (valence, activation, dominance, as "
                          "[2.5, 3.0, 2.0]); line left out")
    assert reasons[6].startswith("[2.5000, 2.5000] is not [V, A, D]: three numbers")
    assert reasons[7] == f"utterance Ses01F_impro01_M000 is listed again (first at {path}:10); line left out"
    assert result.problems[7].error_type == REPEATED_ENTRY
    assert reasons[8].startswith("expected a turn line '[START - END]<TAB>UTTERANCE_ID")
    assert reasons[8].endswith(", an evaluator's line (C-E2:, A-E3:) or the '%' header, got 'Ses01F_impro01_F009 neu "
                               "2.5'; line left out")
    assert reasons[9].startswith("end 1.5000 is not after start 1.5000")
    assert set(samples_by_id(result)) == ALL_IDS  # the first line of M000 kept, nothing else added
    assert samples_by_id(result)["Ses01F_impro01_M000"].extra["emotion"] == "no-agreement"


def test_emotion_codes_are_read_in_any_case(iemocap):
    path = label_path(iemocap.root, "Ses01F_impro01")
    path.write_text(path.read_text(encoding="utf-8").replace("\tang\t", "\tANG\t"), encoding="utf-8")
    result = load(iemocap)
    assert result.problems == []
    assert samples_by_id(result)["Ses01F_impro01_F001"].extra["emotion4"] == "angry"


def test_a_missing_transcription_keeps_the_sample_with_a_null_transcript_named_and_counted(tmp_path, caplog):
    fake = write_fake_iemocap(tmp_path / "IEMOCAP_full_release", untranscribed=("Ses01F_impro01_M000",),
                              dialog_media_files=False)
    transcription_path(fake.root, "Ses05M_impro04").unlink()
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.iemocap"):
        result = load(fake)
    where = label_path(fake.root, "Ses01F_impro01")
    gone = transcription_path(fake.root, "Ses05M_impro04")
    assert [(p.sample_id, p.path, p.reason) for p in result.problems] == [
        ("Ses01F_impro01_M000", f"{where}:10", "no transcription: no line of Ses01F_impro01_M000 in "
         f"{transcription_path(fake.root, 'Ses01F_impro01')} (expected a line 'Ses01F_impro01_M000 [START-END]: "
         "TEXT'); sample kept, transcript null"),
        *((sid, f"{label_path(fake.root, 'Ses05M_impro04')}:{line}", f"no transcription: {gone} not found (expected "
           f"a line '{sid} [START-END]: TEXT'); sample kept, transcript null")
          for sid, line in (("Ses05M_impro04_M000", 3), ("Ses05M_impro04_F000", 10)))]
    samples = samples_by_id(result)
    assert set(samples) == ALL_IDS
    assert [samples[s].transcript for s in ("Ses01F_impro01_M000", "Ses05M_impro04_F000")] == [None, None]
    assert result.metadata["transcripts_missing"] == 3
    assert f"3 of {len(UTTERANCES)} IEMOCAP utterances without a transcription (kept, transcript null): " \
           "Ses01F_impro01_M000, Ses05M_impro04_M000, Ses05M_impro04_F000; each is named in the errors table" in [
               r.getMessage() for r in caplog.records]


def test_a_transcription_line_given_again_or_malformed_is_named_the_first_kept(iemocap):
    path = transcription_path(iemocap.root, "Ses02M_impro02")
    first = append_rows(path, "Ses02M_impro02_M000 [000.1500-000.5500]: Another text.",
                        "Ses02M_impro02_F000: no times", "Ses02M_impro02_FXX0 what is this")  # the last not labelled
    result = load(iemocap)
    assert [(p.sample_id, p.path) for p in result.problems] == [
        ("Ses02M_impro02_M000", f"{path}:{first}"), ("Ses02M_impro02_F000", f"{path}:{first + 1}")]
    assert result.problems[0].reason == (f"transcription of Ses02M_impro02_M000 given again (first at {path}:1); line "
                                         "not read, the first kept")
    assert result.problems[1].reason.startswith("expected a transcription line 'ID [START-END]: TEXT'")
    samples = samples_by_id(result)
    assert samples["Ses02M_impro02_M000"].transcript == "I got the job!"
    assert samples["Ses02M_impro02_F000"].transcript == "Again? You said that last week."


def test_crlf_line_ends_are_read(iemocap):
    for path in (label_path(iemocap.root, "Ses01F_impro01"), transcription_path(iemocap.root, "Ses01F_impro01")):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    result = load(iemocap)
    assert result.problems == []
    assert samples_by_id(result)["Ses01F_impro01_F000"].transcript == "Excuse me."


def test_a_label_file_that_is_not_utf8_stops_the_load_at_its_line(iemocap):
    where = iemocap.corrupt()
    with pytest.raises(CorpusFormatError, match=re.escape(f"{where}: not valid UTF-8")):
        load(iemocap)


def test_a_transcription_file_that_is_not_utf8_is_named_and_its_utterances_kept_without_transcripts(tmp_path):
    fake = write_fake_iemocap(tmp_path / "fresh", dialog_media_files=False)
    where = corrupt_line(transcription_path(fake.root, "Ses02M_impro02"), 2)
    result = load(fake)
    kept = {s.sample_id: s.transcript for s in result.samples if s.group_id == "Ses02M_impro02"}
    assert kept and set(kept.values()) == {None}
    named = [p for p in result.problems if p.path == str(transcription_path(fake.root, "Ses02M_impro02"))]
    assert len(named) == 1 and named[0].reason.startswith(f"{where}: not valid UTF-8")
    assert named[0].reason.endswith("the file's transcriptions not read (its utterances kept, transcript null)")
    assert all(s.transcript for s in result.samples if s.group_id != "Ses02M_impro02")


def test_a_label_file_named_no_dialog_of_its_session_is_named_and_not_read(iemocap):
    folder = label_path(iemocap.root, "Ses01F_impro01").parent
    shutil.copy(folder / "Ses01F_impro01.txt", folder / "Ses02F_impro09.txt")
    (folder / "notes.txt").write_text("session notes\n", encoding="utf-8")
    result = load(iemocap)
    assert [(p.sample_id, p.path, p.reason) for p in result.problems] == [
        (None, str(folder / name), f"file name {name!r} is no dialog id of session 1; expected Ses01F_impro01.txt, "
         "Ses01M_script01_1.txt (a dialog's label file); file not read") for name in ("Ses02F_impro09.txt",
                                                                                      "notes.txt")]
    assert set(samples_by_id(result)) == ALL_IDS


@pytest.mark.parametrize("parent", ["IEMOCAP_full_release", "IEMOCAP"])
def test_the_folder_holding_the_release_folder_is_a_root_too(tmp_path, parent):
    fake = write_fake_iemocap(tmp_path / parent, dialog_media_files=False)
    result = load(tmp_path)
    assert result.problems == []
    assert {s.sample_id: s.audio for s in result.samples} == {
        sid: f"{parent}/{e.audio}" for sid, e in fake.expected.items()}
    assert result.metadata["sessions_dir"] == parent
    assert samples_by_id(result)["Ses01F_impro01_F000"].audio == f"{parent}/" + sentence_wav(
        "Ses01F_impro01", "Ses01F_impro01_F000")


def test_no_session_folder_is_refused_naming_the_folders_looked_in(tmp_path):
    (tmp_path / "IEMOCAP_full_release" / "Documentation").mkdir(parents=True)
    with pytest.raises(CorpusNotFoundError) as refused:
        load(tmp_path)
    assert str(refused.value) == (
        f"no IEMOCAP session folder (Session1/ to Session5/, each holding dialog/EmoEvaluation/) in {tmp_path}, "
        f"{tmp_path}/IEMOCAP_full_release, {tmp_path}/IEMOCAP; expected the folder IEMOCAP_full_release.tar.gz "
        "unpacks (IEMOCAP_full_release/) or the folder holding it")


def test_a_split_or_sessions_whose_folders_are_absent_is_refused_naming_those_there(iemocap):
    shutil.rmtree(iemocap.root / "Session5")
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"split 'test' asks for session 5, but no Session5/ holding dialog/EmoEvaluation/ is in {iemocap.root}; "
            "sessions there: [1, 2, 3]")):
        load(iemocap, "test")
    with pytest.raises(CorpusNotFoundError, match=re.escape("option sessions asks for sessions 4, 5, but no Session4/, "
                                                            "Session5/ holding")):
        load(iemocap, sessions="4+5")
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            "option test_session=5 holds out session 5, but no Session5/ holding dialog/EmoEvaluation/ is in "
            f"{iemocap.root} (sessions there: [1, 2, 3]): its split would be empty; expected -o test_session= one of "
            "the sessions there")):
        load(iemocap)  # the 5-fold loop would average a fold without its test rows
    result = load(iemocap, test_session=3)
    assert {s.split for s in result.samples} == {"train", "test"}
    assert result.metadata["sessions_absent"] == [4, 5]
    assert {s.split for s in load(iemocap, sessions="1+2+3").samples} == {"train"}  # no test split, as asked


def test_a_session_folder_without_its_labels_is_absent(iemocap, caplog):
    shutil.rmtree(iemocap.root / "Session2" / "dialog" / "EmoEvaluation")
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.iemocap"):
        result = load(iemocap)
    assert {s.extra["session"] for s in result.samples} == {1, 3, 5}
    assert result.metadata["sessions_absent"] == [2, 4]
    assert [r.getMessage() for r in caplog.records] == [
        f"IEMOCAP session folders Session2/, Session4/ not in {iemocap.root} (or without dialog/EmoEvaluation/): "
        "sessions 2, 4 not loaded"]


def test_a_transcription_line_with_a_tab_after_the_id_is_read(tmp_path):
    fake = write_fake_iemocap(tmp_path / "tabbed", dialog_media_files=False)
    path = transcription_path(fake.root, "Ses01F_impro01")
    path.write_text(path.read_text().replace("Ses01F_impro01_F000 [", "Ses01F_impro01_F000\t["), encoding="utf-8")
    samples = {s.sample_id: s for s in load(fake).samples}
    assert samples["Ses01F_impro01_F000"].transcript == "Excuse me."


def test_dialog_media_without_the_videos_names_the_video_it_looked_for_and_dialog_audio_reads_the_wavs(tmp_path):
    fake = write_fake_iemocap(tmp_path / "novideo")
    for session in fake.root.glob("Session*"):
        shutil.rmtree(session / "dialog" / "avi")
    with pytest.raises(CorpusNotFoundError, match=r"utterances' video files found .* \(the first looked for as "
                                                  r"Session1/dialog/avi/DivX/Ses01F_impro01\.avi\); -o "
                                                  r"media=dialog-audio reads the dialogs' WAVs alone"):
        load(fake, media="dialog")
    with_video = {s.sample_id: s for s in load(write_fake_iemocap(tmp_path / "whole"), media="dialog").samples}
    result = load(fake, media="dialog-audio")
    assert {s.sample_id for s in result.samples} == set(with_video)
    for sample in result.samples:
        twin = with_video[sample.sample_id]
        assert sample.video is None and "video_duration" not in sample.extra
        assert (sample.audio, sample.start, sample.end) == (twin.audio, twin.start, twin.end)
        assert sample.extra["audio_duration"] == twin.extra["audio_duration"]


def test_a_stray_session_folder_beside_the_release_does_not_hide_it(tmp_path):
    fake = write_fake_iemocap(tmp_path / "IEMOCAP_full_release", dialog_media_files=False)
    (tmp_path / "Session1").mkdir()  # no labels in it
    result = load(tmp_path)
    assert result.metadata["sessions_dir"] == "IEMOCAP_full_release"
    assert len(result.samples) == len(fake.expected)


def test_sessions_whose_label_folders_are_empty_are_refused_naming_them(tmp_path):
    fake = write_fake_iemocap(tmp_path / "empty", dialog_media_files=False)
    for labels in fake.root.glob("Session*/dialog/EmoEvaluation"):
        for path in labels.glob("*.txt"):
            path.unlink()
    with pytest.raises(CorpusNotFoundError, match=r"no label file \(<dialog>\.txt, as Ses01F_impro01\.txt\) in the "
                                                  r"dialog/EmoEvaluation/ folder of sessions 1, 2, 3, 5"):
        load(fake)
