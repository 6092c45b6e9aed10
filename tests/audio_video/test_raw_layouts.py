"""Raw layouts as the releases and their users really have them: ids holding '_' and '-', clip numbers
with leading zeros, Windows line endings and BOMs, duplicates, ms times, ids that lost their zeros."""
from __future__ import annotations

import re
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from tests.fakes import samples_by_id
from tests.fakes.av import write_tone_wav

AUDIO = "Raw/Audio/WAV_16000/Segmented"
VIDEO = "Raw/Video/Segmented"
TRANSCRIPTS = "Raw/Transcript/Segmented"


def write_cmu(root, clips, transcripts, labels):
    """WAV clips named as given, transcripts {video_id: bytes}, labels.csv bytes."""
    for name in clips:
        write_tone_wav(root / AUDIO / f"{name}.wav", duration=0.1)
    (root / TRANSCRIPTS).mkdir(parents=True, exist_ok=True)
    for video_id, data in transcripts.items():
        (root / TRANSCRIPTS / f"{video_id}.annotprocessed").write_bytes(data)
    (root / "labels.csv").write_bytes(labels)
    return root


def test_cmu_ids_with_underscores_and_zero_padded_clip_numbers_match_transcripts_and_labels(tmp_path):
    bom = "\ufeff"
    root = write_cmu(
        tmp_path / "mosi", ["_dI--eQ6qVU_01", "_dI--eQ6qVU_2", "c5xsKMxpXnc_1_1"],
        {"_dI--eQ6qVU": f"{bom}1_DELIM_first one\r\n02_DELIM_second\r\n".encode(),
         "c5xsKMxpXnc_1": b"1_DELIM_only\r\n"},
        f"{bom}segment_id,label\r\n_dI--eQ6qVU_01,1.5\r\n_dI--eQ6qVU_2,-1.0\r\nc5xsKMxpXnc_1_1,0.4\r\n".encode())
    result = load_corpus("mosi-raw", root)
    assert result.problems == []
    got = {sid: (s.group_id, s.transcript, s.label, s.audio, s.extra["sdk_key"])
           for sid, s in samples_by_id(result).items()}
    assert got == {
        "_dI--eQ6qVU_1": ("_dI--eQ6qVU", "first one", 1.5, f"{AUDIO}/_dI--eQ6qVU_01.wav", "_dI--eQ6qVU[0]"),
        "_dI--eQ6qVU_2": ("_dI--eQ6qVU", "second", -1.0, f"{AUDIO}/_dI--eQ6qVU_2.wav", "_dI--eQ6qVU[1]"),
        "c5xsKMxpXnc_1_1": ("c5xsKMxpXnc_1", "only", 0.4, f"{AUDIO}/c5xsKMxpXnc_1_1.wav", "c5xsKMxpXnc_1[0]"),
    }


def test_cmu_second_file_transcript_line_or_label_row_of_one_clip_is_a_problem_and_the_first_stays(tmp_path):
    root = write_cmu(tmp_path / "mosi", ["v-1_1", "v-1_01"], {"v-1": b"1_DELIM_first\n01_DELIM_again\n"},
                     b"video_id,segment,label\nv-1,1,2.0\nv-1,01,-2.0\n")
    result = load_corpus("mosi-raw", root)
    (sample,) = result.samples
    assert (sample.sample_id, sample.audio, sample.transcript, sample.label) == ("v-1_1", f"{AUDIO}/v-1_01.wav", "first", 2.0)
    problems = [(p.sample_id, p.path, p.reason) for p in result.problems]
    assert problems[0][:2] == ("v-1_1", f"{AUDIO}/v-1_1.wav") and "second .wav file for clip 1" in problems[0][2]
    assert problems[1] == ("v-1_1", f"{TRANSCRIPTS}/v-1.annotprocessed:2",
                           "second transcript line for clip 1 (first at line 1); ignored")
    assert problems[2][1] == f"{root / 'labels.csv'}:3" and f"first at {root / 'labels.csv'}:2" in problems[2][2]
    assert len(problems) == 3


