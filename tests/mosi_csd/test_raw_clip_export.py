"""Raw CMU-MOSI clips (+ the SDK's labels) -> extract -> export-csd --keys sdk -> the csd loader reads it back."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.audio_video.test_mosi_raw_sdk_labels import SDK_SEGMENTS, write_sdk_labels
from tests.fakes.av import write_fake_mosi_cmu, write_tone_wav
from tests.fakes.csd import LABELS_FILE, LABELS_ROOT

runner = CliRunner()
LOGMEL = "torchaudio-logmel:n_mels=8"
TABLE = "audio.torchaudio-logmel"


def read_all(path):
    with CsdFile(path) as csd:
        return csd.root_name, {key: csd.read(key) for key in csd.video_ids}


def rows_by_id(dataset, name):
    return {r["sample_id"]: r for r in dataset.table(name).to_table().to_pylist()}


def raw_with_sdk_labels(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    write_sdk_labels(fake.root / LABELS_FILE)
    extract("mosi-raw", fake.root, tmp_path / "out", extractors=[LOGMEL], num_workers=0)
    return fake


def test_raw_clips_export_under_sdk_keys_in_video_time_and_reload_with_the_same_labels(tmp_path):
    raw_with_sdk_labels(tmp_path)
    result = runner.invoke(app, ["export-csd", str(tmp_path / "out"), str(tmp_path / "back"), "--keys", "sdk"])
    assert result.exit_code == 0, result.output
    root, labels = read_all(tmp_path / "back" / LABELS_FILE)
    assert root == LABELS_ROOT and list(labels) == ["Xy9", "a_b-1"]  # the SDK's layout: one key per video
    for vid, rows in SDK_SEGMENTS.items():
        assert labels[vid].features.tolist() == [[r[2]] for r in rows]
        assert labels[vid].intervals.tolist() == [list(r[:2]) for r in rows]
    _, features = read_all(tmp_path / "back" / f"{TABLE}.csd")
    assert list(features) == ["Xy9[0]", "a_b-1[0]", "a_b-1[1]"]
    second = features["a_b-1[1]"].intervals  # clip-relative [0, 0.5] moved to the segment's [2.5, 3.0]
    assert second[0, 0] == pytest.approx(2.5) and second[-1, 1] == pytest.approx(3.0)

    extract("csd", tmp_path / "back", tmp_path / "again", extractors=[], num_workers=0)
    first, again = open_dataset(tmp_path / "out"), open_dataset(tmp_path / "again")
    samples = {s["sample_id"]: s for s in again.samples_table().to_pylist()}
    clip_of = {"a_b-1[0]": "a_b-1_1", "a_b-1[1]": "a_b-1_2", "Xy9[0]": "Xy9_1"}
    assert sorted(samples) == sorted(clip_of)
    original = {s["sample_id"]: s for s in first.samples_table().to_pylist()}
    for key, clip in clip_of.items():
        assert samples[key]["label"] == original[clip]["label"]
        vid, k = clip.rsplit("_", 1)
        assert (samples[key]["start"], samples[key]["end"]) == SDK_SEGMENTS[vid][int(k) - 1][:2]
    reloaded = rows_by_id(again, again.table_names[0])
    for key, clip in clip_of.items():
        before, after = rows_by_id(first, TABLE)[clip], reloaded[key]
        assert np.array_equal(np.array(after["feature"], np.float32), np.array(before["feature"], np.float32)), key
        start = samples[key]["start"]
        np.testing.assert_allclose(np.array(after["intervals"]), np.array(before["intervals"]) + start, atol=1e-9)


def test_clip_rows_past_the_segment_are_cut_and_keys_with_gaps_are_written_one_per_segment(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    for clip in ("Raw/Audio/WAV_16000/Segmented/a_b-1_1.wav", "Raw/Video/Segmented/a_b-1_1.mp4"):
        (fake.root / clip).unlink()  # a_b-1 keeps only its second clip: SDK key a_b-1[1]
    write_sdk_labels(fake.root / LABELS_FILE, {"a_b-1": [(2.0, 2.5, 1.5), (2.5, 2.8, -0.25)], "Xy9": [(10.0, 10.5, -2.75)]})
    extract("mosi-raw", fake.root, tmp_path / "out", extractors=[LOGMEL], num_workers=0)
    export_csd(tmp_path / "out", tmp_path / "back", keys="sdk")
    _, labels = read_all(tmp_path / "back" / LABELS_FILE)
    assert {k: (v.features.tolist(), v.intervals.tolist()) for k, v in labels.items()} == {
        "Xy9[0]": ([[-2.75]], [[10.0, 10.5]]), "a_b-1[1]": ([[-0.25]], [[2.5, 2.8]])}
    _, features = read_all(tmp_path / "back" / f"{TABLE}.csd")
    clip = np.array(rows_by_id(open_dataset(tmp_path / "out"), TABLE)["a_b-1_2"]["intervals"])
    assert clip[-1, 1] == pytest.approx(0.5)  # the 0.5 s clip is longer than its 0.3 s segment
    cut = features["a_b-1[1]"].intervals
    assert cut.min() == pytest.approx(2.5) and cut.max() == pytest.approx(2.8) and len(cut) < len(clip)
    extract("csd", tmp_path / "back", tmp_path / "again", extractors=[], num_workers=0)
    again = {s["sample_id"]: s["label"] for s in open_dataset(tmp_path / "again").samples_table().to_pylist()}
    assert again == {"Xy9[0]": -2.75, "a_b-1[1]": -0.25}


def test_without_segment_times_sdk_keys_lay_clips_end_to_end_by_their_durations(tmp_path):
    root = tmp_path / "generic"
    write_tone_wav(root / "audio/v_1.wav", duration=0.5)
    write_tone_wav(root / "audio/v_2.wav", duration=0.5)
    (root / "segments.csv").write_text("segment_id,video_id,audio,label,sdk_key,duration\n"
                                       "v_1,v,audio/v_1.wav,1.0,v[0],0.5\nv_2,v,audio/v_2.wav,-1.0,v[1],0.25\n")
    extract("mosi-raw", root, tmp_path / "out", extractors=[LOGMEL], num_workers=0)
    export_csd(tmp_path / "out", tmp_path / "back", keys="sdk")
    _, labels = read_all(tmp_path / "back" / "labels.csd")
    assert labels["v"].features.tolist() == [[1.0], [-1.0]] and labels["v"].intervals.tolist() == [[0.0, 0.5], [0.5, 0.75]]
    _, features = read_all(tmp_path / "back" / f"{TABLE}.csd")
    assert features["v[1]"].intervals.min() == pytest.approx(0.5) and features["v[1]"].intervals.max() == pytest.approx(0.75)


def test_sdk_keys_need_a_key_and_a_place_in_the_video_for_every_sample(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")  # labels.csv: no segment times
    (fake.root / "Raw/Video/Segmented/Xy9_1.mp4").write_bytes(b"not an mp4")  # Xy9_1 has no WAV: nothing to measure
    extract("mosi-raw", fake.root, tmp_path / "out", extractors=[LOGMEL], num_workers=0)
    with pytest.raises(DatasetError, match=r"sample 'Xy9_1' \(key 'Xy9\[0\]'\) has no place in video 'Xy9': no start/end, "
                                           r"no extra.video_start/video_end and no extra.duration.*labels_file="):
        export_csd(tmp_path / "out", tmp_path / "back", keys="sdk")
    root = tmp_path / "generic"
    write_tone_wav(root / "audio/v.wav", duration=0.5)
    (root / "segments.csv").write_text("segment_id,audio,start,end\nv_1,audio/v.wav,0.0,0.5\n")
    extract("mosi-raw", root, tmp_path / "generic-out", extractors=[LOGMEL], num_workers=0)
    result = runner.invoke(app, ["export-csd", str(tmp_path / "generic-out"), str(tmp_path / "x"), "--keys", "sdk"])
    assert result.exit_code == 2 and "error: sample 'v_1' has no SDK key (extra.sdk_key = None)" in result.output
    assert "export with --keys sample" in result.output


def test_sample_keys_stay_the_default_and_say_why_clips_get_no_label_file(tmp_path, caplog):
    raw_with_sdk_labels(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mmdata.formats.csd_export"):
        paths = export_csd(tmp_path / "out", tmp_path / "back")
    assert [p.name for p in paths] == [f"{TABLE}.csd"]
    _, features = read_all(paths[0])
    assert list(features) == ["Xy9_1", "a_b-1_1", "a_b-1_2"]
    assert "3 labelled samples have no start/end (whole clips)" in caplog.text and "keys='sdk'" in caplog.text


def test_a_clip_without_segment_times_among_timed_clips_of_its_video_is_named(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    write_sdk_labels(fake.root / LABELS_FILE, {"a_b-1": [(2.0, 2.5, 1.5)], "Xy9": [(10.0, 10.5, -2.75)]})
    extract("mosi-raw", fake.root, tmp_path / "out", extractors=[LOGMEL], num_workers=0)  # a_b-1_2: no label row
    with pytest.raises(DatasetError, match=r"sample 'a_b-1_2' \(key 'a_b-1\[1\]'\) has no segment times .* while other "
                                           r"clips of video 'a_b-1' have them"):
        export_csd(tmp_path / "out", tmp_path / "back", keys="sdk")
