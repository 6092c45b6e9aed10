"""What a user of `--image clip` / `--text clip-text` meets on the way: a checkpoint that is not CLIP's, a
tokenizer with a file missing or broken, a relative model path that is not there, and the card of a share
saying that the image and text tables of one checkpoint are one embedding space."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features import create_extractor
from mmdata.features.text_models import BUNDLED_MINILM, resolve_text_model
from tests.fakes.clip_model import write_tiny_clip
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return write_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def _copy_without(clip_dir, target, *names):
    shutil.copytree(clip_dir, target)
    for name in names:
        (target / name).unlink()
    return target


def test_a_sentence_transformers_directory_is_refused_before_anything_is_written(tmp_path):
    # transformers loads it into a CLIPModel with a warning only: random weights, 512-d rows of nothing.
    minilm = resolve_text_model(BUNDLED_MINILM)
    corpus, out = copy_sample_corpus("coco", tmp_path), tmp_path / "out"
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(out), "--text", f"clip-text:model={minilm}",
                                 "-j", "0", "-q"])
    assert result.exit_code != 0 and not out.exists(), result.output
    assert (f"error: extractor 'clip-text': {minilm / 'config.json'} has model_type 'bert', expected 'clip'"
            in " ".join(result.output.split()))
    assert "Traceback" not in result.output


def test_a_checkpoint_of_another_model_type_is_refused_for_images_too(clip_dir, tmp_path):
    other = _copy_without(clip_dir, tmp_path / "text-tower")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "clip_text_model"}))
    for name in ("clip", "clip-text"):
        with pytest.raises(ConfigError, match=rf"extractor '{name}': .*config.json has model_type 'clip_text_model', "
                                              r"expected 'clip': model= must be a CLIP checkpoint with both towers"):
            create_extractor(f"{name}:model={other}").check_ready()


def test_vocab_json_without_merges_txt_is_refused_naming_the_missing_file(clip_dir, tmp_path):
    half = _copy_without(clip_dir, tmp_path / "half", "tokenizer.json", "merges.txt")
    with pytest.raises(MissingWeightsError, match=r"extractor 'clip-text': CLIP model .* has no tokenizer.json and "
                                                  r"lacks merges.txt; expected tokenizer.json, or vocab.json with "
                                                  r"merges.txt"):
        create_extractor(f"clip-text:model={half}").check_ready()
    create_extractor(f"clip:model={half}").check_ready()  # images need no tokenizer


def test_a_tokenizer_json_transformers_cannot_read_is_one_line_before_anything_is_written(clip_dir, tmp_path):
    broken = _copy_without(clip_dir, tmp_path / "broken")
    (broken / "tokenizer.json").write_text('{"version": "1.0", "model": ')
    corpus, out = copy_sample_corpus("coco", tmp_path), tmp_path / "out"
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(out), "--text", f"clip-text:model={broken}",
                                 "-j", "0", "-q"])
    assert result.exit_code != 0 and not out.exists(), result.output
    assert f"error: extractor 'clip-text': cannot build the tokenizer of {broken}" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_relative_model_path_that_is_not_there_says_no_such_directory_either(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingWeightsError, match=r"CLIP model 'models/clip' is not in the local Hugging Face cache "
                                                  rf".*, nor a directory \({tmp_path / 'models' / 'clip'} not found\)"):
        create_extractor("clip:model=models/clip").check_ready()


def test_the_share_card_says_the_image_and_caption_tables_are_one_embedding_space(clip_dir, tmp_path):
    corpus, out, share = copy_sample_corpus("coco", tmp_path), tmp_path / "out", tmp_path / "share"
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(out), "--image", f"clip:model={clip_dir}",
                                 "--text", f"clip-text:model={clip_dir},level=caption", "--text", "hashed-bow",
                                 "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["share", str(out), "-o", str(share)]).exit_code == 0
    card = (share / "README.md").read_text()
    fingerprint = json.loads((share / "mmdata.json").read_text())["tables"]["image.clip"]["versions"]["model:tiny-clip"]
    assert (f"`image.clip` and `text.clip-text.caption` record one model (`tiny-clip`, fingerprint `{fingerprint}`): "
            "their vectors are in one embedding space" in card)
    assert card.count("one embedding space") == 1  # hashed-bow records no model
