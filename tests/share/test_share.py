"""extract -> share -> datasets.load_dataset: every config loads with the right types and the source's values."""
from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.share import ChecksFailedError, share_dataset
from mmdata.share.hf import hf_split_names
from mmdata.store import open_dataset
from mmdata.store.layout import shard_files
from tests.sample_corpus import copy_sample_corpus
from tests.share.corpus import extract_mixed

runner = CliRunner()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    return extract_mixed(tmp_path_factory.mktemp("mixed"))


@pytest.fixture(scope="module")
def shared_embedded(mixed, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shared") / "mixed-hf"
    share_dataset(mixed, out, media="embed", shard_size=2)
    return out


def load(folder: Path, config: str | None, split: str | None, cache: Path):
    """One split of a config (or the DatasetDict of all its splits), read from the folder by `datasets`."""
    import datasets

    return datasets.load_dataset(str(folder), config, split=split, cache_dir=str(cache))


def source_rows(dataset_dir: Path, table: str | None) -> dict[str, dict]:
    data = open_dataset(dataset_dir)
    rows = (data.samples_table() if table is None else data.table(table).to_table()).to_pylist()
    return {row["sample_id"]: row for row in rows}


def test_every_table_loads_with_datasets_and_equals_the_source(mixed, tmp_path):
    import datasets

    out = tmp_path / "hf"
    report = share_dataset(mixed, out, shard_size=2)
    assert report.splits == {"train": 5, "val": 2, "test": 2}
    assert report.configs == ["samples", "audio.wave-rms", "image.color-hist", "image.pixel-stats", "text.hashed-bow.caption"]
    assert report.checks.ok and report.missing_media == []
    source_samples = source_rows(mixed, None)
    for config in report.configs:
        table = None if config == "samples" else config
        expected = source_rows(mixed, table)
        seen = []
        splits = load(out, config, None, tmp_path / "cache")
        assert list(splits) == list(report.splits)
        for split, count in report.splits.items():
            loaded = splits[split]
            assert loaded.num_rows == count
            for row in loaded:
                assert row == expected[row["sample_id"]], (config, row["sample_id"])
                assert source_samples[row["sample_id"]]["split"] == split
                seen.append(row["sample_id"])
        assert sorted(seen) == sorted(expected)
    features = load(out, "audio.wave-rms", "train", tmp_path / "cache").features
    assert features["feature"] == datasets.List(datasets.List(datasets.Value("float32"), length=2))
    assert features["intervals"] == datasets.List(datasets.List(datasets.Value("float64"), length=2))
    assert load(out, "image.color-hist", "val", tmp_path / "cache").features["feature"] == datasets.List(
        datasets.Value("float32"), length=24)
    samples = load(out, "samples", "test", tmp_path / "cache")
    assert load(out, None, "test", tmp_path / "cache")["sample_id"] == samples["sample_id"]  # the default config
    assert samples.features["image"] == datasets.Value("string") and "image_file" not in samples.features
    assert samples.features["captions"] == datasets.List(datasets.Value("string"))


def test_rows_of_a_split_come_in_the_same_order_in_every_config(shared_embedded, tmp_path):
    samples = load(shared_embedded, "samples", None, tmp_path / "cache")
    for config in ("image.color-hist", "audio.wave-rms", "text.hashed-bow.caption"):
        table = load(shared_embedded, config, None, tmp_path / "cache")
        for split in ("train", "val", "test"):
            assert table[split]["sample_id"] == samples[split]["sample_id"]


def test_embedded_images_are_the_original_files_and_audio_segments_are_flac(mixed, shared_embedded, tmp_path):
    import datasets
    import soundfile

    corpus = Path(open_dataset(mixed).manifest.corpus["root"])
    samples = load(shared_embedded, "samples", "train", tmp_path / "cache")
    assert samples.features["image_file"] == datasets.Image() and samples.features["audio_file"] == datasets.Audio()
    # The raw bytes, compared with the files (decoding through datasets is tested below).
    samples = samples.cast_column("audio_file", datasets.Audio(decode=False))
    first = samples[0]
    assert first["image_file"].size == image_size(corpus / first["image"])
    raw = samples.cast_column("image_file", datasets.Image(decode=False))
    for row in raw:
        assert row["image_file"]["bytes"] == (corpus / row["image"]).read_bytes()
        audio = row["audio_file"]
        if row["start"] is None:
            assert audio["path"] == row["audio"] and audio["bytes"] == (corpus / row["audio"]).read_bytes()
        else:
            assert audio["path"] == f"{row['audio']}@{row['start']:.3f}-{row['end']:.3f}.flac"
            samples_, rate = soundfile.read(io.BytesIO(audio["bytes"]))
            assert len(samples_) == int(round((row["end"] - row["start"]) * rate))
            full, _ = soundfile.read(corpus / row["audio"], dtype="float32")
            segment = full[int(row["start"] * rate) : int(row["end"] * rate)]
            np.testing.assert_allclose(samples_, segment, atol=1e-4)


def test_embedded_audio_decodes_through_datasets_own_audio_feature(mixed, shared_embedded, tmp_path):
    import soundfile

    corpus = Path(open_dataset(mixed).manifest.corpus["root"])
    samples = load(shared_embedded, "samples", "train", tmp_path / "cache")
    rows = [r for r in samples.select_columns(["audio", "start", "end"]) if r["audio"] is not None]
    decoded = [d for d in samples["audio_file"] if d is not None]
    assert rows and len(decoded) == len(rows)
    for row, audio in zip(rows, decoded):  # torchcodec AudioDecoder, as datasets >= 4 decodes
        waveform = audio.get_all_samples()
        full, rate = soundfile.read(corpus / row["audio"], dtype="float32")
        expected = full if row["start"] is None else full[int(row["start"] * rate) : int(row["end"] * rate)]
        assert waveform.sample_rate == rate
        np.testing.assert_allclose(waveform.data.numpy().reshape(-1)[: len(expected)], expected, atol=1e-3)


def image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as img:
        return img.size


def test_shared_folder_is_an_mmdata_dataset_whose_checks_pass(mixed, shared_embedded):
    report = check_dataset(shared_embedded)
    assert report.ok, [i.one_line() for i in report.errors]
    data = open_dataset(shared_embedded)
    assert data.manifest.samples["shards"] == [2, 2, 1, 2, 2]
    assert data.manifest.samples["splits"] == open_dataset(mixed).manifest.samples["splits"]
    sample_shards = shard_files(shared_embedded / "samples")
    assert [p.name for p in sample_shards] == [
        "part-00000-train.parquet", "part-00001-train.parquet", "part-00002-train.parquet",
        "part-00003-val.parquet", "part-00004-test.parquet"]
    for name in data.table_names:
        table_shards = shard_files(data.table_dir(name))
        assert [p.name for p in table_shards] == [p.name for p in sample_shards]
        for samples_shard, table_shard in zip(sample_shards, table_shards):
            assert pq.read_table(table_shard, columns=["sample_id"]).equals(pq.read_table(samples_shard, columns=["sample_id"]))
        meta = data.table_metadata(name)
        assert meta["samples_fingerprint"] == data.manifest.samples["fingerprint"]
        assert json.loads(pq.read_schema(table_shards[0]).metadata[b"huggingface"])["info"]["features"]["feature"]
    assert data.manifest.extra["share"]["media"] == "embed"


def test_card_declares_configs_and_describes_the_dataset(mixed, shared_embedded):
    text = (shared_embedded / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    meta = yaml.safe_load(header)
    assert meta["license"] == "unknown"
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert configs["samples"]["default"] is True
    assert configs["image.color-hist"]["data_files"][0] == {
        "split": "train", "path": [f"features/image.color-hist/part-0000{k}-train.parquet" for k in range(3)]}
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert {"name": "feature", "list": "float32", "length": 24} in infos["image.color-hist"]["features"]
    assert {"name": "image_file", "dtype": "image"} in infos["samples"]["features"]
    assert {s["name"]: s["num_examples"] for s in infos["audio.wave-rms"]["splits"]} == {"train": 5, "val": 2, "test": 2}
    source = open_dataset(mixed).manifest
    for name, entry in source.tables.items():
        assert f"### `{name}`" in body and json.dumps(entry.config, sort_keys=True) in body
        assert all(f"{lib} {version}" in body for lib, version in entry.versions.items())
    assert "| `train` | `train` | 5 |" in body
    assert "`mmdata check` passed" in body
    for how in ("load_dataset(", "pd.read_parquet(", "pyarrow.dataset", "DataLoader(", "open_dataset("):
        assert how in body
    assert "hf upload USER/DATASET_NAME . --repo-type dataset" in body and "## Licence" in body


def test_card_code_that_needs_no_hub_cache_runs_in_the_shared_folder(shared_embedded, tmp_path, monkeypatch):
    body = (shared_embedded / "README.md").read_text().split("---\n", 2)[2]
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    runnable = [b for b in blocks if "load_dataset" not in b]
    assert len(blocks) == 5 and len(runnable) == 3
    copy = tmp_path / "copy"
    shutil.copytree(shared_embedded, copy)
    monkeypatch.chdir(copy)
    scope: dict = {}
    for block in runnable:
        exec(compile(block, "README.md", "exec"), scope)
    assert scope["df"]["sample_id"].tolist() == scope["table"].column("sample_id").to_pylist()[: len(scope["df"])]
    batch = next(iter(scope["loader"]))
    assert batch["feature"].shape[1] == 24 + 2 + 1024  # image, audio (pooled) and text, fused
    assert scope["data"].table_names == ["audio.wave-rms", "image.color-hist", "image.pixel-stats", "text.hashed-bow.caption"]


def test_sharing_refuses_failing_checks_unless_allowed(mixed, tmp_path):

    broken = tmp_path / "broken"
    shutil.copytree(mixed, broken)
    manifest = json.loads((broken / "mmdata.json").read_text())
    manifest["tables"]["image.pixel-stats"]["complete"] = False
    (broken / "mmdata.json").write_text(json.dumps(manifest))
    with pytest.raises(ChecksFailedError, match=r"1 checks fail:\n  table-incomplete \(table 'image.pixel-stats'\)"):
        share_dataset(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["share", str(broken), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "table-incomplete" in result.stderr and "--allow-failed-checks" in result.stderr
    result = runner.invoke(app, ["share", str(broken), "--out", str(tmp_path / "out"), "--allow-failed-checks"])
    assert result.exit_code == 0, result.output
    assert "shared with 1 failing checks" in result.stderr
    assert "**FAILED**" in (tmp_path / "out" / "README.md").read_text()


def test_older_layout_is_a_clear_error_not_a_traceback(mixed, tmp_path):

    old = tmp_path / "old"
    shutil.copytree(mixed, old)
    manifest = json.loads((old / "mmdata.json").read_text())
    manifest["layout_version"] = 0
    (old / "mmdata.json").write_text(json.dumps(manifest))
    for args in (["share", str(old), "--out", str(tmp_path / "out")], ["report", str(old), "--out", str(tmp_path / "r.html")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "dataset layout version 0, this mmdata reads version 1" in result.stderr
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_existing_output_needs_force_and_foreign_folders_are_never_replaced(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    extract("coco", corpus, tmp_path / "ds", extractors=["pixel-stats"], num_workers=0)
    out = tmp_path / "hf"
    result = runner.invoke(app, ["share", str(tmp_path / "ds"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "8 samples (val2017: 8), configs ['samples', 'image.pixel-stats']" in result.stdout
    with pytest.raises(DatasetError, match=r"already exists; choose another or pass force=True \(--force\)"):
        share_dataset(tmp_path / "ds", out)
    (out / "stray.txt").write_text("x")
    share_dataset(tmp_path / "ds", out, overwrite=True)
    assert not (out / "stray.txt").exists() and (out / "checksums.sha256").is_file()
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"not yours")
    with pytest.raises(DatasetError, match="is not a shared mmdata dataset"):
        share_dataset(tmp_path / "ds", foreign, overwrite=True)
    assert (foreign / "holiday.jpg").read_bytes() == b"not yours"
    result = runner.invoke(app, ["share", str(tmp_path / "ds"), "--out", str(tmp_path / "x"), "--media", "copy"])
    assert result.exit_code == 2 and "--media must be 'reference' or 'embed', got 'copy'" in result.stderr
    with pytest.raises(DatasetError, match="overlaps the dataset"):
        share_dataset(tmp_path / "ds", tmp_path / "ds" / "hf")


def test_embedding_a_missing_file_leaves_a_null_and_names_it(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    extract("coco", corpus, tmp_path / "ds", extractors=["pixel-stats"], num_workers=0)
    (corpus / "val2017" / "000000000107.jpg").unlink()
    report = share_dataset(tmp_path / "ds", tmp_path / "hf", media="embed")
    assert [(m.sample_id, m.path) for m in report.missing_media] == [("000000000107", "val2017/000000000107.jpg")]
    table = pq.read_table(tmp_path / "hf" / "samples" / "part-00000-val2017.parquet")
    files = dict(zip(table.column("sample_id").to_pylist(), table.column("image_file").to_pylist()))
    assert files["000000000107"] is None and files["000000000100"]["bytes"] == (corpus / "val2017/000000000100.jpg").read_bytes()
    assert "`000000000107`" in (tmp_path / "hf" / "README.md").read_text()


def test_embedding_a_truncated_image_leaves_a_null_and_names_it(tmp_path):
    """Shared as it is, a truncated JPEG stops `datasets` at its row (PIL: Truncated File Read)."""
    corpus = copy_sample_corpus("coco", tmp_path)
    extract("coco", corpus, tmp_path / "ds", extractors=["pixel-stats"], num_workers=0)
    broken = corpus / "val2017" / "000000000121.jpg"
    broken.write_bytes(broken.read_bytes()[:300])
    report = share_dataset(tmp_path / "ds", tmp_path / "hf", media="embed")
    assert [(m.sample_id, m.path) for m in report.missing_media] == [("000000000121", "val2017/000000000121.jpg")]
    assert "000000000121.jpg" in report.missing_media[0].reason
    table = pq.read_table(tmp_path / "hf" / "samples" / "part-00000-val2017.parquet")
    files = dict(zip(table.column("sample_id").to_pylist(), table.column("image_file").to_pylist()))
    assert files["000000000121"] is None and files["000000000100"] is not None
    assert "`000000000121`" in (tmp_path / "hf" / "README.md").read_text()


def test_failed_items_share_as_null_features_with_their_errors(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    (corpus / "val2017" / "000000000121.jpg").write_bytes(b"not a jpeg")
    extract("coco", corpus, tmp_path / "ds", extractors=["pixel-stats"], num_workers=0)
    report = share_dataset(tmp_path / "ds", tmp_path / "hf")
    assert [i.code for i in report.checks.warnings] == ["feature-failed"]
    rows = {r["sample_id"]: r["feature"] for r in load(tmp_path / "hf", "image.pixel-stats", "val2017", tmp_path / "cache")}
    assert rows["000000000121"] is None and len(rows["000000000100"]) == 12
    errors = open_dataset(tmp_path / "hf").errors().to_pylist()
    assert [(e["table"], e["sample_id"]) for e in errors] == [("image.pixel-stats", "000000000121")]
    assert "| `image.pixel-stats` | image | `pixel-stats` | 8 | 12 | float32 | pooled | 1 |" in (tmp_path / "hf" / "README.md").read_text()


def test_split_names_are_made_valid_for_datasets_and_clashes_are_refused():
    assert hf_split_names(["test", "dev-clean", "train", "val2017"]) == {
        "train": "train", "test": "test", "dev-clean": "dev_clean", "val2017": "val2017"}
    assert list(hf_split_names(["zeta", "test", "alpha", "train", "val"])) == ["train", "val", "test", "alpha", "zeta"]
    with pytest.raises(DatasetError, match="splits 'dev clean' and 'dev-clean' both become the `datasets` split name 'dev_clean'"):
        hf_split_names(["dev-clean", "dev clean"])
