"""A feature's values are stored as the spec's dtype only when the cast keeps them: values that are not
real numbers, fractions or out-of-range values for an integer table, finite values that would become inf
in a narrower float, and a matrix where one vector of any length is expected fail that item."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import SchemaMismatchError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.metadata import FeatureSpec
from mmdata.store.writer import FeatureBatchBuilder
from tests.extension.extractors import LOSSY_VALUES
from tests.sample_corpus import copy_sample_corpus

INT32 = FeatureSpec(dim=2, dtype="int32")


@pytest.mark.parametrize("spec, value, message", [
    (INT32, [0.7, 2.9], r"non-integral values \(e\.g\. 0\.7\); an integer table \(int32\) would truncate them"),
    (INT32, [3e10, np.nan], r"holds NaN or inf; an integer table \(int32\) cannot store them"),
    (INT32, [3e10, 1.0], r"values from 1\.0 to 30000000000\.0, outside the range of int32"),
    (INT32, np.array([2**31, 0]), r"values from 0 to 2147483648, outside the range of int32 .*declare int64"),
    (FeatureSpec(dim=2, dtype="int64"), [2.0**63, 0.0], r"outside the range of int64"),
    (FeatureSpec(dim=1), [1e40], r"holds 1e\+40, beyond the range of float32 .* would be stored as inf"),
    (FeatureSpec(dim=2, dtype="float16"), [70000, 1], r"holds 70000, beyond the range of float16"),
    (FeatureSpec(dim=1), [1 + 2j], r"holds complex values \(dtype complex128\); expected real numbers"),
    (FeatureSpec(dim=2), ["1.5", "2"], r"holds string values .*; expected real numbers to store as float32"),
    (FeatureSpec(dim=2), [True, False], r"holds boolean values \(dtype bool\)"),
    (FeatureSpec(dim=2), [None, 1.0], r"holds Python object values"),
    (FeatureSpec(dim=None), np.ones((2, 3)), r"feature has shape \(2, 3\), expected one vector of any length \(N,\)"),
    (FeatureSpec(dim=None), 5.0, r"feature has shape \(\), expected one vector"),
    (FeatureSpec(dim=None, kind="sequence"), [np.ones(2), np.ones((2, 2))],
     r"an item of the feature sequence has shape \(2, 2\), expected one vector"),
    (FeatureSpec(dim=2), [[1.0, 2.0], [3.0]], r"feature is not an array of numbers"),
])
def test_a_value_the_cast_would_change_is_refused_and_adds_nothing(spec, value, message):
    builder = FeatureBatchBuilder(spec)
    with pytest.raises(SchemaMismatchError, match=rf"sample 'b': .*{message}"):
        builder.add("b", value)
    assert len(builder) == 0 and builder.nbytes == 0


@pytest.mark.parametrize("spec, value, stored", [
    (INT32, [2.0, -3.0], [2, -3]),  # whole numbers as floats
    (INT32, np.array([7, 2**31 - 1], np.int64), [7, 2**31 - 1]),
    (INT32, np.array([255, 0], np.uint8), [255, 0]),
    (FeatureSpec(dim=2, dtype="int64"), [2**62, -(2**63)], [2**62, -(2**63)]),
    (FeatureSpec(dim=3), np.array([0.1, np.nan, -np.inf]), [np.float32(0.1), np.nan, -np.inf]),  # NaN/inf kept
    (FeatureSpec(dim=2, dtype="float16"), [65504.0, 1e-8], [65504.0, 0.0]),  # underflow to 0 is rounding
    (FeatureSpec(dim=2), [3, 4], [3.0, 4.0]),
    (FeatureSpec(dim=None, dtype="int32"), [101, 7, 102], [101, 7, 102]),
])
def test_a_value_the_cast_keeps_is_stored(spec, value, stored):
    builder = FeatureBatchBuilder(spec)
    builder.add("a", value)
    column = builder.build().column("feature")
    np.testing.assert_array_equal(np.asarray(column.to_pylist()[0], dtype=spec.dtype), np.asarray(stored, spec.dtype))


def test_an_array_of_the_spec_dtype_is_stored_as_it_is():
    """The common case (a float32 model output into a float32 table) costs no pass over the values."""
    builder = FeatureBatchBuilder(FeatureSpec(dim=4))
    value = np.array([1.0, np.nan, np.inf, 1e38], np.float32)
    builder.add("a", value)
    assert builder.values[0] is value


@pytest.mark.parametrize("bad", sorted(LOSSY_VALUES))
def test_an_item_whose_values_an_int_table_cannot_hold_is_recorded_as_failed(tmp_path, bad):
    coco = copy_sample_corpus("coco", tmp_path)
    report = extract("coco", coco, tmp_path / "out", extractors=[f"test-lossy-ints:bad={bad}"], num_workers=0)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    data = open_dataset(tmp_path / "out")
    errors = data.errors().to_pylist()
    assert [(e["sample_id"], e["stage"], e["error_type"]) for e in errors] == [("000000000100", "compute",
                                                                               "SchemaMismatchError")]
    assert "declares pooled int32 features of dim 2, and this item's cannot be stored as one" in errors[0]["reason"]
    rows = dict(zip(*(data.read_table("image.test-lossy-ints").column(c).to_pylist() for c in ("sample_id", "feature"))))
    assert rows["000000000100"] is None and rows["000000000107"] == [1, 2]
