"""What a merged dataset keeps of its datasets' corpora: caption facts (images kept without captions on purpose,
splits published without captions), the loader's label names (`fuse --labels`), counts of non-finite values,
its media root wherever the merged folder is moved; which table options are compared (a `.csd` table's file,
an MMSA pickle's shapes and a segmented table's label file aside); rows that do not match their samples; samples
columns of a share left out; `--corpus-root` on the command line."""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata import check_dataset, fuse, open_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.merge import merge_datasets
from mmdata.merge.sources import entries_differ
from mmdata.store import layout
from mmdata.store.manifest import TableEntry
from tests.checks.builder import build_dataset, image_text_samples, pooled_table


def _edit_manifest(root, edit):
    manifest = json.loads((root / "mmdata.json").read_text())
    edit(manifest)
    (root / "mmdata.json").write_text(json.dumps(manifest))


def _pair(tmp_path, *, a_extra=None, b_kind="flickr30k", **build):
    rows = [dataclasses.replace(s, extra=a_extra) for s in image_text_samples(6)]
    more = [dataclasses.replace(s, corpus=b_kind, extra=a_extra) for s in image_text_samples(4)]
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=3)], **build)
    b = build_dataset(tmp_path / "b", more, [pooled_table("image.a", more, dim=3)], corpus_kind=b_kind, **build)
    for root in (a, b):
        (root / "corpus").mkdir()
    return a, b


def test_images_kept_without_captions_stay_a_warning(tmp_path):
    rows = image_text_samples(6)
    rows[2] = dataclasses.replace(rows[2], captions=())
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=3)],
                      corpus_options={"keep_images_without_captions": "yes"})
    more = [dataclasses.replace(s, corpus="flickr30k") for s in image_text_samples(4)]
    b = build_dataset(tmp_path / "b", more, [pooled_table("image.a", more, dim=3)], corpus_kind="flickr30k")
    before = {(i.code, i.severity) for i in check_dataset(a).issues if i.code == "captions-missing"}
    assert before == {("captions-missing", "warning")}
    merge_datasets([a, b], tmp_path / "m")
    assert {(i.code, i.severity) for i in check_dataset(tmp_path / "m").issues if i.code == "captions-missing"} == before


def test_splits_published_without_captions_stay_so(tmp_path):
    rows = [dataclasses.replace(s, captions=() if s.split == "test" else s.captions) for s in image_text_samples(10)]
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=3)])
    _edit_manifest(a, lambda m: m["extra"].update(loader={"uncaptioned_splits": ["test"]}))
    more = [dataclasses.replace(s, corpus="flickr30k", split="train") for s in image_text_samples(4)]
    b = build_dataset(tmp_path / "b", more, [pooled_table("image.a", more, dim=3)], corpus_kind="flickr30k")
    assert [i.code for i in check_dataset(a).issues if i.severity == "error"] == []
    merge_datasets([a, b], tmp_path / "m")
    assert open_dataset(tmp_path / "m").manifest.extra["loader"] == {"uncaptioned_splits": ["test"]}
    assert [i.code for i in check_dataset(tmp_path / "m").issues if i.severity == "error"] == []


def test_label_names_every_dataset_records_alike_are_kept_for_fuse_labels(tmp_path):
    extra = {"labels": {"happy": 1.0, "sad": 0.0}}
    a, b = _pair(tmp_path, a_extra=extra)
    loader = {"label_names": ["happy", "sad"], "label_fields": {"happy": ["labels", "happy"], "sad": ["labels", "sad"]}}
    for root in (a, b):
        _edit_manifest(root, lambda m: m["extra"].update(loader=dict(loader)))
    merge_datasets([a, b], tmp_path / "m")
    assert open_dataset(tmp_path / "m").manifest.extra["loader"] == loader
    report = fuse(tmp_path / "m", tmp_path / "f", format="arrow", labels=["happy"])
    assert report.labels == ["label_happy"]
    from mmdata import FusedDataset

    assert {float(item["labels"][0]) for item in FusedDataset(tmp_path / "f", split="train")} == {1.0}


def test_non_finite_counts_are_the_tables_totals_not_copied_per_shard(tmp_path):
    rows, more = image_text_samples(6), [dataclasses.replace(s, corpus="flickr30k") for s in image_text_samples(4)]
    counted = dict(metadata={"nonfinite_values": 5})
    a = build_dataset(tmp_path / "a", rows, [dataclasses.replace(pooled_table("image.a", rows, dim=3), **counted)])
    b = build_dataset(tmp_path / "b", more, [dataclasses.replace(pooled_table("image.a", more, dim=3), **counted)],
                      corpus_kind="flickr30k")
    for root, total in ((a, 10), (b, 5)):
        _edit_manifest(root, lambda m, total=total: m["extra"].update(nonfinite_values={"image.a": total}))
    merge_datasets([a, b], tmp_path / "m")
    data = open_dataset(tmp_path / "m")
    assert data.manifest.extra["nonfinite_values"] == {"image.a": 15}
    from mmdata.store.metadata import read_table_metadata

    assert all("nonfinite_values" not in read_table_metadata(f) for f in layout.shard_files(data.table_dir("image.a")))


