"""The speech models (wav2vec2-base, hubert-base) and clip models (r3d-18) with random weights under
`--executor ray`: the local executor's tables bit for bit (sequence rows with their intervals, speech
cut into `max_seconds` windows), the same recorded provenance, the same failed items in
the errors table, and a clean `mmdata check`; relative paths mean what they mean in the calling process,
whatever directory Ray's workers run in."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from mmdata.checks import check_dataset
from mmdata.features import create_extractor
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.speech_video import FAILING, write_speech_video_corpus

#: Small enough for a CPU: two transformer layers, 4-frame clips at 4 fps. wav2vec2-base's 0.6 s windows
#: cut the 1.4 s speech and the 1 s tone segment into several forward passes.
EXTRACTORS = ("wav2vec2-base:weights=random,seed=3,layer=2,max_seconds=0.6",
              "r3d-18:weights=random,seed=2,fps=4,clip_frames=4")
TABLES = ("audio.wav2vec2-base-layer2", "video.r3d-18")
POOLED = "hubert-base:weights=random,seed=1,layer=1,pool=mean"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_speech_video_corpus(tmp_path_factory.mktemp("speech-video"))


def test_ray_writes_the_local_tables_provenance_and_errors_of_speech_and_clip_models(ray_session, corpus, tmp_path):
    args = dict(extractors=list(EXTRACTORS), shard_size=2, batch_size=2)
    local = extract("manifest", corpus, tmp_path / "local", num_workers=0, **args)
    remote = extract("manifest", corpus, tmp_path / "ray", executor="ray", num_workers=2, **args)
    summary = [(t.name, t.rows, t.errors, t.shards_written) for t in local.tables]
    assert [name for name, *_ in summary] == list(TABLES)
    assert [(t.name, t.rows, t.errors, t.shards_written) for t in remote.tables] == summary
    want, got = open_dataset(tmp_path / "local"), open_dataset(tmp_path / "ray")
    for name in TABLES:  # values, intervals, order and the schema metadata (config, versions, weights)
        assert got.table(name).to_table().equals(want.table(name).to_table(), check_metadata=True), name
    frames = {row["sample_id"]: row for row in got.read_table(TABLES[0]).to_pylist()}
    assert len(frames["b-tone"]["intervals"]) == 1 + (16000 - 400) // 320  # [0.5, 1.5): 3 windows of <= 29 frames
    assert frames["b-tone"]["intervals"][0][0] == 0.5
    assert got.table_metadata(TABLES[0])["weights"] == {"kind": "random", "bundle": None, "file": None, "sha256": None}
    assert got.manifest.tables == want.manifest.tables
    assert got.errors().equals(want.errors())
    failed = {(e["table"], e["sample_id"]): e["reason"] for e in got.errors().to_pylist()}
    for name in TABLES:
        for sample_id, reason in FAILING[name.partition(".")[0]].items():
            assert reason in failed[(name, sample_id)]
    assert "is truncated" in failed[(TABLES[0], "d-cut")]
    report = check_dataset(tmp_path / "ray")
    assert report.ok and not [issue for issue in report.issues if issue.severity == "error"]


def test_a_relative_output_directory_is_the_callers_not_the_ray_workers(ray_session, corpus, tmp_path, monkeypatch):
    """Ray's workers run in the directory Ray was started in (here: the test session's); the samples
    shards they read are found where the caller means them."""
    assert ray_session.is_initialized()
    monkeypatch.chdir(tmp_path)
    report = extract("manifest", os.path.relpath(corpus), "out", extractors=[POOLED], executor="ray",
                     num_workers=2, shard_size=2)
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [("audio.hubert-base-layer1-mean", 4, 2)]
    assert open_dataset(tmp_path / "out").table("audio.hubert-base-layer1-mean").count_rows() == 4


def received_in(folder: Path, extractor):
    """`extractor` as a worker running in `folder` rebuilds it from its pickle."""
    payload = pickle.dumps(extractor)
    here = os.getcwd()
    os.chdir(folder)
    try:
        return pickle.loads(payload)
    finally:
        os.chdir(here)


def test_a_speech_weights_file_given_relative_is_the_one_the_caller_fingerprinted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extractor = create_extractor("hubert-base:weights=models/hubert.pth")
    received = received_in(tmp_path.parent, extractor)
    assert received.weights_source().path == extractor.weights_source().path == tmp_path / "models" / "hubert.pth"


def test_a_clip_model_weights_file_given_relative_is_the_one_the_caller_fingerprinted(tmp_path, monkeypatch):
    """As for the speech models: a Ray worker (running where Ray was started) must load the file whose
    SHA-256 the caller recorded, not resolve the relative path again in its own directory."""
    monkeypatch.chdir(tmp_path)
    extractor = create_extractor("r3d-18:weights=models/r3d.pth")
    received = received_in(tmp_path.parent, extractor)
    assert received.weights_source().path == tmp_path / "models" / "r3d.pth"


#: Each extractor with a relative path option, and what it reads at that path.
RELATIVE_PATHS = {
    "resnet18:weights=models/resnet.pth": "models/resnet.pth",
    "video-frames:image_extractor=resnet18,image_options=weights=models/resnet.pth": "models/resnet.pth",
    "r3d-18:weights=models/r3d.pth,device=cuda:1": "models/r3d.pth",
    "hubert-base:weights=models/hubert.pth,device=cuda:1": "models/hubert.pth",
    "minilm:model=models/minilm,device=cuda:1": "models/minilm",
    "tokens:model=models/minilm": "models/minilm",
    "word-embeddings:model=models/minilm": "models/minilm",
    "clip:model=models/clip,device=cuda:1": "models/clip",
    "clip-text:model=models/clip": "models/clip",
}

#: Run in another directory: unpickles the extractors from stdin and prints the path each would read,
#: as received and as a GPU actor rebuilds it (`on_assigned_gpu`).
READ_PATHS = """
import json, pickle, sys
from mmdata.features.text_models import resolve_text_model
from mmdata.ray_stages import on_assigned_gpu

