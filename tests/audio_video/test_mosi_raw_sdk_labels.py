"""mosi-raw (cmu layout) with the SDK's label sequence: clip `<vid>_<k>` is row k-1 of key `<vid>`."""
from __future__ import annotations

import re

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.pipeline import extract
from tests.fakes import samples_by_id
from tests.fakes.av import MOSI_SEGMENTS, write_fake_mosi_cmu, write_tone_wav
from tests.fakes.csd import LABELS_FILE, LABELS_ROOT, WORDS_FILE, WORDS_ROOT, word_arrays, write_sdk_csd

# video -> [(start, end, sentiment)] in seconds of the full video; the fake's clips are 0.5 s long
SDK_SEGMENTS = {"a_b-1": [(2.0, 2.5, 1.5), (2.5, 3.0, -0.25)], "Xy9": [(10.0, 10.5, -2.75)]}


def write_sdk_labels(path, segments=SDK_SEGMENTS, *, aligned=False):
    """The SDK's label file: one key per video with one row per segment, or (aligned) one key `vid[i]` per segment."""
    data = {}
    for vid, rows in segments.items():
        values = np.array([r[2:] for r in rows], np.float32).reshape(len(rows), -1)
        intervals = np.array([r[:2] for r in rows], np.float64)
        if aligned:
            data.update({f"{vid}[{i}]": (values[i : i + 1], intervals[i : i + 1]) for i in range(len(rows))})
        else:
            data[vid] = (values, intervals)
    return write_sdk_csd(path, LABELS_ROOT, data)


def sdk_fake(tmp_path, **kwargs):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    write_sdk_labels(fake.root / LABELS_FILE, **kwargs)
    return fake


def expected_rows():
    return {f"{vid}_{k + 1}": row for vid, rows in SDK_SEGMENTS.items() for k, row in enumerate(rows)}


def test_sdk_label_file_in_the_root_gives_each_clip_its_label_and_full_video_times(tmp_path):
    fake = sdk_fake(tmp_path)
    result = load_corpus("mosi-raw", fake.root)
    assert result.problems == []
    samples = samples_by_id(result)
    assert sorted(samples) == sorted(MOSI_SEGMENTS)
    for sample_id, (start, end, label) in expected_rows().items():
        s = samples[sample_id]
        assert s.label == label
        # The clip file is the segment: start/end stay null so extractors read the whole clip.
        assert (s.start, s.end) == (None, None)
        assert (s.extra["video_start"], s.extra["video_end"]) == (start, end)
    assert samples["a_b-1_2"].extra["sdk_key"] == "a_b-1[1]" and "labels" not in samples["a_b-1_2"].extra
    labels = result.metadata["labels"]
    assert (labels["file"], labels["root_name"], labels["keys"]) == (LABELS_FILE, LABELS_ROOT, "videos")
    assert labels["metadata"]["dataset name"] == "CMU-MOSI"


def test_sdk_aligned_label_keys_are_read_one_row_each(tmp_path):
    fake = sdk_fake(tmp_path, aligned=True)
    result = load_corpus("mosi-raw", fake.root)
    assert result.problems == [] and result.metadata["labels"]["keys"] == "segments"
    samples = samples_by_id(result)
    for sample_id, (start, end, label) in expected_rows().items():
        assert (samples[sample_id].label, samples[sample_id].extra["video_start"], samples[sample_id].extra["video_end"]) \
            == (label, start, end)