def test_a_merged_dataset_moved_elsewhere_reaches_its_media(tmp_path):
    a, b = _pair(tmp_path)
    (a / "corpus" / "img").mkdir()
    photo = sorted(s.image for s in image_text_samples(6))[0]
    (a / "corpus" / photo).write_bytes(b"\xff\xd8")
    merge_datasets([a, b], tmp_path / "m")
    shutil.move(tmp_path / "m", tmp_path / "moved")
    data = open_dataset(tmp_path / "moved")
    assert data.manifest.corpus_location() == (tmp_path / "moved" / "corpora").resolve()
    assert (data.manifest.corpus_location() / f"a/{photo}").read_bytes() == b"\xff\xd8"


@pytest.mark.parametrize(("key", "mine", "theirs"), [
    ("file", "CMU_MOSI_COVAREP.csd", "CMU_MOSEI_COVAREP.csd"),
    ("root_name", "COVAREP", "COAVAREP"),
    ("shapes", {"train": [1284, 50, 74]}, {"train": [16326, 50, 74]}),
])
def test_options_naming_a_datasets_own_files_are_not_compared(key, mine, theirs):
    spec = {"dim": 74, "dtype": "float32", "kind": "sequence"}
    first = TableEntry("audio.covarep", "features/audio.covarep", "audio", "precomputed", {key: mine, "nonfinite": "zero"},
                       spec, complete=True)
    other = dataclasses.replace(first, config={key: theirs, "nonfinite": "zero"})
    assert entries_differ(first, other, any_versions=False) is None
    changed = dataclasses.replace(first, config={key: theirs, "nonfinite": "keep"})
    assert entries_differ(first, changed, any_versions=False) == (
        "options nonfinite='keep', not 'zero'; extract the table with the same options into each dataset")


def test_a_segmented_table_compares_its_source_tables_options_unless_read_from_corpus_files():
    spec = {"dim": 3, "dtype": "float32", "kind": "sequence"}

    def segmented(extractor, fingerprint, labels):
        return TableEntry("audio.f", "features/audio.f", "audio", "segment",
                          {"table": "audio.f", "labels": labels, "epsilon": 1e-8,
                           "source": {"extractor": extractor, "source": None, "rows": 10, "config": fingerprint,
                                      "samples": "abc"}}, spec, complete=True)

    assert entries_differ(segmented("librosa-logmel", "aaaa", "MOSI.csd"), segmented("librosa-logmel", "aaaa", "MOSEI.csd"),
                          any_versions=False) is None
    assert "source_config='bbbb', not 'aaaa'" in entries_differ(
        segmented("librosa-logmel", "aaaa", "MOSI.csd"), segmented("librosa-logmel", "bbbb", "MOSI.csd"), any_versions=False)
    assert entries_differ(segmented("precomputed", "aaaa", "MOSI.csd"), segmented("precomputed", "bbbb", "MOSEI.csd"),
                          any_versions=False) is None


def test_a_table_with_a_row_missing_is_refused_naming_its_dataset_and_sample(tmp_path):
    a, b = _pair(tmp_path)
    shard = layout.shard_files(b / "features" / "image.a")[-1]
    table = pq.read_table(shard)
    pq.write_table(table.slice(0, table.num_rows - 1).replace_schema_metadata(table.schema.metadata), shard)
    last = open_dataset(b).samples_table().column("sample_id")[-1].as_py()
    with pytest.raises(DatasetError, match=rf"table 'image.a' of {b}: no row for sample '{last}'.*run `mmdata check` on "
                                           "that dataset"):
        merge_datasets([a, b], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_samples_columns_of_a_share_are_left_out_and_said(tmp_path):
    a, b = _pair(tmp_path)
    for shard in layout.shard_files(layout.samples_dir(b)):
        table = pq.read_table(shard)
        pq.write_table(table.append_column("image_file", pa.array([b"\xff"] * table.num_rows)), shard)
    report = merge_datasets([a, b], tmp_path / "m")
    assert report.left_out == {"b": ["image_file"]}
    assert "image_file" not in open_dataset(tmp_path / "m").samples_table().column_names
    np.testing.assert_array_equal(open_dataset(tmp_path / "m").to_numpy("image.a")[1][6:],
                                  open_dataset(b).to_numpy("image.a")[1])


def test_corpus_root_on_the_command_line(tmp_path):
    a, b = _pair(tmp_path)
    shutil.rmtree(b / "corpus")
    (tmp_path / "elsewhere").mkdir()
    runner = CliRunner()
    result = runner.invoke(app, ["merge", str(a), str(b), str(tmp_path / "m")])
    assert result.exit_code == 0
    assert f"media of b: not reachable (its corpus folder {b / 'corpus'} is gone; give it with --corpus-root b=DIR" in result.output
    result = runner.invoke(app, ["merge", str(a), str(b), str(tmp_path / "m"), "--force", "--corpus-root",
                                 f"b={tmp_path / 'elsewhere'}"])
    assert result.exit_code == 0, result.output
    assert "not reachable" not in result.output
    assert (tmp_path / "m" / "corpora" / "b").resolve() == (tmp_path / "elsewhere").resolve()
    bad = runner.invoke(app, ["merge", str(a), str(b), str(tmp_path / "m2"), "--corpus-root", "b"])
    assert bad.exit_code == 2 and "--corpus-root 'b': expected NAME=DIR" in bad.output
