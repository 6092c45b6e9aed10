"""mosi-raw (CMU raw layout, generic segments.csv) and mmsa-raw (label.csv) loaders."""
from __future__ import annotations

import json
import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from tests.fakes import samples_by_id
from tests.fakes.av import (
    MMSA_ROWS,
    MOSI_SEGMENTS,
    write_fake_mmsa,
    write_fake_mosi_cmu,
    write_fake_mosi_generic,
    write_tone_wav,
)


def test_cmu_layout_counts_ids_labels_splits_and_sdk_keys(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    result = load_corpus("mosi-raw", fake.root)
    samples = samples_by_id(result)
    assert result.problems == [] and sorted(samples) == sorted(MOSI_SEGMENTS)
    for sample_id, (vid, k, _freq, text, label, has_wav, has_mp4) in MOSI_SEGMENTS.items():
        s = samples[sample_id]
        assert (s.group_id, s.transcript, s.label, s.start, s.end) == (vid, text, label, None, None)
        assert (s.audio is not None, s.video is not None) == (has_wav, has_mp4)
        assert s.extra["sdk_key"] == f"{vid}[{k - 1}]" and s.extra["segment"] == k
    assert {sid: s.split for sid, s in samples.items()} == {"a_b-1_1": "train", "a_b-1_2": "train", "Xy9_1": "test"}
    assert samples["a_b-1_1"].extra["words"] == [["i", 0.05, 0.12], ["sp", 0.12, 0.2], ["thought", 0.2, 0.45]]
    assert "words" not in samples["Xy9_1"].extra


def test_split_argument_filters_by_fold(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    assert [s.sample_id for s in load_corpus("mosi-raw", fake.root, split="test").samples] == ["Xy9_1"]


def test_cmu_layout_without_folds_is_split_all_and_videos_missing_from_folds_are_unassigned(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "folds.json").unlink()
    assert {s.split for s in load_corpus("mosi-raw", fake.root).samples} == {"all"}
    (fake.root / "folds.json").write_text(json.dumps({"train": ["a_b-1"]}))
    assert samples_by_id(load_corpus("mosi-raw", fake.root))["Xy9_1"].split == "unassigned"


def test_a_video_in_two_folds_is_a_format_error(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "folds.json").write_text(json.dumps({"train": ["a_b-1"], "test": ["a_b-1"]}))
    with pytest.raises(CorpusFormatError, match="folds.json: video 'a_b-1' is in both folds 'train' and 'test'"):
        load_corpus("mosi-raw", fake.root)


def test_cmu_layout_reads_the_sdks_python_folds_file_without_running_it(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "folds.json").unlink()
    (fake.root / "cmu_mosi_std_folds.py").write_text(
        "raise SystemExit('a folds file must never be executed')\n"
        "standard_train_fold = ['a_b-1']\nstandard_valid_fold = []\nstandard_test_fold = ['Xy9']\n")
    result = load_corpus("mosi-raw", fake.root, options={"folds_file": "cmu_mosi_std_folds.py"})
    assert {s.sample_id: s.split for s in result.samples} == {"a_b-1_1": "train", "a_b-1_2": "train", "Xy9_1": "test"}


def test_raw_releases_record_which_dataset_they_are(tmp_path):
    cmu = write_fake_mosi_cmu(tmp_path / "mosi")
    assert load_corpus("mosi-raw", cmu.root).metadata["dataset"] == "cmu-mosi"
    assert load_corpus("mosi-raw", cmu.root, options={"dataset": "ch-sims"}).metadata["dataset"] == "ch-sims"
    mosei = tmp_path / "mosei" / "Raw/Transcript/Segmented/Combined"
    mosei.mkdir(parents=True)
    (mosei / "v1.txt").write_text("v1___1___0.0___1.0___fine\n")
    write_tone_wav(tmp_path / "mosei" / "Raw/Audio/Full/v1.wav", duration=1.0)
    assert load_corpus("mosi-raw", tmp_path / "mosei").metadata["dataset"] == "cmu-mosei"
    generic = write_fake_mosi_generic(tmp_path / "generic")
    assert "dataset" not in load_corpus("mosi-raw", generic.root).metadata  # a generic layout could be any corpus


def test_labels_by_video_and_segment_number_and_orphans_reported(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").write_text("label,segment,video_id\n2.5,1,a_b-1\n-1.0,1,Xy9\n0.5,9,Xy9\n")
    result = load_corpus("mosi-raw", fake.root)
    samples = samples_by_id(result)
    assert (samples["a_b-1_1"].label, samples["a_b-1_2"].label, samples["Xy9_1"].label) == (2.5, None, -1.0)
    assert [(p.sample_id, p.reason) for p in result.problems][0] == ("Xy9_9", "label without a WAV or MP4 clip; dropped")
    assert result.problems[0].path.endswith("labels.csv:4")
    # the clip without a label row is reported too (its label stays null)
    assert [(p.sample_id, p.reason.split(";")[0]) for p in result.problems[1:]] == [
        ("a_b-1_2", "no label row for clip 2 of video 'a_b-1' in labels.csv")]


def test_missing_labels_fail_unless_not_required(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    with pytest.raises(CorpusNotFoundError, match="no label file .* require_labels=false"):
        load_corpus("mosi-raw", fake.root)
    result = load_corpus("mosi-raw", fake.root, options={"require_labels": "false"})
    assert {s.label for s in result.samples} == {None}


def test_label_file_with_an_unknown_header_names_the_expected_one(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").write_text("clip,score\na_b-1_1,1.0\n")
    with pytest.raises(CorpusFormatError, match=re.escape("labels.csv:1: expected a header with 'segment_id,label'")):
        load_corpus("mosi-raw", fake.root)


def test_transcript_line_without_a_clip_is_reported(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    with (fake.root / "Raw/Transcript/Segmented/Xy9.annotprocessed").open("a") as f:
        f.write("2_DELIM_a segment whose clips are missing\n")
    result = load_corpus("mosi-raw", fake.root)
    assert [(p.sample_id, p.reason) for p in result.problems] == [("Xy9_2", "transcript line without a WAV or MP4 clip; dropped")]
    lines = (fake.root / "Raw/Transcript/Segmented/Xy9.annotprocessed").read_text().splitlines()
    assert result.problems[0].path == f"Raw/Transcript/Segmented/Xy9.annotprocessed:{len(lines)}"  # file and line


def test_generic_layout_reads_segments_of_whole_recordings_by_header(tmp_path):
    fake = write_fake_mosi_generic(tmp_path / "generic")
    samples = samples_by_id(load_corpus("mosi-raw", fake.root))
    assert sorted(samples) == ["rec1_a", "rec1_b", "rec2_a"]
    a, b, c = samples["rec1_a"], samples["rec1_b"], samples["rec2_a"]
    assert (a.audio, a.start, a.end, a.label, a.split, a.group_id) == ("audio/rec1.wav", 0.0, 1.0, 1.5, "train", "rec1")
    assert (b.start, b.end, b.transcript) == (1.0, 2.0, "second half")
    assert (c.audio, c.video, c.start, c.end, c.label, c.split) == (None, "video/rec2.mp4", 0.5, 1.5, 0.0, "test")
    assert a.extra["words"] == [["first", 0.1, 0.4], ["half", 0.5, 0.9]]


def test_generic_layout_rejects_end_before_start_and_paths_outside_the_root(tmp_path):
    fake = write_fake_mosi_generic(tmp_path / "generic")
    path = fake.root / "segments.csv"
    header = path.read_text().splitlines()[0]
    path.write_text(header + "\nx,1.0,train,rec1,audio/rec1.wav,,2.0,1.0,backwards\n")
    problems = load_corpus("mosi-raw", fake.root).problems  # the row alone is left out, named
    assert any(p.path == f"{path}:2" and "segment end 1.0 <= start 2.0" in p.reason for p in problems)
    path.write_text(header + "\nx,1.0,train,rec1,../outside.wav,,,,escaping\n")
    with pytest.raises(CorpusFormatError, match="points outside the corpus root"):
        load_corpus("mosi-raw", fake.root)


@pytest.mark.parametrize("start,end", [(0.5, 0.2), (-0.1, 0.2)])
def test_word_timing_with_end_before_start_or_negative_names_file_and_line(tmp_path, start, end):
    fake = write_fake_mosi_generic(tmp_path / "generic")
    (fake.root / "words.csv").write_text(f"segment_id,word,start,end\nrec1_a,oops,{start},{end}\n")
    expected = f"{fake.root / 'words.csv'}:2: word start {start}, end {end}; expected 0 <= start <= end"
    with pytest.raises(CorpusFormatError, match=re.escape(expected)):
        load_corpus("mosi-raw", fake.root)


def test_mmsa_ids_splits_labels_and_unimodal_labels(tmp_path):
    fake = write_fake_mmsa(tmp_path / "sims")
    result = load_corpus("mmsa-raw", fake.root)
    samples = samples_by_id(result)
    assert result.problems == [] and len(samples) == 3
    s = samples["video_0001$_$0002"]
    assert (s.split, s.label, s.transcript, s.group_id, s.video, s.audio) == (
        "valid", 0.2, "还可以吧", "video_0001", "Raw/video_0001/0002.mp4", None)
    assert s.extra == {"label_T": 0.0, "label_A": 0.4, "label_V": 0.2, "annotation": "Positive",
                       "video_id": "video_0001", "clip_id": "0002"}
    assert [x.sample_id for x in load_corpus("mmsa-raw", fake.root, split="test").samples] == ["video_0002$_$0001"]


@pytest.mark.parametrize("order", [tuple(range(9)), (8, 7, 6, 5, 4, 3, 2, 1, 0), (1, 0, 8, 3, 2, 4, 5, 6, 7)])
def test_mmsa_label_csv_is_parsed_by_header_in_any_column_order(tmp_path, order):
    fake = write_fake_mmsa(tmp_path / "sims", order=order)
    samples = samples_by_id(load_corpus("mmsa-raw", fake.root))
    got = {sid: (s.label, s.split, s.transcript, s.extra["label_A"]) for sid, s in samples.items()}
    assert got == {f"{r[0]}$_${r[1]}": (float(r[3]), r[8], r[2], float(r[5])) for r in MMSA_ROWS}


def test_mmsa_missing_clip_is_reported_and_missing_columns_named(tmp_path):
    fake = write_fake_mmsa(tmp_path / "sims")
    (fake.root / "Raw/video_0002/0001.mp4").unlink()
    result = load_corpus("mmsa-raw", fake.root)
    assert len(result.samples) == 2
    assert [(p.sample_id, p.path) for p in result.problems] == [("video_0002$_$0001", "Raw/video_0002/0001.mp4")]
    (fake.root / "label.csv").write_text("video_id,clip_id,text,label\nv,1,hi,0.5\n")
    with pytest.raises(CorpusFormatError, match=r"label.csv:1: header lacks \['mode'\]"):
        load_corpus("mmsa-raw", fake.root)
