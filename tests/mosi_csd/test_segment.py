"""`segment`: whole videos -> label segments, the second step of the SDK's canonical MOSI pipeline."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.alignment.reference import SDK_COLLAPSE, align_like_sdk
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.corpora import load_corpus
from mmdata.errors import CorpusNotFoundError, DatasetError, ShardReadError
from mmdata.formats.csd import CsdFile, decode_words
from mmdata.fusion import fuse
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import (
    COVAREP_FILE, COVAREP_ROOT, FOLDS, LABELS_FILE, LABELS_ROOT, WORDS_FILE, WORDS_ROOT, write_mosi_csd,
    write_sdk_csd,
)

runner = CliRunner()
ALIGNED = ("text.words@text.words", "audio.covarep@text.words", "video.facet-41@text.words")
# A video whose word "loved" (1.0-2.5 s) straddles the boundary (2.0 s) of its two opinion segments.
STRADDLE_WORDS = {"v": [("i", 0.0, 1.0), ("loved", 1.0, 2.5), ("sp", 2.5, 3.0), ("it", 3.0, 4.0)],
                  "w": [("ok", 0.0, 2.0)]}
STRADDLE_SEGMENTS = {"v": [(0.0, 2.0, 1.5), (2.0, 4.0, -0.5)], "w": [(0.0, 1.0, 0.25), (1.0, 2.0, 3.0)]}


def words_arrays(words):
    return (np.array([[w.encode()] for w, _, _ in words], dtype="S12"), np.array([[s, e] for _, s, e in words]))


def counting_frames(duration):
    """100 Hz frames whose features are [k, 2k] for frame k: word means are computable by hand."""
    count = int(round(duration * 100))
    starts = np.arange(count) / 100
    return np.stack([np.arange(count), 2 * np.arange(count)], axis=1).astype(np.float32), np.stack([starts, starts + 0.01], 1)


def label_arrays(segments):
    return np.array([[s] for _, _, s in segments], np.float32), np.array([[a, b] for a, b, _ in segments])


def write_straddle_csd(root):
    """words, COVAREP (counting frames) and opinion labels: the SDK's inputs, as .csd files."""
    data = {
        "words": {v: words_arrays(w) for v, w in STRADDLE_WORDS.items()},
        "covarep": {v: counting_frames(w[-1][2]) for v, w in STRADDLE_WORDS.items()},
        "labels": {v: label_arrays(s) for v, s in STRADDLE_SEGMENTS.items()},
    }
    write_sdk_csd(root / WORDS_FILE, WORDS_ROOT, data["words"])
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, data["covarep"])
    write_sdk_csd(root / LABELS_FILE, LABELS_ROOT, data["labels"])
    return data


def videos_aligned_to_words(csd_dir, out, **kwargs):
    """The SDK's first step: whole videos (the label file in the folder left out), aligned to the words."""
    extract("csd", csd_dir, out, extractors=[], corpus_options={"labels": "none"}, num_workers=0, **kwargs)
    align_dataset(out, "text.words", collapse="mean")
    return out


def rows(dataset_dir, table):
    return {r["sample_id"]: r for r in open_dataset(dataset_dir).table(table).to_table().to_pylist()}


