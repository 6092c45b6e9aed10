"""word-embeddings: per-word vectors from the samples table's word timings."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmdata.errors import CorpusFormatError
from mmdata.features import create_extractor
from mmdata.features.words import read_timed_words

WORDS = [["i", 0.05, 0.12], ["sp", 0.12, 0.2], ["thought", 0.2, 0.45], ["unbelievably", 0.45, 1.0]]


def row(words, sample_id="s1"):
    return {"sample_id": sample_id, "extra": json.dumps({"words": words})}


def run(extractor, rows):
    return extractor.compute([extractor.decode(r, None) for r in rows])


@pytest.fixture(scope="module")
def minilm():
    return create_extractor("word-embeddings")


def test_hashed_vectors_are_deterministic_unit_vectors_with_word_intervals():
    extractor = create_extractor("word-embeddings:method=hashed,dim=32")
    assert extractor.table_name == "text.word-embeddings-hashed"
    spec = extractor.output_spec()
    assert (spec.kind, spec.dim, spec.intervals, spec.item_axis) == ("sequence", 32, True, "word")
    (vectors, intervals), (again, _) = run(extractor, [row(WORDS), row([["Thought", 0.0, 0.3]], "s2")])
    np.testing.assert_allclose(intervals, [w[1:] for w in WORDS])
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms, [1, 0, 1, 1], atol=1e-6)  # the pause 'sp' is a zero row
    np.testing.assert_array_equal(again[0], vectors[2])  # case-insensitive, same word, same vector
    assert abs(float(vectors[0] @ vectors[3])) < 0.9


def test_pauses_can_be_dropped_with_their_intervals_or_embedded():
    dropped = create_extractor("word-embeddings:method=hashed,pauses=drop")
    vectors, intervals = run(dropped, [row(WORDS)])[0]
    assert len(vectors) == 3
    np.testing.assert_allclose(intervals, [[0.05, 0.12], [0.2, 0.45], [0.45, 1.0]])
    embedded = create_extractor("word-embeddings:method=hashed,pauses=embed")
    vectors, _ = run(embedded, [row(WORDS)])[0]
    assert np.linalg.norm(vectors[1]) == pytest.approx(1.0)


def test_minilm_word_vector_is_the_mean_of_its_tokens_in_context(minilm):
    import torch

    assert minilm.output_spec().dim == 384 and minilm.table_name == "text.word-embeddings"
    (vectors, intervals), = run(minilm, [row(WORDS)])
    assert vectors.shape == (4, 384) and not vectors[1].any()
    model = minilm._load_model()
    spoken = ["i", "thought", "unbelievably"]
    assert model.max_tokens == 256  # from the model's sentence_bert_config.json
    encoded = model.tokenizer(spoken, is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        states = model.transformer(**encoded).last_hidden_state[0].numpy()
    word_ids = encoded.word_ids(0)
    assert word_ids.count(2) > 1  # 'unbelievably' is several word pieces
    for out_row, word in ((0, 0), (2, 1), (3, 2)):
        expected = states[[i for i, w in enumerate(word_ids) if w == word]].mean(axis=0)
        np.testing.assert_allclose(vectors[out_row], expected, atol=1e-4)


def test_minilm_splits_long_word_lists_at_word_boundaries(minilm):
    words = [[f"word{i % 7}", i * 0.3, i * 0.3 + 0.2] for i in range(300)]  # about 900 tokens
    (vectors, intervals), = run(minilm, [row(words)])
    assert vectors.shape == (300, 384) and len(intervals) == 300
    assert (np.linalg.norm(vectors, axis=1) > 1).all()  # every word got a vector, none truncated away


def test_bad_word_timings_name_the_sample_and_entry():
    with pytest.raises(CorpusFormatError, match=r"sample 's1' has no word timings: expected extra\['words'\]"):
        read_timed_words({"sample_id": "s1", "extra": None})
    with pytest.raises(CorpusFormatError, match=r"sample 's1': extra\['words'\]\[1\] = \['b', 0.5, 0.2\]; expected .* start <= end"):
        read_timed_words(row([["a", 0.0, 0.1], ["b", 0.5, 0.2]]))
    with pytest.raises(CorpusFormatError, match=r"extra\['words'\]\[1\] starts at 0.1, before the previous word \(0.5\)"):
        read_timed_words(row([["a", 0.5, 0.6], ["b", 0.1, 0.2]]))
    with pytest.raises(CorpusFormatError, match=r"extra\['words'\]\[0\] = \['a', 'x', 0.2\]"):
        read_timed_words(row([["a", "x", 0.2]]))
