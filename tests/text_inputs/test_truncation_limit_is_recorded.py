"""minilm records the token limit it cuts texts at (`preprocessing`), the bundled model's and a model
directory's own, and cuts each caption at it on its own at both levels."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmdata.features import create_extractor
from mmdata.features.text import load_sentence_model, resolve_text_model


@pytest.fixture
def short_model(tmp_path):
    """The bundled model's files (linked) with a max_seq_length of 8."""
    bundled = resolve_text_model("all-MiniLM-L6-v2")
    model_dir = tmp_path / "short"
    model_dir.mkdir()
    for path in bundled.iterdir():
        if path.name != "sentence_bert_config.json":
            (model_dir / path.name).symlink_to(path)
    (model_dir / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 8, "do_lower_case": False}))
    yield model_dir
    load_sentence_model.cache_clear()


def test_the_bundled_models_limit_is_recorded_at_both_levels():
    for spec in ("minilm", "minilm:level=caption"):
        assert create_extractor(spec).provenance()["preprocessing"] == {"max_tokens": 256, "truncation": "first tokens"}


def test_a_model_directorys_own_limit_is_recorded_and_applied(short_model):
    provenance = create_extractor(f"minilm:model={short_model}").provenance()
    assert provenance["preprocessing"] == {"max_tokens": 8, "truncation": "first tokens"}
    caption_level = create_extractor(f"minilm:model={short_model},level=caption")
    sample_level = create_extractor(f"minilm:model={short_model}")
    row = {"sample_id": "s", "captions": ["one two three four five six seven eight nine ten",
                                          "one two three four five six"]}
    (per_caption,) = caption_level.compute([caption_level.decode(row, None)])
    (per_sample,) = sample_level.compute([sample_level.decode(row, None)])
    # 8 tokens: [CLS] one..six [SEP]; the first caption is cut to what the second says
    np.testing.assert_allclose(per_caption[0], per_caption[1], atol=1e-6)
    np.testing.assert_allclose(per_sample, per_caption[0], atol=1e-6)
