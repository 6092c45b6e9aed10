"""mmdata's own error classes raised by an extractor's `compute` for one item (a plugin reading a
sidecar file raises SchemaMismatchError) used to stop the whole run, even with on_error="skip", with
no sample id or table. Only configuration errors stop a run now (`STOPS_THE_RUN`: the extractor
cannot run at all); any other error fails the item(s) it belongs to: recorded with its type, or, with
on_error="fail", an ExtractionError naming the sample and the table. (The Ray executor runs the same
`compute_batch`: tests/worker_shipping/test_ray_workers_receive.py.)"""
from __future__ import annotations

import pytest

from mmdata import errors
from mmdata.errors import ExtractionError
from mmdata.executors import STOPS_THE_RUN
from mmdata.pipeline import extract
from mmdata.sample_data import sample_corpus_dir
from mmdata.store import open_dataset
from tests.worker_shipping.extension_extractors import RaisingCompute, RaisingConfig

TABLE = "image.test-raising-compute"
ITEM_ERRORS = ["SchemaMismatchError", "MediaError", "CorpusFormatError", "ExtractionError", "MmdataError"]
RUN_ERRORS = ["ConfigError", "MissingWeightsError", "UnknownExtractorError", "WorkersCannotStartError",
              "DatasetError", "ShardReadError"]


def _sample_ids() -> list[str]:
    return sorted(p.stem for p in (sample_corpus_dir("coco") / "val2017").iterdir())


@pytest.mark.parametrize("error", ITEM_ERRORS)
@pytest.mark.parametrize("num_workers", [0, 2])
def test_an_mmdata_error_in_compute_fails_only_its_item(tmp_path, error, num_workers):
    bad = _sample_ids()[2]
    extractor = RaisingCompute(RaisingConfig(fail_on=(bad,), error=error))
    report = extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[extractor], batch_size=4,
                     num_workers=num_workers)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    records = open_dataset(tmp_path / "out").errors().to_pylist()
    assert [(r["sample_id"], r["table"], r["stage"], r["error_type"], r["reason"]) for r in records] == [
        (bad, TABLE, "compute", error, f"sidecar file of {bad} has 3 columns, expected 4")]


def test_with_on_error_fail_the_extraction_error_names_the_sample_and_the_table(tmp_path):
    bad = _sample_ids()[5]
    extractor = RaisingCompute(RaisingConfig(fail_on=(bad,)))
    with pytest.raises(ExtractionError, match=rf"sample '{bad}' .*compute failed in {TABLE}: SchemaMismatchError: "
                                              rf"sidecar file of {bad} has 3 columns"):
        extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[extractor], batch_size=4,
                num_workers=0, on_error="fail")


@pytest.mark.parametrize("error", RUN_ERRORS)
def test_a_configuration_error_in_compute_still_stops_the_run(tmp_path, error):
    assert issubclass(getattr(errors, error), STOPS_THE_RUN)
    extractor = RaisingCompute(RaisingConfig(fail_on=(_sample_ids()[2],), error=error))
    with pytest.raises(getattr(errors, error), match="has 3 columns"):
        extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[extractor], batch_size=4,
                num_workers=0)
    assert not list((tmp_path / "out").glob("errors/*/part-*"))
