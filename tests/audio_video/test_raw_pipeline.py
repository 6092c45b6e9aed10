"""Raw corpora through `mmdata.pipeline.extract`: temporal tables on disk, bad media as errors-table rows."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ExtractionError
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset
from tests.fakes.av import (
    write_empty_file,
    write_fake_mmsa,
    write_fake_mosi_generic,
    write_mp4,
    write_silent_wav,
    write_tone_wav,
    write_truncated_wav,
)

BAD = {
    # sample id: (expected error type, expected words in the reason)
    "truncated": ("MediaError", "WAV file is truncated"),
    "empty": ("MediaError", "audio file is empty (0 bytes)"),
    "silent": ("MediaError", "is silent"),
    "no-audio": ("MediaError", "no audio stream"),
}


@pytest.fixture
def bad_corpus(tmp_path):
    """A generic mosi-raw corpus: two good segments and one of each kind of bad audio."""
    root = tmp_path / "raw"
    write_tone_wav(root / "audio/good.wav", 220, 0.5)
    write_truncated_wav(root / "audio/truncated.wav")
    write_empty_file(root / "audio/empty.wav")
    write_silent_wav(root / "audio/silent.wav")
    write_mp4(root / "video/no-audio.mp4", [(32, 96, 224)], fps=10, frames_per_color=5, size=(32, 24))
    rows = [
        "segment_id,audio,video,start,end,label",
        "good,audio/good.wav,,,,1.0",
        "good-part,audio/good.wav,,0.1,0.3,1.0",
        "truncated,audio/truncated.wav,,,,0.0",
        "empty,audio/empty.wav,,,,0.0",
        "silent,audio/silent.wav,,,,0.0",
        "no-audio,,video/no-audio.mp4,,,0.0",
    ]
    (root / "segments.csv").write_text("\n".join(rows) + "\n")
    return root


def test_bad_media_become_error_rows_and_null_features_in_row_aligned_tables(bad_corpus, tmp_path, librosa_ready):
    report = extract("mosi-raw", bad_corpus, tmp_path / "out", extractors=["torchaudio-logmel", "librosa-mfcc"],
                     num_workers=0, batch_size=4)
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [
        ("audio.torchaudio-logmel", 6, 4), ("audio.librosa-mfcc", 6, 4)]
    data = open_dataset(tmp_path / "out")
    errors = data.errors().to_pylist()
    for table in ("audio.torchaudio-logmel", "audio.librosa-mfcc"):
        rows = {e["sample_id"]: e for e in errors if e["table"] == table}
        assert sorted(rows) == sorted(BAD)
        for sample_id, (error_type, words) in BAD.items():
            assert rows[sample_id]["error_type"] == error_type and rows[sample_id]["stage"] == "decode"
            assert words in rows[sample_id]["reason"]
        assert "no-audio.mp4" in rows["no-audio"]["reason"] and rows["truncated"]["path"] == "audio/truncated.wav"
        assert rows["no-audio"]["path"] == "video/no-audio.mp4"  # the file its audio was to come from
    spec = data.spec("audio.torchaudio-logmel")
    assert (spec.kind, spec.intervals, spec.frame_rate, spec.dim) == ("sequence", True, 100.0, 80)
    table = data.table("audio.torchaudio-logmel").to_table().to_pylist()
    by_id = {r["sample_id"]: r for r in table}
    assert [r["sample_id"] for r in table] == data.samples_table(["sample_id"]).column("sample_id").to_pylist()
    assert all(by_id[s]["feature"] is None for s in BAD)
    assert len(by_id["good"]["feature"]) == 51 and len(by_id["good"]["feature"][0]) == 80
    part = np.array(by_id["good-part"]["intervals"])
    assert part[0, 0] == pytest.approx(0.1) and part[-1, 1] == pytest.approx(0.3)
    mfcc = {r["sample_id"]: r for r in data.table("audio.librosa-mfcc").to_table().to_pylist()}
    assert np.array(mfcc["good"]["feature"]).shape == (51, 13)


def test_decoding_in_worker_processes_gives_the_same_table(bad_corpus, tmp_path):
    tables = {}
    for workers in (0, 2):
        extract("mosi-raw", bad_corpus, tmp_path / f"out{workers}", extractors=["torchaudio-logmel"],
                num_workers=workers, batch_size=2)
        data = open_dataset(tmp_path / f"out{workers}")
        tables[workers] = (data.table("audio.torchaudio-logmel").to_table(), data.errors().num_rows)
    assert tables[2][0].equals(tables[0][0]) and tables[2][1] == tables[0][1] == 4


def test_on_error_fail_stops_naming_the_sample_and_the_file(bad_corpus, tmp_path):
    with pytest.raises(ExtractionError, match=r"sample 'empty' \(audio/empty.wav\): decode failed in audio.kaldi-fbank: MediaError: audio file is empty"):
        extract("mosi-raw", bad_corpus, tmp_path / "out", extractors=["kaldi-fbank"], num_workers=0, on_error="fail")


def test_word_embeddings_table_from_word_timings_and_a_sample_without_them(tmp_path):
    fake = write_fake_mosi_generic(tmp_path / "generic")
    report = extract("mosi-raw", fake.root, tmp_path / "out", extractors=["word-embeddings:method=hashed,dim=16"],
                     num_workers=0)
    assert [(t.rows, t.errors) for t in report.tables] == [(3, 2)]
    data = open_dataset(tmp_path / "out")
    rows = {r["sample_id"]: r for r in data.table("text.word-embeddings-hashed").to_table().to_pylist()}
    assert rows["rec1_a"]["intervals"] == [[0.1, 0.4], [0.5, 0.9]] and len(rows["rec1_a"]["feature"][0]) == 16
    errors = {e["sample_id"]: e for e in data.errors().to_pylist()}
    assert errors["rec2_a"]["error_type"] == "CorpusFormatError" and "no word timings" in errors["rec2_a"]["reason"]


def test_video_frames_and_audio_of_mmsa_clips(tmp_path):
    fake = write_fake_mmsa(tmp_path / "sims")
    report = extract("mmsa-raw", fake.root, tmp_path / "out", num_workers=0,
                     extractors=["video-frames:image_options=bins=4,fps=5", "torchaudio-mfcc"])
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [
        ("video.frames-color-hist", 3, 0), ("audio.torchaudio-mfcc", 3, 0)]
    data = open_dataset(tmp_path / "out")
    frames = data.table("video.frames-color-hist").to_table().to_pylist()
    assert [len(r["feature"]) for r in frames] == [3, 3, 3]  # 0.5 s clips at 5 fps
    assert data.spec("video.frames-color-hist").frame_rate == 5.0
    mfcc = data.table("audio.torchaudio-mfcc").to_table().to_pylist()
    assert all(40 <= len(r["feature"]) <= 52 for r in mfcc)
