"""scripts/gpu_check.py on a machine without a GPU: its CPU-against-CPU mode runs every part of the check
(here one model of each family on tiny inputs), and a CUDA device that is not there exits 2 with one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"
VIDEO, SPEECH = "r3d-18", "wav2vec2-base"


def run_script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("OUT", None)  # the script writes gpu_check.json to $OUT when set
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    """The script with --device cpu, the smallest run that still has every section."""
    out = tmp_path_factory.mktemp("gpu-check")
    result = run_script("--device", "cpu", "--images", "2", "--models", "resnet18", "--skip-text",
                        "--video-models", VIDEO, "--speech-models", SPEECH, "--repeats", "1", "--out", str(out))
    return result, json.loads((out / "gpu_check.json").read_text()) if (out / "gpu_check.json").is_file() else None


def test_cpu_mode_passes_every_check(cpu_run):
    result, summary = cpu_run
    assert result.returncode == 0, result.stderr[-3000:]
    printed = json.loads(result.stdout)
    assert printed["ok"] and printed["failed"] == [] and summary["failed"] == []
    for name in ("resnet18", VIDEO, SPEECH):
        for mode in ("default", "ieee"):
            assert printed["checks"][f"{name}: cpu vs cpu ({mode} precision)"] is True
        assert printed["checks"][f"{name} device=cpu model is on it"] is True


def test_cpu_mode_reports_video_and_speech_models(cpu_run):
    _, summary = cpu_run
    clips = summary["video"][VIDEO]
    assert (clips["rows"], clips["dim"]) == (3, 512)  # samples of 1 and 2 clips
    frames = summary["speech"][SPEECH]
    assert (frames["rows"], frames["dim"]) == (49 + 24, 768)  # 1 s and 0.5 s of 20 ms frames
    for result in (clips, frames):
        assert result["cpu_seconds"]["first"] > 0 and result["cpu_seconds"]["best"] > 0
        for mode in ("default", "ieee"):
            assert result[mode]["shape"] == [result["rows"], result["dim"]]
            assert result[mode]["max_rel"] <= summary["tolerances"]["fp32_rel"] and result[mode]["min_cos"] > 0.9999
            assert result[mode]["device_seconds"]["best"] > 0
    tf32 = [c for c in summary["checks"] if c["name"] == f"{VIDEO}: cpu vs cpu (default precision)"]
    assert tf32[0]["tol_rel"] == summary["tolerances"]["tf32_conv_rel"]  # 3D convolutions: the backbones' tolerance


def test_absent_cuda_device_exits_2_saying_so():
    absent = f"cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}"
    result = run_script("--device", absent)
    assert result.returncode == 2, result.stderr[-3000:]
    printed = json.loads(result.stdout)
    assert printed["ok"] is False and f"device '{absent}' asked for, but torch sees" in printed["error"]
