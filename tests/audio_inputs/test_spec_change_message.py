"""A table an earlier version described with another feature spec (kaldi-fbank before it recorded its
analysis window) is refused naming the spec, not a config that did not change."""
from __future__ import annotations

import json

import pytest

from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from tests.fakes.av import write_tone_wav


def test_a_table_with_an_older_spec_is_refused_naming_the_spec(tmp_path):
    root = tmp_path / "corpus"
    write_tone_wav(root / "a.wav")
    (root / "manifest.jsonl").write_text(json.dumps({"id": "a", "audio": "a.wav"}) + "\n")
    out = tmp_path / "out"
    extract("manifest", root, out, extractors=["kaldi-fbank"], num_workers=0)
    manifest = json.loads((out / "mmdata.json").read_text())
    del manifest["tables"]["audio.kaldi-fbank"]["spec"]["frame_window"]  # as the version before wrote it
    (out / "mmdata.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match=r"'audio.kaldi-fbank' .* was made with feature spec .*an earlier mmdata "
                                           r"version described the same extractor differently.*--force"):
        extract("manifest", root, out, extractors=["kaldi-fbank"], num_workers=0)
    report = extract("manifest", root, out, extractors=["kaldi-fbank"], num_workers=0, force=True)
    assert report.tables[0].rows == 1
