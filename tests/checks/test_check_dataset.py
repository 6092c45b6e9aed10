"""`check_dataset` end to end: clean datasets pass; one dataset per defect is caught with the right
code, table and sample id."""
from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest

from mmdata.checks import CheckOptions, check_dataset
from mmdata.errors import UnknownNameError
from mmdata.store import layout
from mmdata.store.manifest import read_manifest, write_manifest
from mmdata.store.metadata import FeatureSpec
from tests.checks.builder import (
    aligned_table, build_dataset, frames_table, image_text_samples, mosi_samples, pooled_table, with_value,
)

MOSI = {"corpus_kind": "mosi-raw", "corpus_options": {"dataset": "cmu-mosi"}}


def _image_text(tmp_path, *, image=None, text=None, samples=None, **kwargs):
    samples = samples or image_text_samples()
    image = image or pooled_table("image.a", samples, 4)
    text = text or pooled_table("text.b", samples, 3, seed=1)
    return build_dataset(tmp_path / "ds", samples, [image, text], **kwargs)


def _mosi(tmp_path, *, audio=None, samples=None, **kwargs):
    samples = samples or mosi_samples()
    audio = audio or frames_table("audio.f", samples, 3, 10.0)
    tables = [audio, frames_table("video.g", samples, 2, 5.0, seed=2), aligned_table("text.w", samples, 3, 4)]
    return build_dataset(tmp_path / "ds", samples, tables, **{**MOSI, **kwargs})


def _only(report, code):
    found = [i for i in report.issues if i.code == code]
    assert found, f"expected {code}, got {[i.one_line() for i in report.issues]}"
    return found[0]


def test_clean_image_text_dataset_passes_with_split_counts(tmp_path):
    report = check_dataset(_image_text(tmp_path))
    assert report.ok
    assert [i.code for i in report.issues] == ["split-counts"]
    assert report.splits == {"test": 2, "train": 7, "val": 3}
    assert report.rows_checked == 24
    assert report.tables["image.a"]["rows"] == 12


def test_clean_temporal_dataset_passes_with_full_coverage(tmp_path):
    report = check_dataset(_mosi(tmp_path))
    assert report.ok, [i.one_line() for i in report.issues]
    assert report.codes() == {"split-counts"}
    assert report.tables["audio.f"]["coverage_min"] == pytest.approx(1.0)
    assert report.tables["text.w"]["coverage_mean"] == pytest.approx(1.0)


def _drop_last(fake):
    return replace(fake, ids=[f"{i:012d}" for i in range(11)], values=fake.values[:11])


def _rename(fake, index, new_id):
    ids = [f"{i:012d}" for i in range(12)]
    ids[index] = new_id
    return replace(fake, ids=ids)


def _swap(fake, a, b):
    ids = [f"{i:012d}" for i in range(12)]
    values = list(fake.values)
    ids[a], ids[b] = ids[b], ids[a]
    values[a], values[b] = values[b], values[a]
    return replace(fake, ids=ids, values=values)


S = image_text_samples()
IMAGE = pooled_table("image.a", S, 4)
POOLED_DEFECTS = {
    "ids-missing": (_drop_last(IMAGE), "000000000011"),
    "ids-extra": (_rename(IMAGE, 4, "999999999999"), "999999999999"),
    "ids-duplicate": (_rename(IMAGE, 4, "000000000003"), "000000000003"),
    "ids-order": (_swap(IMAGE, 2, 7), "000000000007"),
    "dim-mismatch": (replace(IMAGE, shard_specs={1: FeatureSpec(dim=5)},
                             values=[np.zeros(5, np.float32) if 5 <= i < 10 else v for i, v in enumerate(IMAGE.values)]),
                     "000000000005"),
    "non-finite": (with_value(IMAGE, 6, np.array([0, np.nan, 1, np.inf], np.float32)), "000000000006"),
    "feature-null": (replace(with_value(IMAGE, 9, None), record_failures=False), "000000000009"),
    "provenance-mismatch": (replace(IMAGE, metadata={"config": {"size": 2}}), "000000000000"),
    "fingerprint-mismatch": (replace(IMAGE, metadata={"samples_fingerprint": "0123456789abcdef"}), "000000000000"),
    "shard-rows": (replace(IMAGE, shard_size=4), "000000000004"),
}


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
@pytest.mark.parametrize("code", sorted(POOLED_DEFECTS))
def test_each_pooled_table_defect_is_caught_with_code_and_sample(tmp_path, code, table_format):
    fake, sample_id = POOLED_DEFECTS[code]
    text = replace(pooled_table("text.b", S, 3, seed=1), table_format=table_format)
    report = check_dataset(_image_text(tmp_path, image=replace(fake, table_format=table_format), text=text))
    assert not report.ok
    issue = _only(report, code)
    assert (issue.severity, issue.table, issue.sample_id) == ("error", "image.a", sample_id)
    assert "text.b" not in {i.table for i in report.errors}


