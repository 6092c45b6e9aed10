"""Merging what other commands make and read: aligned tables (merged with their inputs, and found up to date by
`align` on the merged dataset), datasets of one mmdata minor series but other patch releases, tables whose
columns differ, the transcript and label-range checks of the merged corpora, `share` of a merged dataset
(media relative to the merged corpus root, no path of this machine), and corpus folders a dataset does not
record."""
from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata import align_dataset, check_dataset, open_dataset, share_dataset
from mmdata.merge import merge_datasets
from mmdata.store import layout
from tests.checks.builder import build_dataset, frames_table, image_text_samples, mosi_samples, pooled_table


def _mosi(tmp_path, name: str, videos: int, kind: str = "mosi-raw", **table_options):
    samples = [dataclasses.replace(s, sample_id=s.sample_id.replace("vid", f"{name}v"),
                                   group_id=s.group_id.replace("vid", f"{name}v"), corpus=kind)
               for s in mosi_samples(videos=videos, segments=3)]
    tables = [frames_table("audio.f", samples, dim=3, frame_rate=4.0), frames_table("audio.g", samples, dim=2, frame_rate=2.0)]
    root = build_dataset(tmp_path / name, samples, tables, corpus_kind=kind, shard_size=4,
                         corpus_options={"dataset": "mosi"})
    return root, samples


def _errors(root):
    return [(i.code, i.message) for i in check_dataset(root).issues if i.severity == "error"]


def test_aligned_tables_merge_with_their_inputs_and_align_finds_them_up_to_date(tmp_path):
    a, _ = _mosi(tmp_path, "a", videos=2)
    b, _ = _mosi(tmp_path, "b", videos=3)
    for root in (a, b):
        align_dataset(root, "audio.g", tables=["audio.f"])
    report = merge_datasets([a, b], tmp_path / "m")
    assert [t.name for t in report.tables] == ["audio.f", "audio.f@audio.g", "audio.g", "audio.g@audio.g"]
    assert report.skipped == {}
    assert _errors(tmp_path / "m") == []
    merged = open_dataset(tmp_path / "m")
    assert merged.entry("audio.f@audio.g").source == open_dataset(a).entry("audio.f@audio.g").source
    again = align_dataset(tmp_path / "m", "audio.g", tables=["audio.f"])  # found complete, made from these inputs
    assert {t.name: t.shards_written for t in again.tables} == {"audio.f@audio.g": 0, "audio.g@audio.g": 0}


def test_an_aligned_table_whose_input_was_made_otherwise_is_skipped_naming_the_input(tmp_path):
    a, _ = _mosi(tmp_path, "a", videos=2)
    b, samples = _mosi(tmp_path, "b", videos=2)
    for root in (a, b):
        align_dataset(root, "audio.g", tables=["audio.f"])
    manifest = json.loads((b / "mmdata.json").read_text())
    manifest["tables"]["audio.f"]["config"] = {"size": 2}
    (b / "mmdata.json").write_text(json.dumps(manifest))
    report = merge_datasets([a, b], tmp_path / "m")
    assert report.skipped["audio.f@audio.g"].startswith("its input audio.f is made otherwise in b than in a: options size=2, not 1")


def test_datasets_of_other_patch_releases_merge_and_check_clean(tmp_path):
    rows, more = image_text_samples(5), [dataclasses.replace(s, corpus="flickr30k") for s in image_text_samples(4)]
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=3)])
    newer = dataclasses.replace(pooled_table("image.a", more, dim=3), metadata={"versions": {"mmdata": "0.1.7"}})
    b = build_dataset(tmp_path / "b", more, [newer], corpus_kind="flickr30k")
    manifest = json.loads((b / "mmdata.json").read_text())
    manifest["tables"]["image.a"]["versions"] = {"mmdata": "0.1.7"}
    (b / "mmdata.json").write_text(json.dumps(manifest))
    merge_datasets([a, b], tmp_path / "m")
    assert _errors(tmp_path / "m") == []
    sources = json.loads((tmp_path / "m" / "mmdata.json").read_text())["extra"]["merge"]["sources"]
    assert [s["tables"]["image.a"]["versions"] for s in sources] == [{"mmdata": "0.1.0"}, {"mmdata": "0.1.7"}]


def test_a_table_with_other_columns_is_skipped_and_refused_when_asked_for(tmp_path):
    rows, more = image_text_samples(5), [dataclasses.replace(s, corpus="flickr30k") for s in image_text_samples(4)]
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=3), pooled_table("image.b", rows, dim=2)])
    keyed = dataclasses.replace(pooled_table("image.a", more, dim=3), edit=lambda _, t: t.append_column(
        "keys", pa.array([["k"]] * t.num_rows, pa.list_(pa.string()))))
    b = build_dataset(tmp_path / "b", more, [keyed, pooled_table("image.b", more, dim=2)], corpus_kind="flickr30k")
    report = merge_datasets([a, b], tmp_path / "m")
    assert report.skipped == {"image.a": "other columns: a ['sample_id', 'feature']; b ['sample_id', 'feature', 'keys']; "
                                         "extract (or align) the table the same way into each dataset"}
    with pytest.raises(Exception, match="table 'image.a' cannot be merged: other columns"):
        merge_datasets([a, b], tmp_path / "m2", tables="image.a")


