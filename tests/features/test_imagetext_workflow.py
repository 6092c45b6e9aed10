"""The image-text retrieval workflow on a Karpathy COCO corpus of real photographs (scikit-image's
sample photos as JPEG, `dataset_coco.json` in its published structure, images in the 2014 layout):
extract, then train and score the retrieval models. What a researcher relies on here: the scores do
not depend on arbitrary choices of the linear algebra, and the benchmark's test set is the split's
images, or the report says which ones it could not score."""
from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from mmdata.media.image import decode_image_bytes, open_image
from mmdata.models.retrieval import create_retrieval_model
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe
from mmdata.models.trainer import TrainConfig
from mmdata.pipeline import extract
from mmdata.report.gallery import gallery_items
from mmdata.share import share_dataset
from mmdata.store import open_dataset

PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "hubble_deep_field", "immunohistochemistry"]
SPLITS = ["train", "restval", "train", "restval", "train", "test", "test", "test"]
CAPTIONS = ["a photo of {}", "an image showing {}", "a picture of {} on a table", "{} in the scene", "close view of {}"]
EXTRACTORS = ["color-hist:bins=4", "hashed-bow:dim=16,level=caption"]
FAST = TrainConfig(epochs=2, batch_size=64, lr=2e-3, patience=0)


def write_karpathy_coco(root: Path) -> dict[str, str]:
    """A Karpathy COCO corpus: `dataset_coco.json` + `train2014/`, `val2014/` JPEGs; sample id -> split."""
    images, splits = [], {}
    for imgid, (name, split) in enumerate(zip(PHOTOS, SPLITS)):
        cocoid = 391895 + 13 * imgid
        folder = "train2014" if split == "train" else "val2014"
        file_name = f"COCO_{folder}_{cocoid:012d}.jpg"
        (root / folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(getattr(data, name)()).convert("RGB").resize((64, 48)).save(root / folder / file_name)
        sentences = [{"raw": text.format(name.replace("_", " ")), "imgid": imgid, "sentid": 5 * imgid + k,
                      "tokens": text.format(name).split()} for k, text in enumerate(CAPTIONS)]
        images.append({"filepath": folder, "filename": file_name, "imgid": imgid, "cocoid": cocoid, "split": split,
                       "sentids": [s["sentid"] for s in sentences], "sentences": sentences})
        splits[f"{cocoid:012d}"] = split
    (root / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    return splits


def test_cca_scores_do_not_depend_on_the_order_of_the_feature_columns():
    # Fewer training images than feature dims, as on a small corpus with CNN features: the canonical
    # pairs beyond the images' rank have correlation 0 and arbitrary directions, which must not be scored.
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(8, 5))
    images = latent @ rng.normal(size=(5, 40)) + 0.3 * rng.normal(size=(8, 40))
    caption_image = np.repeat(np.arange(8), 5)
    texts = latent[caption_image] @ rng.normal(size=(5, 30)) + 0.3 * rng.normal(size=(40, 30))
    test_images, test_texts = rng.normal(size=(6, 40)), rng.normal(size=(30, 30))
    permutation = rng.permutation(40)

    model = create_retrieval_model("cca")
    model.fit(images, texts, caption_image, FAST)
    permuted = create_retrieval_model("cca")
    permuted.fit(images[:, permutation], texts, caption_image, FAST)

    assert len(model.correlations) <= 7 and (model.correlations > 0.5).all()
    np.testing.assert_allclose(permuted.scores(test_images[:, permutation], test_texts),
                               model.scores(test_images, test_texts), atol=1e-8)


def test_a_test_image_that_cannot_be_scored_is_counted_named_and_warned_about(tmp_path, caplog):
    splits = write_karpathy_coco(tmp_path / "corpus")
    broken = sorted(s for s, split in splits.items() if split == "test")[0]
    next((tmp_path / "corpus").rglob(f"*{broken}.jpg")).write_bytes(b"<html>404 Not Found</html>")
    extract("karpathy", tmp_path / "corpus", tmp_path / "data", extractors=EXTRACTORS, num_workers=0)

    with caplog.at_level(logging.WARNING, logger="mmdata.models.retrieval_recipe"):
        report = run_retrieval_recipe(tmp_path / "data", None, RetrievalRecipeConfig(models=("cca",), train=FAST))

    assert report.info["train_splits"] == ["restval", "train"] and report.info["train_images"] == 5
    assert report.info["test_images"] == 2 and report.info["test_captions"] == 10
    assert report.info["left_out"] == {"train": {"images": 0, "first": []}, "test": {"images": 1, "first": [broken]}}
    assert "(1 of the 3 images of split 'test' left out" in report.info["protocol"]
    assert "1 test images have no image vector (image.color-hist)" in caplog.text and broken in caplog.text


def test_a_complete_test_split_reports_nothing_left_out(tmp_path, caplog):
    write_karpathy_coco(tmp_path / "corpus")
    extract("karpathy", tmp_path / "corpus", tmp_path / "data", extractors=EXTRACTORS, num_workers=0,
            corpus_options={"restval_as_train": True})

    with caplog.at_level(logging.WARNING, logger="mmdata.models.retrieval_recipe"):
        report = run_retrieval_recipe(tmp_path / "data", None, RetrievalRecipeConfig(models=("mse",), train=FAST))

    assert report.info["train_splits"] == ["train"] and report.info["train_images"] == 5
    assert report.info["test_images"] == 3 and report.info["protocol"] == "3 test images, all 15 captions"
    assert report.info["left_out"]["test"] == {"images": 0, "first": []} and "left out" not in caplog.text



def write_coco_with_a_16_bit_scan(root: Path) -> Path:
    """A COCO val2017 corpus of one image, a 16-bit grey PNG (a scanned photograph, say)."""
    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    path = root / "val2017" / "000000000007.png"
    Image.fromarray(data.camera()[::4, ::4].astype(np.uint16) * 257).save(path)
    captions = {"images": [{"id": 7, "file_name": path.name, "width": 128, "height": 128}],
                "annotations": [{"id": 70 + k, "image_id": 7, "caption": f"a man with a camera {k}"} for k in range(5)]}
    (root / "annotations" / "captions_val2017.json").write_text(json.dumps(captions))
    return path


def test_an_embedded_16_bit_image_decodes_as_its_file_does(tmp_path):
    path = write_coco_with_a_16_bit_scan(tmp_path / "corpus")
    assert Image.open(path).mode == "I;16"
    from_bytes = np.asarray(decode_image_bytes(path.read_bytes(), "the embedded image_file"))
    np.testing.assert_array_equal(from_bytes, np.asarray(open_image(path)))

    extract("coco", tmp_path / "corpus", tmp_path / "data", split="val2017", extractors=["color-hist"], num_workers=0)
    share_dataset(tmp_path / "data", tmp_path / "shared", media="embed")
    [item] = gallery_items(open_dataset(tmp_path / "shared"), tmp_path / "moved-away")
    thumbnail = np.asarray(Image.open(io.BytesIO(item.image[0])))
    # the photo's grey levels (mean ~129), not Pillow's clipped conversion of 16-bit values (all white)
    assert abs(thumbnail.mean() - data.camera().mean()) < 5 and not item.notes
