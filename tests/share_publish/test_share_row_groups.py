"""A share's row groups are what a streaming reader can hold: 100 rows where samples embed images, 1,000
otherwise, never past the byte cap; with a page index; the values, streaming loads and checksums unchanged."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from mmdata.pipeline import extract
from mmdata.share import share_dataset
from mmdata.share.row_groups import MEDIA_ROW_GROUP_ROWS, ROW_GROUP_BYTES, row_group_lengths, write_share_file

ROWS = 250  # more than two media row groups, fewer than one shard (1,000 rows)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus root, dataset) of ROWS small distinct JPEGs in one split, with a pixel-stats table."""
    tmp = tmp_path_factory.mktemp("row-groups")
    corpus = tmp / "corpus"
    (corpus / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(ROWS):
        Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(corpus / "images" / f"{i:03d}.jpg")
        rows.append({"id": f"img-{i:03d}", "image": f"images/{i:03d}.jpg", "caption": f"noise {i}", "split": "train"})
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    extract("manifest", corpus, tmp / "ds", extractors=["pixel-stats"], num_workers=0)
    return corpus, tmp / "ds"


@pytest.fixture(scope="module")
def embedded(images, tmp_path_factory) -> Path:
    return share_dataset(images[1], tmp_path_factory.mktemp("embed") / "share", media="embed").out_dir


def group_rows(path: Path) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]


def test_samples_with_embedded_images_come_in_row_groups_of_100_rows(embedded):
    (samples,) = sorted((embedded / "samples").glob("*.parquet"))
    assert group_rows(samples) == [100, 100, 50]
    assert MEDIA_ROW_GROUP_ROWS == 100


def test_tables_without_media_keep_row_groups_of_up_to_1000_rows(images, embedded, tmp_path):
    (features,) = sorted((embedded / "features" / "image.pixel-stats").glob("*.parquet"))
    assert group_rows(features) == [ROWS]
    reference = share_dataset(images[1], tmp_path / "reference").out_dir
    (samples,) = sorted((reference / "samples").glob("*.parquet"))
    assert group_rows(samples) == [ROWS]


def test_every_file_has_a_page_index(embedded):
    for path in embedded.rglob("part-*.parquet"):
        if "errors" in path.parts:
            continue
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                assert meta.row_group(g).column(c).has_offset_index, (path, g, c)


def test_embedded_files_and_features_hold_the_source_values(images, embedded):
    corpus, dataset = images
    samples = pq.read_table(embedded / "samples")
    assert samples.column("sample_id").to_pylist() == [f"img-{i:03d}" for i in range(ROWS)]
    for row in samples.select(["image", "image_file"]).to_pylist():
        assert row["image_file"] == {"bytes": (corpus / row["image"]).read_bytes(), "path": row["image"]}
    shared = pq.read_table(embedded / "features" / "image.pixel-stats", columns=["sample_id", "feature"])
    source = pq.read_table(dataset / "features" / "image.pixel-stats", columns=["sample_id", "feature"])
    assert shared.equals(source)


def test_a_share_made_twice_has_the_same_checksums(images, embedded, tmp_path):
    again = share_dataset(images[1], tmp_path / "again", media="embed").out_dir
    assert (again / "checksums.sha256").read_text() == (embedded / "checksums.sha256").read_text()


def test_the_share_loads_with_datasets_as_a_split_and_streaming(embedded, datasets_cache):
    split = datasets_cache.load_dataset(str(embedded), "samples", split="train")
    assert split["sample_id"] == [f"img-{i:03d}" for i in range(ROWS)]
    streamed = datasets_cache.load_dataset(str(embedded), "samples", split="train", streaming=True)
    rows = list(streamed.cast_column("image_file", datasets_cache.Image(decode=False)))
    assert [row["sample_id"] for row in rows] == split["sample_id"]
    assert [row["image_file"]["bytes"] for row in rows] == [f["bytes"] for f in pq.read_table(
        embedded / "samples", columns=["image_file"]).column("image_file").to_pylist()]
    first = next(iter(datasets_cache.load_dataset(str(embedded), "samples", split="train", streaming=True)))
    assert first["image_file"].size == (16, 12)  # decoded as an image


def binary_rows(sizes: list[int]) -> pa.Table:
    return pa.table({"blob": pa.array([b"x" * size for size in sizes], pa.binary())})


def test_a_row_group_ends_before_the_row_that_would_pass_the_byte_cap(tmp_path):
    table = binary_rows([300, 300, 300, 900, 100, 100, 5000, 10])
    cap = binary_rows([300, 300, 300]).nbytes  # three of the first rows fit, a fourth would not
    lengths = row_group_lengths(table, max_rows=100, max_bytes=cap)
    assert sum(lengths) == table.num_rows
    start = 0
    for length in lengths:
        group = table.slice(start, length)
        assert length == 1 or group.nbytes <= cap  # one row larger than the cap is a group of its own
        if start + length < table.num_rows:  # the next row would pass the cap
            assert table.slice(start, length + 1).nbytes > cap
        start += length
    assert lengths == [3, 1, 2, 1, 1]
    path = tmp_path / "blobs.parquet"
    write_share_file(table, path, max_rows=100, max_bytes=cap)
    assert group_rows(path) == lengths
    assert pq.read_table(path).equals(table)


def test_the_row_cap_applies_under_the_byte_cap():
    assert row_group_lengths(binary_rows([10] * 250), max_rows=100) == [100, 100, 50]
    assert row_group_lengths(binary_rows([]), max_rows=100) == [0]
    assert ROW_GROUP_BYTES == 100 * 10**6
