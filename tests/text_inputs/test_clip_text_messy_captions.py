"""clip-text embeds messy captions as transformers' CLIP does, each as it would be alone, except that a
special-token string in a caption ("<|endoftext|>") is read as text rather than ending the caption there."""
from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from mmdata.features import create_extractor
from tests.fakes.clip_model import MAX_TOKENS, write_tiny_clip
from tests.text_inputs.messy_texts import MESSY

CAPTIONS = [text for texts in MESSY.values() for text in texts[:3]]


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return write_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def embed(clip_dir, captions, **options):
    spec = ",".join([f"clip-text:model={clip_dir}", "level=caption", *(f"{k}={v}" for k, v in options.items())])
    extractor = create_extractor(spec)
    rows = [{"sample_id": f"s{i}", "captions": [text], "transcript": None} for i, text in enumerate(captions)]
    return np.concatenate(extractor.compute([extractor.decode(row, corpus_root=None) for row in rows]))


def transformers_alone(clip_dir, captions):
    """Each caption tokenized and embedded on its own by transformers, special-token strings as text."""
    import torch
    from transformers import AutoTokenizer, CLIPModel

    tokenizer, model = AutoTokenizer.from_pretrained(str(clip_dir)), CLIPModel.from_pretrained(str(clip_dir)).eval()
    out = []
    for text in captions:
        inputs = tokenizer([text], truncation=True, max_length=MAX_TOKENS, split_special_tokens=True,
                           return_tensors="pt")
        with torch.inference_mode():
            features = model.get_text_features(**inputs)
        features = getattr(features, "pooler_output", features)
        out.append(torch.nn.functional.normalize(features, dim=-1)[0].numpy())
    return np.stack(out)


def test_messy_captions_batched_together_equal_transformers_on_each_alone(clip_dir):
    np.testing.assert_allclose(embed(clip_dir, CAPTIONS), transformers_alone(clip_dir, CAPTIONS), atol=1e-5)


def test_a_caption_is_the_same_in_batches_of_one(clip_dir):
    np.testing.assert_allclose(embed(clip_dir, CAPTIONS, encode_batch_size=1), embed(clip_dir, CAPTIONS), atol=1e-5)


def test_an_end_token_string_in_a_caption_does_not_end_it(clip_dir):
    with_string, cut_there, plain = embed(clip_dir, ["a dog <|endoftext|> and a cat", "a dog", "a dog and a cat"])
    assert np.abs(with_string - cut_there).max() > 1e-3
    assert np.abs(with_string - plain).max() > 1e-3


def test_nfc_and_nfd_of_a_word_get_one_vector(clip_dir):
    nfc, nfd = embed(clip_dir, [unicodedata.normalize(form, "café crème") for form in ("NFC", "NFD")])
    np.testing.assert_allclose(nfc, nfd, atol=1e-6)  # the tokenizer puts texts in NFC
