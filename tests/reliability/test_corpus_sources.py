"""A rerun into an existing dataset keeps what the first run read; when a .csd, pickle or label file it
read was replaced since, the rerun says so, and unfinished precomputed tables are not finished from it."""
from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.manifest import write_manifest
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, LABELS_FILE, write_mosi_csd, write_sdk_csd


def _extract(fake, out):
    return extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)


def _replace_covarep(fake):
    """COVAREP rewritten with other values (as a new release of the features would be)."""
    data = {vid: (features + 1.0, intervals) for vid, (features, intervals) in fake.data[COVAREP_FILE].items()}
    write_sdk_csd(fake.root / COVAREP_FILE, COVAREP_ROOT, data)


def test_the_manifest_records_the_files_the_tables_and_labels_came_from(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    _extract(fake, tmp_path / "out")
    sources = open_dataset(tmp_path / "out").manifest.extra["sources"]
    assert COVAREP_FILE in sources and LABELS_FILE in sources
    assert sources[COVAREP_FILE]["size"] == (fake.root / COVAREP_FILE).stat().st_size


def test_a_rerun_names_a_replaced_file_and_keeps_what_it_read(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    _extract(fake, out)
    assert _extract(fake, out).changed_sources == []
    before = open_dataset(out).table("audio.covarep").to_table()
    _replace_covarep(fake)
    report = _extract(fake, out)
    assert len(report.changed_sources) == 1 and report.changed_sources[0].startswith(COVAREP_FILE)
    assert open_dataset(out).table("audio.covarep").to_table().equals(before)
    result = CliRunner().invoke(app, ["extract", "csd", str(fake.root), str(out), "--shard-size", "2", "-j", "0"])
    assert result.exit_code == 0, result.output
    assert f"warning: corpus files changed since the dataset was made: {COVAREP_FILE}" in result.output
    assert "extract into a new output directory" in result.output


def test_a_touched_file_of_the_same_size_counts_as_modified_and_a_removed_one_as_missing(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    _extract(fake, out)
    stat = (fake.root / LABELS_FILE).stat()
    os.utime(fake.root / LABELS_FILE, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _extract(fake, out).changed_sources == [f"{LABELS_FILE} (modified)"]
    (fake.root / COVAREP_FILE).unlink()
    assert f"{COVAREP_FILE} (missing)" in _extract(fake, out).changed_sources


def test_unfinished_precomputed_tables_are_not_finished_from_a_replaced_file(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    _extract(fake, out)
    layout.shard_files(out / "features" / "audio.covarep")[1].unlink()  # as a run killed before it
    data = open_dataset(out)
    data.manifest.tables["audio.covarep"].complete = False
    write_manifest(out, data.manifest)
    _replace_covarep(fake)
    with pytest.raises(DatasetError, match=rf"unfinished.*{COVAREP_FILE} \(modified\).*new output directory"):
        _extract(fake, out)
    assert not open_dataset(out).entry("audio.covarep").complete


def test_an_unchanged_corpus_finishes_its_precomputed_tables(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    _extract(fake, out)
    before = open_dataset(out).table("audio.covarep").to_table()
    layout.shard_files(out / "features" / "audio.covarep")[1].unlink()
    data = open_dataset(out)
    data.manifest.tables["audio.covarep"].complete = False
    write_manifest(out, data.manifest)
    report = _extract(fake, out)
    assert report.changed_sources == [] and open_dataset(out).entry("audio.covarep").complete
    assert open_dataset(out).table("audio.covarep").to_table().equals(before)
