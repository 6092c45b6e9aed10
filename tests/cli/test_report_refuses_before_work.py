"""`mmdata report`: an output folder that cannot be written is refused before the checks run, a dataset
whose path is not UTF-8 is one line (not Arrow's traceback), and a table without a fixed dim is named
as not plotted rather than left out silently."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.pipeline import extract
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    corpus = copy_sample_corpus("coco", tmp)
    extract("coco", corpus, tmp / "ds", extractors=["color-hist:bins=4", "tokens"], num_workers=0)
    return tmp / "ds"


def _as_a_user(*args: str) -> subprocess.CompletedProcess:
    """`python -m mmdata ARGS` as file permissions apply to it (as root: without the capabilities that
    write past them)."""
    command = [sys.executable, "-m", "mmdata", *args]
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    return subprocess.run(command, capture_output=True, text=True)


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_checks(pristine, tmp_path):
    damaged = tmp_path / "ds"
    shutil.copytree(pristine, damaged)
    shard = next((damaged / "features" / "image.color-hist").glob("part-*.parquet"))
    shard.write_bytes(shard.read_bytes()[:50])  # the checks would refuse the dataset, had they run
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    result = _as_a_user("report", str(damaged), "--out", str(locked / "sub" / "r.html"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (f"error: cannot write the report to {locked / 'sub' / 'r.html'} (no permission to write "
                             f"in {locked}); choose an --out path in a folder you can write to\n")
    assert not (locked / "sub").exists()


def test_a_dataset_whose_path_is_not_utf8_is_one_line(pristine, tmp_path):
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/\xe9t\xe9"))  # Latin-1 'été'
    shutil.copytree(pristine, odd)
    line = one_line_error(runner.invoke(app, ["report", str(odd), "--out", str(tmp_path / "r.html")]))
    assert line.startswith(f"error: {tmp_path}/\\xe9t\\xe9: the dataset's path is not valid UTF-8, and Arrow opens "
                           "UTF-8 paths only; rename the folder")
    assert not (tmp_path / "r.html").exists()


def test_a_table_without_a_fixed_dim_is_named_as_not_plotted(pristine, tmp_path):
    result = runner.invoke(app, ["report", str(pristine), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text()
    plots = page[page.index('<section id="plots">'):page.index('<section id="gallery">')]
    assert "<figcaption><b>image: PCA</b>" in plots and "text: PCA" not in plots
    assert ("<p class=note>Not plotted: text.tokens (rows of different lengths: no common vector to take a norm or a "
            "projection of).</p>") in plots
