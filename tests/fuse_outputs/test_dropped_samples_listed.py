"""`--missing drop` names every sample it leaves out: `dropped.parquet` in the export lists each one with
its split and the tables that lacked it, whatever the export format and the pass that decoded the
tables (mapped Arrow tables, Parquet tables, sequences kept)."""
from __future__ import annotations

from dataclasses import replace

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.fusion import fuse, read_fused_metadata
from tests.checks.builder import aligned_table, build_dataset, image_text_samples, mosi_samples, pooled_table, with_value


def _dataset_with_gaps(root, table_format: str):
    """12 samples; image lacks samples 1 and 7, text lacks 4 and 7 (so 7 lacks both)."""
    samples = image_text_samples()
    image, text = pooled_table("image.a", samples, 4), pooled_table("text.b", samples, 3, seed=1)
    for i in (1, 7):
        image = with_value(image, i, None)
    for i in (4, 7):
        text = with_value(text, i, None)
    tables = [replace(image, table_format=table_format), replace(text, table_format=table_format)]
    return build_dataset(root, samples, tables, shard_size=5), samples


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
@pytest.mark.parametrize("export_format", ["parquet", "arrow", "hf", "npy"])
def test_each_dropped_sample_is_listed_with_the_tables_it_lacks(tmp_path, table_format, export_format):
    dataset, samples = _dataset_with_gaps(tmp_path / "ds", table_format)
    report = fuse(dataset, tmp_path / "out", missing="drop", format=export_format)
    listed = pq.read_table(tmp_path / "out" / "dropped.parquet").to_pylist()
    assert listed == [
        {"sample_id": samples[1].sample_id, "split": samples[1].split, "missing_tables": ["image.a"]},
        {"sample_id": samples[4].sample_id, "split": samples[4].split, "missing_tables": ["text.b"]},
        {"sample_id": samples[7].sample_id, "split": samples[7].split, "missing_tables": ["image.a", "text.b"]},
    ]
    assert report.dropped == 3 and report.dropped_samples == tmp_path / "out" / "dropped.parquet"
    assert report.total_rows + report.dropped == len(samples)
    assert read_fused_metadata(tmp_path / "out")["missing"]["dropped_samples"] == "dropped.parquet"


def test_no_file_when_nothing_is_dropped(tmp_path):
    dataset, _ = _dataset_with_gaps(tmp_path / "ds", "arrow")
    report = fuse(dataset, tmp_path / "out", missing="zero", format="arrow")
    assert not (tmp_path / "out" / "dropped.parquet").exists() and report.dropped_samples is None
    assert read_fused_metadata(tmp_path / "out")["missing"]["dropped_samples"] is None


def test_sequences_kept_list_their_dropped_samples_too(tmp_path):
    samples = mosi_samples()
    audio = with_value(aligned_table("audio.f@text.words", samples, 3, 4), 2, None)
    video = aligned_table("video.g@text.words", samples, 2, 4, seed=1)
    dataset = build_dataset(tmp_path / "ds", samples, [audio, video])
    fuse(dataset, tmp_path / "out", missing="drop", sequences="ragged", format="arrow")
    listed = pq.read_table(tmp_path / "out" / "dropped.parquet").to_pylist()
    assert listed == [{"sample_id": samples[2].sample_id, "split": samples[2].split, "missing_tables": ["audio.f@text.words"]}]


def test_the_hf_parquet_loader_does_not_take_the_list_for_data(tmp_path):
    """`datasets.load_dataset` on a Parquet export finds the splits' files, not `dropped.parquet`."""
    import datasets

    dataset, samples = _dataset_with_gaps(tmp_path / "ds", "arrow")
    report = fuse(dataset, tmp_path / "out", missing="drop", format="parquet")
    loaded = datasets.load_dataset(str(tmp_path / "out"), cache_dir=str(tmp_path / "hf-cache"))
    assert sorted(loaded) == sorted(report.rows)
    assert {k: len(v) for k, v in loaded.items()} == report.rows


def test_the_command_line_says_where_the_list_is(tmp_path):
    dataset, _ = _dataset_with_gaps(tmp_path / "ds", "arrow")
    result = CliRunner().invoke(app, ["fuse", str(dataset), str(tmp_path / "out"), "--missing", "drop"])
    assert result.exit_code == 0, result.output
    assert f"dropped 3 (listed in {tmp_path / 'out' / 'dropped.parquet'})" in result.output
