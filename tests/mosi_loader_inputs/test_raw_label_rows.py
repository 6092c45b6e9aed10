"""Label rows of the raw loaders: `mosi-raw` clips without a label row, SDK label files, `mmsa-raw` ids."""
from __future__ import annotations

import numpy as np
import soundfile

from mmdata.corpora import load_corpus
from mmdata.formats.csd import write_csd

SEGMENTED = "Raw/Audio/WAV_16000/Segmented"


def _clips(root, names):
    folder = root / SEGMENTED
    folder.mkdir(parents=True)
    for name in names:
        soundfile.write(str(folder / f"{name}.wav"), np.zeros(1600, np.float32), 16000)


def test_a_clip_without_a_row_in_labels_csv_is_a_load_problem(tmp_path):
    _clips(tmp_path, ["vid_1", "vid_2"])
    (tmp_path / "labels.csv").write_text("segment_id,label\nvid_1,1.5\n", encoding="utf-8")
    result = load_corpus("mosi-raw", tmp_path)
    assert {s.sample_id: s.label for s in result.samples} == {"vid_1": 1.5, "vid_2": None}
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("vid_2", str(tmp_path / "labels.csv"))
    assert problem.reason.startswith("no label row for clip 2 of video 'vid' in labels.csv") and "stays null" in problem.reason


def _sdk_labels(root, values):
    intervals = np.array([[i, i + 1.0] for i in range(len(values))])
    write_csd(root / "CMU_MOSI_Opinion_Labels.csd", "Opinion Segment Labels",
              [("vid", np.array(values, np.float32).reshape(-1, 1), intervals)])


def test_sdk_labels_read_as_the_float32_decimals_mmsa_reads(tmp_path):
    _clips(tmp_path, ["vid_1", "vid_2"])
    _sdk_labels(tmp_path, [2.8, -0.6])
    result = load_corpus("mosi-raw", tmp_path)
    assert [s.label for s in result.samples] == [2.8, -0.6] and result.problems == []


def test_a_nan_sdk_label_row_is_one_load_problem_for_its_clip(tmp_path):
    _clips(tmp_path, ["vid_1", "vid_2"])
    _sdk_labels(tmp_path, [np.nan, 1.0])
    result = load_corpus("mosi-raw", tmp_path)
    assert [s.label for s in result.samples] == [None, 1.0]
    [problem] = result.problems
    assert problem.sample_id == "vid_1" and "is [nan]" in problem.reason


def test_mmsa_raw_pairs_joining_to_one_id_are_named_as_such(tmp_path):
    for video, clip in (("a$_$b", "c"), ("a", "b$_$c")):
        (tmp_path / "Raw" / video).mkdir(parents=True, exist_ok=True)
        (tmp_path / "Raw" / video / f"{clip}.mp4").write_bytes(b"")
    (tmp_path / "label.csv").write_text("video_id,clip_id,label,mode\na$_$b,c,1,train\na,b$_$c,2,train\n",
                                        encoding="utf-8")
    result = load_corpus("mmsa-raw", tmp_path)
    [problem] = result.problems
    assert "duplicate" not in problem.reason
    assert problem.reason.startswith("(video_id, clip_id) ('a', 'b$_$c') and ('a$_$b', 'c') at ")
    assert "join to the same sample id 'a$_$b$_$c'" in problem.reason
