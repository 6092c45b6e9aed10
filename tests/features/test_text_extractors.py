from __future__ import annotations

import zlib

import numpy as np
import pytest

from mmdata.errors import MediaError, MissingWeightsError
from mmdata.features import create_extractor
from mmdata.features.text import bow_tokens, load_sentence_model, resolve_text_model

CAPTIONS = [
    ["A dog runs on the grass.", "A brown dog playing outside.", "Dog, grass, sun!"],
    ["Two cats sleep on a red sofa."],
    ["A man rides a bike.", "Cyclist in a city."],
]


def rows(captions: list[list[str]]) -> list[dict]:
    return [{"sample_id": f"s{i}", "captions": c, "transcript": None} for i, c in enumerate(captions)]


def run(extractor, samples: list[dict]) -> list:
    return extractor.compute([extractor.decode(row, corpus_root=None) for row in samples])


@pytest.fixture(scope="module")
def reference_minilm():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(resolve_text_model("all-MiniLM-L6-v2")), device="cpu", local_files_only=True)


def test_minilm_per_caption_equals_sentence_transformers(reference_minilm):
    extractor = create_extractor("minilm:level=caption")
    spec = extractor.output_spec()
    assert (spec.dim, spec.kind, spec.item_axis, extractor.table_name) == (384, "sequence", "caption", "text.minilm.caption")
    features = run(extractor, rows(CAPTIONS))
    for feature, texts in zip(features, CAPTIONS):
        expected = reference_minilm.encode(texts, normalize_embeddings=True)
        assert feature.shape == (len(texts), 384) and feature.dtype == np.float32
        np.testing.assert_allclose(feature, expected, atol=1e-5)


def test_minilm_sample_level_is_the_renormalized_caption_mean():
    pooled = run(create_extractor("minilm"), rows(CAPTIONS))
    per_caption = run(create_extractor("minilm:level=caption"), rows(CAPTIONS))
    assert create_extractor("minilm").table_name == "text.minilm"
    for vector, captions in zip(pooled, per_caption):
        mean = captions.mean(axis=0)
        assert vector.shape == (384,)
        np.testing.assert_allclose(vector, mean / np.linalg.norm(mean), atol=1e-6)
    # a single text pools to itself
    np.testing.assert_allclose(pooled[1], per_caption[1][0], atol=1e-6)


def test_minilm_without_normalization_pools_by_plain_mean():
    pooled = run(create_extractor("minilm:normalize=false"), rows(CAPTIONS[:1]))[0]
    per_caption = run(create_extractor("minilm:normalize=false,level=caption"), rows(CAPTIONS[:1]))[0]
    np.testing.assert_allclose(pooled, per_caption.mean(axis=0), atol=1e-6)
    assert np.linalg.norm(pooled) < 0.999  # the mean of distinct unit vectors is shorter