def test_cmu_missing_wav_is_named_as_its_zero_padded_clip(tmp_path, media):
    root = write_cmu(tmp_path / "mosi", ["vid_01"], {}, b"segment_id,label\nvid_01,1.0\nvid_02,2.0\n")
    (root / VIDEO).mkdir(parents=True)
    shutil.copy(media.video_with_audio, root / VIDEO / "vid_02.mp4")
    result = load_corpus("mosi-raw", root)
    samples = samples_by_id(result)
    assert samples["vid_2"].audio == f"{AUDIO}/vid_02.wav" and samples["vid_2"].label == 2.0
    assert [(p.sample_id, p.path) for p in result.problems] == [("vid_2", str(root / AUDIO / "vid_02.wav"))]


def test_cmu_non_ascii_digits_are_refused_naming_file_and_line(tmp_path):
    root = write_cmu(tmp_path / "mosi", ["vid_1", "vid_\u00b2"], {"vid": "1_DELIM_ok\n\u00b2_DELIM_no\n".encode()},
                     b"segment_id,label\nvid_1,1.0\n")
    with pytest.raises(CorpusFormatError, match=re.escape("vid.annotprocessed:2: expected '<k>_DELIM_<text>'")):
        load_corpus("mosi-raw", root)
    (root / TRANSCRIPTS / "vid.annotprocessed").write_text("1_DELIM_ok\n")
    result = load_corpus("mosi-raw", root)  # a clip file so named is not a clip: reported, not a crash
    assert [s.sample_id for s in result.samples] == ["vid_1"]
    assert [p.reason for p in result.problems] == ["file name is not <video_id>_<k>; ignored"]
    (root / "labels.csv").write_text("video_id,segment,label\nvid,\u00b2,1.0\n")
    with pytest.raises(CorpusFormatError, match=re.escape("labels.csv:2: expected a 1-based segment number, got '²'")):
        load_corpus("mosi-raw", root)


def test_cmu_transcript_in_another_encoding_names_file_line_and_the_fix(tmp_path):
    root = write_cmu(tmp_path / "mosi", ["vid_1", "vid_2"], {"vid": "1_DELIM_ok\n2_DELIM_caf\u00e9\n".encode("cp1252")},
                     b"segment_id,label\nvid_1,1.0\n")
    with pytest.raises(CorpusFormatError, match=r"vid.annotprocessed:2: not valid UTF-8 .* re-encode the file as UTF-8"):
        load_corpus("mosi-raw", root)


def test_mosei_overlapping_segments_are_kept_and_a_repeated_line_is_reported(tmp_path):
    root = tmp_path / "mosei"
    (root / "Raw/Transcript/Segmented/Combined").mkdir(parents=True)
    line = "v_-1___2___1.0___2.0___overlaps the first"
    (root / "Raw/Transcript/Segmented/Combined/v_-1.txt").write_bytes(
        f"\ufeffv_-1___01___0.0___1.5___first\r\n{line}\r\n{line}\r\n".encode())
    write_tone_wav(root / "Raw/Audio/Full/v_-1.wav", duration=3.0)
    (root / "labels.csv").write_text("segment_id,label\nv_-1_01,1.0\nv_-1_2,-1.0\n")
    result = load_corpus("mosi-raw", root, options={"labels_file": "labels.csv"})
    got = {sid: (s.start, s.end, s.label, s.group_id, s.transcript) for sid, s in samples_by_id(result).items()}
    assert got == {"v_-1_1": (0.0, 1.5, 1.0, "v_-1", "first"), "v_-1_2": (1.0, 2.0, -1.0, "v_-1", "overlaps the first")}
    assert [(p.sample_id, p.path.rpartition("/")[2]) for p in result.problems] == [("v_-1_2", "v_-1.txt:3")]


def test_generic_segments_of_one_recording_share_a_group_without_a_video_id(tmp_path):
    root = tmp_path / "generic"
    write_tone_wav(root / "rec.wav", duration=2.0)
    write_tone_wav(root / "other.wav", duration=1.0)
    (root / "segments.csv").write_text(
        "segment_id,audio,start,end,split,speaker\ns1,rec.wav,0,1,train,A\ns2,rec.wav,1,2,test,A\ns3,other.wav,,,train,B\n")
    samples = samples_by_id(load_corpus("mosi-raw", root))
    assert {sid: (s.group_id, s.split, s.extra) for sid, s in samples.items()} == {
        "s1": ("rec.wav", "train", {"speaker": "A"}), "s2": ("rec.wav", "test", {"speaker": "A"}),
        "s3": ("other.wav", "train", {"speaker": "B", "audio_duration": 1.0})}  # a whole recording: its WAV's length
    (root / "segments.csv").write_text("segment_id,video_id,audio\ns1,v1,rec.wav\ns2,v1,other.wav\n")
    assert {s.group_id for s in load_corpus("mosi-raw", root).samples} == {"v1"}


