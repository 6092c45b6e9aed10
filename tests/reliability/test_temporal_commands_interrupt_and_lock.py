"""Ctrl-C and concurrent runs of `align`, `segment` and `export-csd`, in real processes.

Ctrl-C (SIGINT) ends each with one line and exit status 130, leaving what the same command resumes or
starts again from (no temporary, staging or lock file behind). A second writer of the same dataset or
folder is refused at once in one line (`align` beside a running `align` or `extract`, and the other
way round); readers (`check`, `fuse`, `export-csd`) of a dataset being aligned read what is finished
and name what is not.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.formats.csd_export import export_csd
from tests.fakes.csd import COVAREP_FILE
from tests.reliability.long_mosi import (
    REFERENCE, assert_same_dataset, hidden_files, mmdata_command, write_long_corpus,
)

EXPORTED = "text.words,audio.covarep,video.facet-41"
BUSY = "is being written by another mmdata process"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(mmdata_command(*args), cwd=cwd, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess, *, status: int = 2) -> str:
    assert done.returncode == status, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(mmdata_command(*args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(process: subprocess.Popen, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, ("the run ended first", process.communicate())
        assert time.monotonic() < deadline
        time.sleep(0.002)


@contextmanager
def paused(process: subprocess.Popen):
    """The run stopped (SIGSTOP) in the middle of its work, holding its locks; it goes on after the block."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr


def test_ctrl_c_ends_each_command_in_one_line_and_the_rerun_finishes_the_work(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=12, seconds=60, shard_size=3)
    reference = tmp_path / "reference"
    shutil.copytree(corpus.dataset, reference)
    align_dataset(reference, REFERENCE)
    work = tmp_path / "work"
    shutil.copytree(corpus.dataset, work)
    manifest = (work / "mmdata.json").stat().st_ino
    segments, csd = tmp_path / "segments" / "out", tmp_path / "exported"
    runs = {  # command: when it is in the middle of its work
        ("align", str(work), "-r", REFERENCE): lambda: (work / "mmdata.json").stat().st_ino != manifest,
        ("segment", str(corpus.dataset), str(segments), "-l", str(corpus.labels)):
            lambda: any(segments.parent.glob(".out.tmp-*/features/*/part-*")),
        ("export-csd", str(corpus.dataset), str(csd), "-t", EXPORTED): lambda: any((csd / ".export-csd.tmp").glob("*")),
    }
    for args, working in runs.items():
        process = start(*args, cwd=tmp_path)
        wait_until(process, working)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        assert one_line_error(done, status=130) == "interrupted", args[0]
    assert hidden_files(tmp_path / "segments") == []  # no staging folder, no lock file
    assert not csd.exists()  # nothing was written: the folder the export made is gone too
    assert run("align", str(work), "-r", REFERENCE, cwd=tmp_path).returncode == 0
    assert_same_dataset(work, reference)
    assert hidden_files(work) == []
    assert run("segment", str(corpus.dataset), str(segments), "-l", str(corpus.labels), cwd=tmp_path).returncode == 0
    assert run("export-csd", str(corpus.dataset), str(csd), "-t", EXPORTED, cwd=tmp_path).returncode == 0


def test_a_second_writer_is_refused_in_one_line_while_readers_read_what_is_finished(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=12, seconds=60, shard_size=3)
    work = tmp_path / "work"
    shutil.copytree(corpus.dataset, work)
    align = start("align", str(work), "-r", REFERENCE, cwd=tmp_path)
    wait_until(align, lambda: len(list((work / "features" / "audio.covarep@text.words").glob("part-*"))) >= 1)
    with paused(align):
        assert BUSY in one_line_error(run("align", str(work), "-r", REFERENCE, cwd=tmp_path))
        assert BUSY in one_line_error(run("extract", "csd", str(corpus.csd), str(work), "-o", "labels=none", "-q",
                                          cwd=tmp_path))
        checked = run("check", str(work), cwd=tmp_path)  # the aligned tables are named incomplete: exit 1
        assert checked.returncode == 1 and "table-incomplete" in checked.stdout and not checked.stderr.strip()
        fused = run("fuse", str(work), str(tmp_path / "fused"), "--tables", "audio.covarep,video.facet-41",
                    "--sequences", "pool", "--normalize", "none", cwd=tmp_path)
        assert fused.returncode == 0, fused.stderr  # the tables align does not write read as they are
        refused = one_line_error(run("export-csd", str(work), str(tmp_path / "exported"), cwd=tmp_path))
        assert "is incomplete" in refused and "@text.words" in refused and not (tmp_path / "exported").exists()
    assert check_dataset(work).ok


def test_align_is_refused_in_one_line_while_an_extract_writes_the_dataset(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=12, seconds=60, shard_size=2, extracted=False)
    out = tmp_path / "extracted"
    extract = start("extract", "csd", str(corpus.csd), str(out), "-o", "labels=none", "--shard-size", "2", "-q",
                    cwd=tmp_path)
    wait_until(extract, lambda: (out / "samples").is_dir())
    with paused(extract):
        assert BUSY in one_line_error(run("align", str(out), "-r", REFERENCE, cwd=tmp_path))
    align_dataset(out, REFERENCE)  # once the extract has finished
    assert check_dataset(out).ok


def test_a_second_segment_or_export_into_the_same_output_is_refused_in_one_line(tmp_path):
    corpus = write_long_corpus(tmp_path, videos=12, seconds=60, shard_size=3)
    segments = tmp_path / "segments" / "out"
    segment = start("segment", str(corpus.dataset), str(segments), "-l", str(corpus.labels), cwd=tmp_path)
    wait_until(segment, lambda: any(segments.parent.glob(".out.tmp-*/features/*/part-*")))
    with paused(segment):
        second = run("segment", str(corpus.dataset), str(segments), "-l", str(corpus.labels), "--force", cwd=tmp_path)
        assert "is being written by another mmdata process" in one_line_error(second)
        assert ".out.lock" in second.stderr  # the lock file it names
    csd = tmp_path / "exported"
    export = start("export-csd", str(corpus.dataset), str(csd), "-t", EXPORTED, cwd=tmp_path)
    wait_until(export, lambda: (csd / ".export-csd.tmp" / COVAREP_FILE).exists())
    with paused(export):
        second = run("export-csd", str(corpus.dataset), str(csd), "-t", EXPORTED, "--force", cwd=tmp_path)
        assert "being written by another `mmdata export-csd`" in one_line_error(second)
    report = segment_dataset(corpus.dataset, tmp_path / "again", corpus.labels)
    assert_same_dataset(segments, report.output_dir)
    assert sorted(p.name for p in csd.iterdir()) == sorted(p.name for p in export_csd(
        corpus.dataset, tmp_path / "exported-again", tables=EXPORTED))
