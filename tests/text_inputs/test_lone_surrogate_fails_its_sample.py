"""A text holding a lone surrogate (a JSON "\\ud800" escape without its pair) is not Unicode text: it fails its
sample with a reason naming the sample and caption, and the loaders refuse such a file naming its line."""
from __future__ import annotations

import json

import pytest

import mmdata
from mmdata.batch_work import compute_batch, decode_batch
from mmdata.errors import CorpusFormatError, MediaError
from mmdata.features import create_extractor

ROWS = [{"sample_id": "fine", "captions": ["a cat on a mat"], "transcript": None},
        {"sample_id": "broken", "captions": ["a dog", "a \ud800 bird"], "transcript": None}]


@pytest.mark.parametrize("name", ["minilm", "minilm:level=caption", "hashed-bow", "tokens"])
def test_decode_names_the_sample_caption_and_position(name):
    extractor = create_extractor(name)
    with pytest.raises(MediaError, match=r"sample 'broken': caption 1 holds '\\ud800' at character 2, a lone "
                                         r"surrogate"):
        extractor.decode(ROWS[1], corpus_root=None)


def test_a_transcript_with_a_lone_surrogate_is_named_as_the_transcript():
    row = {"sample_id": "talk", "captions": [], "transcript": "\udfff"}
    with pytest.raises(MediaError, match="sample 'talk': the transcript holds"):
        create_extractor("hashed-bow").decode(row, corpus_root=None)


def test_in_a_batch_only_that_sample_fails_and_the_other_is_embedded():
    extractor = create_extractor("minilm")
    fine, broken = compute_batch(extractor, decode_batch(extractor, ROWS, corpus_root=None), ROWS)
    assert fine.ok and fine.value.shape == (384,)
    assert not broken.ok and broken.stage == "decode" and "sample 'broken': caption 1" in broken.reason


def test_manifest_with_a_lone_surrogate_escape_is_refused_naming_its_line(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [json.dumps({"id": "a", "caption": "a cat"}), '{"id": "b", "caption": "a \\ud800 bird"}']
    (corpus / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusFormatError, match=r"manifest\.jsonl:2: 'caption' is not valid Unicode text"):
        mmdata.extract("manifest", corpus, tmp_path / "out", extractors=["hashed-bow"])
