"""The manifest: atomic writes, validation, layout versions."""
from __future__ import annotations

import json

import pytest

from mmdata.errors import DatasetError
from mmdata.store.manifest import Manifest, TableEntry, read_manifest, write_manifest


def _manifest() -> Manifest:
    return Manifest(
        corpus={"kind": "coco", "root": "/data/coco", "split": None, "options": {}},
        samples={"path": "samples", "rows": 2, "fingerprint": "abc"},
        tables={"image.color-hist": TableEntry("image.color-hist", "features/image.color-hist", "image", "color-hist",
                                               {"bins": 16}, {"dim": 48})},
    )


def test_manifest_round_trip(tmp_path):
    write_manifest(tmp_path, _manifest())
    back = read_manifest(tmp_path)
    assert back.tables["image.color-hist"].config == {"bins": 16}
    assert back.mmdata_version
    assert [p.name for p in tmp_path.iterdir()] == ["mmdata.json"]


def test_missing_manifest_says_how_to_make_one(tmp_path):
    with pytest.raises(DatasetError, match="not an mmdata dataset.*mmdata extract"):
        read_manifest(tmp_path)


def test_older_layout_version_is_a_clear_error(tmp_path):
    write_manifest(tmp_path, _manifest())
    data = json.loads((tmp_path / "mmdata.json").read_text())
    data["layout_version"] = 0
    (tmp_path / "mmdata.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="layout version 0, this mmdata reads version 1"):
        read_manifest(tmp_path)


def test_corrupt_manifest_names_the_line(tmp_path):
    (tmp_path / "mmdata.json").write_text('{\n  "layout_version": 1,\n  oops\n}')
    with pytest.raises(DatasetError, match=r"mmdata.json:3: manifest is not valid JSON"):
        read_manifest(tmp_path)
