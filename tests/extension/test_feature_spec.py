"""A FeatureSpec no table can be written with is refused when it is made, before anything is computed;
specs that earlier versions recorded still load."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.pipeline import extract
from mmdata.store.metadata import FeatureSpec
from tests.extension.extractors import DimZero, PooledIntervals
from tests.sample_corpus import copy_sample_corpus


@pytest.mark.parametrize("fields, message", [
    ({"dim": 0}, r"field 'dim' is 0 \(int\); expected None .* or an int >= 1"),
    ({"dim": -1}, r"field 'dim' is -1 \(int\)"),
    ({"dim": "2"}, r"field 'dim' is '2' \(str\)"),
    ({"dim": 2.0}, r"field 'dim' is 2\.0 \(float\)"),
    ({"dim": True}, r"field 'dim' is True \(bool\)"),
    ({"dim": 2, "dtype": "float"}, r"field 'dtype' is 'float'; expected one of \['float32', 'float16', 'float64', "
                                   r"'int32', 'int64'\]; 'float' is numpy's alias of float64"),
    ({"dim": 2, "dtype": "uint8"}, r"field 'dtype' is 'uint8'; expected one of"),
    ({"dim": 2, "dtype": np.complex64}, r"field 'dtype' is .*complex64.*; expected one of"),
    ({"dim": 2, "kind": "pool"}, r"field 'kind' is 'pool'; expected one of \['pooled', 'sequence'\]"),
    ({"dim": 2, "intervals": True}, r"field 'intervals' is True on a pooled spec .* use kind='sequence'"),
    ({"dim": 2, "frame_rate": 25.0}, r"field 'frame_rate' is 25\.0 on a pooled spec"),
    ({"dim": 2, "kind": "sequence", "intervals": 1}, r"field 'intervals' is 1; expected True or False"),
    ({"dim": 2, "kind": "sequence", "frame_rate": 0}, r"field 'frame_rate' is 0; expected None or a positive number"),
    ({"dim": 2, "kind": "sequence", "frame_rate": float("nan")}, r"field 'frame_rate' is nan"),
    ({"dim": 2, "kind": "sequence", "item_axis": 3}, r"field 'item_axis' is 3"),
])
def test_a_spec_no_table_can_hold_is_refused_naming_the_field(fields, message):
    with pytest.raises(ConfigError, match=rf"FeatureSpec {message}"):
        FeatureSpec(**fields)


def test_numpy_dims_and_dtypes_are_kept_as_the_plain_values_json_writes():
    spec = FeatureSpec(dim=np.int64(3), dtype=np.float16)
    assert spec == FeatureSpec(dim=3, dtype="float16")
    assert FeatureSpec(dim=2, dtype=np.dtype("int32")).dtype == "int32"
    assert json.loads(json.dumps(spec.to_json())) == spec.to_json()


@pytest.mark.parametrize("spec", [
    FeatureSpec(dim=512),
    FeatureSpec(dim=None, dtype="int32", kind="sequence", item_axis="caption"),
    FeatureSpec(dim=80, kind="sequence", intervals=True, frame_rate=100.0, item_axis="time"),
    FeatureSpec(dim=2, dtype="float64"),
])
def test_a_spec_round_trips_through_json(spec):
    assert FeatureSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec


def test_specs_earlier_versions_recorded_unchecked_still_load():
    recorded = {"dim": 2, "dtype": "float", "kind": "pooled", "intervals": False, "frame_rate": 25.0, "item_axis": None}
    assert FeatureSpec.from_json(recorded) == FeatureSpec(dim=2, dtype="float64")


@pytest.mark.parametrize("extractor, message", [
    (DimZero, r"field 'dim' is 0"),
    (PooledIntervals, r"field 'intervals' is True on a pooled spec"),
])
def test_an_extractor_declaring_a_bad_spec_stops_before_computing_anything(tmp_path, extractor, message):
    coco = copy_sample_corpus("coco", tmp_path)
    computed = extractor.computed
    with pytest.raises(ConfigError, match=message):
        extract("coco", coco, tmp_path / "out", extractors=[extractor.name], num_workers=0)
    assert extractor.computed == computed
    assert not (tmp_path / "out" / "features" / f"image.{extractor.name}").exists()