def test_labels_none_loads_whole_videos_although_a_label_file_is_in_the_folder(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    result = load_corpus("csd", fake.root, options={"labels": "none"})
    assert [s.sample_id for s in result.samples] == ["abc", "abcd", "x9Y_z-1"]
    assert sorted(t.name for t in result.tables) == ["audio.covarep", "text.words", "video.facet-41"]
    assert result.metadata["left_out"] == [LABELS_FILE] and not result.problems
    named = load_corpus("csd", fake.root, options={"labels": "none", "tables": (f"{LABELS_FILE[:-4]}=audio.labels",)})
    assert "audio.labels" in [t.name for t in named.tables]


def test_sdk_pipeline_averages_a_straddling_word_whole_then_clips_it_to_the_segment(tmp_path):
    write_straddle_csd(tmp_path / "csd")
    videos = videos_aligned_to_words(tmp_path / "csd", tmp_path / "videos")
    report = segment_dataset(videos, tmp_path / "out", tmp_path / "csd" / LABELS_FILE)
    assert (report.samples, report.videos, report.problems) == (4, 2, [])
    covarep = rows(tmp_path / "out", "audio.covarep@text.words")
    loved = [174.5, 349.0]  # the mean of frames 100..249: the whole word, in both segments it touches
    assert covarep["v[0]"]["feature"] == [[49.5, 99.0], loved]
    assert covarep["v[0]"]["intervals"] == [[0.0, 1.0], [1.0, 2.0]]  # the word's interval clipped to the segment
    assert covarep["v[0]"]["keys"] == ["v[0]", "v[1]"]  # the word-level rows keep their SDK keys
    assert covarep["v[1]"]["feature"] == [loved, [274.5, 549.0], [349.5, 699.0]]
    assert covarep["v[1]"]["intervals"] == [[2.0, 2.5], [2.5, 3.0], [3.0, 4.0]]
    assert covarep["v[1]"]["keys"] == ["v[1]", "v[2]", "v[3]"]
    words = rows(tmp_path / "out", "text.words@text.words")
    assert words["v[0]"]["words"] == ["i", "loved"] and words["v[1]"]["words"] == ["loved", "sp", "it"]
    samples = {r["sample_id"]: r for r in open_dataset(tmp_path / "out").samples_table().to_pylist()}
    assert (samples["v[1]"]["start"], samples["v[1]"]["end"], samples["v[1]"]["label"]) == (2.0, 4.0, -0.5)
    assert samples["v[1]"]["group_id"] == "v" and samples["v[1]"]["transcript"] == "loved it"
    # Cutting first (extract with the labels, then align) averages only the frames inside the segment.
    extract("csd", tmp_path / "csd", tmp_path / "cut-first", extractors=[], num_workers=0)
    align_dataset(tmp_path / "cut-first", "text.words")
    assert rows(tmp_path / "cut-first", "audio.covarep@text.words")["v[0]"]["feature"][1] == [149.5, 299.0]


def test_sdk_pipeline_equals_the_sdk_align_run_twice(tmp_path):
    data = write_straddle_csd(tmp_path / "csd")
    videos = videos_aligned_to_words(tmp_path / "csd", tmp_path / "videos")
    segment_dataset(videos, tmp_path / "out", tmp_path / "csd" / LABELS_FILE)
    words_level = align_like_sdk({"words": data["words"], "covarep": data["covarep"]}, "words", [SDK_COLLAPSE["mean"]])
    second = {"labels": data["labels"], **{name: {key: (features, intervals) for key, (intervals, features) in seq.items()}
                                           for name, seq in words_level.items()}}
    sdk = align_like_sdk(second, "labels")  # no collapse: the rows are only cut
    covarep, words = rows(tmp_path / "out", "audio.covarep@text.words"), rows(tmp_path / "out", "text.words@text.words")
    assert sorted(covarep) == sorted(sdk["covarep"]) == ["v[0]", "v[1]", "w[0]", "w[1]"]
    for key, (intervals, features) in sdk["covarep"].items():
        assert np.array_equal(np.array(covarep[key]["feature"], np.float32), features), key
        assert covarep[key]["intervals"] == intervals.tolist(), key
        assert words[key]["words"] == decode_words(sdk["words"][key][1]), key
        assert words[key]["intervals"] == sdk["words"][key][0].tolist(), key


def test_segmenting_raw_videos_equals_extracting_with_the_labels(tmp_path):
    """Without word alignment, cutting whole videos is what the loader's cut at load time gives,
    samples included; ids whose sorted order differs from their videos' (`v-2[0]` < `v[0]`, `v` <
    `v-2`) still land in the samples' order, across shards."""
    csd = tmp_path / "csd"
    write_mosi_csd(csd)
    starts = np.arange(40) / 10
    write_sdk_csd(tmp_path / "prefix" / WORDS_FILE, WORDS_ROOT, {
        v: words_arrays([("a", 0.0, 2.0), ("b", 2.0, 4.0)]) for v in ("v", "v-2", "vw")})
    write_sdk_csd(tmp_path / "prefix" / COVAREP_FILE, COVAREP_ROOT, {
        v: (np.full((40, 2), k, np.float32), np.stack([starts, starts + 0.1], 1)) for k, v in enumerate(("v", "v-2", "vw"))})
    write_sdk_csd(tmp_path / "prefix" / LABELS_FILE, LABELS_ROOT, {
        v: label_arrays([(0.0, 1.5, 1.0), (1.5, 3.95, 2.0)]) for v in ("v", "v-2", "vw")})
    (csd / "folds.json").write_text(json.dumps(FOLDS))
    for folder, folds in ((csd, csd / "folds.json"), (tmp_path / "prefix", None)):
        extract("csd", folder, tmp_path / "videos" / folder.name, extractors=[], corpus_options={"labels": "none"},
                shard_size=2, num_workers=0)
        segment_dataset(tmp_path / "videos" / folder.name, tmp_path / "cut" / folder.name, folder / LABELS_FILE,
                        folds=folds, shard_size=1)
        options = {"folds": "folds.json"} if folds else {}
        extract("csd", folder, tmp_path / "loaded" / folder.name, extractors=[], corpus_options=options, shard_size=1,
                num_workers=0)
        cut, loaded = open_dataset(tmp_path / "cut" / folder.name), open_dataset(tmp_path / "loaded" / folder.name)
        assert cut.samples_table().equals(loaded.samples_table())
        assert cut.table_names == loaded.table_names
        for name in cut.table_names:
            columns = ["sample_id", "feature", "intervals"] + (["words"] if name == "text.words" else [])
            assert len(cut.manifest.samples["shards"]) == len(pq.ParquetDataset(cut.table_dir(name)).files)
            assert cut.table(name).to_table().select(columns).equals(loaded.table(name).to_table().select(columns)), name
    assert open_dataset(tmp_path / "cut" / "prefix").samples_table(["sample_id"]).column(0).to_pylist()[:2] == ["v-2[0]", "v-2[1]"]


def test_already_aligned_label_keys_keep_their_ids_and_export_back_as_they_came(tmp_path):
    write_straddle_csd(tmp_path / "csd")
    (tmp_path / "csd" / LABELS_FILE).unlink()
    aligned = {"v[0]": label_arrays([(0.0, 2.0, 1.5)]), "v[3]": label_arrays([(2.0, 4.0, -0.5)]),
               "w[1]": label_arrays([(1.0, 2.0, 3.0)])}  # gaps where the SDK skipped intervals
    labels = write_sdk_csd(tmp_path / "labels" / "aligned_labels.csd", LABELS_ROOT, aligned)
    videos = videos_aligned_to_words(tmp_path / "csd", tmp_path / "videos")
    report = segment_dataset(videos, tmp_path / "out", labels)
    samples = open_dataset(tmp_path / "out").samples_table().to_pylist()
    assert [(s["sample_id"], s["start"], s["end"], s["label"], s["split"]) for s in samples] == [
        ("v[0]", 0.0, 2.0, 1.5, "all"), ("v[3]", 2.0, 4.0, -0.5, "all"), ("w[1]", 1.0, 2.0, 3.0, "all")]
    assert report.problems == []
    assert rows(tmp_path / "out", "audio.covarep@text.words")["v[3]"]["keys"] == ["v[1]", "v[2]", "v[3]"]
    runner.invoke(app, ["export-csd", str(tmp_path / "out"), str(tmp_path / "back")], catch_exceptions=False)
    with CsdFile(tmp_path / "back" / "aligned_labels.csd") as csd:
        assert csd.root_name == LABELS_ROOT and csd.video_ids == ["v[0]", "v[3]", "w[1]"]
        assert csd.read("v[3]").intervals.tolist() == [[2.0, 4.0]]


def test_samples_that_are_not_whole_videos_are_refused(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "segments", extractors=[], num_workers=0)
    with pytest.raises(DatasetError, match=r"sample 'abc\[0\]' of .* is not a whole video \(its id is an SDK segment "
                                           r"id vid\[i\]\); .*-o labels=none"):
        segment_dataset(tmp_path / "segments", tmp_path / "out", fake.files[LABELS_FILE])
    assert not (tmp_path / "out").exists()


def test_videos_missing_from_the_dataset_and_videos_without_segments_are_reported(tmp_path):
    write_mosi_csd(tmp_path / "csd", labels=False, videos=("abc", "abcd"))
    labels = write_sdk_csd(tmp_path / "labels.csd", LABELS_ROOT, {
        "abc": label_arrays([(0.0, 3.0, 2.5)]), "zz": label_arrays([(0.0, 1.0, 1.0), (1.0, 2.0, 0.0)])})
    extract("csd", tmp_path / "csd", tmp_path / "videos", extractors=[], num_workers=0)
    report = segment_dataset(tmp_path / "videos", tmp_path / "out", labels)
    assert report.samples == 1 and report.videos == 1
    reasons = {p.sample_id: p.reason for p in report.problems}
    assert reasons == {
        "zz": "video 'zz' has 2 label segments but the dataset has no such video; expected every labelled video among "
              "the samples (its segments are left out)",
        "abcd": "video 'abcd' has no label segment in labels.csd; expected one or more (no sample made from it)"}
    data = open_dataset(tmp_path / "out")
    assert data.manifest.samples["loader_errors"] == 2
    errors = data.errors().to_pylist()
    assert {(e["table"], e["sample_id"], e["path"]) for e in errors} == {("loader", "zz", str(labels)),
                                                                       ("loader", "abcd", str(labels))}


def test_missing_label_file_no_shared_video_and_an_existing_output_are_one_line_errors(tmp_path):
    write_mosi_csd(tmp_path / "csd", labels=False)
    extract("csd", tmp_path / "csd", tmp_path / "videos", extractors=[], num_workers=0)
    with pytest.raises(CorpusNotFoundError, match=r"^label file not found: .*nope\.csd; expected the SDK's label"):
        segment_dataset(tmp_path / "videos", tmp_path / "out", tmp_path / "nope.csd")
    other = write_sdk_csd(tmp_path / "other.csd", LABELS_ROOT, {"zz": label_arrays([(0.0, 1.0, 1.0)])})
    with pytest.raises(DatasetError, match=r"no label segment of .*other\.csd falls on a video of .*videos \(3 videos"):
        segment_dataset(tmp_path / "videos", tmp_path / "out", other)
    assert not (tmp_path / "out").exists()
    (tmp_path / "out").mkdir()
    with pytest.raises(DatasetError, match=r"output directory .*out already exists; choose another or pass "
                                           r"force=True \(--force\)"):
        segment_dataset(tmp_path / "videos", tmp_path / "out", other)
    with pytest.raises(DatasetError, match=r"videos is the input .*videos; segment writes a new directory beside it"):
        segment_dataset(tmp_path / "videos", tmp_path / "videos", other, force=True)


def test_a_failure_leaves_no_half_dataset_and_force_replaces_only_once_done(tmp_path, monkeypatch):
    fake = write_mosi_csd(tmp_path / "csd")
    videos = videos_aligned_to_words(fake.root, tmp_path / "videos")
    import mmdata.alignment.segment as segment

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(segment, "_cut", broken)
    with pytest.raises(OSError, match="disk full"):
        segment_dataset(videos, tmp_path / "out", fake.files[LABELS_FILE])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csd", "videos"]  # no output, no temporary folder
    with pytest.raises(OSError, match="disk full"):  # nor the folders made for the output
        segment_dataset(videos, tmp_path / "new" / "out", fake.files[LABELS_FILE])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csd", "videos"]
    monkeypatch.undo()
    segment_dataset(videos, tmp_path / "out", fake.files[LABELS_FILE], tables=["text.words"])
    monkeypatch.setattr(segment, "_cut", broken)
    with pytest.raises(OSError):
        segment_dataset(videos, tmp_path / "out", fake.files[LABELS_FILE], force=True)
    assert open_dataset(tmp_path / "out").table_names == ["text.words"]  # the old dataset is still whole


@pytest.mark.parametrize("damaged", ["samples/part-00001.parquet", "features/audio.covarep/part-00001.parquet"])
def test_a_truncated_shard_of_the_videos_is_named_and_leaves_no_output(tmp_path, damaged):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, shard_size=2,
            num_workers=0)
    shard = tmp_path / "videos" / damaged
    shard.write_bytes(shard.read_bytes()[:40])
    with pytest.raises(ShardReadError, match=rf"{shard}: cannot read this shard .*truncated or corrupt"):
        segment_dataset(tmp_path / "videos", tmp_path / "out", fake.files[LABELS_FILE])
    assert not (tmp_path / "out").exists()


