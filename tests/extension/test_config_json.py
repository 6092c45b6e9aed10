"""An extractor's config is recorded as the JSON a resume reads back: paths as strings, tuples (nested
ones too) as lists; a value JSON cannot hold is refused naming its field."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.options import options_to_json
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.extension.extractors import PathAndPairsConfig
from tests.sample_corpus import copy_sample_corpus


@dataclass(frozen=True)
class Inner:
    size: tuple[int, int] = (224, 224)


@dataclass(frozen=True)
class Mixed:
    lut: Path = Path("/models/lut.npy")
    ranges: tuple[tuple[int, int], ...] = ((0, 10), (10, 20))
    scale: float = np.float32(0.5)
    bins: int = np.int64(8)
    inner: Inner = Inner()
    names: dict = field(default_factory=lambda: {"a": (1, (2, 3))})


def test_a_config_is_recorded_as_json_reads_it_back():
    recorded = options_to_json(Mixed())
    assert recorded == {"lut": "/models/lut.npy", "ranges": [[0, 10], [10, 20]], "scale": 0.5, "bins": 8,
                        "inner": {"size": [224, 224]}, "names": {"a": [1, [2, 3]]}}
    assert json.loads(json.dumps(recorded)) == recorded
    assert type(recorded["bins"]) is int and type(recorded["scale"]) is float


@dataclass(frozen=True)
class WithSet:
    labels: frozenset = frozenset({"cat"})


@dataclass(frozen=True)
class WithObject:
    model: object = object()


@pytest.mark.parametrize("options, message", [
    (WithSet(), r"WithSet field 'labels' holds frozenset\(\{'cat'\}\) \(frozenset\), which a table's provenance "
                r"cannot record as JSON; expected None, a string, number, boolean or path"),
    (WithObject(), r"WithObject field 'model' holds <object object at .*> \(object\)"),
    (Mixed(names={1: "a"}), r"Mixed field 'names' holds \{1: 'a'\} \(dict\)"),
])
def test_a_value_json_cannot_hold_is_refused_naming_the_field(options, message):
    with pytest.raises(ConfigError, match=message):
        options_to_json(options)


def test_a_rerun_with_a_path_and_nested_tuples_in_the_config_resumes(tmp_path):
    coco, out = copy_sample_corpus("coco", tmp_path), tmp_path / "out"
    first = extract("coco", coco, out, extractors=["test-path-and-pairs"], num_workers=0, shard_size=3).tables[0]
    again = extract("coco", coco, out, extractors=["test-path-and-pairs"], num_workers=0, shard_size=3).tables[0]
    assert (first.shards_written, again.shards_written, again.shards_skipped) == (3, 0, 3)
    assert open_dataset(out).entry("image.test-path-and-pairs").config == options_to_json(PathAndPairsConfig())


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_number_is_refused_as_json_cannot_hold_it(value):
    @dataclass(frozen=True)
    class Config:
        threshold: float = 0.5

    with pytest.raises(ConfigError, match=r"field 'threshold' is (nan|inf|-inf), which a table's provenance cannot record"):
        options_to_json(Config(threshold=value))