def test_labels_file_option_takes_a_csd_anywhere_and_keeps_every_label_column(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    several = {vid: [(a, b, s, s / 2) for a, b, s in rows] for vid, rows in SDK_SEGMENTS.items()}
    outside = write_sdk_labels(tmp_path / "sdk" / "my_labels.csd", several)
    samples = samples_by_id(load_corpus("mosi-raw", fake.root, options={"labels_file": str(outside)}))
    assert samples["Xy9_1"].label == -2.75 and samples["Xy9_1"].extra["labels"] == [-2.75, -1.375]
    assert samples["a_b-1_1"].label == 1.5  # not the 1.8 of labels.csv: the option names the file


def test_clip_without_a_label_row_and_video_missing_from_the_file_are_problems_naming_file_and_key(tmp_path):
    fake = sdk_fake(tmp_path, segments={"a_b-1": [(2.0, 2.5, 1.5)]})
    write_tone_wav(fake.root / "Raw/Audio/WAV_16000/Segmented/a_b-1_3.wav", duration=0.5)
    result = load_corpus("mosi-raw", fake.root)
    samples = samples_by_id(result)
    assert samples["a_b-1_1"].label == 1.5
    assert (samples["a_b-1_2"].label, samples["Xy9_1"].label) == (None, None)
    assert "video_start" not in samples["Xy9_1"].extra
    problems = {p.sample_id: p for p in result.problems}
    assert sorted(problems) == ["Xy9_1", "a_b-1_2", "a_b-1_3"]
    assert problems["a_b-1_2"].path.endswith(f"{LABELS_FILE} [{LABELS_ROOT}/data/a_b-1]")
    assert problems["a_b-1_2"].reason.startswith("no label row 1 (key 'a_b-1[1]') for clip 2 of video 'a_b-1'")
    assert problems["Xy9_1"].path.endswith(LABELS_FILE)
    assert re.match(r"video 'Xy9' is not in the label file .* expected key 'Xy9' or 'Xy9\[0\]'; label stays null",
                    problems["Xy9_1"].reason)
    with pytest.raises(CorpusFormatError, match=r"Labels.csd: video 'Xy9' is not in the label file .*\(sample Xy9_1\)"):
        extract("mosi-raw", fake.root, tmp_path / "out", extractors=[], on_error="fail", num_workers=0)


def test_label_rows_without_a_clip_or_with_bad_values_are_reported(tmp_path):
    fake = sdk_fake(tmp_path, segments={"a_b-1": [(2.0, 2.5, 1.5), (2.5, 3.0, float("nan")), (3.0, 3.5, 0.5)],
                                        "Xy9": [(10.0, 10.5, -2.75)]})
    result = load_corpus("mosi-raw", fake.root)
    reasons = sorted((p.sample_id, p.reason.split(";")[0]) for p in result.problems)
    assert reasons[0][0] == "a_b-1_2" and "label row 1 (key a_b-1[1]) is [nan] over [2.5, 3.0]" in reasons[0][1]
    # one problem per clip: the NaN row's, not a second "no label row" for the same clip
    assert reasons[1:] == [("a_b-1_3", "label row 2 (key a_b-1[2]) without a WAV or MP4 clip a_b-1_3")]


def test_a_word_sequence_as_label_file_and_csd_labels_for_mosei_are_refused(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    words = write_sdk_csd(tmp_path / WORDS_FILE, WORDS_ROOT, {"Xy9": word_arrays("abc")})
    with pytest.raises(CorpusFormatError, match="holds words .* expected the SDK's label sequence"):
        load_corpus("mosi-raw", fake.root, options={"labels_file": str(words)})
    mosei = tmp_path / "mosei"
    (mosei / "Raw/Transcript/Segmented/Combined").mkdir(parents=True)
    (mosei / "Raw/Transcript/Segmented/Combined/v1.txt").write_text("v1___1___0.0___1.0___fine\n")
    write_tone_wav(mosei / "Raw/Audio/Full/v1.wav", duration=1.0)
    write_sdk_labels(mosei / "labels.csd", {"v1": [(0.0, 1.0, 1.0)]})
    with pytest.raises(ConfigError, match=r"labels_file='labels.csd': an SDK label sequence \(.csd\) is read in the cmu"):
        load_corpus("mosi-raw", mosei, options={"labels_file": "labels.csd"})


def test_sdk_aligned_key_with_several_rows_is_a_problem_naming_the_clip(tmp_path):
    """The same rule as the csd loader's (`csd_labels.label_rows`), the problem named by the clip."""
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    rows = SDK_SEGMENTS["a_b-1"]
    write_sdk_csd(fake.root / LABELS_FILE, LABELS_ROOT, {
        "a_b-1[0]": (np.array([[rows[0][2]]], np.float32), np.array([rows[0][:2]])),
        "a_b-1[1]": (np.array([[0.5], [1.0]], np.float32), np.array([[2.5, 2.7], [2.7, 3.0]])),
        "Xy9[0]": (np.array([[-2.75]], np.float32), np.array([[10.0, 10.5]])),
    })
    result = load_corpus("mosi-raw", fake.root)
    samples = samples_by_id(result)
    assert (samples["a_b-1_1"].label, samples["a_b-1_2"].label, samples["Xy9_1"].label) == (1.5, None, -2.75)
    reasons = [p.reason for p in result.problems if p.sample_id == "a_b-1_2"]
    assert reasons[0].startswith("label key 'a_b-1[1]' holds 2 rows; expected one row per SDK-aligned key")
    assert reasons[1].startswith("no label row 1 (key 'a_b-1[1]') for clip 2")
    assert {p.sample_id for p in result.problems} == {"a_b-1_2"}


def test_an_unreadable_sdk_aligned_key_costs_only_its_clip(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    write_sdk_csd(fake.root / LABELS_FILE, LABELS_ROOT, {
        "a_b-1[0]": (np.array([[1.5]], np.float32), np.array([[2.0, 2.5]])),
        "a_b-1[1]": (np.array([[0.5], [1.0]], np.float32), np.array([[2.5, 3.0]])),  # 2 feature rows, 1 interval
        "Xy9[0]": (np.array([[-2.75]], np.float32), np.array([[10.0, 10.5]])),
    })
    result = load_corpus("mosi-raw", fake.root)
    samples = samples_by_id(result)
    assert (samples["a_b-1_1"].label, samples["a_b-1_2"].label, samples["Xy9_1"].label) == (1.5, None, -2.75)
    unreadable = [p for p in result.problems if p.sample_id is None]
    assert len(unreadable) == 1 and unreadable[0].path.endswith("a_b-1[1]]") and "label stays null" in unreadable[0].reason


def test_a_feature_sequence_as_label_file_is_refused_naming_it(tmp_path):
    """COVAREP-like frames (several values per row, a file not named as labels) would make every frame a label."""
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    frames = np.zeros((5, 4), np.float32), np.stack([np.arange(5) * 0.01, np.arange(1, 6) * 0.01], axis=1)
    covarep = write_sdk_csd(tmp_path / "CMU_MOSI_COVAREP.csd", "COVAREP", {"Xy9": frames})
    with pytest.raises(CorpusFormatError, match=r"CMU_MOSI_COVAREP.csd: not a label sequence: features of dim 4"):
        load_corpus("mosi-raw", fake.root, options={"labels_file": str(covarep)})
