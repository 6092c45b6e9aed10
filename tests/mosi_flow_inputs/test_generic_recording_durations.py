"""The generic `mosi-raw` layout records the media lengths of whole recordings (rows without
start/end) from the WAV/MP4 headers, as the cmu layout does for its clips, unless segments.csv
gives a `duration` column; `segment` then bounds label segments by those lengths, not by where the
word rows end (a trailing silence after the last word is inside the video)."""
from __future__ import annotations

import numpy as np

from mmdata.alignment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.store import open_dataset
from mmdata.store.metadata import FeatureSpec
from tests.checks.builder import FakeTable, build_dataset
from tests.fakes.av import tone, write_mp4, write_wav
from tests.fakes.csd import LABELS_FILE, LABELS_ROOT, write_sdk_csd

SECONDS = 7.0
# the words end at 5.1 s; a silence runs to the end of the 7 s recording
WORDS = [("the", 0.5, 1.0), ("plot", 1.2, 2.0), ("sp", 2.0, 2.3), ("was", 2.3, 3.0), ("slow", 4.5, 5.1)]
# the last segment runs past the last word by 1.7 s: inside the media, past the rows
SEGMENTS = [(0.4, 3.0), (3.0, 5.0), (4.8, 6.8)]


def write_generic_recordings(root, *, duration_column=False):
    """Two whole recordings (WAV + MP4 of SECONDS each) in segments.csv, without start/end; words.csv."""
    rows = ["segment_id,video_id,audio,video,text" + (",duration" if duration_column else "")]
    for vid in ("vidA", "vidB"):
        write_wav(root / f"audio/{vid}.wav", tone(220.0, SECONDS))
        write_mp4(root / f"video/{vid}.mp4", [(32, 96, 224)], fps=10, frames_per_color=int(SECONDS * 10), size=(32, 24))
        rows.append(f"{vid},{vid},audio/{vid}.wav,video/{vid}.mp4,the plot was slow" + (",6.5" if duration_column else ""))
    (root / "segments.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    words = ["segment_id,word,start,end"] + [f"{vid},{w},{s},{e}" for vid in ("vidA", "vidB") for w, s, e in WORDS]
    (root / "words.csv").write_text("\n".join(words) + "\n", encoding="utf-8")
    return root


def test_whole_recordings_carry_their_wav_and_mp4_lengths(tmp_path):
    root = write_generic_recordings(tmp_path / "corpus")
    for sample in load_corpus("mosi-raw", root).samples:
        assert sample.extra["audio_duration"] == SECONDS
        assert abs(sample.extra["video_duration"] - SECONDS) < 0.11  # the MP4's video stream, a frame at most


def test_a_duration_column_wins_over_the_headers(tmp_path):
    root = write_generic_recordings(tmp_path / "corpus", duration_column=True)
    for sample in load_corpus("mosi-raw", root).samples:
        assert sample.extra["duration"] == "6.5"
        assert "audio_duration" not in sample.extra and "video_duration" not in sample.extra


def test_segments_cut_from_recordings_get_no_header_lengths(tmp_path):
    root = tmp_path / "corpus"
    write_wav(root / "audio/rec.wav", tone(220.0, 2.0))
    (root / "segments.csv").write_text("segment_id,video_id,audio,start,end,text\nrec_1,rec,audio/rec.wav,0.0,1.0,hi\n")
    (sample,) = load_corpus("mosi-raw", root).samples
    assert "audio_duration" not in sample.extra


def _word_table(samples):
    """A word-level table of each whole recording: one row per word, over the words' intervals."""
    intervals = [np.array([[s, e] for _, s, e in sample.extra["words"]]) for sample in samples]
    values = [np.ones((len(i), 2), np.float32) for i in intervals]
    return FakeTable("text.words-fake", FeatureSpec(dim=2, kind="sequence", intervals=True, item_axis="word"),
                     values, intervals)


def _videos_dataset(tmp_path):
    root = write_generic_recordings(tmp_path / "corpus")
    samples = load_corpus("mosi-raw", root).samples
    build_dataset(tmp_path / "videos", samples, [_word_table(samples)], corpus_kind="mosi-raw")
    labels = {vid: (np.array([[1.0], [-1.0], [0.5]], np.float32), np.array(SEGMENTS)) for vid in ("vidA", "vidB")}
    write_sdk_csd(tmp_path / LABELS_FILE, LABELS_ROOT, labels)
    return tmp_path / "videos", tmp_path / LABELS_FILE


def test_segment_keeps_a_segment_running_into_the_trailing_silence(tmp_path):
    videos, labels = _videos_dataset(tmp_path)
    report = segment_dataset(videos, tmp_path / "cut", labels)
    assert not [p for p in report.problems if "past the end" in p.reason]
    cut = open_dataset(tmp_path / "cut")
    errors = cut.errors().to_pylist()
    assert not [e for e in errors if "past the end" in (e.get("reason") or "")], errors
    table = cut.read_table("text.words-fake", columns=["sample_id", "feature"]).to_pydict()
    kept = {i for i, f in zip(table["sample_id"], table["feature"]) if f is not None}
    assert {"vidA[2]", "vidB[2]"} <= kept  # the word "slow" [4.5, 5.1] lies in them


def test_check_knows_the_lengths_of_whole_recordings(tmp_path):
    videos, _ = _videos_dataset(tmp_path)
    report = check_dataset(videos)
    assert not [i for i in report.issues if i.code == "duration-unknown"], [i.message for i in report.issues]


def test_a_video_end_estimated_from_rows_says_so_and_how_to_give_it(tmp_path):
    root = write_generic_recordings(tmp_path / "corpus")
    samples = load_corpus("mosi-raw", root).samples
    for sample in samples:  # a dataset whose samples record no media length (extracted before they were)
        for key in ("audio_duration", "video_duration"):
            sample.extra.pop(key)
    build_dataset(tmp_path / "videos", samples, [_word_table(samples)], corpus_kind="mosi-raw")
    labels = {vid: (np.array([[1.0], [-1.0], [0.5]], np.float32), np.array(SEGMENTS)) for vid in ("vidA", "vidB")}
    write_sdk_csd(tmp_path / LABELS_FILE, LABELS_ROOT, labels)
    segment_dataset(tmp_path / "videos", tmp_path / "cut", tmp_path / LABELS_FILE)
    reasons = [e["reason"] for e in open_dataset(tmp_path / "cut").errors().to_pylist() if "past the end" in e["reason"]]
    assert reasons and all("only estimated" in r and "`duration` column" in r for r in reasons), reasons
