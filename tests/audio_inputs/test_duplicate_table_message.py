"""Two configs of one extractor in one run write the same table: the refusal names that table and the
two specs, not every table of the run, and says how to keep both."""
from __future__ import annotations

import json

import pytest

from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from tests.fakes.av import write_tone_wav


def test_two_configs_of_one_table_are_named_with_the_way_out(tmp_path):
    root = tmp_path / "corpus"
    write_tone_wav(root / "a.wav")
    (root / "manifest.jsonl").write_text(json.dumps({"id": "a", "audio": "a.wav", "text": "x"}) + "\n")
    extractors = ["librosa-logmel", "kaldi-fbank", "kaldi-fbank:snip_edges=false", "prosody"]
    with pytest.raises(DatasetError) as caught:
        extract("manifest", root, tmp_path / "out", extractors=extractors, num_workers=0)
    message = str(caught.value)
    assert message.startswith("two extractors write the same table 'audio.kaldi-fbank': 'kaldi-fbank' and "
                              "'kaldi-fbank:snip_edges=false'; ")
    assert "another OUTPUT_DIR" in message and "--force" in message
    assert "librosa-logmel" not in message and "audio.prosody" not in message
