"""The `img2dataset` loader on a fake output folder in both formats: the same samples, every failed URL and a
success row without its image in the problems, a skipped shard number, shards without Parquet, holdout splits."""
from __future__ import annotations

import logging
import re
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.img2dataset import DOWNLOAD_FAILED
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.fakes import samples_by_id
from tests.fakes.img2dataset import ADDITIONAL, FAILED, MISSING_IMAGE, PER_SHARD, fake_url, write_fake_img2dataset

KIND = "img2dataset"


@pytest.fixture(params=["files", "webdataset"])
def fake(request, tmp_path):
    return write_fake_img2dataset(tmp_path / request.param, request.param)


def without_shard_folder(image: str) -> str:
    """`00000.tar/000000000.jpg` and `00000/000000000.jpg` both as `000000000.jpg`."""
    return image.split("/", 1)[1]


def test_both_formats_give_the_same_samples_with_the_parquet_metadata(tmp_path):
    results = {fmt: load_corpus(KIND, write_fake_img2dataset(tmp_path / fmt, fmt).root)
               for fmt in ("files", "webdataset")}
    files, tars = (samples_by_id(results[f]) for f in ("files", "webdataset"))
    assert sorted(files) == sorted(tars) == ["000000000", "000000003", "000020000", "000020001", "000020002"]
    for key, sample in files.items():
        other = tars[key]
        assert sample.image == f"{key[:5]}/{key}.jpg" and other.image == f"{key[:5]}.tar/{key}.jpg"
        assert (sample.captions, sample.extra, sample.group_id, sample.split) == \
               (other.captions, other.extra, other.group_id, other.split)
        assert sample.corpus == "img2dataset" and sample.group_id == fake_url(key) and sample.split == "all"
        assert set(sample.extra) == {"url", "width", "height", "original_width", "original_height", *ADDITIONAL}
        assert (sample.extra["width"], sample.extra["height"], sample.extra["original_height"]) == (32, 24, 480)
    assert [(p.sample_id, p.error_type) for p in results["files"].problems] == \
           [(p.sample_id, p.error_type) for p in results["webdataset"].problems]
    assert results["files"].metadata["statuses"] == {"failed_to_download": 1, "failed_to_resize": 1, "success": 6}


def test_samples_match_the_fake(fake):
    result = load_corpus(KIND, fake.root)
    assert {s.sample_id: (s.image, s.captions) for s in result.samples} == fake.pairs()


def test_failed_rows_are_problems_naming_the_parquet_key_status_and_error_message(fake):
    problems = {p.sample_id: p for p in load_corpus(KIND, fake.root).problems}
    assert sorted(problems) == sorted([*FAILED, MISSING_IMAGE])
    for key, (status, message) in FAILED.items():
        problem = problems[key]
        assert problem.path == f"{fake.root / (key[:5] + '.parquet')}: row {int(key[5:])}"
        assert f"status {status!r}: {message}" in problem.reason and fake_url(key) in problem.reason
        assert problem.error_type == DOWNLOAD_FAILED
    missing = problems[MISSING_IMAGE]
    assert missing.path.endswith(f"00000.parquet: row {int(MISSING_IMAGE[5:])}")
    assert "status 'success' but no image 000000002.jpg" in missing.reason and "00000" in missing.reason


def test_a_skipped_shard_number_is_no_problem(fake):
    result = load_corpus(KIND, fake.root)
    assert result.metadata["shards"] == 2 and not (fake.root / "00001.parquet").exists()
    assert {s.sample_id[:5] for s in result.samples} == {"00000", "00002"}


@pytest.mark.parametrize("fmt", ["files", "webdataset"])
def test_a_shard_without_parquet_is_read_from_its_json_files_with_one_warning(fmt, tmp_path, caplog):
    with_parquet = load_corpus(KIND, write_fake_img2dataset(tmp_path / "a", fmt).root)
    fake = write_fake_img2dataset(tmp_path / "b", fmt, without_parquet=(0, 2))
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.img2dataset"):
        result = load_corpus(KIND, fake.root)
    assert len(caplog.records) == 1 and "2 shards have no Parquet (00000, 00002)" in caplog.records[0].getMessage()
    assert result.problems == []  # the .json files hold only what was downloaded
    assert [(s.sample_id, without_shard_folder(s.image), s.captions, s.extra, s.group_id) for s in result.samples] == \
           [(s.sample_id, without_shard_folder(s.image), s.captions, s.extra, s.group_id) for s in with_parquet.samples]
    assert result.metadata["shards_without_parquet"] == ["00000", "00002"]


