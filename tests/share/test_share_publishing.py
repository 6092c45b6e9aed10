"""Sharing as a researcher does it: unsplit corpora, Hub card values, outputs behind links, re-sharing, moved copies."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError, ShardReadError
from mmdata.pipeline import extract
from mmdata.share import share_dataset, verify_checksums
from mmdata.share.card import _size_category
from mmdata.share.hf import hf_split_names
from mmdata.store import open_dataset
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    """The COCO sample (split val2017) with two image tables, the second as Arrow IPC shards."""
    tmp = tmp_path_factory.mktemp("coco")
    corpus = copy_sample_corpus("coco", tmp)
    extract("coco", corpus, tmp / "ds", extractors=["pixel-stats"], num_workers=0)
    extract("coco", corpus, tmp / "ds", extractors=["color-hist:bins=4"], num_workers=0, table_format="arrow")
    return tmp / "ds"


@pytest.fixture(scope="module")
def flickr(tmp_path_factory) -> Path:
    """The Flickr30K sample without a Karpathy split file: every sample is in mmdata's split 'all'."""
    tmp = tmp_path_factory.mktemp("flickr")
    corpus = copy_sample_corpus("flickr30k", tmp)
    extract("flickr30k", corpus, tmp / "ds", extractors=["pixel-stats"], num_workers=0)
    return tmp / "ds"


def card_parts(folder: Path) -> tuple[dict, str]:
    _, header, body = (folder / "README.md").read_text().split("---\n", 2)
    return yaml.safe_load(header), body


def load(folder: Path, config: str, cache: Path):
    import datasets

    return datasets.load_dataset(str(folder), config, cache_dir=str(cache))


def test_an_unsplit_corpus_loads_as_the_train_split_datasets_expects(flickr, tmp_path, monkeypatch):
    out = tmp_path / "hf"
    report = share_dataset(flickr, out)
    assert report.splits == {"train": 8}
    for config in ("samples", "image.pixel-stats"):
        loaded = load(out, config, tmp_path / "cache")
        assert list(loaded) == ["train"] and loaded["train"].num_rows == 8
    assert set(load(out, "samples", tmp_path / "cache")["train"]["split"]) == {"all"}  # mmdata's own name stays
    meta, body = card_parts(out)
    assert {c["config_name"]: [f["split"] for f in c["data_files"]] for c in meta["configs"]} == {
        "samples": ["train"], "image.pixel-stats": ["train"]}
    assert "| `all` | `train` | 8 |" in body
    # The card's fusion example names the split as mmdata's fuse knows it, and runs as written.
    block = next(b for b in re.findall(r"```python\n(.*?)```", body, flags=re.S) if "fuse(" in b)
    assert 'stats_splits=("all",)' in block and 'FusedDataset(fused, "all")' in block
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    monkeypatch.chdir(copy)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert len(scope["loader"].dataset) == 8


def test_the_reserved_split_name_all_is_renamed_in_any_case_and_a_clash_is_refused():
    assert hf_split_names(["ALL"]) == {"ALL": "train"}
    assert hf_split_names(["all", "test"]) == {"all": "train", "test": "test"}
    with pytest.raises(DatasetError, match="splits 'train' and 'all' both become the `datasets` split name 'train'"):
        hf_split_names(["train", "all"])


def test_arrow_tables_are_shared_as_parquet_and_the_manifest_says_so(coco, tmp_path):
    assert open_dataset(coco).entry("image.color-hist").format == "arrow"
    out = tmp_path / "hf"
    share_dataset(coco, out, shard_size=3)
    shared = open_dataset(out)
    assert {name: shared.entry(name).format for name in shared.table_names} == {
        "image.color-hist": "parquet", "image.pixel-stats": "parquet"}
    assert shared.manifest.samples["shard_size"] == 3 and shared.manifest.samples["shards"] == [3, 3, 2]
    assert sorted(p.name for p in (out / "features" / "image.color-hist").iterdir()) == [
        f"part-0000{k}-val2017.parquet" for k in range(3)]
    assert check_dataset(out).ok


def test_every_size_category_the_card_writes_is_one_the_hub_lists():
    from huggingface_hub import DatasetCardData

    doc = re.sub(r"\s+", " ", DatasetCardData.__doc__)
    listed = set(re.findall(r"'([^']+)'", doc.split("size_categories", 1)[1].split("source_datasets", 1)[0]))
    assert "10M<n<100M" in listed and "n>1T" in listed
    counts = [0, 999, 1_000, 50_000, 999_999, 5_000_000, 10_000_000, 10**9, 10**12]
    assert [_size_category(n) for n in counts] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "1B<n<10B", "n>1T"]
    assert {_size_category(n) for n in counts} <= listed


