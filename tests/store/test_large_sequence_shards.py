"""Sequence tables too big to hold a shard in memory: a precomputed table's shard is written in
pieces (one Parquet row group each) and `check` reads big shards batch by batch, with the same
files, the same results and the same resumption as whole shards."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mmdata.precomputed as precomputed
from mmdata.checks import check_dataset
from mmdata.checks import stream
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.metadata import read_table_metadata
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, SDK_METADATA, write_mosi_csd, write_sdk_csd

TABLES = ("audio.covarep", "video.facet-41", "text.words")
COVAREP = "audio.covarep"


@pytest.fixture
def corpus(tmp_path):
    """Three whole videos; two of them with NaN in their COVAREP frames (kept, so counted per shard)."""
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    data = {vid: (features.copy(), intervals) for vid, (features, intervals) in fake.data[COVAREP_FILE].items()}
    for vid, row in (("abc", 5), ("x9Y_z-1", 40)):
        data[vid][0][row, 1] = np.nan
    write_sdk_csd(fake.root / COVAREP_FILE, COVAREP_ROOT, data, {**SDK_METADATA, "computational sequence description": "fake"})
    return fake.root


def _extract(root: Path, out: Path) -> None:
    extract("csd", root, out, extractors=[], shard_size=2, num_workers=0, corpus_options={"nonfinite": "keep"})


def _assert_same_rows(found: pa.Table, expected: pa.Table) -> None:
    """Same schema, ids, values and intervals, row by row (NaN where the other has NaN)."""
    assert found.schema.equals(expected.schema)
    for name in expected.column_names:
        np.testing.assert_equal(found.column(name).to_pylist(), expected.column(name).to_pylist(), err_msg=name)


def _one_row_a_piece(monkeypatch) -> None:
    monkeypatch.setattr(precomputed, "PIECE_BYTES", 1)


def test_a_shard_written_in_pieces_reads_back_as_one_written_whole(corpus, tmp_path, monkeypatch):
    whole, pieces = tmp_path / "whole", tmp_path / "pieces"
    _extract(corpus, whole)
    _one_row_a_piece(monkeypatch)
    _extract(corpus, pieces)
    for name in TABLES:
        for before, after in zip(sorted((whole / "features" / name).glob("part-*")),
                                 sorted((pieces / "features" / name).glob("part-*")), strict=True):
            expected, found = pq.read_table(before), pq.read_table(after)
            _assert_same_rows(found, expected)  # ids, values, intervals, extra columns
            assert found.schema.metadata == expected.schema.metadata, after  # provenance, nonfinite count
            assert pq.read_metadata(after).num_row_groups == found.num_rows  # one row group a piece
        assert pq.read_metadata(whole / "features" / name / "part-00000.parquet").num_row_groups == 1
    assert open_dataset(pieces).manifest.extra["nonfinite_values"] == open_dataset(whole).manifest.extra["nonfinite_values"]
    assert open_dataset(pieces).manifest.extra["nonfinite_values"][COVAREP] == 2
    assert [read_table_metadata(p)["nonfinite_values"]
            for p in sorted((pieces / "features" / COVAREP).glob("part-*"))] == [1, 1]
    assert not [p for p in (pieces / "features" / COVAREP).iterdir() if p.name.startswith(".")]


def test_an_arrow_shard_of_several_pieces_is_one_record_batch(corpus, tmp_path, monkeypatch):
    _one_row_a_piece(monkeypatch)
    out = tmp_path / "out"
    extract("csd", corpus, out, extractors=[], shard_size=2, num_workers=0, corpus_options={"nonfinite": "keep"},
            table_format="arrow")
    path = out / "features" / COVAREP / "part-00000.arrow"
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        assert reader.num_record_batches == 1 and reader.get_batch(0).num_rows == 2
    assert json.loads(reader.schema.metadata[b"mmdata"])["nonfinite_values"] == 1


def _damage(out: Path) -> None:
    """NaN in the last row group of the COVAREP shard, and an interval ending before it starts in the
    second; the shard rewritten one row group a row, as a big shard comes."""
    path = out / "features" / COVAREP / "part-00000.parquet"
    table = pq.read_table(path)
    feature = table.column("feature").to_pylist()
    intervals = table.column("intervals").to_pylist()
    feature[-1][7][2] = float("nan")
    intervals[1][3] = [intervals[1][3][1], intervals[1][3][0] - 0.5]
    table = table.set_column(1, "feature", pa.array(feature, table.schema.field("feature").type))
    table = table.set_column(2, "intervals", pa.array(intervals, table.schema.field("intervals").type))
    pq.write_table(table, path, row_group_size=1)


def _issues(report) -> list[tuple]:
    """What each issue found: its message too, but of a merged finding that is the first batch's
    (and a batch of a big shard holds fewer rows)."""
    return sorted((i.code, i.severity, i.table, i.sample_id, i.count, tuple(i.examples or ())) for i in report.issues)


def test_check_finds_the_same_issues_in_a_shard_read_in_batches(corpus, tmp_path, monkeypatch):
    out = tmp_path / "out"
    extract("csd", corpus, out, extractors=[], shard_size=1000, num_workers=0, corpus_options={"nonfinite": "keep"})
    _damage(out)
    whole = check_dataset(out)
    streamed: list[Path] = []
    real_open = stream.open_shard_batches

    def open_and_note(path, *args):
        streamed.append(path)
        return real_open(path, *args)

    monkeypatch.setattr(stream, "BATCH_BYTES", 1)  # every shard is big: read a row at a time
    monkeypatch.setattr(stream, "open_shard_batches", open_and_note)
    in_batches = check_dataset(out)
    assert out / "features" / COVAREP / "part-00000.parquet" in streamed
    assert _issues(in_batches) == _issues(whole)
    found = {(i.code, i.table): i for i in in_batches.issues}
    ids = [r["sample_id"] for r in pq.read_table(out / "features" / COVAREP / "part-00000.parquet").to_pylist()]
    nonfinite = [i for (code, table), i in found.items() if table == COVAREP and "finite" in code]
    assert nonfinite and ids[-1] in nonfinite[0].examples and ids[0] in nonfinite[0].examples
    order = [i for (code, table), i in found.items() if table == COVAREP and "interval" in code]
    assert order and {i.sample_id for i in order} == {ids[1]}, [(i.code, i.sample_id) for i in order]


def test_iter_shard_batches_holds_the_rows_of_iter_table_shards(corpus, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _one_row_a_piece(monkeypatch)
    _extract(corpus, out)
    files = sorted((out / "features" / COVAREP).glob("part-*"))
    columns = ["sample_id", "feature", "intervals"]
    whole = [(info, table) for info, table in stream.iter_table_shards(files, columns)]
    monkeypatch.setattr(stream, "BATCH_BYTES", 1)
    for (info, table), (batch_info, batches) in zip(whole, stream.iter_shard_batches(files, columns), strict=True):
        assert batch_info == info
        _assert_same_rows(pa.Table.from_batches(list(batches)), table)


_KILLED_INSIDE_A_SHARD = """
import os, signal, sys
import mmdata.precomputed as precomputed
from mmdata.pipeline import extract
from mmdata.store.writer import ParquetShardWriter

