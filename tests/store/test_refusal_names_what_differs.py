"""A resume refused because the table was made with other options (or another feature spec) names just the
options that differ, in sorted order, as a spec spells them (`bins=16, not bins=4`), a key one side lacks
as absent, on one line: two whole configs in two key orders would hide the one option that changed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store import layout
from mmdata.store.tables import options_differ
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
WAY_OUT = "; pass --force to `mmdata extract` or `mmdata align` to replace the table"


@pytest.fixture
def coco(tmp_path):
    return copy_sample_corpus("coco", tmp_path)


def extract(coco: Path, out: Path, *specs: str):
    flags = [word for spec in specs for word in ("--image", spec)]
    return runner.invoke(app, ["extract", "coco", str(coco), str(out), "--split", "val2017",
                               "-o", "keep_images_without_captions=true", *flags, "-q", "-j", "0"])


@pytest.fixture
def dataset(coco, tmp_path):
    """The sample COCO corpus with color histograms of 8 bins."""
    out = tmp_path / "out"
    assert extract(coco, out, "color-hist:bins=8").exit_code == 0
    return out


def edit_entry(out: Path, edit) -> None:
    manifest = json.loads((out / "mmdata.json").read_text())
    edit(manifest["tables"])
    (out / "mmdata.json").write_text(json.dumps(manifest))


def test_one_option_changed_is_named_alone(coco, dataset):
    line = one_line_error(extract(coco, dataset, "color-hist:bins=4"))
    assert line.startswith(f"error: table 'image.color-hist' in {dataset} was made with bins=8, not bins=4 "
                           f"(other options equal){WAY_OUT}")
    assert "decode_size" not in line and "{" not in line


def test_several_options_changed_are_named_in_sorted_order(coco, dataset):
    line = one_line_error(extract(coco, dataset, "color-hist:decode_size=64,bins=4"))
    assert f"was made with bins=8, decode_size=128, not bins=4, decode_size=64{WAY_OUT}" in line
    assert "other options equal" not in line  # no option is left that did not change


def test_an_option_recorded_on_one_side_only_is_shown_as_absent(coco, dataset):
    edit_entry(dataset, lambda tables: tables["image.color-hist"]["config"].update(gamma=2.2))
    line = one_line_error(extract(coco, dataset, "color-hist:bins=8"))
    assert f"was made with gamma=2.2, not gamma absent (other options equal){WAY_OUT}" in line


def test_a_shard_made_with_other_options_names_them_too(coco, dataset):
    edit_entry(dataset, lambda tables: tables.pop("image.color-hist"))  # the shards alone say what made them
    line = one_line_error(extract(coco, dataset, "color-hist:bins=4"))
    shard = layout.shard_files(layout.feature_dir(dataset, "image.color-hist"))[0]
    assert f"shard {shard} of table 'image.color-hist' was written with bins=8, not bins=4 (other options equal)" in line


def test_another_feature_spec_names_the_fields_that_differ(coco, dataset):
    edit_entry(dataset, lambda tables: tables["image.color-hist"]["spec"].update(dim=25))
    line = one_line_error(extract(coco, dataset, "color-hist:bins=8"))
    assert (f"was made with feature spec dim=25, not dim=24 (other fields equal): an earlier mmdata version described "
            f"the same extractor differently{WAY_OUT}") in line


def test_values_are_spelled_as_a_spec_takes_them_and_ignored_options_are_left_out():
    recorded = {"normalize": True, "layers": [1, 2], "f_max": None, "dim": 64, "seed": 0}
    running = {"normalize": False, "layers": [3], "f_max": 8000.0, "seed": 0}
    assert (options_differ(recorded, running, ignored=frozenset({"dim"}))
            == "f_max=none, layers=1+2, normalize=true, not f_max=8000.0, layers=3, normalize=false (other options equal)")
    assert options_differ(recorded, running) == ("dim=64, f_max=none, layers=1+2, normalize=true, not dim absent, "
                                                 "f_max=8000.0, layers=3, normalize=false (other options equal)")
