"""Options that do not apply under an extractor's other options (`word-embeddings`' `dim` with
method=minilm, `model` with method=hashed, a backbone's `seed` with trained weights) are left out of the
table's recorded config; tables an earlier version recorded with them are kept, resumed and checked."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mmdata.checks.dataset import check_dataset
from mmdata.errors import ConfigError, DatasetError
from mmdata.features.base import Extractor, create_extractor
from mmdata.pipeline import extract
from mmdata.store import layout
from mmdata.store.manifest import write_manifest
from mmdata.store.metadata import FeatureSpec, METADATA_KEY, decode_metadata, read_table_metadata
from mmdata.store.reader import open_dataset
from mmdata.store.shards import read_shard
from mmdata.store.tables import INAPPLICABLE_OPTIONS, same_config
from mmdata.store.writer import write_table_atomic
from tests.fakes.csd import write_fake_csd_segments

MINILM = "text.word-embeddings"
HASHED = "text.word-embeddings-hashed"


@pytest.fixture
def corpus(tmp_path):
    return write_fake_csd_segments(tmp_path / "csd")


def run(corpus, out: Path, *extractors: str):
    # two samples per shard: five segments make three shards, so a removed one is resumed beside kept ones
    return extract("csd", corpus.root, out, extractors=list(extractors), corpus_options=corpus.options,
                   num_workers=0, shard_size=2)


def rows(out: Path, table: str) -> list[dict[str, Any]]:
    return open_dataset(out).table(table).to_table().to_pylist()


def write_as_older_version(out: Path, table: str, **recorded: Any) -> None:
    """Record `table` as versions before `inapplicable_options` did: the options `recorded` in the config of
    its manifest entry and of every shard, and no list of the options left out."""
    dataset = open_dataset(out)
    dataset.manifest.tables[table].config.update(recorded)
    write_manifest(out, dataset.manifest)
    for shard in layout.shard_files(dataset.table_dir(table)):
        data = read_shard(shard)
        meta = decode_metadata(data.schema)
        meta["config"].update(recorded)
        meta.pop(INAPPLICABLE_OPTIONS, None)
        write_table_atomic(data.replace_schema_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True)}), shard)


def test_each_method_records_only_its_own_options():
    minilm, hashed = create_extractor("word-embeddings").provenance(), create_extractor("word-embeddings:method=hashed").provenance()
    assert "dim" not in minilm["config"] and minilm["config"]["model"] == "all-MiniLM-L6-v2"
    assert minilm[INAPPLICABLE_OPTIONS] == ["dim"]
    assert "model" not in hashed["config"] and hashed["config"]["dim"] == 64
    assert hashed[INAPPLICABLE_OPTIONS] == ["model"]
    trained, untrained = create_extractor("resnet18").provenance(), create_extractor("resnet18:weights=random").provenance()
    assert "seed" not in trained["config"] and trained[INAPPLICABLE_OPTIONS] == ["seed"]
    assert untrained["config"]["seed"] == 0 and INAPPLICABLE_OPTIONS not in untrained
    assert INAPPLICABLE_OPTIONS not in create_extractor("color-hist").provenance()  # by default every option applies


def test_the_table_records_the_config_without_them(corpus, tmp_path):
    out = tmp_path / "out"
    run(corpus, out, "word-embeddings", "word-embeddings:method=hashed,dim=8")
    dataset = open_dataset(out)
    assert dataset.entry(MINILM).config == {"method": "minilm", "model": "all-MiniLM-L6-v2", "pauses": "zero"}
    assert dataset.entry(HASHED).config == {"method": "hashed", "dim": 8, "pauses": "zero"}
    assert read_table_metadata(dataset.table_dir(MINILM))["config"] == dataset.entry(MINILM).config


def test_dim_under_minilm_is_no_config_change(corpus, tmp_path):
    out = tmp_path / "out"
    run(corpus, out, "word-embeddings")
    before = rows(out, MINILM)
    report = run(corpus, out, "word-embeddings:dim=32")  # refused as "made with config ..." before
    [table] = [t for t in report.tables if t.name == MINILM]
    assert table.shards_written == 0 and table.shards_skipped == 3
    assert rows(out, MINILM) == before


def test_a_table_recorded_with_them_is_resumed_and_keeps_its_recorded_config(corpus, tmp_path):
    out = tmp_path / "out"
    run(corpus, out, "word-embeddings")
    before = rows(out, MINILM)
    write_as_older_version(out, MINILM, dim=64)
    table_dir = open_dataset(out).table_dir(MINILM)
    layout.shard_files(table_dir)[1].unlink()  # an interrupted run

    report = run(corpus, out, "word-embeddings")  # no --force needed

    [table] = [t for t in report.tables if t.name == MINILM]
    assert (table.shards_written, table.shards_skipped) == (1, 2)
    assert rows(out, MINILM) == before
    dataset = open_dataset(out)
    assert dataset.entry(MINILM).config["dim"] == 64  # as its earlier shards record it
    recorded = [read_table_metadata(s)["config"] for s in layout.shard_files(table_dir)]
    assert [c.get("dim") for c in recorded] == [64, None, 64]
    check = check_dataset(out)
    assert check.ok, [i.message for i in check.errors]
    assert not [i for i in check.issues if i.code.startswith("provenance")]


def test_a_complete_table_recorded_with_another_dim_is_kept_and_passes_check(corpus, tmp_path):
    out = tmp_path / "out"
    run(corpus, out, "word-embeddings")
    write_as_older_version(out, MINILM, dim=32)
    report = run(corpus, out, "word-embeddings:dim=16")
    [table] = [t for t in report.tables if t.name == MINILM]
    assert table.shards_written == 0
    assert open_dataset(out).entry(MINILM).config["dim"] == 32
    check = check_dataset(out)
    assert check.ok, [i.message for i in check.errors]


def test_an_option_that_applies_is_still_refused(corpus, tmp_path):
    out = tmp_path / "out"
    run(corpus, out, "word-embeddings", "word-embeddings:method=hashed,dim=8")
    write_as_older_version(out, MINILM, dim=64)
    with pytest.raises(DatasetError, match=r"was made with pauses=zero, not pauses=drop \(other options equal\);"):
        run(corpus, out, "word-embeddings:pauses=drop")  # not the dim recorded beside minilm, which does not apply
    with pytest.raises(DatasetError, match=r"was made with dim=8, not dim=16 \(other options equal\);"):
        run(corpus, out, "word-embeddings:method=hashed,dim=16")  # dim applies to hashed


def test_same_config_leaves_out_only_the_listed_options():
    running = {"config": {"method": "minilm", "pauses": "zero"}, INAPPLICABLE_OPTIONS: ["dim"]}
    assert same_config({"method": "minilm", "dim": 64, "pauses": "zero"}, running)
    assert same_config({"method": "minilm", "pauses": "zero"}, running)
    assert not same_config({"method": "minilm", "dim": 64, "pauses": "drop"}, running)
    assert not same_config({"method": "minilm", "dim": 64, "pauses": "zero"}, {"config": running["config"]})
    assert not same_config(None, running)


@dataclass(frozen=True)
class _WidthConfig:
    width: int = 4


class _MisnamedOptions(Extractor):
    name: ClassVar[str] = "misnamed-options"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = _WidthConfig

    def inapplicable_options(self) -> frozenset[str]:
        return frozenset({"widht"})

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=self.config.width)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        return None

    def compute(self, items: list[Any]) -> list[Any]:
        return items


def test_an_option_named_as_not_applying_must_be_an_option():
    with pytest.raises(ConfigError, match=r"'misnamed-options'.*\['widht'\].*\['width'\]"):
        _MisnamedOptions().provenance()