precomputed.PIECE_BYTES = 1
real_write = ParquetShardWriter.write

def write(self, table):
    real_write(self, table)
    if self.path.parent.name == "audio.covarep":
        os.kill(os.getpid(), signal.SIGKILL)  # killed with one piece of the shard in its temporary file

ParquetShardWriter.write = write
extract("csd", sys.argv[1], sys.argv[2], extractors=[], shard_size=2, num_workers=0, corpus_options={"nonfinite": "keep"})
"""


def test_a_write_killed_inside_a_shard_resumes(corpus, tmp_path, monkeypatch):
    out, whole = tmp_path / "out", tmp_path / "whole"
    _extract(corpus, whole)
    killed = subprocess.run([sys.executable, "-c", _KILLED_INSIDE_A_SHARD, str(corpus), str(out)],
                            capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert killed.returncode == -9, killed.stderr
    table_dir = out / "features" / COVAREP
    assert not (table_dir / "part-00000.parquet").exists()
    assert [p for p in table_dir.iterdir() if p.name.startswith(".")]  # the half-written shard, hidden
    _one_row_a_piece(monkeypatch)
    _extract(corpus, out)
    data = open_dataset(out)
    assert data.entry(COVAREP).complete
    assert not [p for p in table_dir.iterdir() if p.name.startswith(".")]
    assert pq.read_metadata(table_dir / "part-00000.parquet").num_row_groups == 2
    for name in TABLES:
        _assert_same_rows(data.table(name).to_table(), open_dataset(whole).table(name).to_table())
    assert _issues(check_dataset(out)) == _issues(check_dataset(whole))  # the kept NaN, nothing more
