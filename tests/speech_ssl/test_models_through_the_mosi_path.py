"""The speech and video clip models through the whole MOSI path a user runs: a MOSI-style raw corpus
(the demo's, with espeak-ng speech) -> `extract` (wav2vec2-base frames, r3d-18 clips of 1 s, hashed
bag of words) -> `check` -> `align` to the clips -> `check` -> `fuse` (pooled, and padded sequences)
-> FusedDataset + DataLoader -> `train sentiment` (refusing a one-row train split) -> `share` + `verify`. Random weights, 3 short
segments and tiny frames keep it to seconds on a CPU."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.demo_corpora.mosi_demo import MosiDemoConfig, write_mosi_demo
from mmdata.fusion import FusedDataset
from mmdata.store import open_dataset

runner = CliRunner()
SPEECH = "wav2vec2-base:weights=random,seed=0"
CLIPS = "r3d-18:weights=random,seed=0,fps=8,clip_frames=8"  # clips of 1 s
AUDIO, VIDEO, TEXT = "audio.wav2vec2-base", "video.r3d-18", "text.hashed-bow"
ALIGNED = [f"{AUDIO}@{VIDEO}", f"{VIDEO}@{VIDEO}"]


def mmdata(*args: str) -> str:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    """The dataset after extract and align, with the check outputs of both stages."""
    root = tmp_path_factory.mktemp("mosi-path")
    write_mosi_demo(root / "corpus", MosiDemoConfig(num_videos=3, segments_per_video=1, width=32, height=24))
    data = root / "dataset"
    mmdata("extract", "mosi-raw", root / "corpus", data, "--audio", SPEECH, "--video", CLIPS, "--text", "hashed-bow",
           "-j", "0", "-q")
    after_extract = mmdata("check", data)
    mmdata("align", data, "--reference", VIDEO, "--tables", AUDIO)
    after_align = mmdata("check", data)
    return root, data, after_extract, after_align


def test_check_is_clean_after_extract_and_after_align(path):
    _, data, after_extract, after_align = path
    for output in (after_extract, after_align):
        assert "0 errors, 0 warnings" in " ".join(output.split()), output
    assert {AUDIO, VIDEO, TEXT, *ALIGNED} <= set(open_dataset(data).table_names)


def test_frames_and_clips_match_the_media_and_align_onto_the_clips(path):
    _, data, _, _ = path
    dataset = open_dataset(data)
    samples = {row["sample_id"]: json.loads(row["extra"]) for row in dataset.samples().to_table().to_pylist()}
    speech = {row["sample_id"]: row for row in dataset.table(AUDIO).to_table().to_pylist()}
    clips = {row["sample_id"]: row for row in dataset.table(VIDEO).to_table().to_pylist()}
    aligned = {row["sample_id"]: row for row in dataset.table(f"{AUDIO}@{VIDEO}").to_table().to_pylist()}
    assert len(samples) == 3
    for sample_id, extra in samples.items():
        wav_samples = round(extra["audio_duration"] * 16000)
        assert len(speech[sample_id]["feature"]) == 1 + (wav_samples - 400) // 320  # 20 ms frames, 25 ms window
        assert speech[sample_id]["intervals"][-1][1] == pytest.approx(extra["audio_duration"], abs=1e-4)
        intervals = np.array(clips[sample_id]["intervals"])
        assert len(intervals) == int(np.ceil(extra["video_duration"] - 1e-6))  # 1 s clips, the last one padded
        np.testing.assert_allclose(intervals[:, 0], np.arange(len(intervals)))
        assert intervals[-1, 1] == pytest.approx(extra["video_duration"], abs=1e-6)
        np.testing.assert_allclose(np.array(aligned[sample_id]["intervals"]), intervals)
        assert len(aligned[sample_id]["feature"]) == len(intervals)


def test_fuse_pooled_and_padded_then_a_dataloader_batch(path):
    root, data, _, _ = path
    pooled, padded = root / "pooled", root / "padded"
    mmdata("fuse", data, pooled, "--tables", f"{TEXT},{AUDIO},{VIDEO}", "--format", "arrow")
    mmdata("fuse", data, padded, "--tables", ",".join([TEXT, *ALIGNED]), "--sequences", "pad", "--format", "npy")
    dim = 1024 + 768 + 512
    longest = max(len(row["feature"]) for row in open_dataset(data).table(VIDEO).to_table().to_pylist())

    batch = next(iter(DataLoader(FusedDataset(pooled, "train"), batch_size=4)))
    assert batch["feature"].shape == (1, dim) and batch["feature"].dtype == torch.float32
    assert torch.isfinite(batch["feature"]).all()

    batch = next(iter(DataLoader(FusedDataset(padded, "test"), batch_size=4)))
    assert batch["feature"].shape == (1, longest, dim)
    assert batch["mask"].shape == (1, longest) and batch["mask"].sum() == batch["length"].sum()

    # `train sentiment` reads the export, and refuses its one train row (3 segments, one per split) as
    # nothing to learn from, naming it, rather than reporting metrics of a model fit to one point.
    result = runner.invoke(app, ["train", "sentiment", str(pooled), "--model", "early", "--epochs", "1",
                                 "--out", str(root / "metrics.json")])
    assert result.exit_code == 2 and "split 'train' of" in result.output and "has 1 labelled row" in result.output
    assert not (root / "metrics.json").exists()


def test_share_and_verify_the_extracted_and_aligned_tables(path):
    root, data, _, _ = path
    share = root / "share"
    mmdata("share", data, "--out", share)
    assert "ok:" in mmdata("verify", share)
    card = (share / "README.md").read_text(encoding="utf-8")
    for table in (AUDIO, VIDEO, *ALIGNED):
        assert f"config_name: {table}" in card
    assert "frame rate 50 Hz" in card and "frame rate 1 Hz" in card
