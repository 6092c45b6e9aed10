"""`mmdata share` holds the dataset's writer lock: a dataset an extract or align writes now is refused (its
tables could be published half old, half new, under the old provenance), and no writer starts mid-share."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetBusyError
from mmdata.pipeline import extract
from mmdata.share import share_dataset, verify_checksums
from mmdata.share import export
from mmdata.store.lock import writing
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("coco")
    extract("coco", copy_sample_corpus("coco", tmp), tmp / "ds", extractors=["pixel-stats"], num_workers=0)
    return tmp / "ds"


def test_a_dataset_an_extract_writes_now_is_refused_and_nothing_is_written(coco, tmp_path):
    out = tmp_path / "hf"
    with writing(coco, "extract"):  # what a running `mmdata extract` or `mmdata align` holds
        with pytest.raises(DatasetBusyError, match=rf"{coco} is being written by another mmdata process .*share it "
                                                   "when that one has finished"):
            share_dataset(coco, out, allow_failed_checks=True)
        result = runner.invoke(app, ["share", str(coco), "--out", str(out)])
        assert result.exit_code == 2 and "is being written by another mmdata process" in " ".join(result.stderr.split())
        assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    share_dataset(coco, out)  # the writer has finished
    assert verify_checksums(out).ok


def test_no_writer_can_start_on_the_dataset_while_it_is_shared(coco, tmp_path, monkeypatch):
    refused = []
    write_checksums = export.write_checksums

    def extract_meanwhile(folder):
        with pytest.raises(DatasetBusyError) as busy:
            with writing(coco, "extract"):
                pass
        refused.append(str(busy.value))
        write_checksums(folder)

    monkeypatch.setattr(export, "write_checksums", extract_meanwhile)
    share_dataset(coco, tmp_path / "hf")
    assert len(refused) == 1 and "is being written by another mmdata process" in refused[0]


def test_two_shares_of_one_dataset_run_side_by_side(coco, tmp_path, monkeypatch):
    write_checksums = export.write_checksums
    beside, started = tmp_path / "embedded", []

    def share_another_meanwhile(folder):
        if not started:  # in the first share only (the second one writes its checksums through here too)
            started.append(beside)
            share_dataset(coco, beside, media="embed")
        write_checksums(folder)

    monkeypatch.setattr(export, "write_checksums", share_another_meanwhile)
    share_dataset(coco, tmp_path / "hf")
    assert verify_checksums(tmp_path / "hf").ok and verify_checksums(beside).ok
