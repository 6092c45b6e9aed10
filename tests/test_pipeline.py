"""corpus -> samples -> feature tables: alignment, resumption, error policies."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from mmdata.errors import DatasetError, ExtractionError, UnknownExtractorError
from mmdata.features.image_stats import color_histogram
from mmdata.media.image import load_rgb_array
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.moments import MOMENTS_DIR
from tests.sample_corpus import copy_sample_corpus


@pytest.fixture
def coco(tmp_path):
    return copy_sample_corpus("coco", tmp_path)


def test_feature_table_is_row_aligned_with_samples_and_self_describing(coco, tmp_path):
    report = extract("coco", coco, tmp_path / "out", extractors=["color-hist:bins=8"], num_workers=0, shard_size=3)
    assert report.samples == 8 and report.tables[0].rows == 8 and report.tables[0].shards_written == 3
    data = open_dataset(tmp_path / "out")
    samples = ds.dataset(tmp_path / "out" / "samples").to_table()
    features = ds.dataset(tmp_path / "out" / "features" / "image.color-hist").to_table()
    assert features.column("sample_id").to_pylist() == samples.column("sample_id").to_pylist()
    meta = data.table_metadata("image.color-hist")
    assert meta["extractor"] == "color-hist" and meta["config"]["bins"] == 8 and meta["spec"]["dim"] == 24
    assert {"numpy", "pillow", "mmdata"} <= set(meta["versions"])
    first = samples.slice(0, 1).to_pylist()[0]
    expected = color_histogram(load_rgb_array(coco / first["image"], min_size=128), 8)
    np.testing.assert_allclose(features.column("feature")[0].as_py(), expected, rtol=1e-6)


def test_rerun_skips_finished_shards_and_resumes_a_missing_one(coco, tmp_path):
    out = tmp_path / "out"
    extract("coco", coco, out, extractors=["color-hist"], num_workers=0, shard_size=3)
    before = ds.dataset(out / "features" / "image.color-hist").to_table()
    (out / "features" / "image.color-hist" / "part-00001.parquet").unlink()
    report = extract("coco", coco, out, extractors=["color-hist"], num_workers=0, shard_size=3)
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (1, 2)
    assert ds.dataset(out / "features" / "image.color-hist").to_table().equals(before)


def test_worker_pool_gives_the_same_table_as_in_process(coco, tmp_path):
    extract("coco", coco, tmp_path / "a", extractors=["pixel-stats"], num_workers=0)
    extract("coco", coco, tmp_path / "b", extractors=["pixel-stats"], num_workers=2, batch_size=3)
    a = ds.dataset(tmp_path / "a" / "features" / "image.pixel-stats").to_table()
    b = ds.dataset(tmp_path / "b" / "features" / "image.pixel-stats").to_table()
    assert a.equals(b)


def test_corrupt_and_missing_images_are_recorded_not_dropped(coco, tmp_path):
    images = sorted((coco / "val2017").iterdir())
    images[1].write_bytes(images[1].read_bytes()[:200])  # truncated JPEG
    images[4].unlink()
    report = extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0)
    assert report.tables[0].rows == 8 and report.tables[0].errors == 2
    errors = open_dataset(tmp_path / "out").errors().to_pylist()
    assert {e["sample_id"] for e in errors} == {images[1].stem, images[4].stem}
    assert {e["path"] for e in errors} == {f"val2017/{images[1].name}", f"val2017/{images[4].name}"}
    assert any("not found" in e["reason"] for e in errors) and any("truncated" in e["reason"] for e in errors)
    features = ds.dataset(tmp_path / "out" / "features" / "image.color-hist").to_table()
    assert features.column("feature").null_count == 2  # good + failed = total, rows stay aligned


def test_on_error_fail_names_the_file_and_writes_no_partial_shard(coco, tmp_path):
    images = sorted((coco / "val2017").iterdir())
    images[5].write_bytes(b"")
    with pytest.raises(ExtractionError, match=rf"sample '{images[5].stem}' \(val2017/{images[5].name}\).*empty"):
        extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0, on_error="fail", shard_size=4)
    table_dir = tmp_path / "out" / "features" / "image.color-hist"
    shards = sorted(p.name for p in table_dir.iterdir() if p.name != MOMENTS_DIR)
    assert shards == ["part-00000.parquet"]  # the finished shard before the failure, nothing partial
    assert sorted(p.name for p in (table_dir / MOMENTS_DIR).iterdir()) == ["part-00000.arrow"]  # and its moments
    assert pq.read_table(tmp_path / "out" / "features" / "image.color-hist" / shards[0]).num_rows == 4


def test_another_config_into_the_same_table_is_refused(coco, tmp_path):
    extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0)
    with pytest.raises(DatasetError, match=r"was made with bins=16, not bins=4 \(other options equal\)"):
        extract("coco", coco, tmp_path / "out", extractors=["color-hist:bins=4"], num_workers=0)


def test_another_corpus_into_the_same_directory_is_refused(coco, tmp_path):
    extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0)
    with pytest.raises(DatasetError, match="already holds a dataset of another corpus"):
        extract("flickr30k", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0)


def test_the_same_corpus_with_other_loader_settings_names_what_changed(coco, tmp_path):
    extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0)
    with pytest.raises(DatasetError, match=r"loaded with other settings \(split None there, 'val2017' now; options "
                                           r"\{\} there, \{'keep_images_without_captions': True\} now\)"):
        extract("coco", coco, tmp_path / "out", extractors=["color-hist"], split="val2017",
                corpus_options={"keep_images_without_captions": True}, num_workers=0)


def test_loader_options_that_mean_the_same_add_tables_to_the_dataset(coco, tmp_path):
    """A recipe's `false`, the command line's `False` and the default are one setting."""
    extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0,
            corpus_options={"keep_images_without_captions": "false"})
    for same in ({}, {"keep_images_without_captions": "False"}, {"keep-images-without-captions": False}):
        extract("coco", coco, tmp_path / "out", extractors=["pixel-stats"], num_workers=0, corpus_options=same)
    with pytest.raises(DatasetError, match=r"options \{'keep_images_without_captions': 'false'\} there, "
                                           r"\{'keep_images_without_captions': 'true'\} now"):
        extract("coco", coco, tmp_path / "out", extractors=["pixel-stats"], num_workers=0,
                corpus_options={"keep_images_without_captions": "true"})


def test_another_shard_size_on_a_rerun_is_named_in_a_warning(coco, tmp_path, caplog):
    extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0, shard_size=3)
    with caplog.at_level("WARNING", logger="mmdata.pipeline"):
        extract("coco", coco, tmp_path / "out", extractors=["pixel-stats"], num_workers=0, shard_size=5)
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == [
        "shards keep the 3 rows of the samples table the dataset was made with, not the 5 asked for (every table's "
        "shards hold the samples shards' rows); extract into a new output directory for other shards"]
    assert open_dataset(tmp_path / "out").entry("image.pixel-stats").rows == open_dataset(tmp_path / "out").manifest.samples["rows"]


def test_unknown_extractor_lists_the_available_ones(coco, tmp_path):
    with pytest.raises(UnknownExtractorError, match=r"unknown extractor 'nope'; available: \[.*'color-hist'"):
        extract("coco", coco, tmp_path / "out", extractors=["nope"])


def test_caption_for_unknown_image_is_an_errors_row_or_a_failure(coco, tmp_path):
    ann = coco / "annotations" / "captions_val2017.json"
    data = json.loads(ann.read_text())
    data["annotations"].append({"id": 99999, "image_id": 424242, "caption": "orphan"})
    ann.write_text(json.dumps(data))
    report = extract("coco", coco, tmp_path / "skip", extractors=["color-hist"], num_workers=0)
    assert report.loader_errors == 1
    row = open_dataset(tmp_path / "skip").errors().to_pylist()[0]
    assert row["stage"] == "load" and "unknown image id 424242" in row["reason"]
    from mmdata.errors import CorpusFormatError

    with pytest.raises(CorpusFormatError, match=r"captions_val2017.json(:\d+:\d+)?: annotations\[\d+\]: caption refers to unknown image id 424242"):
        extract("coco", coco, tmp_path / "fail", extractors=["color-hist"], on_error="fail")
