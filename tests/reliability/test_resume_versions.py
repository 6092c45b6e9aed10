"""A table is never made of rows computed by two library versions: resuming across an upgrade is
refused, a complete table is kept with the versions that made it."""
from __future__ import annotations

import pyarrow.dataset as ds
import pytest

import mmdata.features.base as extractor_base
from mmdata.checks import check_dataset
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.manifest import write_manifest
from tests.sample_corpus import copy_sample_corpus

TABLE = "image.color-hist"


@pytest.fixture
def coco(tmp_path):
    return copy_sample_corpus("coco", tmp_path)


def _upgrade_numpy(monkeypatch) -> None:
    """This install's numpy reported as another version than the one that made the tables."""
    real = extractor_base.library_versions
    monkeypatch.setattr(extractor_base, "library_versions",
                        lambda names: {**real(names), **({"numpy": "99.0.0"} if "numpy" in names else {})})


def _interrupt(out, shard: str) -> None:
    """As a run killed before `shard` was written: the shard missing, the table incomplete."""
    (out / "features" / TABLE / shard).unlink()
    data = open_dataset(out)
    data.manifest.tables[TABLE].complete = False
    write_manifest(out, data.manifest)


def _extract(coco, out, **kwargs):
    return extract("coco", coco, out, extractors=["color-hist"], num_workers=0, shard_size=3, **kwargs)


def test_resume_refused_then_force_recomputes_every_shard(coco, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _extract(coco, out)
    before = ds.dataset(out / "features" / TABLE).to_table()
    _interrupt(out, "part-00001.parquet")
    made_with = open_dataset(out).entry(TABLE).versions["numpy"]
    _upgrade_numpy(monkeypatch)
    with pytest.raises(DatasetError, match=rf"numpy {made_with} \(this install: 99\.0\.0\).*mix rows.*--force"):
        _extract(coco, out)
    assert not (out / "features" / TABLE / "part-00001.parquet").exists()  # nothing computed
    report = _extract(coco, out, force=True)
    assert report.tables[0].shards_written == 3 and report.tables[0].made_with is None
    after = ds.dataset(out / "features" / TABLE).to_table()
    assert after.column("feature").equals(before.column("feature"))
    assert open_dataset(out).entry(TABLE).versions["numpy"] == "99.0.0"
    assert {open_dataset(out).table_metadata(TABLE)["versions"]["numpy"]} == {"99.0.0"}


def test_a_complete_table_is_kept_with_the_versions_that_made_it(coco, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _extract(coco, out)
    made_with = open_dataset(out).entry(TABLE).versions
    _upgrade_numpy(monkeypatch)
    report = _extract(coco, out)
    table = report.tables[0]
    assert (table.shards_written, table.shards_skipped) == (0, 3)
    assert table.made_with == f"numpy {made_with['numpy']} (this install: 99.0.0)"
    entry = open_dataset(out).entry(TABLE)
    assert entry.complete and entry.versions == made_with  # the manifest still says what made the rows
    assert check_dataset(out).ok  # (naming this install's versions, every shard was a provenance mismatch)


def test_a_complete_table_made_with_other_versions_does_not_get_new_shards(coco, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _extract(coco, out)
    (out / "features" / TABLE / "part-00002.parquet").unlink()  # lost, the table still marked complete
    _upgrade_numpy(monkeypatch)
    with pytest.raises(DatasetError, match=r"computing 1 of its shards again would mix rows"):
        _extract(coco, out)
    assert not (out / "features" / TABLE / "part-00002.parquet").exists()


def test_resuming_with_the_same_versions_still_resumes(coco, tmp_path):
    out = tmp_path / "out"
    _extract(coco, out)
    _interrupt(out, "part-00001.parquet")
    report = _extract(coco, out)
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped, report.tables[0].made_with) == (1, 2, None)


def _interrupt_table(out, table: str, index: int = 1) -> None:
    """As a run killed before shard `index` of `table` was written (any table format)."""
    from mmdata.store import layout

    layout.shard_files(out / "features" / table)[index].unlink()
    data = open_dataset(out)
    data.manifest.tables[table].complete = False
    write_manifest(out, data.manifest)


def test_csd_tables_and_alignments_refuse_to_resume_across_versions(tmp_path, monkeypatch):
    import mmdata.alignment.dataset as align_module
    import mmdata.precomputed as precomputed_module
    from mmdata.alignment.dataset import align_dataset
    from tests.fakes.csd import write_mosi_csd

    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)
    align_dataset(out, "text.words")
    _interrupt_table(out, "audio.covarep")
    _interrupt_table(out, "audio.covarep@text.words")
    manifest_before = (out / "mmdata.json").read_text()
    for module in (precomputed_module, align_module):
        real = module.library_versions
        monkeypatch.setattr(module, "library_versions",
                            lambda names, real=real: {**real(names), **({"numpy": "99.0.0"} if "numpy" in names else {})})
    with pytest.raises(DatasetError, match=r"audio\.covarep@text\.words.*numpy .* \(this install: 99\.0\.0\).*mix rows"):
        align_dataset(out, "text.words")
    assert (out / "mmdata.json").read_text() == manifest_before  # a refused alignment leaves the manifest as it was
    with pytest.raises(DatasetError, match=r"audio\.covarep.*numpy .* \(this install: 99\.0\.0\).*mix rows"):
        extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)
    monkeypatch.undo()
    extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)  # the same versions resume both
    report = align_dataset(out, "text.words")
    assert report.shards_aligned == 1 and open_dataset(out).entry("audio.covarep@text.words").complete


