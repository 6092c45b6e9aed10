"""A program read from standard input (`python - <<EOF`) has no main module file for the decode workers'
fork server to run: the run stops naming that cause and the ways out, not a missing `__main__` guard."""
from __future__ import annotations

import subprocess
import sys

from tests.sample_corpus import copy_sample_corpus

PROGRAM = """
import mmdata

if __name__ == "__main__":  # guarded: the guard is not what is missing here
    mmdata.extract("coco", {corpus!r}, {out!r}, split="val2017", extractors=["color-hist"], num_workers=2)
"""


def test_a_program_from_stdin_is_told_to_run_from_a_file(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    program = PROGRAM.format(corpus=str(corpus), out=str(tmp_path / "out"))
    done = subprocess.run([sys.executable, "-"], input=program, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("mmdata.errors.WorkersCannotStartError: decode worker processes die as they start")
    assert "'<stdin>' is not a file on disk" in last and "save the program to a file" in last
    assert "python -c" in last and "num_workers=0" in last


def test_the_same_program_runs_with_python_c(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    program = PROGRAM.format(corpus=str(corpus), out=str(tmp_path / "out"))
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "features" / "image.color-hist").is_dir()
