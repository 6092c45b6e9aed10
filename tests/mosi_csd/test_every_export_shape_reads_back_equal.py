"""`export-csd` -> `extract csd` gives back what was exported, for every shape export-csd writes: tables
keyed by video, aligned tables keyed `vid[i]` per row, segments keyed `vid[k]` (with their label file),
aligned tables of segments keyed `vid[k][i]`, and folders mixing them; and the exported folder reads
the SDK's way (`unify` by the id before `[`, `vid[i]` = row i of the reference's file, `revert` joins
`vid[0..n]` into `vid`)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from mmdata.formats.csd import CsdFile, decode_words, split_key
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import FOLDS, LABELS_FILE, WORDS_FILE, WORDS_ROOT, write_mosi_csd, write_sdk_csd
from tests.segment_export.corpus import SEGMENTS as OVERLAPPING_SEGMENTS
from tests.segment_export.corpus import write_labels, write_videos

runner = CliRunner()
SAMPLE_COLUMNS = ["sample_id", "split", "group_id", "start", "end", "label", "transcript", "extra"]
ALIGNED = ["audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words"]


def mosi_folder(tmp_path, *, labels):
    """The fake CMU-MOSI folder with its folds file; the folds file's path."""
    fake = write_mosi_csd(tmp_path / "csd", labels=labels)
    folds = fake.root / "folds.json"
    folds.write_text(json.dumps(FOLDS))
    return fake, folds


def whole_videos_aligned(tmp_path):
    """`extract csd -o labels=none` of whole videos, aligned to text.words (the reported case)."""
    fake, folds = mosi_folder(tmp_path, labels=False)
    out = tmp_path / "videos"
    extract("csd", fake.root, out, extractors=[], corpus_options={"labels": "none", "folds": str(folds)},
            num_workers=0)
    align_dataset(out, "text.words")
    return out, folds


def read_back(csd_dir, out, **options):
    extract("csd", csd_dir, out, extractors=[], corpus_options=options, num_workers=0)
    return open_dataset(out)


def assert_reads_back_equal(exported, back, *, tables=None, keys_survive=True, extracted=()):
    """Same samples (ids, splits, times, labels, transcripts, extra), same tables (besides those
    `extracted` on reading back), and per sample the same feature values (float32 precision),
    intervals, words and row keys."""
    exported, back = open_dataset(exported), open_dataset(back)
    assert back.samples_table(SAMPLE_COLUMNS).to_pylist() == exported.samples_table(SAMPLE_COLUMNS).to_pylist()
    names = tables or exported.table_names
    assert sorted(set(back.table_names) - set(extracted)) == sorted(names)
    for name in names:
        before, after = exported.table(name).to_table(), back.table(name).to_table()
        assert after.column("sample_id").to_pylist() == before.column("sample_id").to_pylist(), name
        for was, now in zip(before.to_pylist(), after.to_pylist()):
            where = f"{name} {was['sample_id']}"
            assert (now["feature"] is None) == (was["feature"] is None), where
            if was["feature"] is None:
                continue
            np.testing.assert_allclose(np.asarray(now["feature"], np.float64).reshape(-1),
                                       np.asarray(was["feature"], np.float64).reshape(-1), rtol=1e-6, err_msg=where)
            np.testing.assert_allclose(np.asarray(now["intervals"]).reshape(-1, 2),
                                       np.asarray(was["intervals"]).reshape(-1, 2), rtol=1e-12, err_msg=where)
            if "words" in was:
                assert now["words"] == was["words"], where
            if "keys" in was and keys_survive:
                assert now["keys"] == was["keys"], where


