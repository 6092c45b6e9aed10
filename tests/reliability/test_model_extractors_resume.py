"""`mmdata extract` of a speech model and a clip model (random weights) killed with SIGKILL after some
shards are written, then resumed: the table equals an uninterrupted run's (no row twice, none corrupt,
same errors); a resume with another `seed` is refused (its rows would differ) before any work."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.speech_video import write_speech_video_corpus
from tests.reliability.test_interrupt import launch

#: (modality flag, extractor spec with seed=0, its table): small models, slow enough to be killed mid-table.
FAMILIES = {
    "speech": ("--audio", "wav2vec2-base:weights=random,seed=0,layer=3,max_seconds=0.6", "audio.wav2vec2-base-layer3"),
    "clips": ("--video", "r3d-18:weights=random,seed=0,fps=4,clip_frames=4", "video.r3d-18"),
}
SHARDS_BEFORE_KILL = 2


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_speech_video_corpus(tmp_path_factory.mktemp("speech-video"), copies=3)  # 10 samples


def feature_shards(out: Path, table: str) -> list[str]:
    return sorted(p.name for p in (out / "features" / table).glob("part-*"))


def kill_after_shards(corpus: Path, out: Path, flag: str, spec: str, table: str) -> list[str]:
    """Run the CLI until `SHARDS_BEFORE_KILL` shards of `table` are written, then SIGKILL its process
    group; the shards it left."""
    command = [sys.executable, "-m", "mmdata", "extract", "manifest", str(corpus), str(out), flag, spec,
               "--shard-size", "1", "-j", "0", "-q"]
    process = launch(command, corpus.parent)
    deadline = time.monotonic() + 120
    while process.poll() is None and len(feature_shards(out, table)) < SHARDS_BEFORE_KILL:
        assert time.monotonic() < deadline, "no shards written in 120 s"
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    stderr = process.communicate()[1]
    assert process.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    return feature_shards(out, table)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_killed_extract_resumes_to_the_uninterrupted_table_and_refuses_another_seed(corpus, tmp_path, family):
    flag, spec, table = FAMILIES[family]
    left = kill_after_shards(corpus, tmp_path / "killed", flag, spec, table)
    assert SHARDS_BEFORE_KILL <= len(left) < 10

    other_seed = spec.replace("seed=0", "seed=1")
    with pytest.raises(DatasetError, match=rf"{table}.*was made with seed=0, not seed=1 \(other options equal\).*--force"):
        extract("manifest", corpus, tmp_path / "killed", extractors=[other_seed], num_workers=0, shard_size=1)
    assert feature_shards(tmp_path / "killed", table) == left  # nothing computed with the other seed

    resumed = extract("manifest", corpus, tmp_path / "killed", extractors=[spec], num_workers=0, shard_size=1)
    assert resumed.tables[0].shards_written == 10 - len(left)
    whole = extract("manifest", corpus, tmp_path / "whole", extractors=[spec], num_workers=0, shard_size=1)
    want, got = open_dataset(tmp_path / "whole"), open_dataset(tmp_path / "killed")
    ids = got.table(table).to_table().column("sample_id").to_pylist()
    assert ids == sorted(set(ids)) and len(ids) == whole.tables[0].rows == 10
    assert got.table(table).to_table().equals(want.table(table).to_table(), check_metadata=True)
    assert got.errors().equals(want.errors()) and got.errors().num_rows == whole.tables[0].errors
    assert got.manifest.tables == want.manifest.tables
