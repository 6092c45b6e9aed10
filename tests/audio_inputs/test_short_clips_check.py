"""`mmdata check`'s frame-count rule knows each audio extractor's edge loss: openSMILE's eGeMAPS LLDs
and Kaldi fbank with snip_edges drop the frames whose window runs past the end of a segment (26
frames for 0.3 s at 100 Hz, not 30), which a tolerance of 2 frames or 10% failed on short clips
(MOSI has many). The extractors record the window as the spec's `frame_window`; tables without it
keep the old rule, and a table really missing frames still fails."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from mmdata.checks import check_dataset, temporal
from mmdata.pipeline import extract
from mmdata.store.metadata import FeatureSpec
from mmdata.store.reader import open_dataset
from tests.fakes.av import tone, write_wav

#: Segment lengths of the short clips (seconds): MOSI's shortest opinion segments.
LENGTHS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
AUDIO_EXTRACTORS = ("librosa-logmel", "librosa-mfcc", "torchaudio-logmel", "torchaudio-mfcc", "kaldi-fbank",
                    "prosody", "egemaps")


def _write_short_clip_corpus(root):
    """One 3 s voiced tone and a manifest of segments of it of `LENGTHS` seconds."""
    t = np.arange(48000) / 16000
    voiced = tone(180, 3.0) + 0.2 * np.sin(2 * np.pi * 360 * t).astype(np.float32)
    write_wav(root / "voice.wav", voiced * 0.8)
    with open(root / "manifest.jsonl", "w") as f:
        for k, length in enumerate(LENGTHS):
            start = 0.2 + 0.35 * k
            f.write(json.dumps({"id": f"seg{k}", "audio": "voice.wav", "start": start, "end": round(start + length, 3),
                                "text": "x"}) + "\n")
    return root


@pytest.fixture(scope="module")
def short_clips(tmp_path_factory):
    """A dataset of the seven audio extractors' tables (and Kaldi's 50 ms window) over clips of 0.1-0.5 s."""
    root = _write_short_clip_corpus(tmp_path_factory.mktemp("corpus"))
    out = tmp_path_factory.mktemp("ds") / "out"
    extract("manifest", root, out, extractors=list(AUDIO_EXTRACTORS), num_workers=0, on_error="fail")
    windowed = tmp_path_factory.mktemp("ds50") / "out"
    extract("manifest", root, windowed, extractors=["kaldi-fbank:frame_length_ms=50"], num_workers=0, on_error="fail")
    return open_dataset(out), open_dataset(windowed)


def _frame_count_issues(dataset, name, *, frame_window="spec", drop=0):
    """`check_frame_count` on a table as `mmdata check` gives it its rows and segment widths."""
    spec = dataset.spec(name)
    table = dataset.read_table(name, ["sample_id", "feature"])
    lengths = np.array([len(f) - drop for f in table.column("feature").to_pylist()])
    widths = np.array([LENGTHS[int(i[3:])] for i in table.column("sample_id").to_pylist()])
    window = spec.frame_window if frame_window == "spec" else frame_window
    return temporal.check_frame_count(name, pa.array(table.column("sample_id").to_pylist()), lengths, widths,
                                      spec.frame_rate, 0.1, frame_window=window)


def _tables(pair):
    dataset, windowed = pair
    return [(dataset, name) for name in dataset.manifest.tables] + [(windowed, "audio.kaldi-fbank")]


def test_every_audio_table_of_short_clips_has_the_frames_its_extractor_gives(short_clips):
    tables = _tables(short_clips)
    assert len(tables) == 8
    for dataset, name in tables:
        # only extractors that drop edge frames record a window; centred frames keep the spec they had
        windowed = name.startswith(("audio.egemaps", "audio.kaldi"))
        assert (dataset.spec(name).frame_window is not None) == windowed, name
        assert _frame_count_issues(dataset, name) == [], name


def test_edge_loss_is_what_failed_the_old_rule(short_clips):
    dataset, windowed = short_clips
    assert _frame_count_issues(dataset, "audio.egemaps-lld", frame_window=None)  # 26 frames for 0.3 s
    assert _frame_count_issues(windowed, "audio.kaldi-fbank", frame_window=None)
    assert dataset.spec("audio.egemaps-lld").frame_window == pytest.approx(0.05)
    assert windowed.spec("audio.kaldi-fbank").frame_window == pytest.approx(0.05)
    assert dataset.spec("audio.librosa-logmel").frame_window is None


def test_a_table_missing_frames_still_fails(short_clips):
    dataset, windowed = short_clips
    for data, name in ((dataset, "audio.egemaps-lld"), (windowed, "audio.kaldi-fbank"), (dataset, "audio.prosody")):
        issues = _frame_count_issues(data, name, drop=4)
        assert [i.code for i in issues] == ["frame-count"], name
        assert issues[0].sample_id == "seg0" and issues[0].count >= 3, name  # the shortest clips, 4 frames short
        if name != "audio.prosody":
            assert "less the edge frames of its 50 ms analysis window" in issues[0].message


def test_expected_frames_follow_the_window():
    widths = np.array([0.3, 1.0, np.nan])
    assert temporal.expected_frames(widths, 100.0, None)[:2].tolist() == pytest.approx([30.0, 100.0])
    assert temporal.expected_frames(widths, 100.0, 0.05)[:2].tolist() == pytest.approx([26.0, 96.0])
    assert temporal.expected_frames(widths, 100.0, 0.0)[:2].tolist() == pytest.approx([31.0, 101.0])
    assert np.isnan(temporal.expected_frames(widths, 100.0, 0.05)[2])


def test_a_spec_without_the_window_reads_and_writes_as_before():
    old = {"dim": 25, "dtype": "float32", "kind": "sequence", "intervals": True, "frame_rate": 100.0, "item_axis": "time"}
    spec = FeatureSpec.from_json(old)
    assert spec.frame_window is None and spec.to_json() == old
    new = FeatureSpec(dim=25, kind="sequence", intervals=True, frame_rate=100.0, frame_window=0.05)
    assert FeatureSpec.from_json(new.to_json()) == new


def test_check_passes_correct_tables_of_short_clips(short_clips):
    for dataset in short_clips:
        report = check_dataset(dataset.root)
        assert not [i for i in report.issues if i.code == "frame-count"], [i.message for i in report.issues]
