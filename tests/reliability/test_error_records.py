"""An item whose computed feature the table cannot hold (None, another shape, values that are not
numbers, intervals that do not fit its frames) fails alone: with on_error='skip' it gets a null
feature and an errors-table row naming it and what was wrong, the other rows are kept and the
dataset passes its checks; with on_error='fail' the run stops naming it. Run options the pipeline
does not know are refused before anything is written."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from mmdata.checks import check_dataset
from mmdata.errors import ConfigError, ExtractionError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.metadata import FeatureSpec
from tests.fakes.extractors import PassThrough
from tests.sample_corpus import copy_sample_corpus


@dataclass(frozen=True)
class OutputConfig:
    #: What the extractor returns for the sample `on`: none, wider, text, mapping, frames-1d, bad-intervals.
    output: str = ""
    on: str = ""


class FixedOutput(PassThrough):
    """Pooled [1, 2] per image; for the sample named by its config, the output its config names."""

    name: ClassVar[str] = "test-fixed-output"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = OutputConfig
    dim: ClassVar[int] = 2

    def decode(self, row: dict[str, Any], corpus_root: Path) -> str:
        return row["sample_id"]

    def compute(self, items: list[str]) -> list[Any]:
        return [self.output(sid) if sid == self.config.on else self.good() for sid in items]

    def good(self) -> Any:
        return np.array([1.0, 2.0], dtype=np.float32)

    def output(self, sid: str) -> Any:
        outputs = {"none": None, "wider": np.zeros(3), "text": np.array(["a", "b"]), "mapping": {"a": 1}}
        return outputs[self.config.output]


class FixedFrames(FixedOutput):
    """Three frames of [1, 2] with their intervals per image (a sequence with intervals)."""

    name: ClassVar[str] = "test-fixed-frames"

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=2, kind="sequence", intervals=True, frame_rate=1.0, item_axis="time")

    def good(self) -> Any:
        return np.ones((3, 2), dtype=np.float32), np.array([[0, 1], [1, 2], [2, 3]], dtype=np.float64)

    def output(self, sid: str) -> Any:
        frames, intervals = self.good()
        return {"frames-1d": (np.ones(2), intervals), "bad-intervals": (frames, intervals[:2]),
                "frames-alone": frames, "none": None}[self.config.output]


@pytest.fixture
def coco(tmp_path) -> tuple[Path, list[str]]:
    corpus = copy_sample_corpus("coco", tmp_path)
    return corpus, sorted(p.stem for p in (corpus / "val2017").iterdir())


def run(corpus: Path, out: Path, extractor: FixedOutput, **kwargs: Any):
    return extract("coco", corpus, out, extractors=[extractor], num_workers=0, batch_size=3, shard_size=3, **kwargs)


@pytest.mark.parametrize(("kind", "output", "error_type", "said"), [
    (FixedOutput, "none", "SchemaMismatchError", "returned no feature (None)"),
    (FixedOutput, "wider", "SchemaMismatchError", "feature has shape (3,), expected (2,)"),
    (FixedOutput, "text", "SchemaMismatchError", "holds string values"),
    (FixedOutput, "mapping", "SchemaMismatchError", "holds Python object values"),
    (FixedFrames, "frames-1d", "SchemaMismatchError", "feature has shape (2,), expected ('T', 2)"),
    (FixedFrames, "bad-intervals", "SchemaMismatchError", "intervals have shape (2, 2), expected (3, 2)"),
    (FixedFrames, "none", "SchemaMismatchError", "returned no feature (None)"),
    (FixedFrames, "frames-alone", "SchemaMismatchError", "compute must return (features (T, D), intervals (T, 2))"),
])
def test_an_output_the_table_cannot_hold_fails_its_item_alone(coco, tmp_path, kind, output, error_type, said):
    corpus, ids = coco
    victim = ids[4]  # in the middle of a batch and of a shard
    extractor = kind(OutputConfig(output=output, on=victim))
    report = run(corpus, tmp_path / "out", extractor)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    dataset = open_dataset(tmp_path / "out")
    [error] = dataset.errors().to_pylist()
    assert (error["sample_id"], error["stage"], error["error_type"], error["path"]) == (
        victim, "compute", error_type, f"val2017/{victim}.jpg")
    assert f"extractor '{extractor.name}' declares" in error["reason"] and said in error["reason"]
    table = dataset.table(extractor.table_name).to_table()
    assert table.column("sample_id").to_pylist() == ids
    features = dict(zip(ids, table.column("feature").to_pylist()))
    assert features.pop(victim) is None
    assert all(value is not None for value in features.values())
    if kind is FixedFrames:
        intervals = dict(zip(ids, table.column("intervals").to_pylist()))
        assert intervals.pop(victim) is None and all(len(v) == 3 for v in intervals.values())
    assert check_dataset(tmp_path / "out").ok


def test_with_on_error_fail_an_output_the_table_cannot_hold_stops_the_run_naming_its_item(coco, tmp_path):
    corpus, ids = coco
    extractor = FixedOutput(OutputConfig(output="wider", on=ids[4]))
    with pytest.raises(ExtractionError, match=rf"sample '{ids[4]}' \(val2017/{ids[4]}.jpg\): compute failed in "
                                              r"image.test-fixed-output: SchemaMismatchError: .*expected \(2,\)"):
        run(corpus, tmp_path / "out", extractor, on_error="fail")
    shards = sorted(p.name for p in (tmp_path / "out" / "features" / extractor.table_name).glob("part-*"))
    assert shards == ["part-00000.parquet"]  # the shard finished before the item's is kept, whole


@pytest.mark.parametrize(("option", "said"), [
    ({"on_error": "stop"}, "on_error must be 'skip' .* or 'fail' .*, got 'stop'"),
    ({"batch_size": 0}, "batch_size must be .* at least 1, got 0"),
    ({"shard_size": -3}, "shard_size must be .* at least 1, got -3"),
])
def test_run_options_the_pipeline_does_not_take_are_refused_before_anything_is_written(coco, tmp_path, option, said):
    corpus, _ = coco
    with pytest.raises(ConfigError, match=said):
        extract("coco", corpus, tmp_path / "out", extractors=["color-hist:bins=4"], num_workers=0, **option)
    assert not (tmp_path / "out").exists()
