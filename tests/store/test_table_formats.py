"""Feature tables as Parquet (the default) or Arrow IPC: same tables, zero-copy reads, no mixing."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError, ShardReadError
from mmdata.fusion import fuse
from mmdata.fusion.torch_dataset import FusedDataset
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.layout import shard_files
from mmdata.store.shards import open_shard, parquet_pool, read_shard, release_unused_memory, shard_rows, shard_schema
from tests.sample_corpus import copy_sample_corpus

EXTRACTORS = ["color-hist:bins=4", "pixel-stats"]


@pytest.fixture(scope="module")
def both_formats(tmp_path_factory):
    """The sample COCO corpus extracted twice: Parquet tables (default) and Arrow IPC tables."""
    tmp = tmp_path_factory.mktemp("formats")
    coco = copy_sample_corpus("coco", tmp)
    extract("coco", coco, tmp / "arrow", extractors=EXTRACTORS, num_workers=0, shard_size=3, table_format="arrow")
    extract("coco", coco, tmp / "parquet", extractors=EXTRACTORS, num_workers=0, shard_size=3)
    return tmp


def test_arrow_feature_tables_are_memory_mappable_ipc_files_with_provenance(both_formats):
    data = open_dataset(both_formats / "arrow")
    files = shard_files(data.table_dir("image.color-hist"))
    assert [f.name for f in files] == ["part-00000.arrow", "part-00001.arrow", "part-00002.arrow"]
    assert data.entry("image.color-hist").format == "arrow"
    with pa.memory_map(str(files[0])) as source:  # a plain IPC file any Arrow reader opens, zero-copy
        table = pa.ipc.open_file(source).read_all()
    assert table.num_rows == shard_rows(files[0]) == 3
    assert json.loads(shard_schema(files[0]).metadata[b"mmdata"])["extractor"] == "color-hist"
    assert ds.dataset(data.table_dir("image.color-hist"), format="ipc").count_rows() == 8
    # samples and errors stay Parquet
    assert {p.suffix for p in (both_formats / "arrow" / "samples").iterdir()} == {".parquet"}


def test_parquet_and_arrow_tables_hold_the_same_rows_and_pass_the_same_checks(both_formats):
    arrow, parquet = open_dataset(both_formats / "arrow"), open_dataset(both_formats / "parquet")
    assert parquet.entry("image.color-hist").format == "parquet"
    assert [f.suffix for f in shard_files(parquet.table_dir("image.color-hist"))] == [".parquet"] * 3
    for name in ("image.color-hist", "image.pixel-stats"):
        assert arrow.table(name).to_table().equals(parquet.table(name).to_table())
    assert check_dataset(arrow.root).ok and check_dataset(parquet.root).ok
    assert ds.dataset(parquet.table_dir("image.color-hist")).count_rows() == 8  # plain pyarrow, no format


def test_fuse_reads_either_format_to_the_same_export(both_formats, tmp_path):
    fuse(both_formats / "arrow", tmp_path / "a", format="arrow", normalize="zscore", stats_splits=("val2017",),
         tables=("image.color-hist",))
    fuse(both_formats / "parquet", tmp_path / "p", format="arrow", normalize="zscore", stats_splits=("val2017",),
         tables=("image.color-hist",))
    a, p = FusedDataset(tmp_path / "a", "val2017"), FusedDataset(tmp_path / "p", "val2017")
    assert len(a) == len(p) == 8
    np.testing.assert_array_equal(np.stack([a[i]["feature"] for i in range(8)]), np.stack([p[i]["feature"] for i in range(8)]))


def test_resuming_a_table_in_another_format_is_refused_with_the_fix(both_formats, tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    out = tmp_path / "out"
    extract("coco", coco, out, extractors=["color-hist:bins=4"], num_workers=0, shard_size=3, table_format="arrow")
    with pytest.raises(DatasetError, match=r"holds arrow shards, not parquet; extract it with --table-format arrow"):
        extract("coco", coco, out, extractors=["color-hist:bins=4"], num_workers=0, shard_size=3)


def test_a_table_directory_with_both_formats_is_refused(both_formats, tmp_path):
    table_dir = tmp_path / "t"
    table_dir.mkdir()
    src = both_formats / "arrow" / "features" / "image.color-hist" / "part-00000.arrow"
    (table_dir / "part-00000.arrow").write_bytes(src.read_bytes())
    (table_dir / "part-00001.parquet").write_bytes(b"PAR1")
    with pytest.raises(DatasetError, match=r"holds shards of two formats"):
        shard_files(table_dir)
    assert read_shard(table_dir / "part-00000.arrow", columns=["sample_id"]).column_names == ["sample_id"]


def test_manifest_without_a_format_reads_as_parquet(both_formats, tmp_path):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(both_formats / "parquet", copy)
    manifest = json.loads((copy / "mmdata.json").read_text())
    for entry in manifest["tables"].values():
        del entry["format"]  # written before feature tables had a format
    (copy / "mmdata.json").write_text(json.dumps(manifest))
    assert open_dataset(copy).entry("image.color-hist").format == "parquet"
    assert check_dataset(copy).ok


def test_cli_table_format_option(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["extract", "coco", str(coco), str(tmp_path / "out"), "--image", "pixel-stats",
                                 "-j", "0", "-q", "--table-format", "arrow"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "features" / "image.pixel-stats" / "part-00000.arrow").is_file()
    assert ds.dataset(tmp_path / "out" / "features" / "image.pixel-stats", format="ipc").count_rows() == 8
    result = runner.invoke(app, ["extract", "coco", str(coco), str(tmp_path / "bad"), "--table-format", "csv", "-q"])
    assert result.exit_code != 0 and "--table-format must be one of ['arrow', 'parquet']" in result.output + result.stderr


def test_parquet_shards_decode_into_jemalloc_and_give_it_back(both_formats):
    pool = parquet_pool()
    assert pool.backend_name == "jemalloc"  # pyarrow's Linux and macOS wheels have it
    parquet_shard = shard_files(both_formats / "parquet" / "features" / "image.color-hist")[0]
    before = pool.bytes_allocated()
    table = read_shard(parquet_shard, ["feature"])
    assert pool.bytes_allocated() > before  # the decoded columns live in the decode pool
    arrow_shard = shard_files(both_formats / "arrow" / "features" / "image.color-hist")[0]
    assert read_shard(arrow_shard, ["feature"]).equals(table)  # memory-mapped: no pool at all
    del table
    release_unused_memory()
    assert pool.bytes_allocated() == before


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_open_shard_gives_the_whole_schema_and_the_columns_asked_for_in_that_order(both_formats, fmt):
    shard = shard_files(both_formats / fmt / "features" / "image.color-hist")[0]
    schema, table = open_shard(shard, ["feature", "sample_id"])
    assert schema.names == ["sample_id", "feature"] and b"mmdata" in schema.metadata
    assert table.column_names == ["feature", "sample_id"] and table.num_rows == 3
    assert table.equals(read_shard(shard).select(["feature", "sample_id"]))
    with pytest.raises(KeyError, match="intervals"):
        open_shard(shard, ["sample_id", "intervals"])


class _ReaderOfAnotherPyarrow:
    """pyarrow's private Parquet reader as a later pyarrow might have it: other arguments."""

    def __init__(self, changed_at: str):
        self.changed_at = changed_at
        if changed_at == "constructor":
            raise TypeError("__cinit__() got an unexpected keyword argument 'memory_pool'")

    def open(self, *args, **kwargs):
        raise TypeError("open() got an unexpected keyword argument 'pre_buffer'")

    def close(self):
        pass