def test_rows_out_of_order_are_all_listed_as_offenders(tmp_path):
    issue = _only(check_dataset(_image_text(tmp_path, image=POOLED_DEFECTS["ids-order"][0])), "ids-order")
    assert issue.count == 2 and issue.examples == ("000000000007", "000000000002")


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_shards_computed_on_different_devices_are_a_warning_naming_both(tmp_path, table_format):
    devices = {0: "cpu", 1: "cuda:0", 2: "cuda:0"}  # shards of 5 rows: a run resumed on a GPU after shard 0
    fake = replace(IMAGE, table_format=table_format,
                   shard_metadata={k: {"runtime": {"device": d}} for k, d in devices.items()})
    report = check_dataset(_image_text(tmp_path, image=fake))
    assert report.ok  # runtime options do not change what is computed: a warning, not an error
    issue = _only(report, "provenance-runtime")
    assert (issue.severity, issue.table, issue.sample_id) == ("warning", "image.a", "000000000005")
    assert f'{{"device": "cpu"}} in part-00000.{table_format}' in issue.message
    assert f'{{"device": "cuda:0"}} in part-00001.{table_format} and 1 more' in issue.message
    same = replace(fake, shard_metadata={k: {"runtime": {"device": "cpu"}} for k in devices})
    assert not [i for i in check_dataset(_image_text(tmp_path / "same", image=same)).issues if i.code == "provenance-runtime"]


def test_non_finite_counts_nan_and_inf_and_names_first_offenders(tmp_path):
    fake = with_value(with_value(IMAGE, 6, np.array([0, np.nan, np.nan, 1], np.float32)), 8,
                      np.array([np.inf, 0, 0, 0], np.float32))
    issue = _only(check_dataset(_image_text(tmp_path, image=fake)), "non-finite")
    assert issue.count == 2
    assert "3 feature values are not finite (2 NaN, 1 Inf)" in issue.message
    assert "'000000000006', '000000000008'" in issue.message


def test_failed_sample_recorded_in_errors_table_is_a_warning_not_an_error(tmp_path):
    report = check_dataset(_image_text(tmp_path, image=with_value(IMAGE, 9, None)))
    assert report.ok
    issue = _only(report, "feature-failed")
    assert (issue.severity, issue.sample_id, issue.count) == ("warning", "000000000009", 1)
    assert report.tables["image.a"]["null"] == 1


def test_incomplete_table_is_an_error(tmp_path):
    issue = _only(check_dataset(_image_text(tmp_path, image=replace(IMAGE, complete=False))), "table-incomplete")
    assert (issue.severity, issue.table) == ("error", "image.a")


@pytest.mark.parametrize(("extractor", "config", "hint"), [
    ("color-hist", {}, "re-run `mmdata extract`"),
    ("align", {"reference": "text.words"}, "re-run it with the same options (--reference text.words)"),
    ("segment", {}, "run it again with --force"),
])
def test_an_incomplete_table_names_the_command_that_finishes_it(tmp_path, extractor, config, hint):
    root = _image_text(tmp_path, image=replace(IMAGE, complete=False))
    manifest = read_manifest(root)
    manifest.tables["image.a"].extractor, manifest.tables["image.a"].config = extractor, config
    write_manifest(root, manifest)
    issue = _only(check_dataset(root), "table-incomplete")
    assert hint in issue.message


def test_table_in_the_manifest_without_shards_is_missing(tmp_path):
    root = _image_text(tmp_path)
    shutil.rmtree(layout.feature_dir(root, "image.a"))
    report = check_dataset(root)
    issue = _only(report, "table-missing")
    assert (issue.severity, issue.table, issue.sample_id) == ("error", "image.a", None)
    assert report.tables["image.a"]["rows"] == 0 and "text.b" not in {i.table for i in report.errors}