def test_a_shard_whose_folder_or_tar_is_gone_makes_each_success_row_a_problem(fake):
    shard = fake.root / "00002"
    shutil.rmtree(shard) if shard.is_dir() else (fake.root / "00002.tar").unlink()
    result = load_corpus(KIND, fake.root)
    assert {s.sample_id[:5] for s in result.samples} == {"00000"}
    gone = [p for p in result.problems if p.sample_id.startswith("00002") and p.error_type != DOWNLOAD_FAILED]
    assert len(gone) == PER_SHARD - 1 and all("is missing" in p.reason for p in gone)


def test_keep_exif_keeps_it(fake):
    [sample, *_] = load_corpus(KIND, fake.root, options={"keep_exif": True}).samples
    assert '"Image Make": "Canon"' in sample.extra["exif"]


def test_held_out_shards_and_fractions_give_stable_splits(fake):
    by_shard = samples_by_id(load_corpus(KIND, fake.root, options={"val_shards": "2"}))
    assert {k: s.split for k, s in by_shard.items()} == {k: "val" if k.startswith("00002") else "train"
                                                         for k in by_shard}
    options = {"val_fraction": 0.3, "test_fraction": 0.3}
    first = {s.sample_id: s.split for s in load_corpus(KIND, fake.root, options=options).samples}
    assert first == {s.sample_id: s.split for s in load_corpus(KIND, fake.root, options=options).samples}
    assert set(first.values()) <= {"train", "val", "test"}
    val = load_corpus(KIND, fake.root, split="val", options=options)
    assert sorted(s.sample_id for s in val.samples) == sorted(k for k, split in first.items() if split == "val")
    assert all(p.sample_id in first or p.sample_id in FAILED or p.sample_id == MISSING_IMAGE for p in val.problems)


@pytest.mark.parametrize(("split", "options", "message"), [
    ("val", {}, "img2dataset output has no splits"),
    ("dev", {"val_shards": "0"}, "unknown split 'dev'"),
    (None, {"val_fraction": 0.6, "test_fraction": 0.4}, "leave nothing for train"),
    (None, {"val_shards": "0+2", "test_shards": "2"}, r"shards \[2\] are in both"),
])
def test_bad_holdouts_are_refused(fake, split, options, message):
    with pytest.raises(ConfigError, match=message):
        load_corpus(KIND, fake.root, split=split, options=options)


def test_both_formats_in_one_folder_need_the_format_option(tmp_path):
    root = write_fake_img2dataset(tmp_path / "c", "files").root
    shutil.copy(write_fake_img2dataset(tmp_path / "t", "webdataset").root / "00000.tar", root / "00000.tar")
    with pytest.raises(ConfigError, match="format=files or format=webdataset"):
        load_corpus(KIND, root)
    assert load_corpus(KIND, root, options={"format": "webdataset"}).samples[0].image == "00000.tar/000000000.jpg"


def test_parquet_output_format_is_named_when_no_images_are_there(tmp_path):
    root = write_fake_img2dataset(tmp_path / "c", "files").root
    for shard in ("00000", "00002"):
        shutil.rmtree(root / shard)
    with pytest.raises(CorpusNotFoundError, match=r"2 shard Parquet files \(00000.parquet\).*output_format"):
        load_corpus(KIND, root)


def test_a_parquet_without_key_is_a_format_error(fake):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = fake.root / "00002.parquet"
    pq.write_table(pa.table({"url": ["x"], "status": ["success"]}), path)
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}: no column key")):
        load_corpus(KIND, fake.root)  # a finished shard (its stats file is there), damaged: the load stops
