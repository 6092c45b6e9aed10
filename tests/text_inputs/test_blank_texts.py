"""Texts of only zero-width, control or format characters are blank, as whitespace is."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mmdata.checks.samples import check_text
from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.features.text import is_blank_text

BLANK = ["", "  \t\n", "\u200b\u200b", "\u200d\ufeff", "\x00\x07\x1b", "\u2028\u2029", "\u00a0\u3000"]
CONTENT = ["😀", "a", "...", "\u200ba", "猫", "\u0301"]


@pytest.mark.parametrize("text", BLANK)
def test_no_content_characters_are_blank(text):
    assert is_blank_text(text)


@pytest.mark.parametrize("text", CONTENT)
def test_emoji_punctuation_and_marks_are_content(text):
    assert not is_blank_text(text)


@pytest.mark.parametrize("name", ["minilm", "hashed-bow", "tokens", "minilm:level=caption"])
def test_zero_width_caption_fails_the_sample_naming_it(name):
    extractor = create_extractor(name)
    row = {"sample_id": "s7", "captions": ["a cat", "\u200b\u200b"], "transcript": None}
    with pytest.raises(MediaError, match=r"sample 's7': caption 1 is '\\u200b\\u200b'; expected a non-blank"):
        extractor.decode(row, corpus_root=None)


def test_control_only_transcript_fails_the_sample():
    row = {"sample_id": "t1", "captions": [], "transcript": "\x00\x07"}
    with pytest.raises(MediaError, match="sample 't1': the transcript"):
        create_extractor("hashed-bow").decode(row, corpus_root=None)


def test_emoji_caption_is_embedded():
    extractor = create_extractor("minilm")
    row = {"sample_id": "e", "captions": ["😀"], "transcript": None}
    (vector,) = extractor.compute([extractor.decode(row, corpus_root=None)])
    assert np.isfinite(vector).all() and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_check_counts_zero_width_captions_as_missing():
    samples = pa.table({
        "sample_id": ["a", "b", "c"], "corpus": ["coco"] * 3,
        "captions": [["\u200b\u200b", " "], ["😀"], ["a dog"]], "transcript": [None] * 3,
    })
    (issue,) = check_text(samples)
    assert issue.code == "captions-missing" and issue.examples == ("a",)


def test_check_counts_control_only_transcript_as_missing():
    samples = pa.table({"sample_id": ["a", "b"], "corpus": ["mosi-raw"] * 2, "captions": [[], []],
                        "transcript": ["\x00\u200b", "fine"]})
    (issue,) = check_text(samples)
    assert issue.code == "transcript-missing" and issue.examples == ("a",)
