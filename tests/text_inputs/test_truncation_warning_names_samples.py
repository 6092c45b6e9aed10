"""minilm's warning about texts past max_seq_length names the samples (and captions) it cut."""
from __future__ import annotations

import logging

from mmdata.features import create_extractor

LONG = " ".join(f"word{i}" for i in range(400))


def embed(spec, samples):
    extractor = create_extractor(spec)
    return extractor.compute([extractor.decode(row, corpus_root=None) for row in samples])


def test_caption_level_names_sample_and_caption_index(caplog):
    samples = [{"sample_id": "a", "captions": ["short"], "transcript": None},
               {"sample_id": "b", "captions": ["fine", LONG], "transcript": None}]
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_minilm"):
        embed("minilm:level=caption", samples)
    assert "1 of 3 texts are longer than" in caplog.text and "'b' caption 1" in caplog.text
    assert "'a'" not in caplog.text


def test_sample_level_names_the_sample_of_a_long_transcript(caplog):
    samples = [{"sample_id": "talk-7", "captions": [], "transcript": LONG}]
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_minilm"):
        embed("minilm", samples)
    assert "(samples 'talk-7')" in caplog.text


def test_no_warning_when_nothing_is_cut(caplog):
    with caplog.at_level(logging.WARNING, logger="mmdata.features.text_minilm"):
        embed("minilm", [{"sample_id": "a", "captions": ["a cat"], "transcript": None}])
    assert "longer than" not in caplog.text
