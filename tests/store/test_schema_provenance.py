"""Every shard of every table carries its provenance (extractor, config, library versions, dim, dtype,
frame rate) as strict JSON under one schema metadata key, agreeing with the manifest; plain pyarrow
reads it without mmdata, and `datasets` reads the rows of either format as pyarrow does."""
from __future__ import annotations

import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.pipeline import extract
from mmdata.store import MANIFEST_NAME, open_dataset
from mmdata.store.shards import read_shard
from tests.fakes.csd import write_mosi_csd
from tests.sample_corpus import copy_sample_corpus

FORMATS = ("parquet", "arrow")


@pytest.fixture(scope="module")
def datasets_on_disk(tmp_path_factory):
    """{(corpus, format): dataset dir}: COCO images in shards of 3 rows, CMU-MOSI-style sequences with
    frame rates and intervals, each written as Parquet and as Arrow IPC tables."""
    root = tmp_path_factory.mktemp("provenance")
    coco = copy_sample_corpus("coco", root)
    csd = write_mosi_csd(root / "csd").root
    out = {}
    for fmt in FORMATS:
        out["coco", fmt] = root / f"coco-{fmt}"
        extract("coco", coco, out["coco", fmt], extractors=["color-hist:bins=4", "hashed-bow"], num_workers=0,
                shard_size=3, table_format=fmt)
        out["csd", fmt] = root / f"csd-{fmt}"
        extract("csd", csd, out["csd", fmt], extractors=[], num_workers=0, table_format=fmt)
    return out


def _strict_json(raw: bytes):
    """JSON as every parser reads it: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(raw, parse_constant=refuse)


def _plain_pyarrow_schema(path):
    if path.suffix == ".parquet":
        return pq.read_schema(path)
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).schema


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("corpus", ["coco", "csd"])
def test_every_shard_carries_the_tables_provenance_as_strict_json(datasets_on_disk, corpus, fmt):
    data = open_dataset(datasets_on_disk[corpus, fmt])
    manifest = _strict_json((data.root / MANIFEST_NAME).read_bytes())
    assert data.table_names
    for name in data.table_names:
        entry = data.entry(name)
        files = data.table_files(name)
        assert len(files) == len(manifest["samples"]["shards"])
        for path in files:
            assert path.suffix == f".{fmt}"
            meta = _strict_json(_plain_pyarrow_schema(path).metadata[b"mmdata"])
            assert meta["table"] == name and meta["extractor"] == entry.extractor
            assert meta["config"] == entry.config and meta["spec"] == entry.spec
            assert meta["versions"] == entry.versions and "mmdata" in meta["versions"]
            assert meta["samples_fingerprint"] == manifest["samples"]["fingerprint"]
        assert manifest["tables"][name]["rows"] == data.table(name).count_rows() == manifest["samples"]["rows"]


def test_sequence_tables_record_their_frame_rate_and_dim(datasets_on_disk):
    data = open_dataset(datasets_on_disk["csd", "arrow"])
    spec = data.table_metadata("audio.covarep")["spec"]
    assert spec["frame_rate"] == 100.0 and spec["dim"] == 4 and spec["kind"] == "sequence" and spec["intervals"]
    assert data.table_metadata("video.facet-41")["spec"]["frame_rate"] == 30.0


@pytest.mark.parametrize("fmt", FORMATS)
def test_datasets_reads_the_rows_pyarrow_reads(datasets_on_disk, fmt, tmp_path):
    data = open_dataset(datasets_on_disk["csd", fmt])
    path = data.table_files("audio.covarep")[0]
    if fmt == "parquet":
        loaded = datasets.Dataset.from_parquet(str(path), cache_dir=str(tmp_path))
    else:
        loaded = datasets.load_dataset("arrow", data_files=str(path), split="train", cache_dir=str(tmp_path))
    expected = read_shard(path)
    assert loaded.num_rows == expected.num_rows
    assert loaded.to_dict() == expected.to_pydict()
