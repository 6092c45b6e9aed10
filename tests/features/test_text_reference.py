"""Text features against sentence-transformers / transformers run directly on the same inputs, and
the edge cases of texts and word timings (blank, not a string, only pauses, longer than the model)."""
from __future__ import annotations

import json
import logging
import zlib

import numpy as np
import pytest

from mmdata.errors import CorpusFormatError, MediaError
from mmdata.features import create_extractor
from mmdata.features.text import resolve_text_model
from mmdata.features.words import hashed_word_vectors, read_timed_words
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset
from tests.fakes.av import write_fake_mosi_generic

TEXTS = [
    "I can't believe it's NOT butter!",
    "naïve café résumé, 東京 and Zürich",
    "12,345 people paid $67.80 (about 15%) on 2024-01-31.",
    "A well-known, award-winning film... or was it?",
    "ok",
]
# Single word-piece words, for windows whose layout is easy to follow.
PLAIN = ("so i went to see this movie last weekend and honestly i was not expecting much because the trailer looked "
         "pretty bad but it turned out to be one of the most moving films i have seen in years").split()


@pytest.fixture(scope="module")
def sentence_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(resolve_text_model("all-MiniLM-L6-v2")), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def words_extractor():
    return create_extractor("word-embeddings")


def captions_row(texts, sample_id="s0"):
    return {"sample_id": sample_id, "captions": texts, "transcript": None}


def words_row(words, sample_id="s0"):
    return {"sample_id": sample_id, "extra": json.dumps({"words": words})}


def run(extractor, rows):
    return extractor.compute([extractor.decode(r, None) for r in rows])


def token_states(model, words):
    """Last hidden states of `words` run as one text, and the word index of each token (-1 for specials)."""
    import torch

    encoded = model.tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        states = model.transformer(**encoded).last_hidden_state[0].numpy()
    return states, np.array([-1 if w is None else w for w in encoded.word_ids(0)])


def test_minilm_equals_sentence_transformers_whatever_the_batch_size_and_order(sentence_model):
    expected = sentence_model.encode(TEXTS)
    assert np.allclose(np.linalg.norm(expected, axis=1), 1, atol=1e-5)  # the model ends in Normalize
    (got,) = run(create_extractor("minilm:level=caption,encode_batch_size=2"), [captions_row(TEXTS)])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    order = [3, 0, 4, 2, 1]
    (shuffled,) = run(create_extractor("minilm:level=caption"), [captions_row([TEXTS[i] for i in order])])
    np.testing.assert_allclose(shuffled, expected[order], atol=1e-5)


def test_minilm_warns_about_texts_cut_at_the_model_limit(sentence_model, caplog):
    long = " ".join(PLAIN * 12)  # about 500 word pieces
    extractor = create_extractor("minilm:level=caption")
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_minilm"):
        (got,) = run(extractor, [captions_row([long, "a short one"])])
    assert "text.minilm.caption: 1 of 2 texts are longer than all-MiniLM-L6-v2's max_seq_length of 256 tokens" \
        in caplog.text
    # Only the first 256 tokens count, as with sentence-transformers: a different tail changes nothing.
    np.testing.assert_allclose(got[0], sentence_model.encode(long), atol=1e-5)
    np.testing.assert_allclose(got[0], sentence_model.encode(long + " but the ending was awful"), atol=1e-5)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_minilm"):
        run(extractor, [captions_row(TEXTS)])
    assert "max_seq_length" not in caplog.text


@pytest.mark.parametrize(("captions", "transcript", "message"), [
    ([], "  \n ", r"the transcript is '  \\n '"),
    (["a dog", None], None, r"caption 1 is None"),
    (["a dog", ""], None, r"caption 1 is ''"),
    ([], 42, r"the transcript is 42"),
])
@pytest.mark.parametrize("spec", ["minilm", "hashed-bow", "tokens"])
def test_blank_or_non_string_texts_fail_as_items(spec, captions, transcript, message):
    row = {"sample_id": "bad", "captions": captions, "transcript": transcript}
    with pytest.raises(MediaError, match=rf"sample 'bad': {message}; expected a non-blank string; fix or remove it"):
        create_extractor(spec).decode(row, None)


def test_word_vectors_are_the_mean_of_each_words_own_word_pieces(words_extractor):
    words = ["I", "can't", "BELIEVE", "it's", "1,234", "naïve", "東京", "!", "well-known", "unbelievably", "don't."]
    timed = [[w, 0.1 * i, 0.1 * i + 0.05] for i, w in enumerate(words)]
    (vectors, intervals), = run(words_extractor, [words_row(timed)])
    assert vectors.shape == (len(words), 384) and vectors.dtype == np.float32
    np.testing.assert_array_equal(intervals, [w[1:] for w in timed])
    states, word_ids = token_states(words_extractor._load_model(), words)
    assert sum(np.count_nonzero(word_ids == i) > 1 for i in range(len(words))) >= 6  # many multi-piece words
    for index in range(len(words)):
        np.testing.assert_allclose(vectors[index], states[word_ids == index].mean(axis=0), atol=1e-4)