def _strip_metadata(shard):
    """A shard edit: shard `shard` written by another tool, without mmdata's schema metadata."""
    return lambda index, table: table.replace_schema_metadata(None) if index == shard else table


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_shard_without_mmdata_metadata_is_a_provenance_warning(tmp_path, table_format):
    fake = replace(IMAGE, edit=_strip_metadata(1), table_format=table_format)
    report = check_dataset(_image_text(tmp_path, image=fake))
    assert report.ok  # the data may well be right; it just cannot be verified
    issue = _only(report, "provenance-missing")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("warning", "image.a", "000000000005", 1)
    assert f"part-00001.{table_format} has no mmdata schema metadata" in issue.message


PROVENANCE_CHANGES = {  # what one shard records differently -> the first sample of that shard
    "versions": ({2: {"versions": {"mmdata": "0.2.0"}}}, "000000000010", "mmdata=0.2.0, not mmdata=0.1.0"),
    "extractor": ({1: {"extractor": "other"}}, "000000000005", "'other', not 'a'"),
}


@pytest.mark.parametrize("key", sorted(PROVENANCE_CHANGES))
def test_shard_written_by_another_version_or_extractor_is_a_provenance_mismatch(tmp_path, key):
    shard_metadata, sample_id, recorded = PROVENANCE_CHANGES[key]
    report = check_dataset(_image_text(tmp_path, image=replace(IMAGE, shard_metadata=shard_metadata)))
    issue = _only(report, "provenance-mismatch")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("error", "image.a", sample_id, 1)
    assert f"was written with {key} {recorded}" in issue.message


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_shard_of_another_dtype_only_is_a_type_mismatch(tmp_path, table_format):
    fake = replace(IMAGE, shard_specs={1: FeatureSpec(dim=4, dtype="float16")}, table_format=table_format)
    issue = _only(check_dataset(_image_text(tmp_path, image=fake)), "dim-mismatch")
    assert (issue.severity, issue.table, issue.sample_id) == ("error", "image.a", "000000000005")
    assert "halffloat" in issue.message and "(dim 4, dtype float32, kind pooled)" in issue.message


def test_missing_captions_in_a_captioned_corpus(tmp_path):
    samples = [replace(s, captions=()) if s.sample_id == "000000000004" else s for s in S]
    issue = _only(check_dataset(_image_text(tmp_path, samples=samples)), "captions-missing")
    assert (issue.severity, issue.sample_id) == ("error", "000000000004")


def test_captions_of_whitespace_only_are_missing_captions(tmp_path):
    blank = {"000000000002": ("   ", "\t"), "000000000006": ("", " a dog ")}
    samples = [replace(s, captions=blank[s.sample_id]) if s.sample_id in blank else s for s in S]
    issue = _only(check_dataset(_image_text(tmp_path, samples=samples)), "captions-missing")
    assert (issue.severity, issue.sample_id, issue.count) == ("error", "000000000002", 1)  # 6 has one real caption


def test_image_in_two_splits_is_a_split_leak(tmp_path):
    samples = [replace(s, image="img/000000000001.jpg") if s.sample_id == "000000000008" else s for s in S]
    issue = _only(check_dataset(_image_text(tmp_path, samples=samples)), "split-leak")
    assert issue.sample_id == "000000000008"
    assert "image 'img/000000000001.jpg' in splits ['train', 'test']" in issue.message


M = mosi_samples()
AUDIO = frames_table("audio.f", M, 3, 10.0)
_IDX = {s.sample_id: i for i, s in enumerate(M)}


def _intervals_of(sample_id, edit):
    ivs = np.array(AUDIO.intervals[_IDX[sample_id]], copy=True)
    edit(ivs)
    return with_value(AUDIO, _IDX[sample_id], AUDIO.values[_IDX[sample_id]], ivs)


def _swap_rows(ivs):
    ivs[[2, 5]] = ivs[[5, 2]]


def _negative(ivs):
    ivs[0, 0] = -0.25


def _outside(ivs):
    ivs[-1] = [30.0, 30.1]


