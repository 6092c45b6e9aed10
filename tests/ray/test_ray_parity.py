"""`--executor ray` writes what the local executor writes, for every kind of table (pooled and temporal,
image, text and audio), and hands `compute` the batches it was given."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray.cloudpickle

from mmdata.executors import LocalExecutor
from mmdata.pipeline import extract
from mmdata.ray_executor import RayExecutor
from mmdata.store import open_dataset
from tests.fakes.av import tone, write_wav
from tests.fakes.extractors import BatchProbe
from tests.fakes.imagetext import write_fake_manifest

# Ray workers cannot import this test module: ship its classes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

#: Pooled image tables, a text table of one sequence per caption, and temporal audio tables
#: (frames with their time intervals).
EXTRACTORS = ("color-hist:bins=4", "hashed-bow:dim=16,level=caption", "librosa-logmel:n_mels=8")


def write_mixed_manifest(root: Path) -> Path:
    """The fake manifest (images, captions, audio segments) with more tones and one file that is no WAV."""
    write_fake_manifest(root, "jsonl", with_video=False)
    manifest = root / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    for i in range(5):
        write_wav(root / "audio" / f"t{i}.wav", tone(200 + 50 * i, 0.2 + 0.1 * i))
        rows.append({"id": f"t{i}", "audio": f"audio/t{i}.wav", "text": f"tone number {i}", "split": "train"})
    (root / "audio" / "bad.wav").write_bytes(b"RIFFjunk")
    rows.append({"id": "bad", "audio": "audio/bad.wav", "text": "a broken file", "split": "train"})
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def test_ray_writes_the_local_tables_errors_and_manifest_for_pooled_and_temporal_tables(ray_session, tmp_path):
    corpus = write_mixed_manifest(tmp_path / "corpus")
    args = dict(extractors=list(EXTRACTORS), shard_size=4, batch_size=3)
    local = extract("manifest", corpus, tmp_path / "local", num_workers=0, **args)
    remote = extract("manifest", corpus, tmp_path / "ray", executor="ray", num_workers=2, **args)
    summary = [(t.name, t.rows, t.errors, t.shards_written) for t in local.tables]
    assert [(t.name, t.rows, t.errors, t.shards_written) for t in remote.tables] == summary
    assert [errors for _, _, errors, _ in summary] == [8, 0, 3]  # images and audio have failed items to compare
    want, got = open_dataset(tmp_path / "local"), open_dataset(tmp_path / "ray")
    for name, *_ in summary:
        assert got.table(name).to_table().equals(want.table(name).to_table(), check_metadata=True), name
    intervals = got.table("audio.librosa-logmel").to_table().column("intervals").to_pylist()
    assert sum(value is not None for value in intervals) == 7  # the temporal rows carry their intervals
    assert got.errors().equals(want.errors())
    assert ("bad", "audio/bad.wav", "decode", "MediaError") in {
        (e["sample_id"], e["path"], e["stage"], e["error_type"]) for e in got.errors().to_pylist()}
    assert got.manifest.tables == want.manifest.tables


def batches_seen(runner: Any, batches: list[list[dict[str, Any]]]) -> list[list[tuple[str, int, int]]]:
    """Per batch handed to `runner.run`: (sample id, size of its batch in `compute`, place in it) per row."""
    with runner:
        return [[(r.sample_id, *map(int, r.value)) for r in results]
                for _, results in runner.run(BatchProbe(), iter(batches), Path("/corpus"))]


@pytest.mark.parametrize("sizes", [(3, 3, 2, 3, 3), (2, 2, 5, 1, 5, 5)], ids=["short-in-the-middle", "uneven"])
def test_run_hands_compute_the_batches_it_was_given_even_uneven_ones(ray_session, sizes):
    rows = [{"sample_id": f"s{i:02d}", "image": f"img/{i}.jpg"} for i in range(sum(sizes))]
    starts = np.cumsum((0, *sizes))
    batches = [rows[start:end] for start, end in zip(starts, starts[1:])]
    want = batches_seen(LocalExecutor(num_workers=0), batches)
    assert [[size for _, size, _ in batch] for batch in want] == [[n] * n for n in sizes]
    assert batches_seen(RayExecutor(num_workers=2), batches) == want


def test_an_executor_joining_the_callers_ray_session_leaves_it_running(ray_session):
    with RayExecutor(num_workers=2) as runner:
        list(runner.run(BatchProbe(), iter([[{"sample_id": "a", "image": "a.jpg"}]]), Path("/corpus")))
    assert ray_session.is_initialized()
    assert ray_session.cluster_resources()["CPU"] == 2
