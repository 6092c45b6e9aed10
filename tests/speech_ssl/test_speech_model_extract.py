"""`mmdata extract` on a manifest corpus with wav2vec2-base and hubert-base (random weights): a sequence
table at 50 Hz with intervals and a pooled table, an unreadable file and a too-short segment in the
errors table, and `mmdata check` content with the frame counts."""
from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store import open_dataset
from tests.fakes.av import write_wav

runner = CliRunner()


def test_extract_writes_frames_pooled_vectors_and_item_errors(audio, tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    write_wav(root / "speech.wav", audio.speech)
    (root / "tone.wav").write_bytes(audio.tone_wav.read_bytes())
    (root / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    rows = [{"id": "speech", "audio": "speech.wav", "text": "hello world"},
            {"id": "tone-cut", "audio": "tone.wav", "text": "x", "start": 0.5, "end": 1.2},
            {"id": "broken", "audio": "broken.wav", "text": "x"},
            {"id": "too-short", "audio": "tone.wav", "text": "x", "start": 0.1, "end": 0.11}]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "manifest", str(root), str(out), "-j", "0",
                                 "--audio", "wav2vec2-base:weights=random,seed=0",
                                 "--audio", "hubert-base:weights=random,seed=0,pool=mean,layer=9"])
    assert result.exit_code == 0, result.output
    dataset = open_dataset(out)
    assert {"audio.wav2vec2-base", "audio.hubert-base-layer9-mean"} <= set(dataset.table_names)

    frames = {r["sample_id"]: r for r in dataset.read_table("audio.wav2vec2-base").to_pylist()}
    speech = np.asarray(frames["speech"]["feature"])
    assert speech.shape == (1 + (len(audio.speech) - 400) // 320, 768)
    cut = np.asarray(frames["tone-cut"]["intervals"])
    assert len(cut) == 1 + (11200 - 400) // 320 and cut[0, 0] == 0.5 and abs(cut[-1, 1] - 1.2) < 1e-9
    assert frames["broken"]["feature"] is None and frames["too-short"]["feature"] is None
    metadata = dataset.table_metadata("audio.wav2vec2-base")
    assert metadata["spec"] == {"dim": 768, "dtype": "float32", "kind": "sequence", "intervals": True,
                                "frame_rate": 50.0, "item_axis": "time", "frame_window": 0.025}
    assert metadata["weights"] == {"kind": "random", "bundle": None, "file": None, "sha256": None}
    assert metadata["config"]["seed"] == 0 and {"torch", "torchaudio"} <= set(metadata["versions"])

    pooled = {r["sample_id"]: r["feature"] for r in dataset.read_table("audio.hubert-base-layer9-mean").to_pylist()}
    assert len(pooled["speech"]) == 768 and pooled["broken"] is None

    errors = {(r["table"], r["sample_id"]): r["reason"] for r in dataset.errors().to_pylist()}
    for table in ("audio.wav2vec2-base", "audio.hubert-base-layer9-mean"):
        assert "broken.wav" in errors[(table, "broken")]
        assert "shorter than the receptive field" in errors[(table, "too-short")]
    assert len(errors) == 4

    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "frame-count" not in checked.output