def test_the_card_names_only_the_embedded_columns_there_are_and_the_corpus_terms(coco, tmp_path):
    out = tmp_path / "hf"
    share_dataset(coco, out, media="embed")
    meta, body = card_parts(out)
    samples = next(i for i in meta["dataset_info"] if i["config_name"] == "samples")
    assert {"name": "image_file", "dtype": "image"} in samples["features"]
    media = body[body.index("## Media"):body.index("## Checks")]
    assert "`image_file` (`datasets.Image`" in media and "audio_file" not in media and "torchcodec" not in media
    licence = body[body.index("## Licence"):]
    assert "`coco` corpus" in licence and "embedded media files are the corpus's own" in licence


def test_an_output_path_that_is_a_link_to_a_folder_is_written_through_the_link(coco, tmp_path):
    target = tmp_path / "disk" / "shared"
    target.mkdir(parents=True)
    link = tmp_path / "shared"
    link.symlink_to(target, target_is_directory=True)
    result = runner.invoke(app, ["share", str(coco), "--out", str(link)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["share", str(coco), "--out", str(link), "--force"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (target / "checksums.sha256").is_file()
    assert verify_checksums(link).ok
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == ["shared"]  # no partial folder left


def test_sharing_into_the_current_directory_is_a_clear_error_not_a_traceback(coco, tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = runner.invoke(app, ["share", str(coco), "--out", "."])
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert "is or holds the current directory" in result.stderr and f"`cd {tmp_path}`, then --out here" in result.stderr
    assert here.is_dir() and list(here.iterdir()) == []


def test_a_share_that_fails_half_way_leaves_the_previous_one_whole(coco, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(coco, broken)
    out = tmp_path / "hf"
    share_dataset(broken, out)
    shard = broken / "features" / "image.pixel-stats" / "part-00000.parquet"
    shard.write_bytes(shard.read_bytes()[:200])
    with pytest.raises(ShardReadError, match="part-00000.parquet: cannot read this shard"):
        share_dataset(broken, out, overwrite=True, allow_failed_checks=True)
    assert verify_checksums(out).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "hf"]


def test_a_moved_share_still_loads_verifies_and_checks(coco, tmp_path):
    out = tmp_path / "made-here" / "hf"
    share_dataset(coco, out, media="embed")
    moved = tmp_path / "elsewhere" / "hf"
    moved.parent.mkdir()
    shutil.move(str(out), str(moved))
    assert verify_checksums(moved).ok and check_dataset(moved).ok
    assert load(moved, "image.pixel-stats", tmp_path / "cache")["val2017"].num_rows == 8
    corpus_root = str(open_dataset(coco).manifest.corpus["root"]).encode()
    for path in moved.rglob("*"):  # nothing in the folder names where it was made, nor where the corpus lies
        assert not path.is_file() or str(tmp_path / "made-here").encode() not in path.read_bytes(), path
        assert not path.is_file() or corpus_root not in path.read_bytes(), path


def test_sharing_a_share_again_keeps_or_drops_its_embedded_files(coco, tmp_path):
    import datasets

    first = tmp_path / "first"
    share_dataset(coco, first, media="embed")
    images = dict(zip(*pq.read_table(first / "samples" / "part-00000-val2017.parquet",
                                     columns=["sample_id", "image_file"]).to_pydict().values()))
    again = tmp_path / "again"
    report = share_dataset(first, again, media="embed", corpus_root=tmp_path / "no-corpus-here")
    assert report.missing_media == []
    table = pq.read_table(again / "samples" / "part-00000-val2017.parquet")
    assert table.column_names.count("image_file") == 1
    assert dict(zip(table.column("sample_id").to_pylist(), table.column("image_file").to_pylist())) == images
    loaded = load(again, "samples", tmp_path / "cache")["val2017"]
    assert loaded.features["image_file"] == datasets.Image()
    plain = tmp_path / "plain"
    share_dataset(first, plain)
    assert "image_file" not in pq.read_schema(plain / "samples" / "part-00000-val2017.parquet").names
    _, body = card_parts(plain)
    assert "Media are referenced, not embedded" in body
    assert open_dataset(plain).manifest.extra["share"]["media"] == "reference"


# checksums.sha256 and `mmdata verify`


@pytest.fixture
def shared(coco, tmp_path) -> Path:
    out = tmp_path / "hf"
    share_dataset(coco, out)
    return out


def test_a_truncated_file_is_named_with_a_hint_and_an_unchanged_rerun_passes(shared):
    first = runner.invoke(app, ["verify", str(shared)])
    assert first.exit_code == 0 and runner.invoke(app, ["verify", str(shared)]).stdout == first.stdout
    path = shared / "samples" / "part-00000-val2017.parquet"
    path.write_bytes(path.read_bytes()[:-10])
    result = runner.invoke(app, ["verify", str(shared)])
    assert result.exit_code == 1 and result.stdout.splitlines() == ["altered: samples/part-00000-val2017.parquet"]
    assert "get them again from where the dataset came from" in result.stderr
    assert f"record it with `mmdata checksum {shared}`" in result.stderr


def test_the_gitattributes_the_hub_adds_to_a_repository_is_not_part_of_the_dataset(shared):
    (shared / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    assert verify_checksums(shared).ok
    (shared / "features" / ".gitattributes").write_text("")
    assert verify_checksums(shared).extra == ["features/.gitattributes"]


def test_checksums_cover_what_hf_upload_sends_links_included(shared, tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS

    (shared / "notes.md").symlink_to(shared / "README.md")  # a link to a file: sent, so checksummed
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "big.bin").write_bytes(b"x")
    (shared / "linked-folder").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (shared / "dangling").symlink_to(tmp_path / "gone")
    result = runner.invoke(app, ["checksum", str(shared)])
    assert result.exit_code == 0, result.output
    recorded = (shared / "checksums.sha256").read_text().splitlines()
    listed = {line.split("  ", 1)[1] for line in recorded}
    # What the Hub's own uploader would send (README.md left out: checking its YAML needs the network).
    ignore = [*DEFAULT_IGNORE_PATTERNS, "README.md", "checksums.sha256"]
    sent = {op.path_in_repo for op in HfApi()._prepare_upload_folder_additions(shared, "", ignore_patterns=ignore)}
    assert listed - {"README.md"} == sent
    assert "notes.md" in listed and "dangling" not in listed and not any(p.startswith("linked-folder") for p in listed)
    assert verify_checksums(shared).ok
    (shared / "notes.md").unlink()
    (shared / "notes.md").symlink_to(tmp_path / "gone")  # its target lost in a copy
    assert verify_checksums(shared).missing == ["notes.md"]


def test_a_file_that_cannot_be_read_is_named_not_a_traceback(shared):
    unreadable = "/proc/self/mem"  # a regular file whose first bytes cannot be read
    (shared / "memory").symlink_to(unreadable)
    result = runner.invoke(app, ["checksum", str(shared)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.startswith(f"error: cannot read {shared / 'memory'} (Input/output error)")
    (shared / "memory").unlink()
    (shared / "mmdata.json").unlink()
    (shared / "mmdata.json").symlink_to(unreadable)  # a recorded file
    result = runner.invoke(app, ["verify", str(shared)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.startswith(f"error: cannot read {shared / 'mmdata.json'} (Input/output error)")


def test_verify_given_the_checksums_file_names_the_folder_to_give(shared):
    result = runner.invoke(app, ["verify", str(shared / "checksums.sha256")])
    assert result.exit_code == 2
    assert f"is a file; expected the dataset folder that holds checksums.sha256 (e.g. {shared})" in result.stderr
    assert os.path.isfile(shared / "checksums.sha256")


def test_a_share_into_a_folder_the_system_refuses_is_a_one_line_error(tmp_path):
    from typer.testing import CliRunner

    from mmdata.cli import app
    from tests.sample_corpus import copy_sample_corpus

    runner = CliRunner()
    corpus = copy_sample_corpus("coco", tmp_path)
    assert runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "ds"), "--image", "color-hist:bins=4",
                               "-j", "0", "-q"]).exit_code == 0
    result = runner.invoke(app, ["share", str(tmp_path / "ds"), "--out", "/proc/mmdata-share"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip().startswith("error: cannot write the share to /proc/mmdata-share (")
    assert result.stderr.strip().endswith("choose a folder you can write to")


def test_a_share_names_no_folder_of_the_producers_machine(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path / "private" / "alice")
    missing = sorted((corpus / "val2017").iterdir())[0]
    missing.unlink()
    extract("coco", corpus, tmp_path / "ds", extractors=["color-hist:bins=4"], num_workers=0)
    [error] = open_dataset(tmp_path / "ds").errors().to_pylist()
    assert str(corpus) in error["reason"]  # the dataset itself keeps where its corpus is
    out = tmp_path / "hf"
    share_dataset(tmp_path / "ds", out, allow_failed_checks=True)
    shared = open_dataset(out)
    assert shared.manifest.corpus["root"] == corpus.name
    [error] = shared.errors().to_pylist()
    assert error["reason"] == f"image file not found: val2017/{missing.name}"
    for path in out.rglob("*"):
        assert not path.is_file() or str(tmp_path / "private").encode() not in path.read_bytes(), path


def test_the_card_counts_nan_labels_as_unlabelled_like_check():
    import pyarrow as pa

    from mmdata.share.export import label_summary

    summary = label_summary(pa.table({"label": pa.array([1.5, None, float("nan"), -2.0], pa.float32())}))
    assert (summary.labelled, summary.rows, summary.low, summary.high) == (2, 4, -2.0, 1.5)
    assert label_summary(pa.table({"label": pa.array([float("nan"), None], pa.float32())})) is None
