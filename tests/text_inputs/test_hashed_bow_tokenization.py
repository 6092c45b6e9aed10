"""hashed-bow's tokens are as documented, and its vectors, like `tokens`' ids, are the same in every process
whatever Python's hash seed; the Unicode version that decides letters and marks is recorded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata

import pytest

from mmdata.features import create_extractor
from mmdata.features.text_bow import bow_tokens
from tests.text_inputs.messy_texts import MESSY

SCRIPT = """
import hashlib, json, sys
import numpy as np
from mmdata.features import create_extractor
rows = json.loads(sys.stdin.read())
words = {"sample_id": "w", "extra": {"words": [[w, 0, 1] for w in rows[0]["captions"]]}}
digests = {}
for spec in ("hashed-bow", "hashed-bow:level=caption,weighting=binary", "tokens", "word-embeddings:method=hashed"):
    extractor = create_extractor(spec)
    items = [extractor.decode(row, None) for row in ([words] if spec.startswith("word") else rows)]
    values = [np.asarray(v[0] if isinstance(v, tuple) else v) for v in extractor.compute(items)]
    digests[spec] = hashlib.sha256(b"".join(v.tobytes() for v in values)).hexdigest()
print(json.dumps(digests))
"""


def digests_with_hash_seed(seed: str) -> dict[str, str]:
    rows = [{"sample_id": sid, "captions": captions[:5], "transcript": None} for sid, captions in MESSY.items()]
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(rows), env=env, capture_output=True,
                          text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_vectors_and_ids_are_the_same_whatever_the_hash_seed():
    assert digests_with_hash_seed("1") == digests_with_hash_seed("2024")


@pytest.mark.parametrize("text, tokens", [
    ("Don't STOP_me now", ["don", "t", "stop_me", "now"]),
    ("一只猫 𠮷𠀀 ｶﾀ", ["一", "只", "猫", "𠮷", "𠀀", "ｶ", "ﾀ"]),  # ideographs of every plane, half-width kana
    ("एक बिल्ली मेज़", ["एक", "बिल्ली", "मेज़"]),  # vowel signs and nukta stay in their word
    ("قطة على", ["قطة", "على"]),
    ("a 👨‍👩‍👧‍👦 b\x00c\r\nd", ["a", "b", "c", "d"]),  # emoji, ZWJ, NUL and CRLF separate
    ("ภาษาไทย", ["ภาษาไทย"]),  # no spaces, not CJK: one token per run
])
def test_tokens_are_as_documented(text, tokens):
    assert bow_tokens(text) == tokens


def test_nfc_and_nfd_give_the_same_tokens():
    assert bow_tokens(unicodedata.normalize("NFD", "Café Crème")) == bow_tokens("café crème") == ["café", "crème"]


def test_an_emoji_only_text_gives_a_zero_vector():
    extractor = create_extractor("hashed-bow")
    (vector,) = extractor.compute([extractor.decode({"sample_id": "e", "captions": ["😀🐶"]}, None)])
    assert not vector.any()


@pytest.mark.parametrize("spec", ["hashed-bow", "word-embeddings:method=hashed"])
def test_the_unicode_version_is_recorded(spec):
    assert create_extractor(spec).provenance()["versions"]["unicode"] == unicodedata.unidata_version


@pytest.mark.parametrize("spec", ["minilm", "tokens", "word-embeddings"])
def test_the_tokenizers_version_is_recorded(spec):
    assert "tokenizers" in create_extractor(spec).provenance()["versions"]
