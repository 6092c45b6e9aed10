"""`export-csd` of a `segment` output writes each table back as the `.csd` it was read from: file name,
root name, metadata and feature shape, so that extracting the export again gives the same table names."""
from __future__ import annotations

from types import SimpleNamespace

import h5py
import pytest

from mmdata.errors import DatasetError
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, FACET_FILE, FACET_ROOT, WORDS_FILE, WORDS_ROOT
from tests.segment_export.corpus import segmented, videos_dataset


def test_a_cut_table_is_written_under_its_source_files_name_root_metadata_and_shape(tmp_path):
    out, _ = segmented(tmp_path)
    written = export_csd(out, tmp_path / "back", tables=["audio.covarep", "text.words", "video.facet-41"], labels=False)
    assert [p.name for p in written] == [COVAREP_FILE, WORDS_FILE, FACET_FILE]
    for path, root in zip(written, (COVAREP_ROOT, WORDS_ROOT, FACET_ROOT)):
        with CsdFile(path) as csd:
            assert csd.root_name == root and csd.metadata["dataset name"] == "CMU-MOSI"
            assert csd.metadata["computational sequence description"] != f"mmdata table {path.stem}"
    with h5py.File(tmp_path / "back" / FACET_FILE) as h5:
        assert h5[f"{FACET_ROOT}/data/vA[0]/features"].shape == (60, 2, 2)  # as in the source file, not (60, 4)


def test_the_whole_video_and_the_segment_exports_name_their_files_alike(tmp_path):
    out, _ = segmented(tmp_path)
    whole = export_csd(videos_dataset(tmp_path / "again"), tmp_path / "whole", labels=False)
    cut = export_csd(out, tmp_path / "cut", labels=False)
    assert sorted(p.name for p in whole) == sorted(p.name for p in cut)


def test_extracting_the_export_again_gives_the_same_table_names(tmp_path):
    out, _ = segmented(tmp_path)
    export_csd(out, tmp_path / "back")
    extract("csd", tmp_path / "back", tmp_path / "again", extractors=[], num_workers=0)
    assert open_dataset(tmp_path / "again").table_names == open_dataset(out).table_names


def test_the_segment_provenance_records_the_source_files_identity(tmp_path):
    out, _ = segmented(tmp_path)
    config = open_dataset(out).entry("video.facet-41").config
    assert config["file"] == FACET_FILE and config["root_name"] == FACET_ROOT
    assert config["feature_shape"] == [2, 2] and config["metadata"]["dataset name"] == "CMU-MOSI"


def test_two_tables_kept_under_one_file_name_are_refused_before_anything_is_written(tmp_path):
    from mmdata.formats.csd_export import _refuse_shared_files, _SequenceFile

    dataset = SimpleNamespace(root=tmp_path / "out")
    covarep = _SequenceFile(COVAREP_FILE, COVAREP_ROOT, {}, ())
    with pytest.raises(DatasetError, match=f"audio.a and audio.b would both be written to {COVAREP_FILE}"):
        _refuse_shared_files(dataset, {"audio.a": covarep, "audio.b": covarep}, None)
    with pytest.raises(DatasetError, match="--no-labels"):
        _refuse_shared_files(dataset, {"audio.a": covarep}, COVAREP_FILE)
    _refuse_shared_files(dataset, {"audio.a": covarep}, "labels.csd")  # apart: fine
