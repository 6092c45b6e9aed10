"""The command line on damaged, interrupted and foreign dataset folders: what `report --allow-failed-checks`,
`segment --force` and `verify` do there."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from tests.fakes.csd import LABELS_FILE, write_mosi_csd
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The COCO sample corpus as two tables of three shards each."""
    tmp = tmp_path_factory.mktemp("second-pass")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "--text", "hashed-bow", "-j", "0", "-q", "--shard-size", "3"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


def _truncate_a_shard(root: Path) -> str:
    """Returns what the page says about the table: here the shard's path."""
    shard = root / "features" / "image.color-hist" / "part-00002.parquet"
    shard.write_bytes(shard.read_bytes()[:40])
    return f"{shard}: cannot read this shard"


def _interrupt(root: Path) -> str:
    """As an extraction killed before the table's first shard leaves it: marked incomplete, no shard."""
    manifest = json.loads((root / "mmdata.json").read_text())
    manifest["tables"]["image.color-hist"].update(complete=False, rows=0)
    (root / "mmdata.json").write_text(json.dumps(manifest))
    for shard in (root / "features" / "image.color-hist").glob("part-*"):
        shard.unlink()
    return "has no finished shard yet"


@pytest.mark.parametrize("damage", [_truncate_a_shard, _interrupt])
def test_report_allowing_failed_checks_shows_an_unreadable_table_on_the_page(extracted, tmp_path, damage):
    root = tmp_path / "ds"
    shutil.copytree(extracted, root)
    said = damage(root)
    out = tmp_path / "r.html"
    refused = runner.invoke(app, ["report", str(root), "--out", str(out), "--gallery", "0"])
    assert refused.exit_code == 2 and "--allow-failed-checks" in refused.stderr and not out.exists()

    result = runner.invoke(app, ["report", str(root), "--out", str(out), "--gallery", "0", "--allow-failed-checks"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "checks FAILED" in result.stdout
    assert "1 tables (1 more left out, they cannot be read: image.color-hist)" in result.stdout
    page = out.read_text()
    assert "checks FAILED" in page
    left_out = page.split("Tables that cannot be read (1;", 1)[1].split("</table>", 1)[0]
    assert "<td>image.color-hist</td>" in left_out and said in left_out
    assert "<td>text.hashed-bow</td>" in page  # the readable table is still summarized and plotted
    assert "text: feature norms" in page and "image: feature norms" not in page


def test_report_of_an_intact_dataset_lists_no_unreadable_table(extracted, tmp_path):
    result = runner.invoke(app, ["report", str(extracted), "--out", str(tmp_path / "r.html"), "--gallery", "0"])
    assert result.exit_code == 0, result.output
    assert "left out" not in result.stdout and "2 tables, " in result.stdout
    assert "Tables that cannot be read" not in (tmp_path / "r.html").read_text()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Whole videos from fake .csd files, and the label file of their segments: (dataset, labels)."""
    tmp = tmp_path_factory.mktemp("second-pass-csd")
    write_mosi_csd(tmp / "videos", labels=False)
    labelled = write_mosi_csd(tmp / "labelled")
    result = runner.invoke(app, ["extract", "csd", str(tmp / "videos"), str(tmp / "vids"), "-o", "labels=none",
                                 "--text", "hashed-bow", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "vids", labelled.files[LABELS_FILE]


def test_segment_force_never_replaces_a_dataset_another_command_wrote(videos, extracted, tmp_path):
    vids, labels = videos
    other = tmp_path / "coco"
    shutil.copytree(extracted, other)
    before = (other / "mmdata.json").read_text()
    result = runner.invoke(app, ["segment", str(vids), str(other), "--labels", str(labels), "--force"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: output directory {other} is a dataset that `mmdata segment` did not write")
    assert len(result.stderr.strip().splitlines()) == 1
    assert (other / "mmdata.json").read_text() == before
    assert sorted(p.name for p in (other / "features").iterdir()) == ["image.color-hist", "text.hashed-bow"]

    # an earlier segment output is still replaced
    seg = tmp_path / "seg"
    first = runner.invoke(app, ["segment", str(vids), str(seg), "--labels", str(labels)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["segment", str(vids), str(seg), "--labels", str(labels), "--force"])
    assert again.exit_code == 0, again.output
    assert f"-> {seg}" in again.stdout


def test_verify_hint_is_a_command_that_runs_as_printed(extracted, tmp_path):
    folder = tmp_path / "my data [v1]"
    shutil.copytree(extracted, folder)
    assert runner.invoke(app, ["checksum", str(folder)]).exit_code == 0
    (folder / "notes.txt").write_text("added later")
    result = runner.invoke(app, ["verify", str(folder)])
    assert result.exit_code == 1
    assert result.stdout == "extra: notes.txt\n"
    assert f"`mmdata checksum '{folder}'`" in result.stderr
