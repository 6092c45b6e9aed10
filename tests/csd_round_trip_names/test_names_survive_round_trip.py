"""Table names survive `export-csd` -> `extract csd`: each exported file records its table (and an
aligned table's reference, and the videos' media ends) under mmdata's own metadata key; files
without it (the SDK's) keep the guessed names."""
from __future__ import annotations

import logging

import numpy as np

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.checks.aligned import aligned_groups
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.formats.csd_folder import EXPORT_MARKER_KEY, TABLE_IDENTITY_KEY
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, LABELS_ROOT, SDK_METADATA, write_sdk_csd
from tests.segment_export.corpus import SEGMENTS, counting, label_arrays, videos_dataset, write_labels

ALIGNED = "audio.covarep@text.words"


def aligned_videos(tmp_path):
    videos = videos_dataset(tmp_path)
    align_dataset(videos, "text.words", tables=["audio.covarep"])
    return videos


def aligned_segments(tmp_path):
    """Whole videos aligned to the words, cut into the label segments (the SDK's pipeline)."""
    labels = write_labels(tmp_path / "labels" / "CMU_MOSI_Opinion_Labels.csd", SEGMENTS)
    segment_dataset(aligned_videos(tmp_path), tmp_path / "segments", labels)
    return tmp_path / "segments"


def read_back(csd_dir, out, **options):
    extract("csd", csd_dir, out, extractors=[], corpus_options=options, num_workers=0)
    return open_dataset(out)


def test_exported_files_record_name_and_reference_and_keep_sdk_metadata(tmp_path):
    export_csd(aligned_videos(tmp_path), tmp_path / "csd-out", tables=[ALIGNED, "text.words"])
    with CsdFile(tmp_path / "csd-out" / f"{ALIGNED}.csd") as csd:
        assert csd.metadata[TABLE_IDENTITY_KEY] == {"name": ALIGNED, "reference": "text.words", "keys": "rows"}
        assert csd.metadata[EXPORT_MARKER_KEY] == ALIGNED
        assert "computational sequence description" in csd.metadata and "root name" in csd.metadata  # the SDK's keys


def test_aligned_table_and_its_reference_come_back_under_their_names(tmp_path):
    segments = aligned_segments(tmp_path)
    export_csd(segments, tmp_path / "csd-out", tables=["text.words", "audio.covarep", ALIGNED, "text.words@text.words"])
    back = read_back(tmp_path / "csd-out", tmp_path / "back")
    assert sorted(back.table_names) == sorted(["text.words", "audio.covarep", ALIGNED, "text.words@text.words"])
    assert aligned_groups(back, back.table_names) == {"text.words": [ALIGNED, "text.words@text.words"]}


def test_aligned_table_without_its_reference_comes_back_plain_with_a_warning(tmp_path, caplog):
    export_csd(aligned_segments(tmp_path), tmp_path / "csd-out", tables=["audio.covarep", ALIGNED])
    with caplog.at_level(logging.WARNING):
        back = read_back(tmp_path / "csd-out", tmp_path / "back")
    assert sorted(back.table_names) == ["audio.covarep", "audio.covarep-text-words"]
    assert any("not in the folder" in r.getMessage() and ALIGNED in r.getMessage() for r in caplog.records)


def test_sdk_files_without_the_key_keep_guessed_names(tmp_path):
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT, {"vA": counting(2.0, 100, 3)}, SDK_METADATA)
    back = read_back(tmp_path / "csd", tmp_path / "back", labels="none")
    assert back.table_names == ["audio.covarep"]


def test_recorded_media_end_decides_the_overrun_rule(tmp_path):
    """Rows end at 5 s but the video runs 8 s (recorded by export-csd): a segment [4, 8] keeps its rows
    instead of failing as past the end of the video."""
    csd_dir = tmp_path / "csd"
    metadata = {**SDK_METADATA, TABLE_IDENTITY_KEY: {"name": "audio.covarep", "media_ends": {"vA": 8.0}}}
    write_sdk_csd(csd_dir / COVAREP_FILE, COVAREP_ROOT, {"vA": counting(5.0, 100, 3)}, metadata)
    write_sdk_csd(csd_dir / "CMU_MOSI_Opinion_Labels.csd", LABELS_ROOT,
                  {"vA": label_arrays([(0.0, 2.0, 1.0), (4.0, 8.0, -1.0)])}, SDK_METADATA)
    out = tmp_path / "back"
    extract("csd", csd_dir, out, extractors=[], num_workers=0)
    errors = open_dataset(out).errors().to_pylist()
    assert [e for e in errors if e["sample_id"] == "vA[1]"] == []
    (shard,) = open_dataset(out).table_files("audio.covarep")
    from mmdata.store.shards import read_shard
    rows = {r["sample_id"]: r for r in read_shard(shard).to_pylist()}
    assert np.asarray(rows["vA[1]"]["intervals"]).max() == 5.0
