"""`mmdata segment` and `mmdata export-csd` killed (SIGKILL) at any point leave their output as it was
before the run (nothing, or the earlier output whole), and the same command run again writes what an
uninterrupted run writes, with no temporary or lock file left: killed at their first file, midway,
and while moving the finished output into place, with and without `--force` over an earlier output.
"""
from __future__ import annotations

import shutil
import signal

from mmdata.alignment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.formats.csd_export import export_csd
from tests.reliability.long_mosi import (
    assert_same_dataset, hidden_files, nth_of, renames_of, run_killed_at, write_long_corpus,
)

EXPORTED = "text.words,audio.covarep,video.facet-41"


def test_a_killed_segment_leaves_no_output_or_the_earlier_one_and_the_rerun_equals_an_uninterrupted_run(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=6, seconds=30, shard_size=3)
    reference = tmp_path / "reference" / "segments"
    segment_dataset(corpus.dataset, reference, corpus.labels)
    out = tmp_path / "out" / "segments"
    args = ["segment", str(corpus.dataset), str(out), "-l", str(corpus.labels)]
    renames = renames_of(*args, cwd=tmp_path, log=tmp_path / "renames.log")
    assert renames[-1] == "segments"  # the finished folder moved into place, last
    for index in (0, len(renames) // 2, len(renames) - 1):  # its first shard, midway, the move into place
        shutil.rmtree(out.parent, ignore_errors=True)
        killed = run_killed_at(*nth_of(renames, index), *args, cwd=tmp_path)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert [p.name for p in out.parent.iterdir() if not p.name.startswith(".")] == []  # no half dataset
        segment_dataset(corpus.dataset, out, corpus.labels)
        assert_same_dataset(out, reference)
        assert hidden_files(out.parent) == []  # the staging folder and the lock file are gone
    assert check_dataset(out).ok


def test_a_killed_segment_with_force_leaves_the_earlier_output_whole_or_put_back_by_the_rerun(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=6, seconds=30, shard_size=3)
    reference = tmp_path / "reference" / "segments"
    segment_dataset(corpus.dataset, reference, corpus.labels)
    earlier = tmp_path / "earlier" / "segments"  # an earlier output: one table only
    segment_dataset(corpus.dataset, earlier, corpus.labels, tables=["text.words"])
    out = tmp_path / "out" / "segments"
    force = ["segment", str(corpus.dataset), str(out), "-l", str(corpus.labels), "--force"]
    # midway (12 shards a table); between moving the earlier output aside and the new one in
    for target, nth in (("part-00005.parquet", 2), ("segments", 1)):
        shutil.rmtree(out.parent, ignore_errors=True)
        shutil.copytree(earlier.parent, out.parent)
        killed = run_killed_at(target, nth, *force, cwd=tmp_path)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        if out.exists():  # killed midway: the earlier output is there, whole
            assert_same_dataset(out, earlier)
        segment_dataset(corpus.dataset, out, corpus.labels, force=True)
        assert_same_dataset(out, reference)
        assert hidden_files(out.parent) == []


def test_a_killed_export_leaves_the_folder_as_it_was_and_the_rerun_equals_an_uninterrupted_export(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=12, seconds=60, shard_size=3)
    reference = tmp_path / "reference"
    export_csd(corpus.dataset, reference, tables=EXPORTED)
    want = _files(reference)
    out = tmp_path / "out"
    args = ["export-csd", str(corpus.dataset), str(out), "-t", EXPORTED]
    renames = renames_of(*args, cwd=tmp_path, log=tmp_path / "renames.log")
    first_published = renames.index("publishing.json") + 1
    # its first file; before it moves the files in; after it moved one in (the rerun puts the folder back first)
    for index in (0, first_published - 1, first_published + 1):
        shutil.rmtree(out, ignore_errors=True)
        killed = run_killed_at(*nth_of(renames, index), *args, cwd=tmp_path)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        if index < first_published:
            assert list(out.glob("*.csd")) == []  # nothing the SDK would load as an export
        export_csd(corpus.dataset, out, tables=EXPORTED)  # the same command: no --force needed
        assert _files(out) == want

    earlier = tmp_path / "earlier"  # an earlier export into the folder: two tables, one of them renamed on disk
    export_csd(corpus.dataset, earlier, tables="text.words,audio.covarep")
    (earlier / "CMU_MOSI_COVAREP.csd").rename(earlier / "old-covarep.csd")  # an earlier export's other file
    for index in (first_published - 1, first_published + 1):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(earlier, out)
        killed = run_killed_at(*nth_of(renames, index), *args, "--force", cwd=tmp_path)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        if index < first_published:
            assert _files(out, hidden=False) == _files(earlier)  # the earlier export, untouched
        export_csd(corpus.dataset, out, tables=EXPORTED, force=True)
        assert _files(out) == want  # the earlier export's other file removed with the rest of the change


def _files(folder, *, hidden: bool = True) -> dict[str, bytes]:
    """Every file of the folder by its path in it, hidden ones too unless `hidden` is False."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and (hidden or not any(part.startswith(".") for part in p.relative_to(folder).parts))}