TEMPORAL_DEFECTS = {
    "intervals-unsorted": (_intervals_of("vid1[2]", _swap_rows), "vid1[2]"),
    "intervals-negative": (_intervals_of("vid2[0]", _negative), "vid2[0]"),
    "intervals-outside": (_intervals_of("vid3[1]", _outside), "vid3[1]"),
    "frame-count": (replace(AUDIO, spec=replace(AUDIO.spec, frame_rate=25.0)), "vid0[0]"),
}


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
@pytest.mark.parametrize("code", sorted(TEMPORAL_DEFECTS))
def test_each_temporal_defect_is_caught_with_code_and_sample(tmp_path, code, table_format):
    fake, sample_id = TEMPORAL_DEFECTS[code]
    report = check_dataset(_mosi(tmp_path, audio=replace(fake, table_format=table_format)))
    issue = _only(report, code)
    assert (issue.severity, issue.table, issue.sample_id) == ("error", "audio.f", sample_id)


def test_half_covered_segment_is_a_low_coverage_warning(tmp_path):
    index = _IDX["vid2[1]"]
    fake = with_value(AUDIO, index, AUDIO.values[index][:6], AUDIO.intervals[index][:6])
    report = check_dataset(_mosi(tmp_path, audio=fake), CheckOptions(min_coverage=0.9, frame_tolerance=0.9))
    issue = _only(report, "coverage-low")
    assert (issue.severity, issue.sample_id) == ("warning", "vid2[1]")
    assert "covers 30%" in issue.message
    assert report.tables["audio.f"]["coverage_min"] == pytest.approx(0.3)


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_non_finite_frames_of_a_sequence_table_name_their_samples(tmp_path, table_format):
    values = [v.copy() for v in AUDIO.values]
    values[_IDX["vid0[2]"]][[0, 7], 2] = np.nan  # two frames of one sample, and one of another
    values[_IDX["vid1[1]"]][3, 1] = -np.inf
    report = check_dataset(_mosi(tmp_path, audio=replace(AUDIO, values=values, table_format=table_format)))
    issue = _only(report, "non-finite")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("error", "audio.f", "vid0[2]", 2)
    assert "3 feature values are not finite (2 NaN, 1 Inf) in 2 samples" in issue.message
    assert "'vid0[2]', 'vid1[1]'" in issue.message


def _drop_last_interval(sample_id):
    """A shard edit: `sample_id` loses its last interval but keeps every feature row (the writer refuses that)."""
    def edit(index, table):
        ids = table.column("sample_id").to_pylist()
        if sample_id not in ids:
            return table
        intervals = table.column("intervals").to_pylist()
        intervals[ids.index(sample_id)].pop()
        column = table.schema.get_field_index("intervals")
        field = table.schema.field(column)
        return table.set_column(column, field, pa.array(intervals, field.type))
    return edit


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_fewer_intervals_than_feature_rows_is_an_interval_length_error(tmp_path, table_format):
    fake = replace(AUDIO, edit=_drop_last_interval("vid2[1]"), table_format=table_format)
    report = check_dataset(_mosi(tmp_path, audio=fake))
    issue = _only(report, "intervals-length")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("error", "audio.f", "vid2[1]", 1)
    assert "sample has 20 feature rows but 19 intervals" in issue.message
    assert {i.code for i in report.errors} == {"intervals-length"}


def test_segments_of_one_video_in_two_folds_leak(tmp_path):
    samples = [replace(s, split="test") if s.sample_id == "vid0[2]" else s for s in M]
    issue = _only(check_dataset(_mosi(tmp_path, samples=samples)), "split-leak")
    assert issue.sample_id == "vid0[2]"
    assert "group_id 'vid0'" in issue.message


def test_missing_transcript_and_label_out_of_mosi_range(tmp_path):
    samples = [replace(s, transcript=" ") if s.sample_id == "vid1[0]" else
               replace(s, label=3.5) if s.sample_id == "vid3[2]" else s for s in M]
    report = check_dataset(_mosi(tmp_path, samples=samples))
    assert _only(report, "transcript-missing").sample_id == "vid1[0]"
    issue = _only(report, "label-range")
    assert issue.sample_id == "vid3[2]" and "outside [-3, 3]" in issue.message


def test_unlabelled_sample_of_a_labelled_corpus_is_a_warning(tmp_path):
    samples = [replace(s, label=None) if s.sample_id == "vid1[1]" else s for s in M]
    report = check_dataset(_mosi(tmp_path, samples=samples))
    assert report.ok
    issue = _only(report, "label-missing")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("warning", None, "vid1[1]", 1)


