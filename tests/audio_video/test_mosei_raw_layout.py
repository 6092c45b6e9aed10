"""The CMU-MOSEI raw layout of `mosi-raw`: combined transcripts cut segments out of full recordings."""
from __future__ import annotations

import numpy as np
import pyarrow.dataset as ds
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.pipeline import extract
from tests.fakes.av import write_tone_wav

TRANSCRIPTS = "Raw/Transcript/Segmented/Combined"


def write_mosei_raw(root, lines_by_video, recordings=("-3g5yACwYnA", "zz_9")):
    (root / TRANSCRIPTS).mkdir(parents=True)
    for video_id, lines in lines_by_video.items():
        (root / TRANSCRIPTS / f"{video_id}.txt").write_text("\n".join(lines) + "\n")
    for video_id in recordings:
        write_tone_wav(root / "Raw/Audio/Full/WAV_16000" / f"{video_id}.wav", duration=6.0)
    return root


LINES = {
    "-3g5yACwYnA": ["-3g5yACwYnA___1___0.5___2.25___i really liked it", "",
                    "-3g5yACwYnA___2___2.25___4.0___the ending___was weak"],
    "zz_9": ["zz_9___3___1.0___3.0___fine"],
    "missing": ["missing___1___0.0___1.0___no recording"],
}


def test_segments_come_from_combined_transcripts_and_full_recordings(tmp_path):
    root = write_mosei_raw(tmp_path / "mosei", LINES)
    (root / "labels.csv").write_text("segment_id,label\n-3g5yACwYnA_1,2.4\nzz_9_3,-1.0\n")
    result = load_corpus("mosi-raw", root, options={"labels_file": "labels.csv", "dataset": "cmu-mosei"})
    samples = {s.sample_id: s for s in result.samples}
    assert sorted(samples) == ["-3g5yACwYnA_1", "-3g5yACwYnA_2", "zz_9_3"]
    first = samples["-3g5yACwYnA_1"]
    assert (first.audio, first.start, first.end) == ("Raw/Audio/Full/WAV_16000/-3g5yACwYnA.wav", 0.5, 2.25)
    assert first.group_id == "-3g5yACwYnA" and first.label == 2.4 and first.transcript == "i really liked it"
    assert samples["-3g5yACwYnA_2"].transcript == "the ending___was weak" and samples["-3g5yACwYnA_2"].label is None
    assert [(p.sample_id, "no recording" in p.reason) for p in result.problems] == [("missing_1", True)]


def test_frames_of_a_mosei_segment_stay_inside_it(tmp_path):
    root = write_mosei_raw(tmp_path / "mosei", {"zz_9": LINES["zz_9"]}, recordings=("zz_9",))
    extract("mosi-raw", root, tmp_path / "out", extractors=["kaldi-fbank"], num_workers=0)
    table = ds.dataset(tmp_path / "out" / "features" / "audio.kaldi-fbank").to_table()
    intervals = np.array(table.column("intervals")[0].as_py())
    assert len(intervals) > 150 and intervals.min() >= 1.0 - 1e-6 and intervals.max() <= 3.0 + 1e-6


def test_malformed_combined_line_names_file_and_line(tmp_path):
    root = write_mosei_raw(tmp_path / "mosei", {"zz_9": ["zz_9___3___1.0___3.0___fine", "zz_9___x___oops"]})
    with pytest.raises(CorpusFormatError, match=r"zz_9.txt:2: expected '<vid>___<k>___<start>___<end>___<text>'"):
        load_corpus("mosi-raw", root)
    root = write_mosei_raw(tmp_path / "mosei2", {"zz_9": ["zz_9___3___3.0___1.0___backwards", "zz_9___4___3.0___4.0___ok"]})
    result = load_corpus("mosi-raw", root)  # the line alone is left out, named
    assert [s.start for s in result.samples] == [3.0]
    assert any(p.path.endswith("zz_9.txt:1") and "segment end 1.0 <= start 3.0" in p.reason for p in result.problems)
