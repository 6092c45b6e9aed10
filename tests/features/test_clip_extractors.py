"""`clip` and `clip-text` against transformers' own CLIP pipeline, on a tiny random CLIP saved offline:
the same features (images: real photographs through `CLIPImageProcessorPil`, to 1e-6; texts through
the checkpoint's tokenizer, to 1e-6), one shared space, the model read only from a directory or the
local Hugging Face cache, and a resume refused once the weights changed."""
from __future__ import annotations

import json
import logging
import pickle
import re
import shutil

import numpy as np
import pyarrow.dataset as ds
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError, MissingWeightsError
from mmdata.features import available_extractors, create_extractor
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.manifest import write_manifest
from tests.fakes.clip_model import PROJECTION_DIM, write_tiny_clip
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
#: Features of mmdata and of transformers run directly: same pixels (uint8), same float32 model.
ATOL = 1e-6


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return write_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


@pytest.fixture(scope="module")
def reference(clip_dir):
    """transformers' own pieces, loaded from the same directory."""
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    return {"model": CLIPModel.from_pretrained(str(clip_dir)).eval(),
            "pil": CLIPImageProcessorPil.from_pretrained(str(clip_dir)),
            "default": CLIPImageProcessor.from_pretrained(str(clip_dir)),
            "tokenizer": AutoTokenizer.from_pretrained(str(clip_dir))}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Crops of scikit-image's photographs as JPEG and PNG: landscape, portrait, square, smaller than
    224 px (upscaled) and with odd margins around the centre crop."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    crops = [("astronaut", (0, 0, 512, 512), "png"), ("chelsea", (0, 0, 451, 300), "jpg"),
             ("coffee", (13, 7, 600, 400), "png"), ("astronaut", (40, 60, 201, 420), "jpg"),
             ("chelsea", (5, 9, 160, 121), "png"), ("coffee", (100, 50, 403, 277), "jpg")]
    paths = []
    for index, (name, (left, top, right, bottom), suffix) in enumerate(crops):
        path = folder / f"{index}-{name}.{suffix}"
        Image.fromarray(getattr(data, name)()).crop((left, top, right, bottom)).save(path, quality=92)
        paths.append(path)
    return paths


