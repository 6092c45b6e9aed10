"""A share whose samples embed media is cut into files of at most `MEDIA_FILE_BYTES` each (`datasets`' 500 MB
shard size; a small cap here), as even as whole rows allow, every table's files following that cut; the rows,
their order, the card's data files, the manifest's shards and the checksums stay right. Tables of a share
without media keep one file per output shard."""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

import mmdata.share.row_groups as row_groups
from mmdata.checks import check_dataset
from mmdata.pipeline import extract
from mmdata.share import share_dataset
from mmdata.share.row_groups import MEDIA_FILE_BYTES, file_lengths
from mmdata.store.reader import open_dataset

SPLITS = {"train": 40, "val": 17}
CAP = 60_000  # bytes of rows a media file holds at most here: each split of noise JPEGs (~8 KB) takes several files


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus root, dataset) of noise JPEGs in two splits, with a pixel-stats table."""
    tmp = tmp_path_factory.mktemp("file-size")
    corpus = tmp / "corpus"
    (corpus / "images").mkdir(parents=True)
    rng = np.random.default_rng(1)
    rows = []
    for split, count in SPLITS.items():
        for i in range(count):
            name = f"images/{split}-{i:03d}.jpg"
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(corpus / name, quality=95)
            rows.append({"id": f"{split}-{i:03d}", "image": name, "caption": f"noise {i}", "split": split})
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    extract("manifest", corpus, tmp / "ds", extractors=["pixel-stats"], num_workers=0)
    return corpus, tmp / "ds"


def share_with_cap(dataset: Path, out: Path, **options) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(row_groups, "MEDIA_FILE_BYTES", CAP)
        return share_dataset(dataset, out, **options).out_dir


@pytest.fixture(scope="module")
def embedded(images, tmp_path_factory) -> Path:
    return share_with_cap(images[1], tmp_path_factory.mktemp("embed") / "share", media="embed")


def files_of(share: Path, folder: str) -> list[Path]:
    return sorted((share / folder).glob("part-*.parquet"))


def test_each_media_file_holds_at_most_the_cap_and_each_split_takes_several(embedded):
    samples = files_of(embedded, "samples")
    for path in samples:
        assert pq.read_table(path).nbytes <= CAP, path
    for split in SPLITS:
        assert len([p for p in samples if p.name.endswith(f"-{split}.parquet")]) > 1
    assert MEDIA_FILE_BYTES == 500 * 10**6  # the default stays `datasets.config.MAX_SHARD_SIZE`


def test_feature_files_follow_the_samples_files(embedded):
    samples = files_of(embedded, "samples")
    features = files_of(embedded, "features/image.pixel-stats")
    assert [p.name for p in features] == [p.name for p in samples]
    for sample_file, feature_file in zip(samples, features):
        assert (pq.read_table(feature_file, columns=["sample_id"]).column("sample_id")
                .equals(pq.read_table(sample_file, columns=["sample_id"]).column("sample_id")))


def test_ids_and_bytes_stay_whole_and_in_order_across_files(images, embedded):
    corpus, dataset = images
    rows = pa.concat_tables(pq.read_table(p) for p in files_of(embedded, "samples"))
    assert rows.column("sample_id").to_pylist() == [f"{s}-{i:03d}" for s, n in SPLITS.items() for i in range(n)]
    for row in rows.select(["image", "image_file"]).to_pylist():
        assert row["image_file"] == {"bytes": (corpus / row["image"]).read_bytes(), "path": row["image"]}
    shared = pa.concat_tables(pq.read_table(p, columns=["sample_id", "feature"])
                              for p in files_of(embedded, "features/image.pixel-stats"))
    source = pq.read_table(dataset / "features" / "image.pixel-stats", columns=["sample_id", "feature"])
    assert shared.equals(source)


def test_the_manifest_lists_the_files_as_shards_and_the_share_passes_its_checks(embedded):
    shared = open_dataset(embedded)
    assert shared.manifest.samples["shards"] == [pq.ParquetFile(p).metadata.num_rows
                                                 for p in files_of(embedded, "samples")]
    report = check_dataset(shared)
    assert report.ok, report.errors


def test_the_cards_data_files_match_every_written_file_once(embedded):
    card = (embedded / "README.md").read_text().split("---")[1]
    patterns = [path for config in yaml.safe_load(card)["configs"] for files in config["data_files"]
                for path in ([files["path"]] if isinstance(files["path"], str) else files["path"])]
    written = sorted(str(p.relative_to(embedded)) for folder in ("samples", "features")
                     for p in (embedded / folder).rglob("part-*.parquet"))
    matched = sorted(f for f in written for pattern in patterns if fnmatch.fnmatchcase(f, pattern))
    assert matched == written


@pytest.mark.parametrize("config", ["samples", "image.pixel-stats"])
def test_load_dataset_reads_every_row_once_as_a_split_and_streaming(embedded, datasets_cache, config):
    for split, count in SPLITS.items():
        expected = [f"{split}-{i:03d}" for i in range(count)]
        loaded = datasets_cache.load_dataset(str(embedded), config, split=split)
        assert loaded["sample_id"] == expected
        streamed = datasets_cache.load_dataset(str(embedded), config, split=split, streaming=True)
        assert [row["sample_id"] for row in streamed.decode(False)] == expected


def test_a_media_share_made_twice_has_the_same_files_and_checksums(images, embedded, tmp_path):
    again = share_with_cap(images[1], tmp_path / "again", media="embed")
    assert (again / "checksums.sha256").read_text() == (embedded / "checksums.sha256").read_text()


def test_sharing_a_media_share_again_keeps_its_cut(embedded, tmp_path):
    again = share_with_cap(embedded, tmp_path / "again", media="embed")
    assert [p.name for p in files_of(again, "samples")] == [p.name for p in files_of(embedded, "samples")]
    assert pq.read_table(again / "samples").column("image_file").equals(
        pq.read_table(embedded / "samples").column("image_file"))


def test_a_share_without_media_keeps_one_file_per_split(images, tmp_path):
    reference = share_with_cap(images[1], tmp_path / "reference")
    names = ["part-00000-train.parquet", "part-00001-val.parquet"]
    assert [p.name for p in files_of(reference, "samples")] == names
    assert [p.name for p in files_of(reference, "features/image.pixel-stats")] == names


def binary_rows(sizes: list[int]) -> pa.Table:
    return pa.table({"blob": pa.array([b"x" * size for size in sizes], pa.binary())})


def test_files_are_as_even_as_whole_rows_allow():
    table = binary_rows([100] * 10)
    lengths = file_lengths(table, max_bytes=table.nbytes * 2 // 3)  # 2 files, not a full one and a remainder
    assert lengths == [5, 5]
    lengths = file_lengths(binary_rows([100] * 11), max_bytes=450)
    assert sum(lengths) == 11 and max(lengths) - min(lengths) <= 1
    assert all(binary_rows([100] * n).nbytes <= 450 for n in lengths)


def test_a_row_larger_than_the_cap_is_a_file_of_its_own_and_no_cap_is_one_file():
    assert file_lengths(binary_rows([10, 10, 5000, 10]), max_bytes=100) == [2, 1, 1]
    assert file_lengths(binary_rows([10] * 7), max_bytes=None) == [7]
    assert file_lengths(binary_rows([]), max_bytes=100) == [0]