def test_checks_keyed_on_the_corpus_read_the_merged_corpora(tmp_path):
    a, _ = _mosi(tmp_path, "a", videos=2)
    b, samples = _mosi(tmp_path, "b", videos=2)
    merge_datasets([a, b], tmp_path / "m")
    merged = json.loads((tmp_path / "m" / "mmdata.json").read_text())["corpus"]
    assert (merged["kinds"], merged["datasets"]) == (["mosi-raw", "mosi-raw"], ["mosi", "mosi"])
    data = open_dataset(tmp_path / "m")
    from mmdata.checks.samples import label_range_for, reads_words

    assert label_range_for(data.manifest.corpus) == (-3.0, 3.0)  # both MOSI: the range is kept
    assert reads_words(data.manifest.corpus)
    assert _errors(tmp_path / "m") == []
    c, _ = _mosi(tmp_path, "c", videos=1, kind="mmsa-raw")
    manifest = json.loads((c / "mmdata.json").read_text())
    manifest["corpus"]["options"] = {"dataset": "ch-sims"}  # labels in [-1, 1]
    (c / "mmdata.json").write_text(json.dumps(manifest))
    merge_datasets([a, c], tmp_path / "m2")
    assert label_range_for(open_dataset(tmp_path / "m2").manifest.corpus) is None  # two ranges: none judged


def test_a_transcript_warning_of_a_corpus_stays_a_warning_once_merged(tmp_path):
    samples = [dataclasses.replace(s, sample_id=s.sample_id.replace("vid", "av"), group_id=s.group_id.replace("vid", "av"))
               for s in mosi_samples(videos=2, segments=3)]
    samples[1] = dataclasses.replace(samples[1], transcript=None, extra={"duration": 8.0, "words": []})  # a pause
    a = build_dataset(tmp_path / "a", samples, [frames_table("audio.f", samples, dim=3, frame_rate=4.0)],
                      corpus_kind="mosi-raw", shard_size=4)
    b, _ = _mosi(tmp_path, "b", videos=2)
    before = {(i.code, i.severity) for i in check_dataset(a).issues if i.code.startswith("transcript")}
    assert before == {("transcript-missing", "warning")}
    merge_datasets([a, b], tmp_path / "m", tables="audio.f")
    after = {(i.code, i.severity) for i in check_dataset(tmp_path / "m").issues if i.code.startswith("transcript")}
    assert after == before


def test_share_publishes_media_relative_to_the_merged_root_and_no_local_path(tmp_path):
    rows, more = image_text_samples(5), [dataclasses.replace(s, corpus="flickr30k") for s in image_text_samples(4)]
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=3)])
    b = build_dataset(tmp_path / "b", more, [pooled_table("image.a", more, dim=3)], corpus_kind="flickr30k")
    merge_datasets([a, b], tmp_path / "m")
    share_dataset(tmp_path / "m", tmp_path / "shared")
    images = pq.read_table(layout.samples_dir(tmp_path / "shared")).column("image").to_pylist()
    assert sorted(images)[0] == f"a/{sorted(s.image for s in rows)[0]}" and sorted(images)[-1].startswith("b/")
    for path in (tmp_path / "shared").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md"):
            assert str(tmp_path) not in path.read_text(), path


def test_a_dataset_without_a_corpus_folder_is_said_and_given_one(tmp_path):
    rows, more = image_text_samples(5), [dataclasses.replace(s, corpus="flickr30k") for s in image_text_samples(4)]
    a = build_dataset(tmp_path / "a", rows, [pooled_table("image.a", rows, dim=3)])
    b = build_dataset(tmp_path / "b", more, [pooled_table("image.a", more, dim=3)], corpus_kind="flickr30k")
    manifest = json.loads((b / "mmdata.json").read_text())
    manifest["corpus"]["root"] = "flickr30k"  # as a shared dataset records it: the folder's name only
    (b / "mmdata.json").write_text(json.dumps(manifest))
    (a / "corpus").mkdir()
    report = merge_datasets([a, b], tmp_path / "m")
    assert report.unlinked == {"b": "its dataset records no corpus folder, only 'flickr30k': a shared dataset; give it "
                                    "with --corpus-root b=DIR (corpus_roots=)"}
    assert (tmp_path / "m" / "corpora" / "a").is_dir() and not (tmp_path / "m" / "corpora" / "b").exists()
    (tmp_path / "photos").mkdir()
    report = merge_datasets([a, b], tmp_path / "m", corpus_roots={"b": tmp_path / "photos"}, force=True)
    assert report.unlinked == {} and (tmp_path / "m" / "corpora" / "b").resolve() == tmp_path / "photos"
    (a / "corpus").rmdir()  # a corpus moved since its extraction
    report = merge_datasets([a, b], tmp_path / "m", corpus_roots={"b": tmp_path / "photos"}, force=True)
    assert report.unlinked == {"a": f"its corpus folder {a / 'corpus'} is gone; give it with --corpus-root a=DIR "
                                    "(corpus_roots=)"}
    with pytest.raises(Exception, match="corpus root for 'bb': no dataset of the merge is named so"):
        merge_datasets([a, b], tmp_path / "m3", corpus_roots={"bb": tmp_path})
