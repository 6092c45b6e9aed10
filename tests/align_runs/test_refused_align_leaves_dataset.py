"""A run of `align_dataset` refused while aligning (on_missing='error', on_error='fail', an inconsistent input
table) leaves the dataset as it was: manifest entries, shards and errors tables of the earlier outputs."""
from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import mmdata.alignment.dataset as align_module
from mmdata.alignment.dataset import ALIGN_PREVIOUS_DIR as PREVIOUS_DIR, align_dataset
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError, ExtractionError
from mmdata.store import open_dataset
from tests.align_runs.conftest import UNCOVERED, snapshot

runner = CliRunner()
TABLES = ["audio.covarep", "video.facet-41"]
OUTPUTS = ["audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words"]


def test_a_refused_force_run_keeps_the_earlier_alignment_whole(gapped_dataset):
    out = gapped_dataset
    align_dataset(out, "text.words", tables=TABLES, on_missing="impute")
    before = snapshot(out)
    # shards 0 and 1 are aligned again (and written) before shard 2 meets the uncovered word
    with pytest.raises(DatasetError, match=rf"sample '{UNCOVERED}' .* overlaps no row of 'audio.covarep'"):
        align_dataset(out, "text.words", tables=TABLES, on_missing="error", force=True)
    assert snapshot(out) == before  # manifest, shards, no folder left behind
    data = open_dataset(out)
    assert all(data.entry(name).complete and data.entry(name).config["on_missing"] == "impute" for name in OUTPUTS)
    assert check_dataset(out).ok


def test_a_refused_cli_run_keeps_the_earlier_alignment_and_check_passes(gapped_dataset):
    out = gapped_dataset
    assert runner.invoke(app, ["align", str(out), "-r", "text.words", "-t", ",".join(TABLES),
                               "--on-missing", "impute"]).exit_code == 0
    before = snapshot(out)
    result = runner.invoke(app, ["align", str(out), "-r", "text.words", "-t", ",".join(TABLES),
                                 "--on-missing", "error", "--force"])
    assert result.exit_code == 2 and "overlaps no row of 'audio.covarep'" in result.output
    assert snapshot(out) == before
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 0, result.output


def test_a_refused_first_run_leaves_no_output(gapped_dataset):
    out = gapped_dataset
    before = snapshot(out)
    with pytest.raises(DatasetError, match="overlaps no row of 'audio.covarep'"):
        align_dataset(out, "text.words", tables=TABLES, on_missing="error")
    assert snapshot(out) == before
    assert not [p for p in (out / "features").iterdir() if "@" in p.name] and not (out / "errors").exists()


def test_a_run_stopped_by_on_error_fail_keeps_the_earlier_alignment_and_its_errors_tables(gapped_dataset):
    out = gapped_dataset
    _drop_features(out, "video.facet-41", "abcd")  # shard 1: a sample that failed extraction
    align_dataset(out, "text.words", tables=TABLES, on_missing="impute")
    assert open_dataset(out).entry("audio.covarep@text.words").errors == 1
    before = snapshot(out)
    with pytest.raises(ExtractionError, match="sample 'abcd': no features in 'video.facet-41'"):
        align_dataset(out, "text.words", tables=TABLES, on_missing="drop", on_error="fail", force=True)
    assert snapshot(out) == before  # the errors tables of the earlier run too
    assert all(open_dataset(out).entry(name).complete for name in OUTPUTS)


def test_an_input_row_with_more_features_than_intervals_is_refused_naming_it_and_changes_nothing(gapped_dataset):
    out = gapped_dataset
    align_dataset(out, "text.words", tables=TABLES, on_missing="drop")
    _drop_last_interval(out, "video.facet-41", "x9Y_z-1")
    before = snapshot(out)
    with pytest.raises(DatasetError, match=r"table 'video.facet-41', sample 'x9Y_z-1' \(shard part-00002\.parquet\): 150 "
                                           r"feature rows but 149 intervals; expected one interval per feature row"):
        align_dataset(out, "text.words", tables=TABLES, on_missing="impute", force=True)
    assert snapshot(out) == before


def test_an_interrupted_run_keeps_its_shards_to_resume_and_leaves_no_kept_files(gapped_dataset, monkeypatch):
    out = gapped_dataset
    align_dataset(out, "text.words", tables=TABLES, on_missing="impute")
    real = align_module._align_shard

    def interrupted(dataset, index, *args):
        if index == 2:
            raise KeyboardInterrupt
        real(dataset, index, *args)

    monkeypatch.setattr(align_module, "_align_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        align_dataset(out, "text.words", tables=TABLES, on_missing="drop", force=True)
    assert not (out / PREVIOUS_DIR).exists()
    assert not open_dataset(out).entry("audio.covarep@text.words").complete  # as after a kill: resumable
    monkeypatch.setattr(align_module, "_align_shard", real)
    report = align_dataset(out, "text.words", tables=TABLES, on_missing="drop")
    assert (report.shards_done, report.shards_aligned) == (2, 1)
    assert check_dataset(out).ok


def test_the_kept_files_of_a_killed_run_are_removed_by_the_next_run(gapped_dataset):
    out = gapped_dataset
    align_dataset(out, "text.words", tables=TABLES, on_missing="impute")
    left = out / PREVIOUS_DIR / "features" / "audio.covarep@text.words"
    shutil.copytree(out / "features" / "audio.covarep@text.words", left)  # what a SIGKILL mid-run leaves
    report = align_dataset(out, "text.words", tables=TABLES, on_missing="impute")
    assert report.up_to_date and not (out / PREVIOUS_DIR).exists()


def _drop_features(out, table, sample_id):
    """Null the features of one sample in `table`, with the errors-table row extraction writes for it."""
    data = open_dataset(out)
    for shard in sorted(data.table_dir(table).glob("part-*.parquet")):
        stored = pq.read_table(shard)
        ids = stored.column("sample_id").to_pylist()
        if sample_id not in ids:
            continue
        mask = pa.array([i != sample_id for i in ids])
        columns = [pa.compute.if_else(mask, stored.column(c), pa.nulls(len(ids), stored.schema.field(c).type))
                   if c != "sample_id" else stored.column(c) for c in stored.column_names]
        pq.write_table(pa.Table.from_arrays(columns, schema=stored.schema), shard)
        errors = out / "errors" / table
        errors.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"table": [table], "sample_id": [sample_id], "stage": ["decode"],
                                 "error_type": ["MediaError"], "reason": ["test"]}), errors / shard.name)
        manifest = json.loads((out / "mmdata.json").read_text())
        manifest["tables"][table]["errors"] = 1
        (out / "mmdata.json").write_text(json.dumps(manifest))


def _drop_last_interval(out, table, sample_id):
    """Drop the last interval of one row of `table` (a table written outside mmdata), keeping its metadata."""
    data = open_dataset(out)
    for shard in sorted(data.table_dir(table).glob("part-*.parquet")):
        stored = pq.read_table(shard)
        rows = stored.to_pylist()
        if not any(r["sample_id"] == sample_id for r in rows):
            continue
        for row in rows:
            if row["sample_id"] == sample_id:
                row["intervals"] = row["intervals"][:-1]
        pq.write_table(pa.Table.from_pylist(rows, schema=stored.schema), shard)