def test_pooled_tables_are_skipped_and_named_and_chosen_tables_must_be_temporal(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "videos", extractors=["hashed-bow"], corpus_options={"labels": "none"},
            num_workers=0)
    report = segment_dataset(tmp_path / "videos", tmp_path / "out", fake.files[LABELS_FILE])
    assert list(report.skipped) == ["text.hashed-bow"] and "pooled" in report.skipped["text.hashed-bow"]
    assert "text.hashed-bow" not in open_dataset(tmp_path / "out").table_names
    assert open_dataset(tmp_path / "out").manifest.extra["segment"]["skipped"] == report.skipped
    with pytest.raises(DatasetError, match=r"table 'text.hashed-bow' of .* cannot be cut into segments: pooled"):
        segment_dataset(tmp_path / "videos", tmp_path / "out2", fake.files[LABELS_FILE], tables=["text.hashed-bow"])
    chosen = segment_dataset(tmp_path / "videos", tmp_path / "out3", fake.files[LABELS_FILE], tables=["audio.covarep"])
    assert [t.name for t in chosen.tables] == ["audio.covarep"] and chosen.skipped == {}


def test_a_video_that_failed_in_the_source_fails_in_each_of_its_segments(tmp_path):
    write_straddle_csd(tmp_path / "csd")
    features, intervals = counting_frames(4.0)
    features[5, 0] = np.nan
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT, {"v": (features, intervals), "w": counting_frames(2.0)})
    extract("csd", tmp_path / "csd", tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, num_workers=0)
    report = segment_dataset(tmp_path / "videos", tmp_path / "out", tmp_path / "csd" / LABELS_FILE)
    covarep = next(t for t in report.tables if t.name == "audio.covarep")
    assert (covarep.rows, covarep.errors) == (4, 2)
    assert rows(tmp_path / "out", "audio.covarep")["v[1]"]["feature"] is None
    errors = [e for e in open_dataset(tmp_path / "out").errors().to_pylist() if e["table"] == "audio.covarep"]
    assert [(e["sample_id"], e["stage"]) for e in errors] == [("v[0]", "segment"), ("v[1]", "segment")]
    assert "video 'v' has no features in 'audio.covarep' of the source dataset" in errors[0]["reason"]


