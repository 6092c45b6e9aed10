"""Texts are read as written; one holding HTML character references (`&amp;`, as Flickr30K ships some
captions) gets a warning naming its sample, whichever text extractor reads it."""
from __future__ import annotations

import logging

import pytest

from mmdata.features import create_extractor
from mmdata.features.text_base import has_character_reference

SAMPLES = [{"sample_id": "plain", "captions": ["AT&T &nothing R&D"], "transcript": None},
           {"sample_id": "flickr", "captions": ["a dog", "salt &amp; pepper &#39;shakers&#x27;"], "transcript": None}]


@pytest.mark.parametrize("text", ["&amp;", "a &quot;b&quot;", "&#39;", "&#x27;", "&eacute;t&eacute;"])
def test_references_to_characters_are_found(text):
    assert has_character_reference(text)


@pytest.mark.parametrize("text", ["AT&T", "fish & chips", "&nothing", "&notareference;", "R&D;", "a&b"])
def test_ampersands_in_plain_text_are_not(text):
    assert not has_character_reference(text)


@pytest.mark.parametrize("spec, named", [("minilm", "'flickr'"), ("hashed-bow", "'flickr'"), ("tokens", "'flickr'"),
                                         ("hashed-bow:level=caption", "'flickr' caption 1")])
def test_the_warning_names_the_sample(spec, named, caplog):
    extractor = create_extractor(spec)
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_base"):
        extractor.compute([extractor.decode(row, corpus_root=None) for row in SAMPLES])
    assert f"1 of 3 texts hold HTML character references such as '&amp;' (samples {named})" in caplog.text
    assert "'plain'" not in caplog.text


def test_the_text_is_embedded_as_written():
    extractor = create_extractor("hashed-bow:level=caption")
    row = {"sample_id": "s", "captions": ["salt &amp; pepper", "salt amp pepper"], "transcript": None}
    (vectors,) = extractor.compute([extractor.decode(row, corpus_root=None)])
    assert (vectors[0] == vectors[1]).all()  # 'amp' is a word to hashed-bow
