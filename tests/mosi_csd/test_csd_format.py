"""Reading and writing `.csd` files: the SDK's layout, bytes metadata under h5py 3, integrity rules."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.formats.csd import SDK_METADATA_TEMPLATE, CsdFile, check_intervals, decode_words, write_csd
from tests.fakes.csd import WORDS, WORDS_ROOT, write_mosi_csd, write_sdk_csd


def read_like_sdk(path):
    """What the SDK's read_CSD + metadata_to_dict + integrity check do with a file (without the SDK)."""
    with h5py.File(path, "r") as h5:
        root = h5[list(h5.keys())[0]]
        metadata = {}
        for key in root["metadata"].keys():
            try:
                metadata[key] = json.loads(root["metadata"][key][0])
            except ValueError:
                metadata[key] = str(root["metadata"][key][0])
        data = {vid: (g["features"][()], g["intervals"][()]) for vid, g in root["data"].items()}
        for vid, (features, intervals) in data.items():
            assert intervals.ndim == 2 and features.ndim >= 2 and features.shape[0] == intervals.shape[0], vid
        compression = {g["features"].compression for g in root["data"].values() if g["features"].size}
    return metadata, data, compression


def test_reader_takes_root_name_from_the_group_and_decodes_plain_bytes_metadata(tmp_path):
    fake = write_mosi_csd(tmp_path)
    with CsdFile(fake.files["CMU_MOSI_TimestampedWords.csd"]) as csd:
        assert csd.root_name == WORDS_ROOT != "CMU_MOSI_TimestampedWords"
        # stored as a plain (non-JSON) string; h5py 3 returns bytes: no "b'...'" artefacts
        assert csd.metadata["computational sequence description"] == f"fake {WORDS_ROOT}"
        assert csd.metadata["alignment compatible"] is True
        assert csd.video_ids == sorted(WORDS)
        assert csd.is_text()
        entry = csd.read("abc")
        assert entry.features.shape == (7, 1) and entry.features.dtype.kind == "S"
        assert decode_words(entry.features) == [w for w, _, _ in WORDS["abc"]]
        assert entry.intervals.tolist()[0] == [0.0, 0.5]


def test_keys_are_listed_by_video_then_by_the_number_of_their_segment(tmp_path):
    keys = ["b", "a[10]", "a[2]", "a", "a[0]", "a-x", "a[1]", "b[11]", "b[9]"]
    row = (np.zeros((1, 1), np.float32), np.array([[0.0, 1.0]]))
    write_sdk_csd(tmp_path / "seq.csd", "seq", {key: row for key in keys})
    with CsdFile(tmp_path / "seq.csd") as csd:
        assert csd.video_ids == ["a", "a[0]", "a[1]", "a[2]", "a[10]", "a-x", "b", "b[9]", "b[11]"]


def test_written_file_reads_back_through_the_sdk_path_with_every_template_key(tmp_path):
    path = tmp_path / "out" / "seq.csd"
    feats = np.arange(12, dtype=np.float32).reshape(4, 3)
    intervals = np.array([[0, 1], [1, 2], [2, 2.5], [2.5, 4]], dtype=np.float64)
    write_csd(path, "My Root", [("v1", feats, intervals), ("v2", feats[:0], intervals[:0]),
                               ("w", np.array([["hi"], ["sp"]], dtype=object), intervals[:2])],
              {"dataset name": "X", "dimension names": ["a", "b", "c"]})
    metadata, data, compression = read_like_sdk(path)
    assert set(SDK_METADATA_TEMPLATE) <= set(metadata)  # the SDK's deploy would not prompt
    assert {"uuid", "md5", "dimension names", "computational sequence version"} <= set(metadata)
    assert metadata["root name"] == "My Root" and metadata["dataset name"] == "X"
    assert metadata["dimension names"] == ["a", "b", "c"] and metadata["md5"] is None
    assert np.array_equal(data["v1"][0], feats) and np.array_equal(data["v1"][1], intervals)
    assert data["v2"][0].shape == (0, 3)
    assert data["w"][0].tolist() == [[b"hi"], [b"sp"]]
    assert compression == {None}  # arrays this small are stored contiguous (test_csd_small_arrays.py)
    assert not list(path.parent.glob(".*"))  # no temporary file left behind
    # deterministic: same content, same uuid
    first_uuid = metadata["uuid"]
    write_csd(path, "My Root", [("v1", feats, intervals), ("v2", feats[:0], intervals[:0]),
                               ("w", np.array([["hi"], ["sp"]], dtype=object), intervals[:2])])
    assert read_like_sdk(path)[0]["uuid"] == first_uuid


def test_writer_refuses_features_intervals_length_mismatch_naming_the_video(tmp_path):
    with pytest.raises(CorpusFormatError, match=r"\[R/data/bad\]: features have 3 rows but intervals have 2"):
        write_csd(tmp_path / "x.csd", "R", [("bad", np.zeros((3, 2)), np.zeros((2, 2)))])
    assert not (tmp_path / "x.csd").exists()


def test_reader_names_file_and_video_for_length_mismatch(tmp_path):
    path = write_sdk_csd(tmp_path / "f.csd", "F", {"vid1": (np.zeros((3, 2)), np.zeros((4, 2)))})
    with CsdFile(path) as csd, pytest.raises(CorpusFormatError, match=r"f\.csd \[F/data/vid1\]: features have 3 rows"):
        csd.read("vid1")


def test_interval_checks_name_the_row_and_what_was_expected():
    with pytest.raises(CorpusFormatError, match=r"row 1 ends before it starts .*expected end >= start"):
        check_intervals("f.csd [R/data/v]", np.array([[0.0, 1.0], [2.0, 1.5]]))
    with pytest.raises(CorpusFormatError, match=r"not sorted by start time: row 2 starts at 0.5 s, before row 1"):
        check_intervals("f.csd [R/data/v]", np.array([[0.0, 1.0], [1.0, 2.0], [0.5, 0.7]]))
    check_intervals("f.csd [R/data/v]", np.array([[1.0, 2.0], [0.5, 0.7]]), require_sorted=False)
    with pytest.raises(CorpusFormatError, match="expected finite seconds"):
        check_intervals("v", np.array([[0.0, np.nan]]))


def test_missing_and_non_hdf5_files_raise_clear_errors(tmp_path):
    with pytest.raises(CorpusNotFoundError, match="nope.csd"):
        CsdFile(tmp_path / "nope.csd")
    bad = tmp_path / "bad.csd"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(CorpusFormatError, match=r"bad\.csd: not a readable HDF5 file"):
        CsdFile(bad)
    with h5py.File(tmp_path / "empty.csd", "w") as h5:
        h5.create_group("root_without_data")
    with pytest.raises(CorpusFormatError, match="expected one top-level group holding 'data"):
        CsdFile(tmp_path / "empty.csd")
