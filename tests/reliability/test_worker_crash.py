"""A decoder that kills its worker process fails only its own item; the run goes on."""
from __future__ import annotations

import subprocess
import sys

import pyarrow.dataset as ds

from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.reliability.crashing_extractor import CrashingConfig, CrashingDecoder
from tests.sample_corpus import copy_sample_corpus


def _extract_crashing_on(tmp_path, index: int, batch_size: int):
    """(corpus, victim, report) of an extraction with 2 workers whose decoder kills its process on the
    `index`-th image; every failure the dataset records is checked to be that one crash."""
    corpus = copy_sample_corpus("coco", tmp_path)
    victim = sorted(p.stem for p in (corpus / "val2017").iterdir())[index]
    report = extract("coco", corpus, tmp_path / "out", extractors=[CrashingDecoder(CrashingConfig(crash_on=victim))],
                     num_workers=2, batch_size=batch_size)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    errors = open_dataset(tmp_path / "out").errors().to_pylist()
    assert [(e["sample_id"], e["error_type"], e["path"]) for e in errors] == [(victim, "WorkerCrash", f"val2017/{victim}.jpg")]
    return corpus, victim, report


def test_a_worker_killed_by_one_item_fails_only_that_item(tmp_path):
    corpus, victim, _ = _extract_crashing_on(tmp_path, 3, batch_size=3)
    table = ds.dataset(tmp_path / "out" / "features" / "image.test-crashing-decoder").to_table()
    features = dict(zip(table.column("sample_id").to_pylist(), table.column("feature").to_pylist()))
    assert features.pop(victim) is None
    assert all(value[0] == (corpus / "val2017" / f"{sid}.jpg").stat().st_size for sid, value in features.items())


def test_a_crash_before_more_batches_are_sent_replaces_the_pool_and_the_run_goes_on(tmp_path):
    """Batches of one item, more of them than the executor keeps in flight: after the crash, batches
    go to a fresh pool (the broken one refused them), and those of the broken pool are decoded again."""
    _, _, report = _extract_crashing_on(tmp_path, 0, batch_size=1)
    assert report.tables[0].decoded_in.startswith("2 worker processes")


UNGUARDED_SCRIPT = """
from mmdata.pipeline import extract
extract("coco", {corpus!r}, {out!r}, extractors=["color-hist"], num_workers=2)
"""


def test_workers_that_cannot_start_stop_the_run_with_the_fix_instead_of_failing_every_item(tmp_path):
    """A script without a `__main__` guard: every worker runs it first and dies; no item is to blame."""
    corpus = copy_sample_corpus("coco", tmp_path)
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT.format(corpus=str(corpus), out=str(tmp_path / "out")))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("mmdata.errors.WorkersCannotStartError: decode worker processes die as they start")
    assert 'if __name__ == "__main__":' in last and "num_workers=0" in last
    assert not list((tmp_path / "out").glob("errors/*/part-*.parquet"))  # no item was recorded as failed
