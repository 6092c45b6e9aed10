"""minilm embeds messy real-world captions (other scripts, emoji, NFD, control characters, CRLF, a 5,000-word
caption, 200 captions, duplicates) as sentence-transformers does, at both levels, whatever else is in their
batch; a blank caption is named in the errors table."""
from __future__ import annotations

import numpy as np
import pytest

import mmdata
from tests.text_inputs.messy_texts import (
    BLANK, MESSY, coco_ids, sentence_transformer, write_messy_coco, write_messy_manifest,
)

TOLERANCE = 1e-5
BOTH_CORPORA = ["manifest_data", "coco_data"]


@pytest.fixture(scope="module")
def manifest_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("manifest")
    mmdata.extract("manifest", write_messy_manifest(root / "corpus"), root / "out",
                   extractors=["minilm", "minilm:level=caption"])
    data = mmdata.open_dataset(root / "out")
    data.blank_ids = set(BLANK)
    return data


@pytest.fixture(scope="module")
def coco_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    mmdata.extract("coco", write_messy_coco(root / "corpus"), root / "out", extractors=["minilm:level=caption"])
    data = mmdata.open_dataset(root / "out")
    data.blank_ids = {f"{coco_ids()[sid]:012d}" for sid in BLANK}
    return data


def rows_by_captions(data, table):
    """{a sample's captions as a tuple: its feature} (sample ids differ between the corpus kinds)."""
    captions = {row["sample_id"]: tuple(row["captions"])
                for row in data.samples_table(["sample_id", "captions"]).to_pylist()}
    return {captions[row["sample_id"]]: row["feature"] for row in data.read_table(table).to_pylist()}


@pytest.mark.parametrize("corpus", BOTH_CORPORA)
def test_captions_are_kept_as_written(corpus, request):
    data = request.getfixturevalue(corpus)
    held = {tuple(row["captions"]) for row in data.samples_table(["captions"]).to_pylist()}
    assert held == {tuple(captions) for captions in MESSY.values()}


@pytest.mark.parametrize("corpus", BOTH_CORPORA)
def test_each_caption_is_its_sentence_transformers_embedding_alone(corpus, request):
    model = sentence_transformer()
    rows = rows_by_captions(request.getfixturevalue(corpus), "text.minilm.caption")
    for captions in MESSY.values():
        # batch_size=1: each caption without padding; mmdata embedded them all in one batch beside a 256-token text
        alone = model.encode(list(captions), batch_size=1, normalize_embeddings=True)
        np.testing.assert_allclose(np.asarray(rows[tuple(captions)]), alone, atol=TOLERANCE, err_msg=captions[0][:40])


def test_sample_vector_is_the_renormalized_mean_of_its_captions(manifest_data):
    model = sentence_transformer()
    rows = rows_by_captions(manifest_data, "text.minilm")
    for captions in MESSY.values():
        mean = model.encode(list(captions), normalize_embeddings=True).mean(axis=0)
        np.testing.assert_allclose(rows[tuple(captions)], mean / np.linalg.norm(mean), atol=TOLERANCE)


def test_long_caption_is_cut_at_256_tokens_and_the_limit_recorded_at_both_levels(manifest_data):
    model = sentence_transformer()
    first_tokens = model.tokenizer.convert_tokens_to_string(model.tokenizer.tokenize(MESSY["long"][0])[:254])
    cut = model.encode([first_tokens], normalize_embeddings=True)[0]
    np.testing.assert_allclose(rows_by_captions(manifest_data, "text.minilm.caption")[tuple(MESSY["long"])][0], cut,
                               atol=TOLERANCE)
    for table in ("text.minilm", "text.minilm.caption"):
        assert manifest_data.table_metadata(table)["preprocessing"] == {"max_tokens": 256,
                                                                         "truncation": "first tokens"}


def test_nfc_and_nfd_of_a_word_get_one_vector_as_sentence_transformers_gives(manifest_data):
    rows = rows_by_captions(manifest_data, "text.minilm")
    nfc, nfd = (np.asarray(rows[tuple(MESSY[key])]) for key in ("nfc", "nfd"))
    np.testing.assert_allclose(nfc, nfd, atol=1e-6)
    unaccented = sentence_transformer().encode(["cafe creme brulee"], normalize_embeddings=True)[0]
    np.testing.assert_allclose(nfc, unaccented, atol=TOLERANCE)  # the uncased model strips accents


@pytest.mark.parametrize("corpus", BOTH_CORPORA)
def test_blank_captions_are_named_in_the_errors_table(corpus, request):
    data = request.getfixturevalue(corpus)
    errors = data.errors().to_pylist()
    assert {row["sample_id"] for row in errors} == data.blank_ids
    for sample in data.blank_ids:
        assert any("blank" in row["reason"] for row in errors if row["sample_id"] == sample)