def _upgrade_numpy_everywhere(monkeypatch) -> None:
    """numpy reported as 99.0.0 to the extractors, the .csd import and the alignment alike."""
    import mmdata.alignment.dataset as align_module
    import mmdata.precomputed as precomputed_module

    for module in (extractor_base, precomputed_module, align_module):
        real = module.library_versions
        monkeypatch.setattr(module, "library_versions",
                            lambda names, real=real: {**real(names), **({"numpy": "99.0.0"} if "numpy" in names else {})})


def test_force_recovers_an_interrupted_csd_import_and_alignment_after_an_upgrade(tmp_path, monkeypatch):
    from mmdata.alignment.dataset import align_dataset
    from tests.fakes.csd import write_mosi_csd

    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)
    align_dataset(out, "text.words")
    before = open_dataset(out).table("audio.covarep@text.words").to_table()
    _interrupt_table(out, "audio.covarep")
    _interrupt_table(out, "audio.covarep@text.words")
    _upgrade_numpy_everywhere(monkeypatch)
    extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0, force=True)
    covarep = open_dataset(out).entry("audio.covarep")
    assert covarep.complete and covarep.versions["numpy"] == "99.0.0"
    align_dataset(out, "text.words", force=True)
    data = open_dataset(out)
    for name in ("audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words"):
        assert data.entry(name).complete and data.entry(name).versions["numpy"] == "99.0.0", name
    assert data.table("audio.covarep@text.words").to_table().equals(before)
    assert check_dataset(out).ok


def test_a_refused_resume_leaves_a_complete_table_complete(coco, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _extract(coco, out)
    (out / "features" / TABLE / "part-00002.parquet").unlink()  # lost; the table still marked complete
    manifest_before = (out / "mmdata.json").read_text()
    _upgrade_numpy(monkeypatch)
    with pytest.raises(DatasetError, match="would mix rows"):
        _extract(coco, out)
    assert (out / "mmdata.json").read_text() == manifest_before


def test_a_table_whose_every_shard_is_written_finishes_without_computing(coco, tmp_path, monkeypatch):
    """As a run killed after its last shard, before the manifest said so: nothing to compute, nothing mixed."""
    out = tmp_path / "out"
    _extract(coco, out)
    made_with = open_dataset(out).entry(TABLE).versions
    data = open_dataset(out)
    data.manifest.tables[TABLE].complete = False
    write_manifest(out, data.manifest)
    _upgrade_numpy(monkeypatch)
    report = _extract(coco, out)
    assert report.tables[0].shards_written == 0
    entry = open_dataset(out).entry(TABLE)
    assert entry.complete and entry.versions == made_with


def test_the_cli_reports_a_kept_table_without_a_decoding_it_did_not_do(coco, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from mmdata.cli import app

    out = tmp_path / "out"
    _extract(coco, out)
    made_with = open_dataset(out).entry(TABLE).versions["numpy"]
    _upgrade_numpy(monkeypatch)
    result = CliRunner().invoke(app, ["extract", "coco", str(coco), str(out), "--image", "color-hist",
                                      "--shard-size", "3", "-j", "0"])
    assert result.exit_code == 0, result.output
    assert f"(0 shards written, 3 already done; kept as made with numpy {made_with} (this install: 99.0.0): " \
           "--force computes it again)" in result.output
    assert "decoded in" not in result.output
