"""A decoder that kills its worker process fails only its own item; the run goes on."""
from __future__ import annotations

import pyarrow.dataset as ds

from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.reliability.crashing_extractor import CrashingConfig, CrashingDecoder
from tests.sample_corpus import copy_sample_corpus


def test_a_worker_killed_by_one_item_fails_only_that_item(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    victim = sorted(p.stem for p in (corpus / "val2017").iterdir())[3]
    report = extract("coco", corpus, tmp_path / "out", extractors=[CrashingDecoder(CrashingConfig(crash_on=victim))],
                     num_workers=2, batch_size=3)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    errors = open_dataset(tmp_path / "out").errors().to_pylist()
    assert [(e["sample_id"], e["error_type"], e["path"]) for e in errors] == [(victim, "WorkerCrash", f"val2017/{victim}.jpg")]
    table = ds.dataset(tmp_path / "out" / "features" / "image.test-crashing-decoder").to_table()
    features = dict(zip(table.column("sample_id").to_pylist(), table.column("feature").to_pylist()))
    assert features.pop(victim) is None
    assert all(value[0] == (corpus / "val2017" / f"{sid}.jpg").stat().st_size for sid, value in features.items())
