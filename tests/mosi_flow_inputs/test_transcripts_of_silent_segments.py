"""A label segment lying in a pause has no words, hence no transcript: `segment` writes null (not ''),
the generic loader builds transcripts from words.csv when segments.csv has no text column, and
`check`'s `transcript-missing` is an error only where a sample of a transcribed corpus has neither a
transcript nor a word list (a warning where its word list is empty)."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from mmdata.alignment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.checks.samples import check_text
from mmdata.corpora import load_corpus
from mmdata.store import open_dataset
from mmdata.store.metadata import FeatureSpec
from tests.checks.builder import FakeTable, build_dataset
from tests.fakes.av import tone, write_wav
from tests.fakes.csd import LABELS_FILE, LABELS_ROOT, write_sdk_csd

WORDS = [("i", 0.5, 0.8), ("liked", 0.9, 1.4), ("sp", 1.4, 1.6), ("it", 1.6, 2.0)]


def _samples_table(transcripts, extras):
    n = len(transcripts)
    return pa.table({"sample_id": [f"s{i}" for i in range(n)], "corpus": ["mosi-raw"] * n, "captions": [[]] * n,
                     "transcript": transcripts, "extra": [None if e is None else json.dumps(e) for e in extras]})


def test_no_transcript_and_no_words_is_an_error_an_empty_word_list_a_warning():
    samples = _samples_table(["fine", None, "", None],
                             [{"words": [["fine", 0, 1]]}, {"words": []}, {"duration": 2.0}, None])
    issues = {i.severity: i for i in check_text(samples)}
    assert set(issues) == {"error", "warning"}
    assert issues["error"].examples == ("s2", "s3") and "no word list" in issues["error"].message
    assert issues["warning"].examples == ("s1",) and "pause" in issues["warning"].message


def test_without_an_extra_column_every_missing_transcript_is_an_error():
    samples = _samples_table([None, "ok"], [{"words": []}, None]).drop(["extra"])
    (issue,) = check_text(samples)
    assert (issue.code, issue.severity, issue.examples) == ("transcript-missing", "error", ("s0",))


def _whole_video(root):
    write_wav(root / "audio/v.wav", tone(220.0, 4.0))
    (root / "segments.csv").write_text("segment_id,video_id,audio,text\nv,v,audio/v.wav,i liked it\n")
    (root / "words.csv").write_text("segment_id,word,start,end\n" + "".join(f"v,{w},{s},{e}\n" for w, s, e in WORDS))
    return root


def test_segment_gives_a_segment_in_a_pause_no_transcript_and_check_passes(tmp_path):
    samples = load_corpus("mosi-raw", _whole_video(tmp_path / "corpus")).samples
    intervals = [np.array([[s, e] for _, s, e in WORDS])]
    table = FakeTable("text.words-fake", FeatureSpec(dim=2, kind="sequence", intervals=True, item_axis="word"),
                      [np.ones((len(WORDS), 2), np.float32)], intervals)
    build_dataset(tmp_path / "videos", samples, [table], corpus_kind="mosi-raw")
    # segment 1 lies in the silence after the last word; segment 2 holds a pause token only
    write_sdk_csd(tmp_path / LABELS_FILE, LABELS_ROOT,
                  {"v": (np.array([[1.0], [0.0], [0.5]], np.float32), np.array([[0.4, 2.0], [2.5, 3.8], [1.41, 1.59]]))})
    segment_dataset(tmp_path / "videos", tmp_path / "cut", tmp_path / LABELS_FILE)
    rows = {r["sample_id"]: r for r in open_dataset(tmp_path / "cut").samples_table().to_pylist()}
    assert rows["v[0]"]["transcript"] == "i liked it"
    assert rows["v[1]"]["transcript"] is None and json.loads(rows["v[1]"]["extra"])["words"] == []
    assert rows["v[2]"]["transcript"] is None and [w[0] for w in json.loads(rows["v[2]"]["extra"])["words"]] == ["sp"]
    report = check_dataset(tmp_path / "cut")
    assert not [i for i in report.errors if i.code == "transcript-missing"], [i.message for i in report.errors]
    (warning,) = [i for i in report.issues if i.code == "transcript-missing"]
    assert warning.severity == "warning" and set(warning.examples) == {"v[1]", "v[2]"}


def test_without_a_text_column_transcripts_come_from_the_words(tmp_path):
    root = tmp_path / "corpus"
    write_wav(root / "audio/v.wav", tone(220.0, 6.0))
    (root / "segments.csv").write_text("segment_id,video_id,audio,start,end,label\n"
                                       "v_1,v,audio/v.wav,0.4,2.0,1.0\nv_2,v,audio/v.wav,2.5,3.5,0.0\n")
    (root / "words.csv").write_text("segment_id,word,start,end\n" + "".join(f"v_1,{w},{s},{e}\n" for w, s, e in WORDS))
    samples = {s.sample_id: s for s in load_corpus("mosi-raw", root).samples}
    assert samples["v_1"].transcript == "i liked it"  # the pause token left out
    assert samples["v_2"].transcript is None and samples["v_2"].extra["words"] == []  # no word in words.csv: silent
    build_dataset(tmp_path / "ds", list(samples.values()), [], corpus_kind="mosi-raw")
    report = check_dataset(tmp_path / "ds")
    assert not [i for i in report.errors if i.code == "transcript-missing"], [i.message for i in report.errors]


def test_a_text_column_keeps_its_transcripts_and_words_stay_as_given(tmp_path):
    root = _whole_video(tmp_path / "corpus")
    (root / "segments.csv").write_text("segment_id,video_id,audio,text\nv,v,audio/v.wav,I Liked It!\nw,w,audio/v.wav,\n")
    samples = {s.sample_id: s for s in load_corpus("mosi-raw", root).samples}
    assert samples["v"].transcript == "I Liked It!"
    assert samples["w"].transcript is None and "words" not in samples["w"].extra