def test_generic_times_in_milliseconds_are_read_as_seconds_and_both_forms_are_refused(tmp_path):
    root = tmp_path / "generic"
    write_tone_wav(root / "rec.wav", duration=2.0)
    (root / "segments.csv").write_text("segment_id,audio,start_ms,end_ms\ns1,rec.wav,250,1500\ns2,rec.wav,1500,\n")
    samples = samples_by_id(load_corpus("mosi-raw", root))
    assert [(s.start, s.end, s.extra) for s in samples.values()] == [(0.25, 1.5, {}), (1.5, None, {})]
    (root / "segments.csv").write_text("segment_id,audio,start_ms,end_ms\ns1,rec.wav,1500,250\n")
    [problem] = load_corpus("mosi-raw", root).problems  # the row alone is left out, named
    assert problem.path.endswith("segments.csv:2") and "segment end 0.25 <= start 1.5" in problem.reason
    (root / "segments.csv").write_text("segment_id,audio,start,start_ms\ns1,rec.wav,1,1000\n")
    with pytest.raises(CorpusFormatError, match="segments.csv:1: both start and start_ms columns"):
        load_corpus("mosi-raw", root)


def write_mmsa(root, clip_files, label_csv, media):
    for clip in clip_files:
        (root / "Raw" / clip).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(media.video_without_audio, root / "Raw" / clip)
    (root / "label.csv").write_text(label_csv, encoding="utf-8")
    return root


def test_mmsa_clip_ids_that_lost_their_zeros_match_the_zero_padded_files(tmp_path, media):
    root = write_mmsa(tmp_path / "sims", ["video_0001/0001.mp4", "video_0001/0002.mp4", "-3g5yACwYnA/1.mp4"], (
        "video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode\n"
        "video_0001,1,a,0.2,0.4,,,Positive,train\n"
        "video_0001,0002,b,-0.2,,,,Negative,valid\n"
        "-3g5yACwYnA,1,c,1.4,,,,Positive,test\n"
        "video_0001,0001,again,0.2,,,,Positive,train\n"), media)
    result = load_corpus("mmsa-raw", root)
    got = {sid: (s.video, s.split, s.extra["clip_id"]) for sid, s in samples_by_id(result).items()}
    assert got == {"video_0001$_$0001": ("Raw/video_0001/0001.mp4", "train", "0001"),
                   "video_0001$_$0002": ("Raw/video_0001/0002.mp4", "valid", "0002"),
                   "-3g5yACwYnA$_$1": ("Raw/-3g5yACwYnA/1.mp4", "test", "1")}
    assert [(p.sample_id, p.path.rpartition("/")[2]) for p in result.problems] == [("video_0001$_$0001", "label.csv:5")]
    assert "first at" in result.problems[0].reason and result.problems[0].reason.endswith("label.csv:2); the later row is ignored")


def test_mmsa_keeps_quoted_text_and_extra_columns_and_reports_missing_clips(tmp_path, media):
    root = write_mmsa(tmp_path / "sims", ["v1/0001.mp4"], (
        "mode,clip_id,video_id,label,text,annotation,label_by,speaker\n"
        'test,0001,v1,-0.6,"well, he said ""no""",Negative,3 annotators,\n'
        "train,0002,v1,0.0,gone,Neutral,,spk2\n"), media)
    result = load_corpus("mmsa-raw", root)
    (sample,) = result.samples
    assert (sample.transcript, sample.split, sample.label) == ('well, he said "no"', "test", -0.6)
    assert sample.extra == {"video_id": "v1", "clip_id": "0001", "annotation": "Negative", "label_by": "3 annotators"}
    assert [(p.sample_id, p.path, p.reason) for p in result.problems] == [
        ("v1$_$0002", "Raw/v1/0002.mp4", f"clip file not found (row {root / 'label.csv'}:3); dropped")]
