"""`mmdata align` killed (SIGKILL) at any point resumes to what an uninterrupted run writes: killed
after claiming its outputs, between two output shards of one samples shard, and while marking its
outputs complete (between two manifest writes); after increasing delays on a larger dataset;
and with `--force` over an earlier alignment, whose outputs the killed run leaves marked incomplete
(`check` and `fuse` say so) until the same command finishes them.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.store import open_dataset
from tests.reliability.long_mosi import (
    REFERENCE, assert_same_dataset, hidden_files, mmdata_command, nth_of, renames_of, run_killed_at, write_long_corpus,
)
from tests.reliability.test_interrupt import launch, wait_for_first_write

ALIGN = ("align", "-r", REFERENCE)
OUTPUTS = ("audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words")


def align_args(dataset) -> list[str]:
    return [ALIGN[0], str(dataset), *ALIGN[1:]]


def assert_resumed_clean(work, reference) -> None:
    """The rerun's dataset equals the uninterrupted one, `check` finds nothing, and no temporary is left."""
    assert_same_dataset(work, reference)
    assert check_dataset(work).ok
    assert hidden_files(work) == []


def test_align_killed_before_each_kind_of_write_resumes_to_the_uninterrupted_result(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=8, seconds=40, shard_size=2)
    reference = tmp_path / "reference"
    shutil.copytree(corpus.dataset, reference)
    renames = renames_of(*align_args(reference), cwd=tmp_path, log=tmp_path / "renames.log")
    manifests = [i for i, name in enumerate(renames) if name == "mmdata.json"]
    shards = [i for i, name in enumerate(renames) if name.startswith("part-")]
    assert len(shards) == len(OUTPUTS) * 4 and manifests[0] == 0
    points = {  # when: (rename killed before, outputs marked complete then)
        "early: outputs claimed, no shard written": (shards[0], 0),
        "mid-table: between two outputs' shards of one samples shard": (shards[len(shards) // 2 + 1], 0),
        "writing the manifest: the first output marked complete, the others not": (manifests[-3], 1),
    }
    for when, (index, complete) in points.items():
        work = tmp_path / "work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(corpus.dataset, work)
        killed = run_killed_at(*nth_of(renames, index), *align_args(work), cwd=tmp_path)
        assert killed.returncode == -signal.SIGKILL, (when, killed.stderr)
        state = open_dataset(work)  # the manifest parses, whole, at every point
        claimed = [name for name in OUTPUTS if name in state.table_names]
        assert sum(state.entry(name).complete for name in claimed) == complete, when
        assert check_dataset(work).ok == (complete == len(claimed)), when  # an unfinished alignment is an error
        align_dataset(work, REFERENCE)
        assert_resumed_clean(work, reference)


def test_align_killed_after_increasing_delays_resumes_to_the_uninterrupted_result(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=24, seconds=90, shard_size=3)
    reference = tmp_path / "reference"
    shutil.copytree(corpus.dataset, reference)
    start = time.perf_counter()
    align_dataset(reference, REFERENCE)
    work_seconds = time.perf_counter() - start
    work = tmp_path / "work"
    shutil.copytree(corpus.dataset, work)
    killed = 0
    for fraction in (0.0, 0.2, 0.5, 0.9):  # of the time an uninterrupted alignment takes
        process = launch(mmdata_command(*align_args(work)), tmp_path)
        wait_for_first_write(process, work)  # the outputs claimed: kill times fall in the work
        try:
            process.wait(timeout=fraction * work_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            killed += 1
        stderr = process.communicate()[1]
        assert process.returncode in (0, -signal.SIGKILL), stderr
        open_dataset(work)  # whole after every kill
    assert killed > 0, "every run finished before its kill"
    report = align_dataset(work, REFERENCE)
    assert report.shards_done + report.shards_aligned == 8
    assert_resumed_clean(work, reference)


def test_an_interrupted_force_run_leaves_its_outputs_marked_incomplete_until_the_same_command_finishes(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=8, seconds=40, shard_size=2)
    reference = tmp_path / "reference"
    shutil.copytree(corpus.dataset, reference)
    align_dataset(reference, REFERENCE, collapse="max")
    work = tmp_path / "work"
    shutil.copytree(corpus.dataset, work)
    align_dataset(work, REFERENCE)  # the earlier alignment, collapse mean
    force = [*align_args(work), "--collapse", "max", "--force"]
    killed = run_killed_at("part-00002.parquet", 1, *force, cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    state = open_dataset(work)
    assert [state.entry(name).complete for name in OUTPUTS] == [False] * 3
    assert all(state.entry(name).config["collapse"] == "max" for name in OUTPUTS)  # no mean rows among them
    codes = {issue.code for issue in check_dataset(work).errors}
    assert "table-incomplete" in codes, codes
    fused = subprocess.run(mmdata_command("fuse", str(work), str(tmp_path / "fused"), "--tables", OUTPUTS[0],
                                          "--sequences", "pad", "--normalize", "none"),
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert fused.returncode == 2 and len(fused.stderr.strip().splitlines()) == 1, fused.stderr
    assert "incomplete" in fused.stderr and not (tmp_path / "fused").exists()
    resumed = subprocess.run(mmdata_command(*force), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "already done" in resumed.stdout  # the shards the killed run wrote are kept
    assert_resumed_clean(work, reference)

