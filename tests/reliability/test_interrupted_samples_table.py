"""A run killed while it wrote the samples table (before the manifest exists) leaves shards and
temporary files; the next run starts the samples table afresh instead of counting them with its own."""
from __future__ import annotations

import pyarrow.dataset as ds

from mmdata.checks import check_dataset
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from tests.sample_corpus import copy_sample_corpus


def test_shards_of_a_samples_table_killed_before_its_manifest_are_replaced_not_counted(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    out = tmp_path / "ds"
    extract("coco", corpus, out, extractors=[], num_workers=0, shard_size=1)  # one shard per sample
    samples = open_dataset(out).manifest.samples["rows"]
    (out / layout.MANIFEST_NAME).unlink()  # as a run killed before writing it leaves the folder
    (layout.samples_dir(out) / ".part-00099.parquet.0123abcd.tmp").write_bytes(b"half a shard")
    (layout.samples_dir(out) / "notes.txt").write_text("not the store's")  # left alone
    extract("coco", corpus, out, extractors=["pixel-stats"], num_workers=0)  # default shard size: one shard
    folder = layout.samples_dir(out)
    assert [p.name for p in layout.shard_files(folder)] == ["part-00000.parquet"]
    assert not list(folder.glob(".part-*.tmp")) and (folder / "notes.txt").is_file()
    (folder / "notes.txt").unlink()
    assert ds.dataset(folder).count_rows() == samples
    assert check_dataset(out).ok


def test_temporary_files_of_killed_writers_go_with_the_next_run_even_in_tables_it_does_not_claim(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    out = tmp_path / "ds"
    extract("coco", corpus, out, extractors=["pixel-stats"], num_workers=0)
    stale = [out / "features" / "image.pixel-stats" / ".part-00000.parquet.0123abcd.tmp",
             out / "errors" / "image.pixel-stats" / ".part-00000.parquet.0123abcd.tmp",
             out / ".mmdata.json.0123abcd.tmp"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    extract("coco", corpus, out, extractors=["color-hist"], num_workers=0)  # another table
    assert not [p for p in stale if p.exists()]
    assert check_dataset(out).ok