def read_path(extractor):
    extractor = getattr(extractor, "image", extractor)  # video-frames reads with its image extractor
    if hasattr(extractor, "weights_source"):
        return extractor.weights_source().path
    if hasattr(extractor, "source"):
        return extractor.source().path
    return resolve_text_model(extractor.model)

out = {}
for spec, extractor in pickle.load(sys.stdin.buffer).items():
    config = getattr(extractor, "image", extractor).config
    out[spec] = [str(read_path(extractor)), str(read_path(on_assigned_gpu(extractor))),
                 getattr(config, "model", None) or config.weights]
print(json.dumps(out))
"""


def test_relative_weights_files_and_model_directories_reach_workers_as_the_caller_means_them(tmp_path, monkeypatch):
    """Workers started in another directory, which has files and folders of the same relative names,
    read the caller's; the config (and so the recorded provenance) keeps the path as given."""
    caller, elsewhere = tmp_path / "caller", tmp_path / "elsewhere"
    for root in (caller, elsewhere):
        (root / "models" / "minilm").mkdir(parents=True)
        (root / "models" / "clip").mkdir()
        for name in ("resnet.pth", "r3d.pth", "hubert.pth"):
            (root / "models" / name).write_bytes(root.name.encode())
    monkeypatch.chdir(caller)
    extractors = {spec: create_extractor(spec) for spec in RELATIVE_PATHS}
    payload = pickle.dumps(extractors)
    done = subprocess.run([sys.executable, "-c", READ_PATHS], input=payload, cwd=elsewhere, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    for spec, (received, on_gpu, given) in json.loads(done.stdout).items():
        assert received == on_gpu == str(caller / RELATIVE_PATHS[spec]), spec
        assert given == RELATIVE_PATHS[spec], spec
    weights = extractors["r3d-18:weights=models/r3d.pth,device=cuda:1"].weights_source().record()
    assert weights["file"] == "r3d.pth" and weights["sha256"] == hashlib.sha256(b"caller").hexdigest()