def test_whole_videos_aligned_to_words_round_trip_through_the_cli(tmp_path):
    """The reported defect: this failed with "video 'abc' is missing from audio.covarep@text.words.csd"."""
    out, folds = whole_videos_aligned(tmp_path)
    result = runner.invoke(app, ["export-csd", str(out), str(tmp_path / "exported")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["extract", "csd", str(tmp_path / "exported"), str(tmp_path / "back"), "-o",
                                 "labels=none", "-o", f"folds={folds}", "--text", "hashed-bow", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    assert_reads_back_equal(out, tmp_path / "back", extracted=["text.hashed-bow"])
    back = open_dataset(tmp_path / "back")
    assert back.samples_table(["sample_id"]).column(0).to_pylist() == ["abc", "abcd", "x9Y_z-1"]
    assert sorted(set(back.samples_table(["split"]).column(0).to_pylist())) == ["test", "train", "valid"]


def test_aligned_tables_alone_come_back_as_whole_videos(tmp_path):
    out, folds = whole_videos_aligned(tmp_path)
    export_csd(out, tmp_path / "exported", tables=ALIGNED)
    read_back(tmp_path / "exported", tmp_path / "back", folds=str(folds))
    # the transcript comes from the aligned words, which hold every word (pauses too) of each video
    assert_reads_back_equal(out, tmp_path / "back", tables=ALIGNED)


def test_segments_with_their_labels_round_trip(tmp_path):
    fake, folds = mosi_folder(tmp_path, labels=True)
    extract("csd", fake.root, tmp_path / "segments", extractors=[], corpus_options={"folds": str(folds)},
            num_workers=0)
    export_csd(tmp_path / "segments", tmp_path / "exported")
    read_back(tmp_path / "exported", tmp_path / "back", folds=str(folds))
    assert_reads_back_equal(tmp_path / "segments", tmp_path / "back")


def test_overlapping_segments_aligned_to_words_round_trip_with_their_rows_keyed_by_segment(tmp_path):
    """Segments that overlap, each aligned to its words: keys `vid[k][i]` give every segment its own
    rows back (cutting the video's rows by the segments again would mix the overlaps)."""
    write_videos(tmp_path / "csd")
    write_labels(tmp_path / "csd" / LABELS_FILE, OVERLAPPING_SEGMENTS)
    out = tmp_path / "segments"
    extract("csd", tmp_path / "csd", out, extractors=[], num_workers=0)
    align_dataset(out, "text.words")
    export_csd(out, tmp_path / "exported")
    with CsdFile(tmp_path / "exported" / "audio.covarep@text.words.csd") as csd:
        assert csd.video_ids[:3] == ["vA[0][0]", "vA[0][1]", "vA[0][2]"]
    read_back(tmp_path / "exported", tmp_path / "back")
    assert_reads_back_equal(out, tmp_path / "back")


def test_aligned_videos_cut_into_segments_round_trip(tmp_path):
    """`segment` of the aligned whole videos: every table keyed by segment; the rows' word keys of the
    whole videos are not in the file (the SDK's aligned-to-labels files hold none either)."""
    out, folds = whole_videos_aligned(tmp_path)
    segments = tmp_path / "segments"
    segment_dataset(out, segments, write_mosi_csd(tmp_path / "labels").files[LABELS_FILE], folds=folds)
    export_csd(segments, tmp_path / "exported")
    read_back(tmp_path / "exported", tmp_path / "back", folds=str(folds))
    assert_reads_back_equal(segments, tmp_path / "back", keys_survive=False)


def test_a_video_with_no_aligned_row_comes_back_empty_not_dropped(tmp_path):
    """A video of pauses only, aligned with --skip-pauses, has no key in the aligned files: the export
    records it (and warns that the SDK's unify drops it), and it reads back as an empty row."""
    videos = write_videos(tmp_path / "csd")
    words = {"vA": (np.array([[b"i"], [b"sp"]]), np.array([[0.0, 1.0], [1.0, 6.0]])),
             "vB": (np.array([[b"sp"]]), np.array([[0.0, 3.0]]))}
    write_sdk_csd(videos / WORDS_FILE, WORDS_ROOT, words)
    out = tmp_path / "videos"
    extract("csd", videos, out, extractors=[], corpus_options={"labels": "none"}, num_workers=0)
    align_dataset(out, "text.words", skip_pauses=True)
    written = export_csd(out, tmp_path / "exported")
    assert any("vB" in w and "unify drops" in w for w in written.warnings)
    back = read_back(tmp_path / "exported", tmp_path / "back")
    assert_reads_back_equal(out, tmp_path / "back")
    rows = rows_by_sample(back, "audio.covarep@text.words")
    assert rows["vB"]["feature"] == [] and rows["vB"]["keys"] == []


def test_segments_with_no_aligned_row_come_back_empty(tmp_path):
    """Segments of pauses only, aligned with --skip-pauses: no key `vid[k][i]` holds them; they read back
    as empty rows (no failure), also vB, whose only segment is one."""
    videos = write_videos(tmp_path / "csd")
    words = {"vA": (np.array([[b"i"], [b"sp"]]), np.array([[0.0, 2.0], [2.0, 6.0]])),
             "vB": (np.array([[b"sp"]]), np.array([[0.0, 3.0]]))}
    write_sdk_csd(videos / WORDS_FILE, WORDS_ROOT, words)
    write_labels(videos / LABELS_FILE, {"vA": [(0.0, 2.0, 1.0), (2.0, 6.0, 2.0)], "vB": [(0.0, 3.0, 0.5)]})
    out = tmp_path / "segments"
    extract("csd", videos, out, extractors=[], num_workers=0)
    align_dataset(out, "text.words", skip_pauses=True)
    export_csd(out, tmp_path / "exported")
    back = read_back(tmp_path / "exported", tmp_path / "back")
    assert_reads_back_equal(out, tmp_path / "back")
    assert back.errors().num_rows == 0
    rows = rows_by_sample(back, "audio.covarep@text.words")
    assert rows["vA[1]"]["feature"] == [] and rows["vB[0]"]["feature"] == []


def rows_by_sample(dataset, name):
    return {r["sample_id"]: r for r in dataset.table(name).to_table().to_pylist()}


def test_a_second_export_writes_the_same_files(tmp_path):
    out, folds = whole_videos_aligned(tmp_path)
    export_csd(out, tmp_path / "first")
    read_back(tmp_path / "first", tmp_path / "back", folds=str(folds))
    export_csd(tmp_path / "back", tmp_path / "second")
    for path in sorted((tmp_path / "first").glob("*.csd")):
        with CsdFile(path) as first, CsdFile(tmp_path / "second" / path.name) as second:
            assert second.video_ids == first.video_ids, path.name
            for key in first.video_ids:
                a, b = first.read(key), second.read(key)
                assert np.array_equal(a.features, b.features) and np.array_equal(a.intervals, b.intervals), key


@pytest.mark.parametrize("shape", ["whole videos", "segments aligned"])
def test_exported_folder_reads_the_sdk_way(tmp_path, shape):
    """What the SDK's `mmdataset` does with the folder: `unify` keeps a video when every file holds a key
    of it (the id before the first '['); `align` gives key `vid[i]` to row i of the reference's file, so
    each aligned key's interval is that row's; `revert` joins `vid[0..n]` back into the sample's rows."""
    if shape == "whole videos":
        out, _ = whole_videos_aligned(tmp_path)
    else:
        fake, _ = mosi_folder(tmp_path, labels=True)
        out = tmp_path / "segments"
        extract("csd", fake.root, out, extractors=[], num_workers=0)
        align_dataset(out, "text.words")
    export_csd(out, tmp_path / "exported")
    bases = {}
    for path in (tmp_path / "exported").glob("*.csd"):
        with CsdFile(path) as csd:
            bases[path.name] = {key.split("[")[0] for key in csd.video_ids}
    assert len({frozenset(videos) for videos in bases.values()}) == 1  # unify drops nothing
    dataset = open_dataset(out)
    with CsdFile(tmp_path / "exported" / WORDS_FILE) as words, \
            CsdFile(tmp_path / "exported" / "text.words@text.words.csd") as aligned:
        for key in aligned.video_ids:
            sample, i = split_key(key)
            reference = words.read(sample)  # the reference's file, keyed by sample
            np.testing.assert_array_equal(aligned.read(key).intervals[0], reference.intervals[i])
            assert decode_words(aligned.read(key).features) == [decode_words(reference.features)[i]]
        for row in dataset.table("audio.covarep@text.words").to_table().to_pylist():
            keys = sorted((k for k in aligned.video_ids if split_key(k)[0] == row["sample_id"]),
                          key=lambda k: split_key(k)[1])
            reverted = np.concatenate([aligned.read(k).intervals for k in keys])
            np.testing.assert_array_equal(reverted, np.asarray(row["intervals"]).reshape(-1, 2))
