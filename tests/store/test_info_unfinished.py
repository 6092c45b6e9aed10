"""`info` on a table an interrupted run left unfinished counts the rows of the shards written so far."""
from __future__ import annotations

from dataclasses import replace

from mmdata.info import describe_dataset
from mmdata.pipeline import extract
from mmdata.store.manifest import read_manifest, write_manifest
from tests.sample_corpus import copy_sample_corpus


def test_an_unfinished_table_counts_the_rows_of_its_written_shards(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    out = tmp_path / "ds"
    extract("coco", corpus, out, extractors=["pixel-stats"], num_workers=0, shard_size=3)  # 8 samples: 3 + 3 + 2
    (out / "features" / "image.pixel-stats" / "part-00002.parquet").unlink()  # as a run killed before the last
    manifest = read_manifest(out)
    manifest.tables["image.pixel-stats"] = replace(manifest.tables["image.pixel-stats"], complete=False, rows=0)
    write_manifest(out, manifest)
    (table,) = describe_dataset(out)["tables"]
    assert (table["complete"], table["rows"]) == (False, 6)