@pytest.mark.parametrize("changed_at", ["constructor", "open"])
def test_open_shard_reads_parquet_through_the_public_reader_when_the_private_one_changed(both_formats, monkeypatch,
                                                                                       tmp_path, changed_at):
    from mmdata.store import shards

    shard = shard_files(both_formats / "parquet" / "features" / "image.color-hist")[0]
    expected_schema, expected = open_shard(shard, ["feature", "sample_id"])
    monkeypatch.setattr(shards._parquet, "ParquetReader", lambda **kwargs: _ReaderOfAnotherPyarrow(changed_at))
    schema, table = open_shard(shard, ["feature", "sample_id"])
    assert schema.equals(expected_schema, check_metadata=True) and table.equals(expected)
    assert read_shard(shard).column_names == ["sample_id", "feature"]
    with pytest.raises(KeyError, match="intervals"):
        open_shard(shard, ["sample_id", "intervals"])
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(ShardReadError, match="truncated.parquet"):
        open_shard(truncated)


@pytest.mark.parametrize("threads", [None, 0])
@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_iter_table_shards_keeps_shard_order_past_the_read_ahead(tmp_path, fmt, threads):
    """More shards than are read ahead, of different sizes: infos and tables come in file order,
    and a shard without an asked-for column comes as its info and no table."""
    from mmdata.checks.stream import READ_AHEAD, iter_table_shards
    from mmdata.store.writer import write_table_atomic

    sizes = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3][: READ_AHEAD + 6]
    files, start = [], 0
    for k, rows in enumerate(sizes):
        ids = [f"s{i:03d}" for i in range(start, start + rows)]
        columns = {"sample_id": ids} if k == 4 else {"sample_id": ids, "value": np.arange(start, start + rows)}
        files.append(tmp_path / f"part-{k:05d}.{fmt}")
        write_table_atomic(pa.table(columns), files[-1])
        start += rows
    seen = list(iter_table_shards(files, ["value", "sample_id"], threads=threads))
    assert [info.index for info, _ in seen] == list(range(len(sizes)))
    assert [info.path for info, _ in seen] == files and [info.rows for info, _ in seen] == sizes
    assert seen[4][1] is None and seen[4][0].schema.names == ["sample_id"]
    values = np.concatenate([t.column("value").to_numpy() for _, t in seen if t is not None])
    expected = np.concatenate([np.arange(s, s + n) for k, (s, n) in enumerate(zip(np.cumsum([0, *sizes]), sizes)) if k != 4])
    assert np.array_equal(values, expected)