def test_cli_segment_then_check_info_fuse_and_export(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    (fake.root / "folds.json").write_text(json.dumps(FOLDS))
    videos = videos_aligned_to_words(fake.root, tmp_path / "videos", shard_size=2)
    out = tmp_path / "out"
    result = runner.invoke(app, ["segment", str(videos), str(out), "--labels", str(fake.files[LABELS_FILE]),
                                 "--folds", str(fake.root / "folds.json"), "--tables", ",".join(ALIGNED)])
    assert result.exit_code == 0, result.output
    assert f"samples: 5 segments of 3 videos -> {out}" in result.output
    assert "table audio.covarep@text.words: 5 rows, 0 failed" in result.output
    report = check_dataset(out)
    assert report.ok and [i.code for i in report.issues] == ["split-counts"]
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    info = json.loads(runner.invoke(app, ["info", str(out), "--json"]).stdout)
    assert sorted(t["name"] for t in info["tables"]) == sorted(ALIGNED)
    fused = fuse(out, tmp_path / "fused", tables=ALIGNED, sequences="pad")
    assert fused.rows == {"test": 2, "train": 2, "valid": 1}
    exported = runner.invoke(app, ["export-csd", str(out), str(tmp_path / "back")])
    assert exported.exit_code == 0, exported.output
    with CsdFile(tmp_path / "back" / "audio.covarep@text.words.csd") as csd:
        assert csd.video_ids == ["abc[0]", "abc[1]", "abcd[0]", "x9Y_z-1[0]", "x9Y_z-1[1]"]
    again = runner.invoke(app, ["segment", str(videos), str(out), "--labels", str(fake.files[LABELS_FILE])])
    assert again.exit_code == 2 and again.output.startswith("error: output directory") and again.output.count("\n") == 1
    missing = runner.invoke(app, ["segment", str(videos), str(tmp_path / "o2"), "--labels", str(tmp_path / "no.csd")])
    assert missing.exit_code == 2 and "error: label file not found" in missing.output
