"""A hand-edited manifest whose values have the wrong JSON type is a one-line DatasetError naming the key."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.store.manifest import read_manifest

runner = CliRunner()
TABLE = 'tables["image.pixel-stats"]'


def _edit(dataset, edit) -> None:
    path = dataset / "mmdata.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))


def _table(data):
    return data["tables"]["image.pixel-stats"]


WRONG = [
    (lambda d: d["samples"].update(splits=[1]), "samples.splits is a JSON array, expected an object of split name -> row count"),
    (lambda d: d["samples"].update(splits=None), "samples.splits is JSON null, expected an object"),
    (lambda d: d["samples"].update(splits={"val2017": "8"}), 'samples.splits["val2017"] is a JSON string "8", expected a whole number >= 0'),
    (lambda d: d["samples"].update(rows="eight"), 'samples.rows is a JSON string "eight", expected a whole number >= 0'),
    (lambda d: d["samples"].update(rows=-1), "samples.rows is a JSON number -1, expected a whole number >= 0"),
    (lambda d: d["samples"].update(rows=8.5), "samples.rows is a JSON number 8.5, expected a whole number >= 0"),
    (lambda d: d["samples"].update(path=3), "samples.path is a JSON number 3, expected a string"),
    (lambda d: d["corpus"].update(root=None), "corpus.root is JSON null, expected a string"),
    (lambda d: _table(d).update(versions=None), f"{TABLE}.versions is JSON null, expected an object of library name -> version string"),
    (lambda d: _table(d).update(versions={"numpy": 2}), f'{TABLE}.versions["numpy"] is a JSON number 2, expected a version string'),
    (lambda d: _table(d).update(config=[]), f"{TABLE}.config is a JSON array, expected an object"),
    (lambda d: _table(d).update(rows="8"), f'{TABLE}.rows is a JSON string "8", expected a whole number >= 0'),
    (lambda d: _table(d).update(rows=True), f"{TABLE}.rows is a JSON boolean true, expected a whole number >= 0"),
    (lambda d: _table(d).update(errors=None), f"{TABLE}.errors is JSON null, expected a whole number >= 0"),
    (lambda d: _table(d).update(complete="yes"), f'{TABLE}.complete is a JSON string "yes", expected true or false'),
    (lambda d: _table(d).update(extractor=["pixel-stats"]), f"{TABLE}.extractor is a JSON array, expected a string"),
]


@pytest.mark.parametrize(("edit", "message"), WRONG)
def test_a_value_of_the_wrong_type_names_the_manifest_the_key_expected_and_found(dataset, edit, message):
    _edit(dataset, edit)
    with pytest.raises(DatasetError) as caught:
        read_manifest(dataset)
    text = str(caught.value)
    assert text.startswith(f"{dataset / 'mmdata.json'}: {message}"), text
    assert "restore mmdata.json from a copy" in text


@pytest.mark.parametrize("command", [["info"], ["check"], ["report", "--out", "{tmp}/r.html", "--gallery", "0"],
                                     ["share", "--out", "{tmp}/shared"]])
@pytest.mark.parametrize("edit", [lambda d: d["samples"].update(splits=[1]), lambda d: _table(d).update(versions=None),
                                  lambda d: d["samples"].update(rows="eight")])
def test_every_command_gives_the_one_line_error_not_a_traceback(dataset, tmp_path, command, edit):
    _edit(dataset, edit)
    argv = [command[0], str(dataset), *(a.format(tmp=tmp_path) for a in command[1:])]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # an AttributeError before the fix
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {dataset / 'mmdata.json'}: "), result.stderr


def test_optional_counts_may_be_left_out(dataset):
    def drop(d):
        d["samples"].pop("splits")
        d["samples"].pop("loader_errors", None)
        for key in ("versions", "rows", "errors", "complete", "source"):
            _table(d).pop(key, None)
    _edit(dataset, drop)
    manifest = read_manifest(dataset)
    assert manifest.tables["image.pixel-stats"].versions == {}
