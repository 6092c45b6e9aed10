"""`merge_datasets` on datasets built with the store API: the merged samples (ids `<name>/<id>`, group ids in
their corpus's namespace, splits, absolute media paths, `extra.source_dataset`), every merged table holding each
dataset's rows and values in order, cut into the merged samples' shards with their moments and errors rows, the
tables skipped or refused and why, and a failure leaving nothing behind."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmdata import check_dataset, fuse, open_dataset
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FusedDataset, FuseOptions
from mmdata.fusion.folds import FoldSplits
from mmdata.merge import merge_datasets
from mmdata.store import layout
from mmdata.store.moments import read_table_moments
from tests.checks.builder import build_dataset, frames_table, image_text_samples, mosi_samples, pooled_table


def _samples(n: int, corpus: str, extra=None):
    return [dataclasses.replace(s, corpus=corpus, extra=extra) for s in image_text_samples(n)]


@pytest.fixture
def two(tmp_path):
    """coco (12 samples, shards of 5, a failed vector) and flickr30k (7 samples, shards of 3), both with
    image.a (dim 4); coco also with text.b."""
    coco, flickr = _samples(12, "coco"), _samples(7, "flickr30k", extra={"w": 640})
    failed = pooled_table("image.a", coco, dim=4)
    failed.values[3] = None
    a = build_dataset(tmp_path / "coco", coco, [failed, pooled_table("text.b", coco, dim=3)], shard_size=5)
    b = build_dataset(tmp_path / "flickr", flickr, [pooled_table("image.a", flickr, dim=4, seed=1)],
                      shard_size=3, corpus_kind="flickr30k")
    for root in (a, b):
        (root / "corpus").mkdir()  # the corpus folder the manifests record
    return tmp_path, a, b


def test_samples_are_renamed_and_follow_each_other_in_dataset_order(two):
    tmp, a, b = two
    report = merge_datasets([a, b], tmp / "m")
    assert report.samples == {"coco": 12, "flickr": 7}
    data = open_dataset(tmp / "m")
    rows = data.samples_table().to_pylist()
    source = {name: open_dataset(d).samples_table().to_pylist() for name, d in (("coco", a), ("flickr", b))}
    assert [r["sample_id"] for r in rows] == [f"{n}/{r['sample_id']}" for n in ("coco", "flickr") for r in source[n]]
    first_b = rows[12]
    assert first_b["group_id"] == f"flickr30k:{source['flickr'][0]['group_id']}"
    assert first_b["image"] == f"flickr/{source['flickr'][0]['image']}"
    assert (tmp / "m" / "corpora" / "flickr").resolve() == (b / "corpus").resolve()  # the merged root's link
    assert json.loads(first_b["extra"]) == {"source_dataset": "flickr", "w": 640}
    assert list(json.loads(first_b["extra"]))[0] == "source_dataset"
    assert json.loads(rows[0]["extra"]) == {"source_dataset": "coco"}  # no extra before
    assert [r["split"] for r in rows] == [r["split"] for n in ("coco", "flickr") for r in source[n]]
    manifest = json.loads((tmp / "m" / "mmdata.json").read_text())
    assert manifest["corpus"]["kind"] == "merged"
    assert [(s["name"], s["path"], s["corpus"]["kind"], s["samples"]) for s in manifest["extra"]["merge"]["sources"]] == [
        ("coco", str(a.resolve()), "coco", 12), ("flickr", str(b.resolve()), "flickr30k", 7)]


def test_a_merged_table_holds_every_datasets_rows_cut_into_the_merged_shards(two):
    tmp, a, b = two
    report = merge_datasets([a, b], tmp / "m", shard_size=4)
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [("image.a", 19, 1)]
    assert report.skipped == {"text.b": "not in flickr"}
    data = open_dataset(tmp / "m")
    assert data.manifest.samples["shards"] == [4, 4, 4, 4, 3]
    files = layout.shard_files(data.table_dir("image.a"))
    assert [pq.read_metadata(f).num_rows for f in files] == [4, 4, 4, 4, 3]
    merged = data.read_table("image.a")
    expected = [(f"{name}/{row['sample_id']}", row["feature"]) for name, d in (("coco", a), ("flickr", b))
                for row in open_dataset(d).read_table("image.a").to_pylist()]
    assert [(r["sample_id"], r["feature"]) for r in merged.to_pylist()] == expected
    assert data.table_metadata("image.a")["samples_fingerprint"] == data.manifest.samples["fingerprint"]
    [error] = data.errors().to_pylist()
    failed = f"coco/{open_dataset(a).samples_table().column('sample_id')[3].as_py()}"
    assert (error["table"], error["sample_id"]) == ("image.a", failed)
    assert [e["sample_id"] for e in pq.read_table(layout.errors_dir(data.root, "image.a") / "part-00000.parquet").to_pylist()] == [failed]
    report = check_dataset(tmp / "m")
    assert [i.code for i in report.issues if i.severity == "error"] == []


def test_moments_are_made_again_for_the_merged_splits(two):
    tmp, a, b = two
    merge_datasets([a, b], tmp / "m", splits={"flickr": "test"})
    data = open_dataset(tmp / "m")
    moments = read_table_moments(layout.shard_files(data.table_dir("image.a")), 4, data.manifest.samples["fingerprint"])
    assert moments is not None
    ids, x = data.to_numpy("image.a", split="train")
    count = sum(m["train"][0] for m in moments if "train" in m)
    assert count == len(ids)
    assert set(moments[-1]) == {"test"}  # the last shard: flickr's samples, all put in test
    fuse(tmp / "m", tmp / "f1", format="arrow", missing="zero")
    z = json.loads((tmp / "f1" / "fused.json").read_text())["normalization"]["tables"]["image.a"]
    np.testing.assert_allclose(z["mean"], x.mean(axis=0), rtol=1e-5)


def test_a_dataset_put_in_one_split_and_folds_dealt_by_source_dataset(two):
    tmp, a, b = two
    report = merge_datasets([a, b], tmp / "m", splits={"f": "test"}, names=["c", "f"])
    assert report.splits == {"train": 7, "val": 3, "test": 2 + 7}
    samples = open_dataset(tmp / "m").samples_table().to_pylist()
    assert {r["split"] for r in samples if r["sample_id"].startswith("f/")} == {"test"}
    fused = fuse(tmp / "m", tmp / "loco", FuseOptions(format="arrow", missing="zero",
                                                          folds=FoldSplits(by="source_dataset", test="c")))
    assert fused.rows == {"train": 7, "test": 12}


def test_each_merged_corpus_is_z_scored_with_its_own_statistics_by_source_dataset(two):
    """Cross-corpus work normalizes each corpus by itself: `normalize_by="source_dataset"`."""
    tmp, a, b = two
    merge_datasets([a, b], tmp / "m", names=["c", "f"], tables=["image.a"])
    report = fuse(tmp / "m", tmp / "out", FuseOptions(format="arrow", missing="zero", normalize_by="source_dataset"))
    assert report.groups == 2
    data = open_dataset(tmp / "m")
    ids = data.samples_table(["sample_id"]).column("sample_id").to_pylist()
    values = data.read_table("image.a").column("feature").to_pylist()
    for split in report.rows:
        for item in FusedDataset(tmp / "out", split=split):
            corpus = item["sample_id"].split("/")[0]
            rows = np.array([v for i, v in zip(ids, values) if i.startswith(corpus + "/") and v is not None])
            own = np.asarray(values[ids.index(item["sample_id"])] or np.zeros(4), np.float64)
            expected = (own - rows.mean(axis=0)) / rows.std(axis=0) if item["present"][0] else np.zeros(4)
            np.testing.assert_allclose(item["feature"], expected, rtol=1e-5, atol=1e-6)


def test_group_ids_of_two_datasets_of_one_corpus_share_a_namespace_and_check_sees_the_leak(tmp_path):
    coco = _samples(12, "coco")
    a = build_dataset(tmp_path / "a", coco, [pooled_table("image.a", coco, dim=4)])
    b = build_dataset(tmp_path / "b", coco, [pooled_table("image.a", coco, dim=4)])
    merge_datasets([a, b], tmp_path / "m", splits={"b": "test"})
    report = check_dataset(tmp_path / "m")
    assert "split-leak" in {i.code for i in report.issues if i.severity == "error"}
    merge_datasets([a, b], tmp_path / "m", splits={"b": "test"}, shared_groups=True, force=True)
    groups = open_dataset(tmp_path / "m").samples_table().column("group_id").to_pylist()
    assert groups[:12] == [s.group_id for s in sorted(coco, key=lambda s: s.sample_id)]


def test_generic_manifest_corpora_take_the_dataset_name_as_namespace(tmp_path):
    rows = _samples(6, "manifest")
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=2)], corpus_kind="manifest")
    b = build_dataset(tmp_path / "b", rows, [pooled_table("image.a", rows, dim=2)], corpus_kind="manifest")
    merge_datasets([a, b], tmp_path / "m", splits={"b": "test"})
    groups = open_dataset(tmp_path / "m").samples_table().column("group_id").to_pylist()
    assert groups[0].startswith("a:") and groups[6].startswith("b:")
    assert [i.code for i in check_dataset(tmp_path / "m").issues if i.severity == "error"] == []


def test_sequence_tables_keep_their_frames_and_intervals(tmp_path):
    mosi = mosi_samples(videos=2, segments=3)
    other = [dataclasses.replace(s, corpus="mosei-raw", sample_id=s.sample_id.replace("vid", "v"),
                                 group_id=s.group_id.replace("vid", "v")) for s in mosi]
    a = build_dataset(tmp_path / "a", mosi, [frames_table("audio.f", mosi, dim=3, frame_rate=4.0)],
                      corpus_kind="mosi-raw", shard_size=4)
    b = build_dataset(tmp_path / "b", other, [frames_table("audio.f", other, dim=3, frame_rate=4.0, seed=2)],
                      corpus_kind="mosei-raw", shard_size=2)
    merge_datasets([a, b], tmp_path / "m")
    merged = open_dataset(tmp_path / "m")
    ids, offsets, values, intervals = merged.read_sequences("audio.f")
    expected = [open_dataset(d).read_sequences("audio.f") for d in (a, b)]
    np.testing.assert_array_equal(values, np.concatenate([e[2] for e in expected]))
    np.testing.assert_array_equal(intervals, np.concatenate([e[3] for e in expected]))
    assert list(ids) == [f"{n}/{i}" for n, e in zip("ab", expected) for i in e[0]]
    assert [i.code for i in check_dataset(merged.root).issues if i.severity == "error"] == []


def test_parquet_shards_are_read_and_written_in_pieces(two, monkeypatch):
    import mmdata.merge.tables as tables

    tmp, a, b = two
    monkeypatch.setattr(tables, "PIECE_ROWS", 2)  # a piece of 2 rows at most: each a row group of the output
    merge_datasets([a, b], tmp / "m")
    data = open_dataset(tmp / "m")
    files = layout.shard_files(data.table_dir("image.a"))
    assert [pq.ParquetFile(f).metadata.num_row_groups for f in files] == [3, 3, 3, 3]
    expected = [row["feature"] for d in (a, b) for row in open_dataset(d).read_table("image.a").to_pylist()]
    assert [row["feature"] for row in data.read_table("image.a").to_pylist()] == expected


def test_arrow_and_parquet_tables_merge_in_the_first_datasets_format(tmp_path):
    rows, more = _samples(5, "coco"), _samples(4, "flickr30k")
    arrow = dataclasses.replace(pooled_table("image.a", rows, dim=3), table_format="arrow")
    a = build_dataset(tmp_path / "a", rows, [arrow])
    b = build_dataset(tmp_path / "b", more, [pooled_table("image.a", more, dim=3, seed=3)], corpus_kind="flickr30k")
    merge_datasets([a, b], tmp_path / "m")
    data = open_dataset(tmp_path / "m")
    assert data.entry("image.a").format == "arrow"
    assert all(f.suffix == ".arrow" for f in layout.shard_files(data.table_dir("image.a")))
    _, x = data.to_numpy("image.a")
    np.testing.assert_array_equal(x, np.concatenate([open_dataset(d).to_numpy("image.a")[1] for d in (a, b)]))
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []


@pytest.mark.parametrize(("change", "why"), [
    (dict(config={"size": 2}), "options size=2, not 1"),
    (dict(spec_dim=5), "feature dim 5, not 4"),
    (dict(versions={"mmdata": "0.1.0", "librosa": "0.11.0"}), "library versions librosa 0.11.0, not absent"),
    (dict(complete=False), "incomplete in b"),
])
def test_a_table_made_otherwise_is_skipped_with_why_and_refused_when_asked_for(tmp_path, change, why):
    rows, more = _samples(5, "coco"), _samples(4, "flickr30k")
    other = pooled_table("image.a", more, dim=change.pop("spec_dim", 4))
    versions = change.pop("versions", None)
    other = dataclasses.replace(other, **change)
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=4), pooled_table("text.t", rows, dim=2)])
    b = build_dataset(tmp_path / "b", more, [other, pooled_table("text.t", more, dim=2)], corpus_kind="flickr30k")
    if versions:
        manifest = json.loads((b / "mmdata.json").read_text())
        manifest["tables"]["image.a"]["versions"] = versions
        (b / "mmdata.json").write_text(json.dumps(manifest))
    report = merge_datasets([a, b], tmp_path / "m")
    assert why in report.skipped["image.a"]
    assert [t.name for t in report.tables] == ["text.t"]
    with pytest.raises(DatasetError, match=f"table 'image.a' cannot be merged: .*{why}"):
        merge_datasets([a, b], tmp_path / "m2", tables=["image.a"])
    assert not (tmp_path / "m2").exists()
    if versions:
        report = merge_datasets([a, b], tmp_path / "m3", tables="image.a", any_versions=True)
        merged = json.loads((tmp_path / "m3" / "mmdata.json").read_text())
        assert [s["tables"]["image.a"]["versions"] for s in merged["extra"]["merge"]["sources"]] == [
            {"mmdata": "0.1.0"}, versions]
        assert [i.code for i in check_dataset(tmp_path / "m3").issues if i.severity == "error"] == []


def test_no_table_in_common_is_refused(tmp_path):
    rows, more = _samples(5, "coco"), _samples(4, "flickr30k")
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=4)])
    b = build_dataset(tmp_path / "b", more, [pooled_table("text.t", more, dim=2)], corpus_kind="flickr30k")
    with pytest.raises(DatasetError, match=r"no feature table is in every dataset .*image.a: not in b; text.t: not in a"):
        merge_datasets([a, b], tmp_path / "m")
    with pytest.raises(DatasetError, match="table 'image.b' is in none of the datasets; .*did you mean 'image.a'"):
        merge_datasets([a, b], tmp_path / "m", tables=["image.b"])


def test_names_and_splits_are_checked_before_anything_is_written(two, tmp_path):
    _, a, b = two
    out = tmp_path / "m"
    cases = [
        (dict(datasets=[a]), ConfigError, "merge takes two datasets or more"),
        (dict(datasets=[a, a]), ConfigError, "is given twice"),
        (dict(names=["x"]), ConfigError, "1 names for 2 datasets"),
        (dict(names=["x", "x"]), ConfigError, "name 'x' is given to two datasets"),
        (dict(names=["x/y", "z"]), ConfigError, "dataset name 'x/y' \(given\): expected letters"),
        (dict(splits={"flick": "test"}), ConfigError, "no dataset of the merge is named so; .*did you mean 'flickr'"),
        (dict(splits={"flickr": " test"}), ConfigError, "expected a split name"),
        (dict(corpus_roots="flickr=/data"), ConfigError, "corpus_roots: expected a mapping of dataset name -> folder"),
    ]
    for kwargs, error, message in cases:
        datasets = kwargs.pop("datasets", [a, b])
        with pytest.raises(error, match=message):
            merge_datasets(datasets, out, **kwargs)
    assert not out.exists()


def test_two_folders_of_one_name_need_names(tmp_path):
    rows = _samples(4, "coco")
    a = build_dataset(tmp_path / "x" / "out", rows, [pooled_table("image.a", rows, dim=2)])
    b = build_dataset(tmp_path / "y" / "out", rows, [pooled_table("image.a", rows, dim=2)])
    with pytest.raises(ConfigError, match="two datasets are in folders named 'out'"):
        merge_datasets([a, b], tmp_path / "m")
    merge_datasets([a, b], tmp_path / "m", names="x,y", shared_groups=True)
    assert open_dataset(tmp_path / "m").samples_table().column("sample_id")[4].as_py().startswith("y/")


def test_extra_already_naming_a_source_dataset_and_a_merged_dataset_are_refused(tmp_path, two):
    _, a, b = two
    rows = _samples(3, "coco", extra={"source_dataset": "mine"})
    c = build_dataset(tmp_path / "c", rows, [pooled_table("image.a", rows, dim=4)])
    with pytest.raises(DatasetError, match=r"sample '000000000000' of .*/c: its extra already holds 'source_dataset', the "
                                           r"key a merge names the dataset with \(3 such samples\); rename that field"):
        merge_datasets([a, c], tmp_path / "m1")
    merge_datasets([a, b], tmp_path / "m2")
    with pytest.raises(DatasetError, match="is a merged dataset already; merge the datasets it was made of \\(coco, flickr\\)"):
        merge_datasets([tmp_path / "m2", a], tmp_path / "m3")


def test_an_existing_output_is_replaced_only_with_force_and_only_when_a_merge_wrote_it(two):
    tmp, a, b = two
    merge_datasets([a, b], tmp / "m")
    with pytest.raises(DatasetError, match="already exists"):
        merge_datasets([a, b], tmp / "m")
    merge_datasets([a, b], tmp / "m", splits={"coco": "train"}, force=True)
    assert open_dataset(tmp / "m").manifest.samples["splits"]["train"] == 12 + 6
    rows = _samples(3, "coco")
    other = build_dataset(tmp / "other", rows, [pooled_table("image.a", rows, dim=4)])
    with pytest.raises(DatasetError, match="is a dataset that `mmdata merge` did not write"):
        merge_datasets([a, b], other, force=True)
    with pytest.raises(DatasetError, match="holds the input|is the input"):
        merge_datasets([a, b], a, force=True)


def test_a_failure_while_writing_leaves_no_output_and_the_next_run_writes_it_whole(two, monkeypatch):
    tmp, a, b = two
    import mmdata.merge.tables as tables

    calls = []

    class FailingOnThird(tables.ShardWriter):
        def commit(self):
            calls.append(self.path)
            if len(calls) == 3:
                raise OSError(28, "No space left on device")
            return super().commit()

    monkeypatch.setattr(tables, "ShardWriter", FailingOnThird)
    with pytest.raises(OSError, match="No space left on device"):
        merge_datasets([a, b], tmp / "m")
    assert not (tmp / "m").exists()
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".m")] == []
    monkeypatch.undo()
    merge_datasets([a, b], tmp / "m")
    assert open_dataset(tmp / "m").entry("image.a").rows == 19