def image_features(reference, images, processor="pil", normalize=True):
    pixels = reference[processor](images=images, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        out = reference["model"].get_image_features(pixel_values=pixels).pooler_output
    return (torch.nn.functional.normalize(out, dim=-1) if normalize else out).numpy()


def text_features(reference, texts, normalize=True):
    inputs = reference["tokenizer"](texts, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        out = reference["model"].get_text_features(**inputs).pooler_output
    return (torch.nn.functional.normalize(out, dim=-1) if normalize else out).numpy()


def decoded_in_a_worker(extractor, row, root):
    """decode as a worker process runs it: on an unpickled copy."""
    return pickle.loads(pickle.dumps(extractor)).decode(row, root)


def test_both_extractors_are_registered_per_modality():
    assert "clip" in available_extractors("image") and "clip-text" in available_extractors("text")
    assert create_extractor("clip").config.model == create_extractor("clip-text").config.model == \
        "openai/clip-vit-base-patch32"


@pytest.mark.parametrize("normalize", [True, False])
def test_image_features_equal_transformers_processor_and_model_on_photographs(clip_dir, reference, photos, normalize):
    extractor = create_extractor(f"clip:model={clip_dir},normalize={normalize}")
    extractor.check_ready()
    rows = [{"sample_id": p.stem, "image": p.name} for p in photos]
    items = [decoded_in_a_worker(extractor, row, photos[0].parent) for row in rows]
    assert all(item.shape == (224, 224, 3) and item.dtype == np.uint8 for item in items)
    got = np.stack(extractor.compute(items))
    images = [Image.open(p).convert("RGB") for p in photos]
    np.testing.assert_allclose(got, image_features(reference, images, normalize=normalize), atol=ATOL, rtol=0)
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-6) == normalize


def test_image_pixels_equal_the_pil_processor_and_the_default_one_to_two_levels(clip_dir, reference, photos):
    """The crops are the PIL processor's exactly; transformers 5's default (torchvision) resize differs by
    at most two 8-bit levels on some pixels (two where it upscales), which moves the features by < 1e-3
    of their norm."""
    extractor = create_extractor(f"clip:model={clip_dir}")
    for path in photos:
        image = Image.open(path).convert("RGB")
        crop = torch.from_numpy(extractor.decode_pixels(image, path.stem).copy()).permute(2, 0, 1).float()
        pre = extractor.preprocessing()
        ours = (crop / 255 - torch.tensor(pre.mean).view(3, 1, 1)) / torch.tensor(pre.std).view(3, 1, 1)
        pil = reference["pil"](images=image, return_tensors="pt")["pixel_values"][0]
        default = reference["default"](images=image, return_tensors="pt")["pixel_values"][0]
        assert float((ours - pil).abs().max()) <= 1e-6
        assert float((ours - default).abs().max()) <= 2.01 / 255 / min(pre.std)
    got = np.stack(extractor.compute([extractor.decode_pixels(Image.open(p).convert("RGB"), "x") for p in photos]))
    default = image_features(reference, [Image.open(p).convert("RGB") for p in photos], processor="default")
    assert np.abs(got - default).max() < 1e-3


def test_text_features_equal_transformers_tokenizer_and_model(clip_dir, reference):
    texts = ["a photo of an astronaut", "A CAT sitting on a table!", "naïve café, Zürich 東京 12,345", "ok",
             "a cup of coffee on a saucer"]
    (got,) = create_extractor(f"clip-text:model={clip_dir},level=caption,encode_batch_size=2").compute(
        [create_extractor("clip-text").decode({"sample_id": "s", "captions": texts}, None)])
    np.testing.assert_allclose(got, text_features(reference, texts), atol=ATOL, rtol=0)
    (raw,) = create_extractor(f"clip-text:model={clip_dir},level=caption,normalize=false").compute([texts])
    np.testing.assert_allclose(raw, text_features(reference, texts, normalize=False), atol=1e-5, rtol=0)
    (pooled,) = create_extractor(f"clip-text:model={clip_dir}").compute([texts])  # level=sample: the mean, re-normalized
    mean = got.mean(axis=0)
    np.testing.assert_allclose(pooled, mean / np.linalg.norm(mean), atol=ATOL)


def test_a_text_over_77_tokens_warns_and_is_embedded_from_its_first_tokens(clip_dir, reference, caplog):
    long = " ".join(["a cat sitting on a table"] * 20)  # 120 words
    extractor = create_extractor(f"clip-text:model={clip_dir},level=caption")
    with caplog.at_level(logging.WARNING, logger="mmdata.features.clip_text"):
        (got,) = extractor.compute([extractor.decode({"sample_id": "s7", "captions": ["short", long]}, None)])
    assert re.search(r"text\.clip-text\.caption: 1 of 2 texts are longer than .*'s 77 tokens \(samples 's7' "
                     r"caption 1\); they are embedded from their first 77 tokens", caplog.text)
    (longer,) = extractor.compute([[long + " and a dog runs on the grass"]])  # the words past the cut change nothing
    np.testing.assert_allclose(longer[0], got[1], atol=ATOL)
    np.testing.assert_allclose(got, text_features(reference, ["short", long]), atol=ATOL)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmdata.features.clip_text"):
        extractor.compute([["short"]])
    assert "longer than" not in caplog.text


def test_extract_and_check_on_the_sample_corpus_from_the_command_line(clip_dir, reference, tmp_path):
    corpus, out = copy_sample_corpus("coco", tmp_path), tmp_path / "out"
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(out), "--image", f"clip:model={clip_dir}",
                                 "--text", f"clip-text:model={clip_dir},level=caption", "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    data = open_dataset(out)
    images = data.table("image.clip").to_table().to_pydict()
    texts = data.table("text.clip-text.caption").to_table().to_pydict()
    samples = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert len(images["sample_id"]) == len(samples) == 8

    image_vectors = np.array(images["feature"], dtype=np.float32)
    pictures = [Image.open(corpus / samples[s]["image"]).convert("RGB") for s in images["sample_id"]]
    np.testing.assert_allclose(image_vectors, image_features(reference, pictures), atol=ATOL, rtol=0)
    for sample_id, vectors in zip(texts["sample_id"], texts["feature"]):
        np.testing.assert_allclose(np.array(vectors, dtype=np.float32),
                                   text_features(reference, list(samples[sample_id]["captions"])), atol=ATOL, rtol=0)

    # One space: every caption scored against every image by cosine (unit vectors: dot products).
    captions = np.concatenate([np.array(v, dtype=np.float32) for v in texts["feature"]])
    scores = image_vectors @ captions.T
    assert scores.shape == (8, len(captions)) and np.all(np.abs(scores) <= 1 + 1e-5)

    image_meta, text_meta = data.table_metadata("image.clip"), data.table_metadata("text.clip-text.caption")
    assert image_meta["config"] == {"model": str(clip_dir), "normalize": True}
    assert text_meta["config"] == {"model": str(clip_dir), "normalize": True, "level": "caption"}
    assert image_meta["runtime"] == {"device": "cpu"}
    assert image_meta["model"]["sha256"] == text_meta["model"]["sha256"]  # the same checkpoint: the same space
    assert image_meta["model"]["kind"] == "dir" and image_meta["spec"]["dim"] == PROJECTION_DIM
    assert image_meta["preprocessing"] == {"shortest_edge": 224, "crop_height": 224, "crop_width": 224,
                                           "resample": "bicubic", "rescale_factor": 1 / 255,
                                           "mean": [0.48145466, 0.4578275, 0.40821073],
                                           "std": [0.26862954, 0.26130258, 0.27577711]}
    assert text_meta["preprocessing"] == {"tokenizer": "CLIPTokenizer", "max_tokens": 77, "truncation": "first tokens"}
    assert data.entry("image.clip").versions["model:tiny-clip"] == image_meta["model"]["sha256"][:16]
    assert "preprocessor:tiny-clip" in data.entry("image.clip").versions

    check = runner.invoke(app, ["check", str(out), "--json", "-"])
    assert check.exit_code == 0, check.output
    report = json.loads(check.stdout)
    assert report["ok"] and {"image.clip", "text.clip-text.caption"} <= set(report["tables"])
    assert [issue for issue in report["issues"] if issue["severity"] != "info"] == []


def test_a_repo_id_is_read_from_the_local_hugging_face_cache(clip_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--lab--tiny-clip"
    shutil.copytree(clip_dir, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    cached = create_extractor("clip:model=lab/tiny-clip")
    provenance = cached.provenance()
    assert provenance["model"]["kind"] == "hub" and provenance["model"]["revision"] == "0123abcd"
    assert provenance["versions"]["model:lab/tiny-clip"] == provenance["model"]["sha256"][:16]
    image = Image.new("RGB", (300, 240), (200, 120, 40))
    direct = create_extractor(f"clip:model={clip_dir}")
    np.testing.assert_array_equal(cached.compute([cached.decode_pixels(image, "x")]),
                                  direct.compute([direct.decode_pixels(image, "x")]))


def test_a_model_missing_from_the_cache_says_how_to_fetch_it(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    for name in ("clip", "clip-text"):
        with pytest.raises(MissingWeightsError, match=rf"extractor '{name}': CLIP model 'openai/clip-vit-base-patch32' "
                                                      r"is not in the local Hugging Face cache .*never downloads.*"
                                                      r"`hf download openai/clip-vit-base-patch32`.*model=/path/to/dir"):
            create_extractor(name).check_ready()


def test_a_missing_directory_or_file_fails_before_anything_is_written(clip_dir, tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "--image",
                                 f"clip:model={tmp_path / 'nowhere'}", "-j", "0", "-q"])
    assert result.exit_code != 0 and not (tmp_path / "out").exists()
    assert f"error: extractor 'clip': CLIP model directory not found: {tmp_path / 'nowhere'}" in result.output
    assert "Traceback" not in result.output

    partial = tmp_path / "partial"
    shutil.copytree(clip_dir, partial)
    (partial / "preprocessor_config.json").unlink()
    (partial / "model.safetensors").unlink()
    with pytest.raises(MissingWeightsError, match=r"lacks the weights \(model.safetensors or .*\), "
                                                  r"preprocessor_config.json \(preprocessor_config.json\)"):
        create_extractor(f"clip:model={partial}").check_ready()
    with pytest.raises(MissingWeightsError, match=r"lacks the weights"):
        create_extractor(f"clip-text:model={partial}").check_ready()


def test_a_preprocessor_other_than_clips_is_refused(clip_dir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(clip_dir, other)
    config = json.loads((other / "preprocessor_config.json").read_text())
    (other / "preprocessor_config.json").write_text(json.dumps({**config, "size": {"height": 224, "width": 224}}))
    with pytest.raises(ConfigError, match=r"asks for size \{'height': 224, 'width': 224\}.*expected CLIP's "
                                          "preprocessing: a shortest_edge resize"):
        create_extractor(f"clip:model={other}").check_ready()


def _interrupt(out, table, shard):
    (out / "features" / table / shard).unlink()
    data = open_dataset(out)
    data.manifest.tables[table].complete = False
    write_manifest(out, data.manifest)


@pytest.mark.parametrize("spec, table", [("clip", "image.clip"), ("clip-text:level=caption", "text.clip-text.caption")])
def test_a_resume_after_the_weights_changed_is_refused_and_the_same_weights_resume(clip_dir, tmp_path, spec, table):
    model, corpus, out = tmp_path / "model", copy_sample_corpus("coco", tmp_path), tmp_path / "out"
    shutil.copytree(clip_dir, model)
    name, _, options = spec.partition(":")
    extractors = [f"{name}:model={model}" + (f",{options}" if options else "")]

    def run():
        return extract("coco", corpus, out, extractors=extractors, num_workers=0, shard_size=3)

    run()
    before = ds.dataset(out / "features" / table).to_table()
    first = open_dataset(out).entry(table).versions["model:model"]
    _interrupt(out, table, "part-00001.parquet")
    shutil.move(model / "model.safetensors", tmp_path / "kept.safetensors")
    write_tiny_clip(tmp_path / "retrained", seed=1)
    shutil.copy(tmp_path / "retrained" / "model.safetensors", model / "model.safetensors")  # fine-tuned in place
    second = create_extractor(extractors[0]).provenance()["versions"]["model:model"]
    with pytest.raises(DatasetError, match=rf"made with model:model {first} \(this install: {second}\); computing 1 "
                                           "of its shards again would mix rows"):
        run()

    shutil.move(tmp_path / "kept.safetensors", model / "model.safetensors")  # the weights the table was made with
    report = run()
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (1, 2)
    assert ds.dataset(out / "features" / table).to_table().column("feature").equals(before.column("feature"))


def test_spec_and_provenance_round_trip_and_the_device_is_runtime(clip_dir):
    for spec in (f"clip:model={clip_dir}", f"clip-text:model={clip_dir},level=caption"):
        extractor = create_extractor(spec)
        provenance = json.loads(json.dumps(extractor.provenance(), allow_nan=False))
        again = create_extractor(f"{extractor.name}:" + ",".join(f"{k}={v}" for k, v in provenance["config"].items()))
        assert again.config == extractor.config and again.table_name == extractor.table_name
        on_gpu = create_extractor(f"{spec},device=cuda:3").provenance()
        assert on_gpu["config"] == provenance["config"] and on_gpu["runtime"]["device"] == "cuda:3"
    assert create_extractor(f"clip-text:model={clip_dir}").table_name == "text.clip-text"
    assert create_extractor(f"clip:model={clip_dir}").table_name == "image.clip"
