"""`tokens` takes "[SEP]"/"[CLS]"/"[MASK]" in a caption as text; only its own separators are special ids."""
from __future__ import annotations

import logging

import pytest

from mmdata.features import create_extractor
from mmdata.features.text import load_tokenizer, resolve_text_model

ORDINARY = [["A dog runs on the grass.", "A brown dog playing outside.", "Dog, grass, sun!"],
            ["Two cats sleep on a red sofa."], ["A man rides a bike.", "Cyclist in a city."]]


def rows(captions):
    return [{"sample_id": f"s{i}", "captions": c, "transcript": None} for i, c in enumerate(captions)]


def run(spec, samples):
    extractor = create_extractor(spec)
    return extractor.compute([extractor.decode(row, corpus_root=None) for row in samples])


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(resolve_text_model("all-MiniLM-L6-v2")))


def previous_ids(tokenizer, texts, level, max_length=0, add_special_tokens=True):
    """What the extractor gave before: a sample's texts joined by ' [SEP] ' and tokenized as one."""
    inputs = [" [SEP] ".join(texts)] if level == "sample" else list(texts)
    return tokenizer(inputs, add_special_tokens=add_special_tokens, truncation=bool(max_length),
                     max_length=max_length or None)["input_ids"]


@pytest.mark.parametrize("options", ["", "max_length=9", "max_length=5,add_special_tokens=false"])
def test_ordinary_captions_give_the_ids_they_gave_before(tokenizer, options):
    max_length = int(options.split("max_length=")[1].split(",")[0]) if options else 0
    add = "add_special_tokens=false" not in options
    for level in ("sample", "caption"):
        out = run(f"tokens:level={level}" + (f",{options}" if options else ""), rows(ORDINARY))
        for texts, ids in zip(ORDINARY, out):
            got = [ids.tolist()] if level == "sample" else [i.tolist() for i in ids]
            assert got == previous_ids(tokenizer, texts, level, max_length, add)


def test_special_token_strings_in_a_caption_are_plain_text(tokenizer):
    captions = ["a [SEP] sign", "the [CLS] and [MASK] words", "plain"]
    (joined,) = run("tokens", rows([captions]))
    ids = joined.tolist()
    assert ids.count(tokenizer.sep_token_id) == 3  # one per caption: the boundaries are recoverable
    assert ids.count(tokenizer.cls_token_id) == 1 and tokenizer.mask_token_id not in ids
    (per_caption,) = run("tokens:level=caption", rows([captions]))
    for ids in per_caption:
        assert ids.tolist().count(tokenizer.sep_token_id) == 1 and ids.tolist()[-1] == tokenizer.sep_token_id
    # the pieces between separators are each caption's own ids
    pieces, current = [], []
    for i in joined.tolist()[1:]:
        if i == tokenizer.sep_token_id:
            pieces.append(current)
            current = []
        else:
            current.append(i)
    assert pieces == [c.tolist()[1:-1] for c in per_caption]


def test_any_length_without_the_tokenizers_warning(caplog, capfd):
    text = "word " * 1200
    with caplog.at_level(logging.WARNING):
        (ids,) = run("tokens", [{"sample_id": "long", "captions": [], "transcript": text}])
    assert len(ids) == 1202
    assert "Token indices sequence length" not in caplog.text + capfd.readouterr().err


def test_cut_texts_are_logged_with_their_samples(caplog):
    samples = rows([["short"], ["a much longer caption than four ids", "tiny"]])
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_tokens"):
        run("tokens:level=caption,max_length=4", samples)
    assert "1 of 3 texts have more than max_length=4 ids" in caplog.text
    assert "'s1' caption 0" in caplog.text
