"""A table an earlier version described with fewer spec fields (kaldi-fbank before it recorded its
analysis window) holds the same rows: it is kept as made, its spec as its shards hold it. A spec that
really differs is refused naming the spec, not a config that did not change."""
from __future__ import annotations

import json

import pytest

from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.av import write_tone_wav


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "corpus"
    write_tone_wav(root / "a.wav")
    (root / "manifest.jsonl").write_text(json.dumps({"id": "a", "audio": "a.wav"}) + "\n")
    out = tmp_path / "out"
    extract("manifest", root, out, extractors=["kaldi-fbank"], num_workers=0)
    return root, out


def _edit_spec(out, edit):
    manifest = json.loads((out / "mmdata.json").read_text())
    edit(manifest["tables"]["audio.kaldi-fbank"]["spec"])
    (out / "mmdata.json").write_text(json.dumps(manifest))


def test_a_table_whose_spec_lacks_a_field_added_since_is_kept_as_made(dataset):
    root, out = dataset
    _edit_spec(out, lambda spec: spec.pop("frame_window"))  # as the version before wrote it
    report = extract("manifest", root, out, extractors=["kaldi-fbank"], num_workers=0)
    assert report.tables[0].rows == 1 and report.tables[0].shards_written == 0
    assert "frame_window" not in open_dataset(out).entry("audio.kaldi-fbank").spec


def test_a_table_with_another_spec_is_refused_naming_the_spec(dataset):
    root, out = dataset
    _edit_spec(out, lambda spec: spec.update(dim=spec["dim"] + 1))
    with pytest.raises(DatasetError, match=r"'audio.kaldi-fbank' .* was made with feature spec .*an earlier mmdata "
                                           r"version described the same extractor differently.*--force"):
        extract("manifest", root, out, extractors=["kaldi-fbank"], num_workers=0)
    report = extract("manifest", root, out, extractors=["kaldi-fbank"], num_workers=0, force=True)
    assert report.tables[0].rows == 1
