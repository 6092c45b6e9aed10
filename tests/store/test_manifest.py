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


def _damage(tmp_path, edit):
    write_manifest(tmp_path, _manifest())
    data = json.loads((tmp_path / "mmdata.json").read_text())
    edit(data)
    (tmp_path / "mmdata.json").write_text(json.dumps(data))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(tables=[]), r"manifest field 'tables' is a JSON array, expected an object"),
    (lambda d: d.update(samples=None), r"manifest field 'samples' is JSON null, expected an object with path, rows"),
    (lambda d: d["samples"].pop("path"), r"manifest field 'samples' has no 'path'"),
    (lambda d: d["corpus"].pop("kind"), r"manifest field 'corpus' has no 'kind'"),
    (lambda d: d["tables"]["image.color-hist"].pop("spec"), r"table 'image.color-hist' has no 'spec'"),
    (lambda d: d["tables"].update({"image.color-hist": "x"}), r"table 'image.color-hist' is a JSON string"),
    (lambda d: d["tables"]["image.color-hist"]["spec"].update(bogus=1), r"table 'image.color-hist' has a malformed spec"),
    (lambda d: d["tables"]["image.color-hist"].update(format="csv"), r"table 'image.color-hist' has format 'csv'"),
])
def test_a_field_of_the_wrong_shape_is_named_with_a_fix(tmp_path, edit, message):
    _damage(tmp_path, edit)
    with pytest.raises(DatasetError, match=rf"mmdata.json: {message}.*restore mmdata.json from a copy"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe{}", r"manifest is not UTF-8 text \(byte 0 is 0xff\)"),
    (b"[]", r"manifest holds a JSON array, expected an object with corpus, samples and tables"),
    (b"null", r"manifest holds JSON null"),
])
def test_a_manifest_that_is_not_a_json_object_is_a_clear_error(tmp_path, content, message):
    (tmp_path / "mmdata.json").write_bytes(content)
    with pytest.raises(DatasetError, match=rf"mmdata.json: {message}.*restore mmdata.json from a copy"):
        read_manifest(tmp_path)


def test_a_truncated_manifest_names_the_line_and_a_fix(tmp_path):
    write_manifest(tmp_path, _manifest())
    text = (tmp_path / "mmdata.json").read_text()
    (tmp_path / "mmdata.json").write_text(text[: len(text) // 2])
    with pytest.raises(DatasetError, match=r"mmdata.json:\d+: manifest is not valid JSON .*restore mmdata.json"):
        read_manifest(tmp_path)