def test_long_samples_give_every_word_context_and_exactly_one_vector(words_extractor):
    model = words_extractor._load_model()
    words = (PLAIN * 12)[:400]
    assert len(model.tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]) == 400
    timed = [[w, 0.3 * i, 0.3 * i + 0.2] for i, w in enumerate(words)]
    (vectors, intervals), = run(words_extractor, [words_row(timed)])
    assert vectors.shape == (400, 384) and len(intervals) == 400
    # limit 254 tokens, 63 of context: windows [0, 254) keep words 0-190, [128, 382) keep 191-318,
    # [256, 400) keep 319-399, so each word is embedded once, at least 63 words from a window's edge.
    for first, begin, end, stop in ((0, 0, 191, 254), (128, 191, 319, 382), (256, 319, 400, 400)):
        states, word_ids = token_states(model, words[first:stop])
        expected = np.stack([states[word_ids == i - first].mean(axis=0) for i in range(begin, end)])
        np.testing.assert_allclose(vectors[begin:end], expected, atol=1e-4)
    # Cut at 254 without context, word 254 would begin a window and get a vector far from this one.
    states, word_ids = token_states(model, words[254:])
    edge = states[word_ids == 0].mean(axis=0)
    cosine = float(edge @ vectors[254] / np.linalg.norm(edge) / np.linalg.norm(vectors[254]))
    assert cosine < 0.8


def test_empty_word_lists_and_only_pauses_give_rows_of_zero_words(words_extractor):
    pauses = [["sp", 0.0, 0.4], ["SP", 0.4, 0.9]]
    (empty, no_times), (zeros, times) = run(words_extractor, [words_row([]), words_row(pauses, "p")])
    assert empty.shape == (0, 384) and no_times.shape == (0, 2)
    assert zeros.shape == (2, 384) and not zeros.any()
    np.testing.assert_array_equal(times, [[0.0, 0.4], [0.4, 0.9]])
    for spec in ("word-embeddings:pauses=drop", "word-embeddings:method=hashed,pauses=drop"):
        (vectors, intervals), = run(create_extractor(spec), [words_row(pauses, "p")])
        assert vectors.shape[0] == 0 and intervals.shape == (0, 2)


@pytest.mark.parametrize(("entry", "what"), [
    (["", 0.1, 0.2], "''"),
    ([" ", 0.1, 0.2], "' '"),
    ([None, 0.1, 0.2], "None"),
    (["a", -0.5, 0.2], "-0.5"),
    (["a", None, 0.2], "None"),
    (["a", 0.1], "0.1"),
])
def test_blank_words_and_missing_or_negative_times_are_format_errors(entry, what):
    expected = r"expected \[word, start, end\] with a non-blank word and finite 0 <= start <= end"
    with pytest.raises(CorpusFormatError, match=rf"sample 's0': extra\['words'\]\[1\] = .*{what}.*{expected}"):
        read_timed_words(words_row([["ok", 0.0, 0.1], entry]))


def test_bad_word_timings_are_recorded_per_sample_and_the_run_goes_on(tmp_path):
    fake = write_fake_mosi_generic(tmp_path / "raw")
    (fake.root / "words.csv").write_text(
        "segment_id,word,start,end\nrec1_a,sp,0.1,0.4\nrec1_a,sp,0.5,0.9\n"
        "rec1_b,,1.1,1.2\nrec1_b,ok,1.2,1.5\nrec2_a,great,0.6,0.7\n", encoding="utf-8")
    extract("mosi-raw", fake.root, tmp_path / "out", extractors=["word-embeddings:pauses=drop"], num_workers=0)
    data = open_dataset(tmp_path / "out")
    rows = {r["sample_id"]: r for r in data.table("text.word-embeddings").to_table().to_pylist()}
    assert rows["rec1_a"]["feature"] == [] and rows["rec1_a"]["intervals"] == []  # only pauses, dropped
    assert rows["rec1_b"]["feature"] is None  # failed: its blank word
    assert len(rows["rec2_a"]["feature"]) == 1 and rows["rec2_a"]["intervals"] == [[0.6, 0.7]]
    (error,) = data.errors().to_pylist()
    assert (error["sample_id"], error["stage"], error["error_type"]) == ("rec1_b", "decode", "CorpusFormatError")
    assert "extra['words'][0] = ['', 1.1, 1.2]; expected [word, start, end] with a non-blank word" in error["reason"]


def test_hashed_word_vector_is_the_documented_crc32_hash():
    # 'Ab' -> 'ab' and the grams of '<ab>': '<ab', 'ab>', '<ab>'; each adds +-1 at crc32 % dim.
    dim = 16
    expected = np.zeros(dim, np.float32)
    for gram in ("ab", "<ab", "ab>", "<ab>"):
        code = zlib.crc32(gram.encode("utf-8"))
        expected[code % dim] += 1.0 if code & 0x80000000 else -1.0
    (got,) = hashed_word_vectors(["Ab"], dim)
    np.testing.assert_allclose(got, expected / np.linalg.norm(expected), rtol=1e-6)


def test_one_caption_given_as_a_string_is_one_text_not_its_characters():
    from mmdata.records import text_items

    assert text_items({"captions": "a dog on a beach"}) == ["a dog on a beach"]
    assert text_items({"captions": ["a", "b"], "transcript": "t"}) == ["a", "b"]
    assert text_items({"captions": [], "transcript": "spoken"}) == ["spoken"]


@pytest.mark.parametrize("spec", ["minilm:model=", "tokens:model= ", "word-embeddings:model="])
def test_an_empty_model_name_is_a_config_error(spec):
    from mmdata.errors import ConfigError
    from mmdata.features.base import create_extractor

    with pytest.raises(ConfigError, match="model must be 'all-MiniLM-L6-v2' or a local model directory"):
        create_extractor(spec)
