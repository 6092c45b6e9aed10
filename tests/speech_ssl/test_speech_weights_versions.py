"""A speech model's weights file is part of a table's `versions`, as the image and video backbones' are,
so a resume after the file changed (a fine-tuned checkpoint saved under the same name) is refused."""
from __future__ import annotations

import pytest

from mmdata.features.base import create_extractor
from mmdata.store.files import sha256_file
from mmdata.store.tables import versions_differ


@pytest.mark.parametrize("name", ["wav2vec2-base", "hubert-base"])
def test_a_weights_file_is_a_versions_entry(name, tmp_path):
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"a checkpoint of " + name.encode())  # recorded as it is: provenance does not load it
    provenance = create_extractor(f"{name}:weights={weights}").provenance()
    digest = sha256_file(weights)
    assert provenance["weights"]["sha256"] == digest
    assert provenance["versions"]["weights:model.pth"] == digest[:16]


def test_random_weights_add_no_versions_entry():
    provenance = create_extractor("wav2vec2-base:weights=random,seed=3").provenance()
    assert not any(key.startswith("weights:") for key in provenance["versions"])
    assert provenance["config"]["seed"] == 3


def test_another_file_under_the_same_name_differs_as_a_library_upgrade_does(tmp_path):
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"first")
    before = create_extractor(f"wav2vec2-base:weights={weights}").provenance()["versions"]
    weights.write_bytes(b"second, fine-tuned")
    after = create_extractor(f"wav2vec2-base:weights={weights}").provenance()["versions"]
    # what `store.tables.refuse_mixed_versions` names when shards would be computed next to the old ones
    assert versions_differ(before, after) == (f"weights:model.pth {before['weights:model.pth']} "
                                              f"(this install: {after['weights:model.pth']})")
