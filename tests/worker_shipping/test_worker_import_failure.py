"""An extractor whose module imports in the main process but not in decode workers (a plugin that
needs something only the main process set up): every worker died receiving the first batch, and the
executor's probe of a fresh worker, which received no extractor, found it healthy, so each item was
decoded alone, killed one more worker and was recorded as `WorkerCrash` (40 items: 16 s). The probe
now sends the extractor, and the run stops at once with one WorkersCannotStartError carrying the
import error and what to do."""
from __future__ import annotations

import pickle
import sys
import time

import pytest

from mmdata.errors import WorkersCannotStartError
from mmdata.extractor_shipping import receive_extractor
from mmdata.pipeline import extract
from mmdata.sample_data import sample_corpus_dir
from tests.worker_shipping.extension_extractors import MAIN_ONLY_MODULE, MAIN_PID_VARIABLE


def test_a_module_that_fails_to_import_in_workers_stops_the_run_once_with_its_error(main_only_module, tmp_path):
    started = time.perf_counter()
    with pytest.raises(WorkersCannotStartError,
                       match=r"decode worker processes cannot receive extractor 'test-main-only'.*main_only_extractors"
                             r"\.MainOnly, fails \(ImportError: main-only extractors: this process has no licence\).*"
                             r"PYTHONPATH.*num_workers=0"):
        extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[main_only_module.MainOnly()],
                batch_size=1, num_workers=2)
    assert time.perf_counter() - started < 30  # not one worker started and killed per item
    assert not list((tmp_path / "out").glob("errors/*/part-*"))  # no item recorded as a crash


def test_the_same_extractor_decodes_in_this_process(main_only_module, tmp_path):
    report = extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[main_only_module.MainOnly()],
                     num_workers=0)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 0)


def test_receiving_an_extractor_returns_the_error_that_stops_it_instead_of_raising_it(main_only_module, monkeypatch):
    payload = pickle.dumps(main_only_module.MainOnly())
    assert receive_extractor(payload) is None
    monkeypatch.delitem(sys.modules, MAIN_ONLY_MODULE)
    monkeypatch.delenv(MAIN_PID_VARIABLE)  # as in a worker: importing the module fails
    assert receive_extractor(payload) == "ImportError: main-only extractors: this process has no licence"
