from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.errors import MissingWeightsError
from mmdata.features import create_extractor
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset

EXTRACTORS = ["resnet18:weights=random", "minilm", "minilm:level=caption", "hashed-bow:dim=64", "tokens:level=caption"]


@pytest.fixture(scope="module")
def dataset(module_fake_coco, tmp_path_factory):
    return extract(
        "coco", module_fake_coco.root, tmp_path_factory.mktemp("dataset") / "out", extractors=EXTRACTORS, split=module_fake_coco.split,
        corpus_options={"keep_images_without_captions": True}, batch_size=2, num_workers=1,
    )


def test_coco_image_and_text_tables_end_to_end(dataset, module_fake_coco):
    fake_coco = module_fake_coco
    data = open_dataset(dataset.dataset_dir)
    ids = sorted(fake_coco.images)
    assert dataset.samples == len(ids) == 5
    assert data.table_names == sorted(
        ["image.resnet18", "text.minilm", "text.minilm.caption", "text.hashed-bow", "text.tokens.caption"]
    )
    assert {t.name: t.errors for t in dataset.tables} == {
        "image.resnet18": 0, "text.minilm": 1, "text.minilm.caption": 1, "text.hashed-bow": 1, "text.tokens.caption": 1,
    }

    image = data.table("image.resnet18").to_table()
    assert image.schema.field("feature").type == pa.list_(pa.field("item", pa.float32(), nullable=False), 512)
    assert image.column("sample_id").to_pylist() == ids and image.column("feature").null_count == 0
    # The pipeline (worker decode, batched compute) gives what the extractor gives on its own.
    resnet18 = create_extractor("resnet18:weights=random")
    direct = resnet18.compute([resnet18.decode(fake_coco.row(s), fake_coco.root) for s in ids])
    np.testing.assert_allclose(np.stack(image.column("feature").to_numpy(zero_copy_only=False)), np.stack(direct), rtol=1e-5, atol=1e-5)

    pooled = data.table("text.minilm").to_table()
    per_caption = data.table("text.minilm.caption").to_table()
    assert per_caption.schema.field("feature").type == pa.list_(pa.list_(pa.field("item", pa.float32(), nullable=False), 384))
    assert data.spec("text.minilm.caption").item_axis == "caption"
    for sample_id, vector, captions in zip(ids, pooled.column("feature").to_pylist(), per_caption.column("feature").to_pylist()):
        if sample_id == fake_coco.uncaptioned:
            assert vector is None and captions is None
            continue
        captions = np.asarray(captions, np.float32)
        assert len(captions) == len(fake_coco.captions[sample_id])
        mean = captions.mean(axis=0)
        np.testing.assert_allclose(vector, mean / np.linalg.norm(mean), atol=1e-5)

    tokens = data.table("text.tokens.caption").to_table()
    assert tokens.schema.field("feature").type == pa.list_(pa.list_(pa.field("item", pa.int32(), nullable=False)))
    bow = data.table("text.hashed-bow").to_table()
    assert bow.schema.field("feature").type == pa.list_(pa.field("item", pa.float32(), nullable=False), 64)

    errors = data.errors().to_pylist()
    text_errors = [e for e in errors if e["table"].startswith("text.")]
    assert {e["sample_id"] for e in text_errors} == {fake_coco.uncaptioned}
    assert all(e["error_type"] == "MediaError" and "has no text" in e["reason"] for e in text_errors)


def test_tables_record_their_provenance(dataset):
    data = open_dataset(dataset.dataset_dir)
    meta = data.table_metadata("text.minilm.caption")
    assert meta["extractor"] == "minilm" and meta["config"]["level"] == "caption"
    assert meta["runtime"] == {"device": "cpu", "encode_batch_size": 128}
    entry = data.entry("image.resnet18")
    assert entry.config == {"weights": "random", "seed": 0, "decode": "full"} and entry.complete
    shard = next((dataset.dataset_dir / entry.path).glob("part-*.parquet"))
    assert pq.read_schema(shard).metadata[b"mmdata"]


def test_rerun_on_another_device_setting_resumes(dataset, module_fake_coco):
    fake_coco = module_fake_coco
    # device is a runtime option: the finished shard is kept, not refused as another config.
    report = extract(
        "coco", fake_coco.root, dataset.dataset_dir, extractors=["resnet18:weights=random,device=auto"],
        split=fake_coco.split, corpus_options={"keep_images_without_captions": True}, num_workers=0,
    )
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (0, 1)


def test_missing_weights_stop_the_run(fake_coco, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    with pytest.raises(MissingWeightsError, match="resnet18-f37072fd.pth"):
        extract("coco", fake_coco.root, tmp_path / "out", extractors=["resnet18"], split=fake_coco.split, num_workers=0)
    assert not (tmp_path / "out").exists()  # found before anything is written