def test_label_range_comes_from_the_corpus_or_the_option(tmp_path):
    samples = [replace(s, label=0.9 if s.sample_id != "vid0[1]" else 1.5) for s in M]
    sims = check_dataset(_mosi(tmp_path, samples=samples, corpus_options={"dataset": "ch-sims"}))
    assert _only(sims, "label-range").sample_id == "vid0[1]"
    widened = check_dataset(tmp_path / "ds", CheckOptions(label_range=(-3.0, 3.0)))
    assert "label-range" not in widened.codes()


def test_unknown_table_name_raises_before_checking(tmp_path):
    with pytest.raises(UnknownNameError, match="no table 'image.nope'"):
        check_dataset(_image_text(tmp_path), tables=["image.nope"])


def test_only_the_named_tables_are_checked(tmp_path):
    root = _image_text(tmp_path, image=_rename(IMAGE, 4, "999999999999"))
    report = check_dataset(root, tables=["text.b"])
    assert report.ok and list(report.tables) == ["text.b"]


def test_samples_shard_without_a_column_names_the_shard_and_the_column(tmp_path):
    import pyarrow.parquet as pq

    from mmdata.errors import DatasetError

    root = _image_text(tmp_path)
    shard = layout.shard_files(layout.samples_dir(root))[0]
    pq.write_table(pq.read_table(shard).drop_columns(["split"]), shard)  # rewritten by another tool
    with pytest.raises(DatasetError, match=rf"samples shard .*{shard.name} lacks the columns \['split'\]; .*"
                                           r"restore the file from a copy"):
        check_dataset(root)


def _second_image_shard(tmp_path, table_format):
    """The image-text dataset with both tables in `table_format`, and the second shard of image.a."""
    image = replace(pooled_table("image.a", S, 4), table_format=table_format)
    text = replace(pooled_table("text.b", S, 3, seed=1), table_format=table_format)
    root = _image_text(tmp_path, image=image, text=text)
    return root, layout.shard_files(layout.feature_dir(root, "image.a"))[1]


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_truncated_shard_is_an_unreadable_shard_error_and_the_other_tables_are_still_checked(tmp_path, table_format):
    root, shard = _second_image_shard(tmp_path, table_format)
    shard.write_bytes(shard.read_bytes()[:200])  # a copy cut short
    report = check_dataset(root)
    issue = _only(report, "shard-unreadable")
    assert (issue.severity, issue.table) == ("error", "image.a")
    assert str(shard) in issue.message and "re-run the command that wrote the table" in issue.message
    assert report.tables["text.b"]["rows"] == 12 and "text.b" not in {i.table for i in report.errors}
    assert report.tables["image.a"]["partial"] and report.tables["image.a"]["shards"] == 3
    assert "partial" not in report.tables["text.b"]


def test_a_missing_or_replaced_samples_shard_is_named_not_reported_as_another_dataset(tmp_path):
    from mmdata.errors import DatasetError

    root = _image_text(tmp_path)
    shards = layout.shard_files(layout.samples_dir(root))
    shards[1].unlink()
    with pytest.raises(DatasetError, match=r"2 shards, mmdata.json lists 3 \(\['part-00001.parquet'\] missing\); "
                                           r"restore the file from a copy"):
        check_dataset(root)
    for replaced in shards[1:]:  # shard 0 (5 rows) copied where shards 1 (5) and 2 (2) were
        shutil.copy(shards[0], replaced)
    with pytest.raises(DatasetError, match=r"part-00002.parquet holds 5 rows, mmdata.json lists 2: the file was replaced"):
        check_dataset(root)
    shutil.copy(shards[0], shards[0].with_name("part-00003.parquet"))  # one more than the manifest lists
    with pytest.raises(DatasetError, match=r"4 shards, mmdata.json lists 3 \(\['part-00003.parquet'\] not listed\)"):
        check_dataset(root)


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
def test_a_shard_without_ids_is_caught_by_check_and_refused_by_fuse(tmp_path, table_format):
    from mmdata.errors import DatasetError
    from mmdata.fusion import fuse
    from mmdata.store.shards import read_shard
    from mmdata.store.writer import write_table_atomic

    root, shard = _second_image_shard(tmp_path, table_format)
    table = read_shard(shard)
    write_table_atomic(table.drop_columns(["sample_id"]).replace_schema_metadata(table.schema.metadata), shard)
    report = check_dataset(root)
    assert not report.ok and "ids-missing" in {i.code for i in report.errors if i.table == "image.a"}
    with pytest.raises(DatasetError, match="image.a"):
        fuse(root, tmp_path / "out", format=table_format)
    assert not (tmp_path / "out").exists()