def test_minilm_encodes_all_captions_of_a_batch_in_one_call(monkeypatch):
    extractor = create_extractor("minilm:level=caption")
    model = extractor.load_model()
    calls = []
    original = model.encode

    def counting_encode(texts, **kwargs):
        calls.append(list(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(model, "encode", counting_encode)
    run(extractor, rows(CAPTIONS))
    assert calls == [[t for texts in CAPTIONS for t in texts]]


def test_transcript_is_the_text_when_there_are_no_captions():
    row = {"sample_id": "clip_1", "captions": [], "transcript": "i really liked this movie"}
    extractor = create_extractor("hashed-bow:dim=64,level=caption")
    (feature,) = extractor.compute([extractor.decode(row, None)])
    assert feature.shape == (1, 64)


def test_sample_without_text_fails_as_an_item():
    with pytest.raises(MediaError, match="sample 'empty' has no text: no captions and no transcript"):
        create_extractor("minilm").decode({"sample_id": "empty", "captions": [], "transcript": None}, None)


def test_hashed_bow_matches_a_hand_computation():
    dim = 16
    # "A dog, a DOG!" -> tokens a, dog, a, dog: two counts in each bucket.
    a, dog = zlib.crc32(b"a") % dim, zlib.crc32(b"dog") % dim
    expected = np.zeros(dim, np.float32)
    expected[a] += 2
    expected[dog] += 2
    expected /= np.linalg.norm(expected)
    (tf,) = run(create_extractor(f"hashed-bow:dim={dim}"), rows([["A dog, a DOG!"]]))
    np.testing.assert_allclose(tf, expected, rtol=1e-6)

    binary = np.zeros(dim, np.float32)
    binary[[a, dog]] = 1
    (got,) = run(create_extractor(f"hashed-bow:dim={dim},weighting=binary"), rows([["A dog, a DOG a a!"]]))
    np.testing.assert_allclose(got, binary / np.linalg.norm(binary), rtol=1e-6)


def test_hashed_bow_sample_level_pools_the_caption_vectors():
    per_caption = run(create_extractor("hashed-bow:dim=128,level=caption"), rows(CAPTIONS))
    pooled = run(create_extractor("hashed-bow:dim=128"), rows(CAPTIONS))
    for vector, captions in zip(pooled, per_caption):
        assert captions.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(captions, axis=1), 1.0, rtol=1e-6)
        mean = captions.mean(axis=0)
        np.testing.assert_allclose(vector, mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-7)


def test_hashed_bow_tokens_and_empty_text():
    assert bow_tokens("Hello, WORLD 42 times") == ["hello", "world", "42", "times"]
    assert bow_tokens("我爱猫 ok") == ["我", "爱", "猫", "ok"]
    (feature,) = run(create_extractor("hashed-bow:dim=8,level=caption"), rows([["...", "ok"]]))
    np.testing.assert_array_equal(feature[0], np.zeros(8, np.float32))  # no tokens: zeros, not NaN
    assert np.linalg.norm(feature[1]) == pytest.approx(1.0)


def test_tokens_equal_the_minilm_tokenizer_ids():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_text_model("all-MiniLM-L6-v2")), local_files_only=True)
    samples = rows(CAPTIONS[:2])
    per_caption = run(create_extractor("tokens:level=caption"), samples)
    spec = create_extractor("tokens:level=caption").output_spec()
    assert (spec.dim, spec.dtype, spec.kind) == (None, "int32", "sequence")
    for ids, texts in zip(per_caption, CAPTIONS):
        assert [i.tolist() for i in ids] == [tokenizer(t)["input_ids"] for t in texts]
        assert all(i.dtype == np.int32 for i in ids)
    # sample level: [CLS] caption1 [SEP] caption2 [SEP] ...
    (joined, single) = run(create_extractor("tokens"), samples)
    expected = per_caption[0][0].tolist() + [i for ids in per_caption[0][1:] for i in ids.tolist()[1:]]
    assert joined.tolist() == expected and joined.dtype == np.int32
    assert single.tolist() == per_caption[1][0].tolist()
    (truncated,) = run(create_extractor("tokens:max_length=4,add_special_tokens=false"), samples[1:])
    assert truncated.tolist() == tokenizer(CAPTIONS[1][0], add_special_tokens=False)["input_ids"][:4]


def test_text_model_outside_local_disk_is_missing_weights(tmp_path):
    with pytest.raises(MissingWeightsError, match="text model 'sentence-transformers/all-mpnet-base-v2' is not a local directory"):
        create_extractor("minilm:model=sentence-transformers/all-mpnet-base-v2").load_model()
    with pytest.raises(MissingWeightsError, match=str(tmp_path / "missing")):
        create_extractor(f"tokens:model={tmp_path / 'missing'}").load_tokenizer()


def test_minilm_from_a_local_model_directory_reads_its_dim():
    model_dir = resolve_text_model("all-MiniLM-L6-v2")
    extractor = create_extractor(f"minilm:model={model_dir}")
    assert extractor.output_spec().dim == 384
    assert extractor.load_model() is load_sentence_model(str(model_dir), "cpu")
    provenance = extractor.provenance()
    assert provenance["runtime"] == {"device": "cpu", "encode_batch_size": 128}
    assert "device" not in provenance["config"] and provenance["config"]["level"] == "sample"
