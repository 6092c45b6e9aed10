"""A .csd value beyond float32's range fails its own sample (errors table), named as such: not as a
non-finite value, and never stored as inf (with nonfinite=keep)."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ExtractionError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, write_mosi_csd, write_sdk_csd


def test_a_value_float32_cannot_hold_fails_its_segment_alone(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    features, intervals = fake.data[COVAREP_FILE]["abc"]
    features = features.astype(np.float64)
    features[400, 0] = 1e40  # in abc[1] (3-6 s at 100 Hz); float32 would store it as inf
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, {**fake.data[COVAREP_FILE], "abc": (features, intervals)})
    report = extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    assert {t.name: t.errors for t in report.tables}["audio.covarep"] == 1
    data = open_dataset(tmp_path / "out")
    [error] = [e for e in data.errors().to_pylist() if e["table"] == "audio.covarep"]
    assert error["sample_id"] == "abc[1]" and "[COAVAREP/data/abc]" in error["path"]
    assert "holds 1e+40, beyond the range of float32" in error["reason"] and "non-finite" not in error["reason"]
    rows = {r["sample_id"]: r["feature"] for r in data.table("audio.covarep").to_table().to_pylist()}
    assert rows["abc[1]"] is None and rows["abc[0]"] is not None and len(rows) == 5
    with pytest.raises(ExtractionError, match=r"sample 'abc\[1\]'.*beyond the range of float32"):
        extract("csd", fake.root, tmp_path / "fail", extractors=[], on_error="fail")
    extract("csd", fake.root, tmp_path / "keep", corpus_options={"nonfinite": "keep"}, extractors=[], num_workers=0)
    assert open_dataset(tmp_path / "keep").table("audio.covarep").to_table().to_pylist()[1]["feature"] is None
