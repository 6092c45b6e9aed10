"""What a re-run of `extract` does with a dataset that changed since it was written: a finished shard
edited by hand is computed again, `force` replaces a table, a table whose files were removed can be
made again with another config, a table that failed before its first shard leaves no trace, and an
extractor for media the corpus lacks is refused before anything is written."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError, MissingWeightsError
from mmdata.features.base import register_extractor
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.extractors import PassThrough
from tests.sample_corpus import copy_sample_corpus

TABLE = "image.color-hist"


@pytest.fixture
def coco(tmp_path):
    return copy_sample_corpus("coco", tmp_path)


def run(coco: Path, out: Path, **kwargs: Any):
    kwargs.setdefault("extractors", ["color-hist:bins=8"])
    return extract("coco", coco, out, num_workers=0, shard_size=3, **kwargs)


def features(out: Path, table: str = TABLE) -> pa.Table:
    return open_dataset(out).table(table).to_table()


def rewrite(shard: Path, edit) -> None:
    table = pq.read_table(shard)
    pq.write_table(edit(table).replace_schema_metadata(table.schema.metadata), shard)


@pytest.mark.parametrize("edit", [
    lambda t: t.slice(0, len(t) - 1),  # a row lost
    lambda t: t.take([1, 0, 2]),  # rows swapped
], ids=["row-lost", "rows-swapped"])
def test_a_finished_shard_edited_since_is_computed_again_by_a_rerun(coco, tmp_path, edit):
    out = tmp_path / "out"
    run(coco, out)
    whole = features(out)
    shard = out / "features" / TABLE / "part-00001.parquet"
    rewrite(shard, edit)
    assert not check_dataset(out).ok

    report = run(coco, out)
    table = report.tables[0]
    assert (table.shards_written, table.shards_skipped, table.shards_redone) == (1, 2, 1)
    assert features(out).equals(whole)
    assert check_dataset(out).ok


def test_force_computes_every_shard_again_and_replaces_a_table_of_another_config(coco, tmp_path):
    out = tmp_path / "out"
    run(coco, out)
    with pytest.raises(DatasetError, match="pass --force"):
        run(coco, out, extractors=["color-hist:bins=4"])
    report = run(coco, out, extractors=["color-hist:bins=4"], force=True)
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (3, 0)
    assert len(features(out).column("feature")[0].as_py()) == 12
    assert open_dataset(out).entry(TABLE).config["bins"] == 4
    assert check_dataset(out).ok
    again = run(coco, out, extractors=["color-hist:bins=4"], force=True)
    assert again.tables[0].shards_written == 3


def test_a_table_whose_files_were_removed_can_be_made_again_with_another_config(coco, tmp_path):
    out = tmp_path / "out"
    run(coco, out)
    for folder in ("features", "errors"):
        for path in sorted((out / folder).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    report = run(coco, out, extractors=["color-hist:bins=4"])
    assert report.tables[0].shards_written == 3
    assert open_dataset(out).entry(TABLE).config["bins"] == 4
    assert check_dataset(out).ok


@dataclass(frozen=True)
class NoConfig:
    pass


@register_extractor
class NeedsWeights(PassThrough):
    """Decodes, then finds its weights missing: a configuration error, which stops the run."""

    name: ClassVar[str] = "test-needs-weights"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = NoConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def compute(self, items: list[Any]) -> list[Any]:
        raise MissingWeightsError("weights for test-needs-weights not found in /nowhere; download them first")


def test_a_table_that_fails_before_its_first_shard_leaves_no_trace(coco, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(MissingWeightsError):
        run(coco, out, extractors=["test-needs-weights"])
    dataset = open_dataset(out)
    assert "image.test-needs-weights" not in dataset.manifest.tables
    assert not (out / "features" / "image.test-needs-weights").exists()
    run(coco, out)  # another table of the same modality, then fusion and checks see only it
    assert list(open_dataset(out).manifest.tables) == [TABLE]
    assert check_dataset(out).ok


def test_a_refused_run_leaves_the_tables_there_as_they_were(coco, tmp_path):
    out = tmp_path / "out"
    run(coco, out)
    (out / "features" / TABLE / "part-00002.parquet").unlink()
    with pytest.raises(ConfigError):
        run(coco, out, extractors=["color-hist:bins=8", "librosa-logmel"])  # refused before any table is touched
    assert open_dataset(out).entry(TABLE).complete
    report = run(coco, out)
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (1, 2)


def test_an_extractor_for_media_no_sample_has_is_refused_before_anything_is_computed(coco, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"extractor 'librosa-logmel' reads audio, but no sample .* 'audio' or 'video'"):
        run(coco, out, extractors=["librosa-logmel"])
    assert open_dataset(out).manifest.tables == {}


@register_extractor
class Interrupted(NeedsWeights):
    """Ctrl-C while computing."""

    name: ClassVar[str] = "test-interrupted"

    def compute(self, items: list[Any]) -> list[Any]:
        raise KeyboardInterrupt


def test_the_command_says_how_to_resume_after_ctrl_c(coco, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["extract", "coco", str(coco), str(out), "--image", "test-interrupted", "-j", "0", "-q"])
    assert result.exit_code == 130
    assert f"interrupted: the finished shards in {out} are kept; run the same command again to resume" in result.output


def test_the_command_reports_shards_it_computed_again(coco, tmp_path):
    out = tmp_path / "out"
    args = ["extract", "coco", str(coco), str(out), "--image", "color-hist:bins=8", "-j", "0", "--shard-size", "3", "-q"]
    assert CliRunner().invoke(app, args).exit_code == 0
    rewrite(out / "features" / TABLE / "part-00000.parquet", lambda t: t.slice(1))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 shards written, 2 already done; 1 of the written ones replaced shards that no longer matched" in result.output
