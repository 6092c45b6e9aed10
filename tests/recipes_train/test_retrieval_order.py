"""The retrieval recipe's test images follow the Karpathy file's order (its `imgid`), the order the
published 1K folds are cut in; other corpora keep sample-id order."""
from __future__ import annotations

import json

from mmdata.models.retrieval_recipe import _folds_note, load_retrieval_split
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.imagetext import write_fake_karpathy

EXTRACTORS = ["color-hist:bins=4", "hashed-bow:dim=16,level=caption"]


def test_karpathy_test_images_come_in_file_order(tmp_path):
    fake = write_fake_karpathy(tmp_path / "karpathy", "coco", splits=("test",) * 4)
    data = json.loads(fake.annotation_file.read_text())
    data["images"].reverse()  # the file now lists the images against their sample-id order
    for imgid, image in enumerate(data["images"]):
        image["imgid"] = imgid
        for sentence in image["sentences"]:
            sentence["imgid"] = imgid
    fake.annotation_file.write_text(json.dumps(data))
    extract("karpathy", fake.root, tmp_path / "out", extractors=EXTRACTORS, num_workers=0)
    split = load_retrieval_split(open_dataset(tmp_path / "out"), ("image.color-hist",), "text.hashed-bow.caption", ("test",))
    file_order = [f"{image['cocoid']:012d}" for image in data["images"]]
    assert split.order == "Karpathy file" and split.sample_ids.tolist() == file_order != sorted(file_order)
    assert split.caption_image.tolist() == [i for i in range(4) for _ in range(5)]
    assert _folds_note(2500, split.order).startswith("the mean over 2 folds of 1000 images (consecutive in Karpathy file order")


def test_other_corpora_keep_sample_id_order(tmp_path, fake_coco):
    extract("coco", fake_coco.root, tmp_path / "out", extractors=EXTRACTORS, num_workers=0)
    dataset = open_dataset(tmp_path / "out")
    split = load_retrieval_split(dataset, ("image.color-hist",), "text.hashed-bow.caption", tuple(dataset.manifest.samples["splits"]))
    assert split.order == "sample-id" and split.sample_ids.tolist() == sorted(split.sample_ids.tolist())
