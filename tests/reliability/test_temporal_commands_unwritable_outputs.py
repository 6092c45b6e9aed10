"""`align`, `segment` and `export-csd` where the system refuses their writes: a read-only output folder,
and a full disk (a file-size limit: the same refusal at the same writes, `EFBIG` for `ENOSPC`). Each
ends in one line naming the path and what the system said, without a traceback (a full disk made
`export-csd` crash with a segfault, and `align`/`segment` print pyarrow's traceback); `segment` and
`export-csd` leave nothing, `align` leaves what the same command finishes once there is room.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from tests.reliability.long_mosi import REFERENCE, assert_same_dataset, hidden_files, write_long_corpus

EXPORTED = "text.words,audio.covarep,video.facet-41"
#: Bytes a file may grow to, per command: more than a manifest and some of the shards or files it writes.
FILE_LIMITS = {"align": 16_000, "segment": 4_000, "export-csd": 60_000}


def run_limited(*args: str, cwd, file_limit: int | None = None, as_a_user: bool = False) -> subprocess.CompletedProcess:
    """`mmdata ARGS`; with `file_limit`, no file may grow past it (writes past it fail with EFBIG, as on a
    full disk); `as_a_user`: file permissions apply (as root, without the capabilities that pass them)."""
    command = [sys.executable, "-m", "mmdata", *args]
    if as_a_user and os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]

    def limit() -> None:
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, preexec_fn=limit)


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip()


def test_a_full_disk_ends_each_command_in_one_line_and_leaves_what_the_same_command_finishes(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=12, seconds=60, shard_size=3)
    reference = tmp_path / "reference"
    shutil.copytree(corpus.dataset, reference)
    align_dataset(reference, REFERENCE)
    work = tmp_path / "work"
    shutil.copytree(corpus.dataset, work)

    error = one_line(run_limited("align", str(work), "-r", REFERENCE, cwd=tmp_path, file_limit=FILE_LIMITS["align"]))
    assert error.startswith(f"error: File too large: {work}/features/") and error.endswith(
        ".parquet; check that the path can be written there (permissions, free space, a real folder)")  # the shard
    align_dataset(work, REFERENCE)  # with room again: it resumes
    assert_same_dataset(work, reference)
    assert hidden_files(work) == []

    segments = tmp_path / "segments" / "out"
    error = one_line(run_limited("segment", str(corpus.dataset), str(segments), "-l", str(corpus.labels), cwd=tmp_path,
                                 file_limit=FILE_LIMITS["segment"]))
    assert error.startswith(f"error: File too large: {segments};")
    assert not (tmp_path / "segments").exists()  # nothing: no half dataset, no staging folder or lock file

    exported = tmp_path / "exported"
    error = one_line(run_limited("export-csd", str(corpus.dataset), str(exported), "-t", EXPORTED, cwd=tmp_path,
                                 file_limit=FILE_LIMITS["export-csd"]))
    assert error.startswith(f"error: File too large: {exported}/") and error.split(";")[0].endswith(".csd")
    assert not exported.exists()  # not a file of it, nor the folder it made


def test_a_read_only_output_folder_ends_each_command_in_one_line_and_changes_nothing(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=4, seconds=30, shard_size=2)
    work = tmp_path / "work"
    shutil.copytree(corpus.dataset, work)
    manifest = (work / "mmdata.json").read_bytes()
    parent, exported = tmp_path / "read-only", tmp_path / "exported"
    parent.mkdir()
    exported.mkdir()
    for folder in (work, parent, exported):
        folder.chmod(0o555)
    try:
        error = one_line(run_limited("align", str(work), "-r", REFERENCE, cwd=tmp_path, as_a_user=True))
        assert error.startswith("error: Permission denied: ") and str(work) in error
        error = one_line(run_limited("segment", str(corpus.dataset), str(parent / "out"), "-l", str(corpus.labels),
                                     cwd=tmp_path, as_a_user=True))
        assert error.startswith("error: Permission denied: ") and str(parent) in error
        error = one_line(run_limited("export-csd", str(corpus.dataset), str(exported), "-t", EXPORTED, cwd=tmp_path,
                                     as_a_user=True))
        assert error.startswith("error: Permission denied: ") and str(exported) in error
    finally:
        for folder in (work, parent, exported):
            folder.chmod(0o755)
    assert (work / "mmdata.json").read_bytes() == manifest and check_dataset(work).ok
    assert list(parent.iterdir()) == [] and list(exported.iterdir()) == []
