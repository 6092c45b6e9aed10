"""check compares the manifest's counts with the tables and reports what the loader left out;
extract refuses a corpus that yields no sample at all."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from mmdata.errors import CorpusFormatError
from mmdata.pipeline import extract
from tests.sample_corpus import copy_sample_corpus

TABLE = "image.color-hist"


@pytest.fixture
def dataset(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    extract("coco", coco, tmp_path / "out", extractors=["color-hist:bins=4"], num_workers=0, shard_size=3)
    return tmp_path / "out"


def edit_manifest(out, edit) -> None:
    path = out / "mmdata.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def only(report, code):
    [issue] = [i for i in report.issues if i.code == code]
    return issue


def test_a_clean_dataset_has_no_count_issue(dataset):
    report = check_dataset(dataset)
    assert report.ok and not {"manifest-counts", "loader-errors", "samples-empty"} & report.codes()


@pytest.mark.parametrize("edit, table, words", [
    (lambda m: m["tables"][TABLE].update(rows=999), TABLE, "counts 999 rows and 0 failed samples, the table holds 8"),
    (lambda m: m["tables"][TABLE].update(errors=2), TABLE, "counts 8 rows and 2 failed samples"),
    (lambda m: m["samples"].update(rows=9), None, "counts 9 samples, the samples table holds 8"),
    (lambda m: m["samples"].pop("splits"), None, "counts samples per split as {}, the samples table holds {'val2017': 8}"),
], ids=["table-rows", "table-errors", "samples-rows", "splits"])
def test_a_hand_edited_manifest_count_is_an_error(dataset, edit, table, words):
    edit_manifest(dataset, edit)
    report = check_dataset(dataset)
    issue = only(report, "manifest-counts")
    assert (issue.severity, issue.table) == ("error", table)
    assert words in issue.message and "restore mmdata.json" in issue.message
    assert not report.ok


def test_annotation_entries_the_loader_left_out_are_a_warning_naming_them(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    path = coco / "annotations" / "captions_val2017.json"
    data = json.loads(path.read_text())
    data["annotations"].append({"id": 99999, "image_id": 424242, "caption": "a caption of no image"})
    path.write_text(json.dumps(data))
    extract("coco", coco, tmp_path / "out", extractors=["color-hist:bins=4"], num_workers=0)
    report = check_dataset(tmp_path / "out")
    issue = only(report, "loader-errors")
    assert (issue.severity, issue.count) == ("warning", 1)
    assert "left out 1 annotation entries" in issue.message
    assert report.ok


def test_extract_refuses_a_corpus_that_yields_no_sample_and_writes_nothing(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    path = coco / "annotations" / "captions_val2017.json"
    data = json.loads(path.read_text())
    data["images"] = []
    path.write_text(json.dumps(data))
    with pytest.raises(CorpusFormatError, match=r"no sample loaded from .*corpus coco\): 41 annotation entries could "
                                                r"not be used; the first: .*captions_val2017.json"):
        extract("coco", coco, tmp_path / "out", extractors=["color-hist:bins=4"], num_workers=0)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
