"""A dataset whose folder name is not UTF-8 (a name in another encoding) is refused in one line by every
command that opens it: Arrow opens UTF-8 paths only, and `check`, `fuse` and `share` gave its traceback."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def odd_dataset(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("odd")
    corpus = copy_sample_corpus("coco", tmp)
    extract("coco", corpus, tmp / "ds", extractors=["color-hist:bins=4"], num_workers=0)
    odd = Path(os.fsdecode(bytes(tmp) + b"/\xe9t\xe9"))  # Latin-1 'été'
    shutil.move(tmp / "ds", odd)
    return odd


def test_open_dataset_refuses_a_path_that_is_not_utf8(odd_dataset):
    with pytest.raises(DatasetError, match=r"\\xe9t\\xe9: the dataset's path is not valid UTF-8, and Arrow opens "
                                           r"UTF-8 paths only; rename the folder"):
        open_dataset(odd_dataset)


@pytest.mark.parametrize("command", [["info"], ["check"], ["fuse", "{out}/fused"], ["share", "--out", "{out}/shared"],
                                     ["report", "--out", "{out}/r.html"]])
def test_every_command_refuses_it_in_one_line(odd_dataset, tmp_path, command):
    args = [a.format(out=tmp_path) for a in command]
    line = one_line_error(runner.invoke(app, [args[0], str(odd_dataset), *args[1:]]))
    assert line.startswith(f"error: {odd_dataset.parent}/\\xe9t\\xe9: the dataset's path is not valid UTF-8")
    assert not any(tmp_path.iterdir())  # nothing written
