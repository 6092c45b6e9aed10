"""all-MiniLM-L6-v2 reads emoji and most Chinese characters as [UNK]: such texts all get about one vector, as
sentence-transformers gives them, and a warning names their samples."""
from __future__ import annotations

import logging

import numpy as np

from mmdata.features import create_extractor
from mmdata.features.text_minilm import mostly_unknown
from tests.text_inputs.messy_texts import sentence_transformer

LOGGER = "mmdata.features.text_minilm"


def embed(spec, samples):
    extractor = create_extractor(spec)
    return extractor.compute([extractor.decode(row, corpus_root=None) for row in samples])


def test_emoji_and_chinese_captions_are_named(caplog):
    samples = [{"sample_id": "english", "captions": ["a cat on a mat"], "transcript": None},
               {"sample_id": "emoji", "captions": ["a dog", "😀🐶"], "transcript": None},
               {"sample_id": "ch-sims", "captions": [], "transcript": "一只猫坐在桌子上"}]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        embed("minilm:level=caption", samples)
    assert "2 of 4 texts are mostly unknown to all-MiniLM-L6-v2's tokenizer" in caplog.text
    assert "'emoji' caption 1" in caplog.text and "'ch-sims'" in caplog.text and "'english'" not in caplog.text
    assert "model=DIR" in caplog.text


def test_different_texts_of_unknown_tokens_alone_get_one_vector_as_sentence_transformers_gives(caplog):
    texts = ["😀", "🐱", "ภาษาไทย"]
    samples = [{"sample_id": f"s{i}", "captions": [text], "transcript": None} for i, text in enumerate(texts)]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        vectors = np.stack(embed("minilm", samples))
    np.testing.assert_allclose(vectors, sentence_transformer().encode(texts, normalize_embeddings=True), atol=1e-5)
    np.testing.assert_allclose(vectors[1:], vectors[:1].repeat(2, axis=0), atol=1e-6)
    assert "3 of 3 texts are mostly unknown" in caplog.text


def test_a_text_with_a_few_unknown_tokens_is_not_named(caplog):
    samples = [{"sample_id": "beach", "captions": ["a family 👨‍👩‍👧‍👦 at the sunny beach 🏖️"], "transcript": None}]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        embed("minilm", samples)
    assert "unknown" not in caplog.text


def test_a_text_left_with_no_token_counts_as_unknown():
    # [CLS] x [SEP]: a combining accent alone is stripped by the uncased tokenizer, leaving nothing
    assert mostly_unknown([[101, 102], [101, 100, 2003, 102], [101, 100, 2003, 2004, 102]],
                          [[1, 1], [1, 0, 0, 1], [1, 0, 0, 0, 1]], 100) == [True, True, False]
