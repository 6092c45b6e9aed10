"""`mmdata check` holds MELD's labels (its sentiment as -1, 0, 1) to [-1, 1]: a dataset extracted from the fake
MELD is clean, and one whose label was edited outside that range gets a `label-range` error naming the sample.
The manifest of a MELD dataset names `meld` where the range is looked up; MELD has no further labels to check."""
from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.checks.samples import AuxLabelCheck, corpus_dataset, label_range_for
from mmdata.cli import app
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.shards import read_shard
from mmdata.store.writer import write_table_atomic
from tests.fakes.meld import write_fake_meld


@pytest.fixture(scope="module")
def meld_dataset(tmp_path_factory):
    """The fake MELD extracted with a bag of words per utterance (do not modify)."""
    tmp = tmp_path_factory.mktemp("meld")
    fake = write_fake_meld(tmp / "MELD.Raw")
    extract("meld", fake.root, tmp / "ds", extractors=["hashed-bow:dim=16"], num_workers=0)
    return tmp / "ds"


def set_label(root, sample_id, value):
    """Write `value` as the label of `sample_id` in the samples shard holding it, keeping its schema metadata."""
    for path in layout.shard_files(layout.samples_dir(root)):
        shard = read_shard(path)
        hit = pc.equal(shard.column("sample_id"), sample_id)
        if pc.any(hit).as_py():
            labels = pc.if_else(hit, pa.scalar(value, pa.float64()), shard.column("label"))
            edited = shard.set_column(shard.schema.get_field_index("label"), "label", labels)
            write_table_atomic(edited.replace_schema_metadata(shard.schema.metadata), path)
            return
    raise KeyError(sample_id)


def test_the_manifest_of_a_meld_dataset_names_meld_where_the_label_range_is_looked_up(meld_dataset):
    manifest = open_dataset(meld_dataset).manifest
    loader = manifest.extra.get("loader")
    assert corpus_dataset(manifest.corpus, loader) == "meld"
    assert label_range_for(manifest.corpus, loader) == (-1.0, 1.0)
    assert not AuxLabelCheck("meld").ranges  # no further labels with a range: extra.emotion is a class name


def test_a_meld_dataset_is_clean(meld_dataset):
    labels = set(open_dataset(meld_dataset).samples_table().column("label").to_pylist())
    assert labels == {-1.0, 0.0, 1.0}  # the range's ends are inside it
    report = check_dataset(meld_dataset)
    assert [(i.severity, i.code) for i in report.issues if i.severity != "info"] == []


@pytest.mark.parametrize("value", [2.0, -1.5])
def test_a_label_outside_minus_one_one_is_a_label_range_error_naming_the_sample(meld_dataset, tmp_path, value):
    root = shutil.copytree(meld_dataset, tmp_path / "ds")
    set_label(root, "val_dia0_utt1", value)
    [issue] = [i for i in check_dataset(root).issues if i.code == "label-range"]
    assert issue.severity == "error" and issue.count == 1
    assert f"label {value:g} is outside [-1, 1]" in issue.message
    assert issue.sample_id == "val_dia0_utt1"
    result = CliRunner().invoke(app, ["check", str(root)])
    assert result.exit_code == 1 and "label-range" in result.output


def test_a_dataset_card_calls_meld_labels_sentiment_classes_not_scores(meld_dataset):
    from mmdata.share.card import LabelSummary, _labels_section

    section = "".join(_labels_section(open_dataset(meld_dataset).manifest, LabelSummary(3, 3, -1.0, 1.0)))
    assert ("They are `meld` sentiment classes as numbers (negative -1, neutral 0, positive 1), whose range is "
            "[-1, 1]") in section
    assert "sentiment scores" not in section
