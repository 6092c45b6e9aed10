"""`.csd` files as the CMU-MultimodalSDK reads and writes them: odd but valid layouts, SDK checks, folds."""
from __future__ import annotations

import json
import tracemalloc

import h5py
import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.formats.csd import SDK_METADATA_TEMPLATE, CsdFile, decode_words, write_csd
from mmdata.formats.csd_export import export_csd
from mmdata.formats.folds import read_folds, report_fold_coverage
from mmdata.pipeline import extract
from tests.fakes.av import write_fake_mosi_cmu
from tests.fakes.csd import (
    COVAREP_FILE,
    COVAREP_ROOT,
    LABELS_FILE,
    LABELS_ROOT,
    WORDS,
    WORDS_FILE,
    WORDS_ROOT,
    frames,
    write_mosi_csd,
    write_sdk_csd,
)

# The SDK's CMU_MOSI/cmu_mosi_std_folds.py: 52 / 10 / 31 videos.
MOSI_STD_FOLDS_PY = """\
standard_train_fold=['2iD-tVS8NPw', '8d-gEyoeBzc', 'Qr1Ca94K55A', 'Ci-AH39fi3Y', '8qrpnFRGt2A', 'Bfr499ggo-0', 'QN9ZIUWUXsY', '9T9Hf74oK10', '7JsX8y1ysxY', '1iG0909rllw', 'Oz06ZWiO20M', 'BioHAh1qJAQ', '9c67fiY0wGQ', 'Iu2PFX3z_1s', 'Nzq88NnDkEk', 'Clx4VXItLTE', '9J25DZhivz8', 'Af8D0E4ZXaw', 'TvyZBvOMOTc', 'W8NXH0Djyww', '8OtFthrtaJM', '0h-zjBukYpk', 'Vj1wYRQjB-o', 'GWuJjcEuzt8', 'BI97DNYfe5I', 'PZ-lDQFboO8', '1DmNV9C1hbY', 'OQvJTdtJ2H4', 'I5y0__X72p0', '9qR7uwkblbs', 'G6GlGvlkxAQ', '6_0THN4chvY', 'Njd1F0vZSm4', 'BvYR0L6f2Ig', '03bSnISJMiM', 'Dg_0XKD0Mf4', '5W7Z1C_fDaE', 'VbQk4H8hgr0', 'G-xst2euQUc', 'MLal-t_vJPM', 'BXuRRbG0Ugk', 'LSi-o-IrDMs', 'Jkswaaud0hk', '2WGyTLYerpo', '6Egk_28TtTM', 'Sqr0AcuoNnk', 'POKffnXeBds', '73jzhE8R1TQ', 'OtBXNcAL_lE', 'HEsqda8_d0Q', 'VCslbP0mgZI', 'IumbAb8q2dM']
standard_valid_fold=['WKA5OygbEKI', 'c5xsKMxpXnc', 'atnd_PF-Lbs', 'bvLlb-M3UXU', 'bOL9jKpeJRs', '_dI--eQ6qVU', 'ZAIRrfG22O0', 'X3j2zQgwYgE', 'aiEXnCPZubE', 'ZUXBRvtny7o']
standard_test_fold=['tmZoasNr4rU', 'zhpQhgha_KU', 'lXPQBPVc5Cw', 'iiK8YX8oH1E', 'tStelxIAHjw', 'nzpVDcQ0ywM', 'etzxEpPuc6I', 'cW1FSBF59ik', 'd6hH302o4v8', 'k5Y_838nuGo', 'pLTX3ipuDJI', 'jUzDDGyPkXU', 'f_pcplsH_V0', 'yvsjCA6Y5Fc', 'nbWiPyCm4g0', 'rnaNMUZpvvg', 'wMbj6ajWbic', 'cM3Yna7AavY', 'yDtzw_Y-7RU', 'vyB00TXsimI', 'dq3Nf_lMPnE', 'phBUpBr1hSo', 'd3_k5Xpfmik', 'v0zCBqDeKcE', 'tIrG4oNLFzE', 'fvVhgmXxadc', 'ob23OKe5a9Q', 'cXypl4FnoZo', 'vvZ4IcEtiZc', 'f9O3YtZ2VfI', 'c7UH_rxdZv4']
"""


def sdk_open(path):
    """What the SDK's `computational_sequence(path)` does (read_CSD, metadata_to_dict, integrity checks),
    plus the keys its `deploy` would prompt for on stdin."""
    with h5py.File(path, "r") as h5:
        root = h5[list(h5.keys())[0]]
        metadata = dict(root["metadata"])
        for key in metadata:
            try:
                metadata[key] = json.loads(metadata[key][0])
            except Exception:
                metadata[key] = str(metadata[key][0])
        data = {vid: {"features": g["features"][()], "intervals": g["intervals"][()]} for vid, g in root["data"].items()}
        for entry in data.values():  # validate_data_format: a failure is a RuntimeError in the SDK
            assert entry["intervals"].ndim == 2 and entry["features"].ndim >= 2
            assert entry["features"].shape[0] == entry["intervals"].shape[0]
        prompts = [key for key in SDK_METADATA_TEMPLATE if key not in metadata]  # complete_all_missing_metadata
        return root.name.strip("/"), metadata["root name"], metadata, data, prompts


def one_row(value=1.0):
    return np.array([[value]], np.float32), np.array([[0.0, 1.0]])


# --- reading ----------------------------------------------------------------------------------------


def test_several_root_groups_read_the_first_holding_data_with_a_warning(tmp_path, caplog):
    path = tmp_path / "two.csd"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("0_notes", data=[1])  # sorts first; the SDK would take it and fail
        for root, value in (("A seq", 1.0), ("B seq", 2.0)):
            group = h5.create_group(root).create_group("data").create_group("v")
            group.create_dataset("features", data=one_row(value)[0])
            group.create_dataset("intervals", data=one_row()[1])
    with caplog.at_level("WARNING", logger="mmdata.formats.csd"), CsdFile(path) as csd:
        assert csd.root_name == "A seq" and csd.metadata == {}  # no metadata group: nothing required
        assert csd.read("v").features.tolist() == [[1.0]]
    assert "2 top-level groups hold sequences ('A seq', 'B seq'); reading 'A seq'" in caplog.text


def test_metadata_is_read_from_datasets_of_any_string_form_and_from_attributes(tmp_path):
    path = write_sdk_csd(tmp_path / "m.csd", "R", {"v": one_row()}, {"creator": "json"}, plain=("root name",))
    with h5py.File(path, "a") as h5:
        root, meta = h5["R"], h5["R/metadata"]
        meta.create_dataset("scalar", data='{"a": 1}', dtype=h5py.string_dtype())
        meta.create_dataset("fixed bytes", data=np.array([b"plain text"]))
        meta.create_dataset("dimension names", data=np.array([b"f0", b"f1"]))
        meta.create_dataset("empty", shape=(0,), dtype=h5py.string_dtype())
        meta.create_dataset("null", data=h5py.Empty("f"))
        meta.create_dataset("contact/email", (1,), dtype=h5py.string_dtype())[0] = json.dumps("a@b.c")
        meta.attrs["dataset name"] = "CMU-MOSI"
        meta.attrs["creator"] = "an attribute loses to the dataset"
        root.attrs["dataset version"] = json.dumps("1.0.0")
        root.attrs["frame rate"] = np.float32(100.0)
    with CsdFile(path) as csd:
        assert csd.metadata == {"root name": "R", "creator": "json", "scalar": {"a": 1}, "fixed bytes": "plain text",
                                "dimension names": ["f0", "f1"], "empty": None, "null": None, "contact/email": "a@b.c",
                                "dataset name": "CMU-MOSI", "dataset version": "1.0.0", "frame rate": 100.0}


def test_odd_dtypes_empty_videos_and_numeric_looking_ids_load_and_export(tmp_path):
    steps = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT, {
        "0042": (np.full((4, 2), 0.5, np.float16), steps),
        "123": (np.full((4, 2), 1 / 3, np.float64), steps),
        "empty": (np.zeros((0, 2), np.float32), np.zeros((0, 2))),
    })
    write_sdk_csd(tmp_path / "csd" / WORDS_FILE, WORDS_ROOT, {
        "0042": (np.array([[b"sp"], [b"one"], [b"two"], [b"sp"]]), steps),
        "123": (np.array([[b"a"], [b"b"], [b"c"], [b"d"]]), steps),
        "empty": (np.zeros((0, 1), "S1"), np.zeros((0, 2))),
    })
    result = load_corpus("csd", tmp_path / "csd")
    assert result.problems == []
    assert [(s.sample_id, s.transcript) for s in result.samples] == [("0042", "one two"), ("123", "a b c d"), ("empty", None)]  # no spoken word: no transcript
    covarep = next(t for t in result.tables if t.name == "audio.covarep")
    rows = {r.sample_id: r for r in covarep.read(["0042", "123", "empty"])}
    assert rows["0042"].features.dtype == np.float32 and rows["0042"].features.tolist() == [[0.5, 0.5]] * 4
    assert rows["123"].features.tolist() == np.full((4, 2), 1 / 3, np.float32).tolist()
    assert rows["empty"].features.shape == (0, 2) and rows["empty"].intervals.shape == (0, 2)
    words = next(t for t in result.tables if t.name == "text.words")
    assert next(iter(words.read(["empty"]))).features.shape == (0, 1)

    extract("csd", tmp_path / "csd", tmp_path / "out", extractors=[], num_workers=0)
    export_csd(tmp_path / "out", tmp_path / "back")
    _, _, _, covarep_back, _ = sdk_open(tmp_path / "back" / COVAREP_FILE)
    _, _, _, words_back, _ = sdk_open(tmp_path / "back" / WORDS_FILE)
    assert sorted(covarep_back) == ["0042", "123", "empty"]
    assert covarep_back["empty"]["features"].shape == (0, 2) and covarep_back["empty"]["features"].dtype == np.float32
    assert words_back["empty"]["features"].shape == (0, 1) and words_back["empty"]["features"].dtype.kind == "S"
    assert words_back["0042"]["features"].tolist() == [[b"sp"], [b"one"], [b"two"], [b"sp"]]


def test_a_broken_first_video_is_dropped_and_named_not_the_whole_folder(tmp_path):
    fake = write_mosi_csd(tmp_path, labels=False)
    with h5py.File(fake.files[COVAREP_FILE], "a") as h5:
        h5[COVAREP_ROOT]["data"].create_group("0first").create_dataset("intervals", data=np.zeros((2, 2)))
        h5[COVAREP_ROOT]["data"].create_dataset("0second", data=[1.0])
    result = load_corpus("csd", tmp_path)
    assert sorted(s.sample_id for s in result.samples) == ["abc", "abcd", "x9Y_z-1"]
    reasons = {p.sample_id: p.reason for p in result.problems}
    assert "[COAVAREP/data/0first]: missing dataset 'features'; expected 'features' and 'intervals'" in reasons["0first"]
    assert "[COAVAREP/data/0second]: is a dataset of shape (1,); expected a group" in reasons["0second"]


def test_a_broken_key_of_the_sdk_label_file_does_not_stop_raw_clips_getting_their_labels(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (fake.root / "labels.csv").unlink()
    path = write_sdk_csd(fake.root / LABELS_FILE, LABELS_ROOT, {
        "a_b-1": (np.array([[1.5], [-0.25]], np.float32), np.array([[2.0, 2.5], [2.5, 3.0]])),
        "Xy9": (np.array([[-2.75]], np.float32), np.array([[10.0, 10.5]])),
    })
    with h5py.File(path, "a") as h5:  # sorts first; no clip belongs to it
        h5[LABELS_ROOT]["data"].create_group("0broken").create_dataset("intervals", data=np.zeros((1, 2)))
    result = load_corpus("mosi-raw", fake.root)
    assert {s.sample_id: s.label for s in result.samples} == {"a_b-1_1": 1.5, "a_b-1_2": -0.25, "Xy9_1": -2.75}


def test_words_decode_from_every_string_storage(tmp_path):
    path = tmp_path / "w.csd"
    words = ["sp", "café", "x"]
    with h5py.File(path, "w") as h5:
        data = h5.create_group("W").create_group("data")
        stored = {
            "fixed": np.array([[w.encode()] for w in words], dtype="S8"),  # NUL-padded to 8 bytes
            "vlen_bytes": np.array([[w.encode()] for w in words], dtype=h5py.special_dtype(vlen=bytes)),
            "vlen_str": np.array([[w] for w in words], dtype=h5py.string_dtype()),
        }
        for name, arr in stored.items():
            group = data.create_group(name)
            group.create_dataset("features", data=arr)
            group.create_dataset("intervals", data=np.array([[0, 1.0], [1, 2], [2, 3]]))
        spaced = h5py.h5t.C_S1.copy()  # a fixed-length string padded with spaces (Fortran, MATLAB)
        spaced.set_size(6)
        spaced.set_strpad(h5py.h5t.STR_SPACEPAD)
        group = data.create_group("space_padded")
        h5py.h5d.create(group.id, b"features", spaced, h5py.h5s.create_simple((3, 1))).write(
            h5py.h5s.ALL, h5py.h5s.ALL, np.array([[w.encode().ljust(6)] for w in words], dtype="S6"))
        group.create_dataset("intervals", data=np.array([[0, 1.0], [1, 2], [2, 3]]))
    with CsdFile(path) as csd:
        assert csd.is_text()
        for key in csd.video_ids:
            assert decode_words(csd.read(key).features) == words, key
    assert decode_words(np.array([[np.bytes_(b"sp")], [np.str_("go")], [b"caf\xc3\xa9"]], dtype=object)) == ["sp", "go", "café"]
    assert decode_words(np.zeros((0, 1), "S1")) == []


def test_overlapping_and_zero_length_rows_load_as_the_sdk_keeps_them(tmp_path):
    intervals = np.array([[0.0, 2.0], [1.0, 3.0], [1.0, 1.0], [2.5, 4.0]])  # words overlap; one has no length
    write_sdk_csd(tmp_path / "words.csd", "words", {"v": (np.array([[b"a"], [b"b"], [b"sp"], [b"c"]]), intervals)})
    result = load_corpus("csd", tmp_path)
    assert result.problems == [] and result.samples[0].transcript == "a b c"
    row = next(iter(result.tables[0].read(["v"])))
    assert row.intervals.tolist() == intervals.tolist() and row.columns["words"] == ["a", "b", "sp", "c"]


def test_raw_clip_keys_in_a_label_file_are_named_with_the_sdk_form_to_use(tmp_path):
    write_sdk_csd(tmp_path / LABELS_FILE, LABELS_ROOT, {"v_1": one_row(1.0), "v_2": one_row(2.0)})
    write_sdk_csd(tmp_path / COVAREP_FILE, COVAREP_ROOT, {"v": frames(2.0, 10, 2, seed=0)})
    result = load_corpus("csd", tmp_path)
    assert result.samples == []
    reasons = {p.sample_id: p.reason for p in result.problems}
    assert "'v_2' reads like raw clip 2 of video 'v', a segment the SDK keys v[1] (or as row 1 of key 'v')" in reasons["v_2"]
    assert "raw clip" not in reasons["v"]


def test_reading_one_video_of_a_large_file_reads_only_that_video(tmp_path):
    rows, dim = 10_000, 1000  # 40 MB of float32 in one video
    starts = np.arange(rows) / 100
    with h5py.File(tmp_path / "audio_big.csd", "w") as h5:
        data = h5.create_group("big").create_group("data")
        group = data.create_group("huge")
        group.create_dataset("features", shape=(rows, dim), dtype=np.float32, chunks=(100, dim), fillvalue=0.25)
        group.create_dataset("intervals", data=np.stack([starts, starts + 0.01], axis=1))
        group = data.create_group("small")
        group.create_dataset("features", data=np.ones((3, dim), np.float32))
        group.create_dataset("intervals", data=np.stack([starts[:3], starts[:3] + 0.01], axis=1))
    tracemalloc.start()
    try:
        result = load_corpus("csd", tmp_path)
        rows_read = list(result.tables[0].read(["small"]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.features.shape for r in rows_read] == [(3, dim)]
    assert peak < 8_000_000  # the 40 MB video was never read: only its intervals (160 kB) were checked


# --- writing ----------------------------------------------------------------------------------------


def test_written_files_pass_the_sdk_checks_and_its_deploy_would_not_prompt(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    written = export_csd(tmp_path / "out", tmp_path / "back")
    assert sorted(p.name for p in written) == sorted(fake.files)
    for path in written:
        group, root_name, metadata, data, prompts = sdk_open(path)
        assert prompts == [] and {"uuid", "md5", "dimension names", "computational sequence version"} <= set(metadata)
        assert group == root_name  # the SDK keys a folder's sequences by metadata["root name"]
        assert data and all(e["intervals"].dtype == np.float64 and e["intervals"].shape[1] == 2 for e in data.values())
        kinds = {e["features"].dtype.str for e in data.values()}
        if path.name == WORDS_FILE:
            assert {k[:2] for k in kinds} == {"|S"} and {e["features"].shape[1] for e in data.values()} == {1}
            pauses = sum(w == "sp" for words in WORDS.values() for w, _, _ in words)
            assert [w for e in data.values() for w in e["features"][:, 0]].count(b"sp") == pauses == 4
        else:
            assert kinds == {"<f4"}
    _, _, _, covarep, _ = sdk_open(tmp_path / "back" / COVAREP_FILE)
    assert list(covarep) == ["abc[0]", "abc[1]", "abcd[0]", "x9Y_z-1[0]", "x9Y_z-1[1]"]  # segments, the SDK's form


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_read_of_write_gives_back_features_intervals_words_and_metadata(tmp_path, dtype):
    rng = np.random.default_rng(0)
    entries = {
        "a": (rng.normal(size=(5, 3, 2)).astype(dtype), np.sort(rng.uniform(0, 9, size=(5, 2)), axis=1)),
        "a[10]": (np.zeros((0, 3, 2), dtype), np.zeros((0, 2))),
        "7": (np.ones((1, 3, 2), dtype), np.array([[1.5, 1.5]])),
    }
    words = np.array([["sp"], ["naïve"], ["日本"]], dtype=object)
    metadata = {"dataset name": "X", "dimension names": np.array(["x", "y"]), "dataset version": np.float32(2.5)}
    write_csd(tmp_path / "f.csd", "F root", [(k, f, i) for k, (f, i) in entries.items()], metadata)
    write_csd(tmp_path / "w.csd", "W", [("a", words, np.array([[0, 1.0], [1, 2], [2, 3]]))])
    with CsdFile(tmp_path / "f.csd") as csd:
        assert csd.root_name == "F root" and csd.video_ids == ["7", "a", "a[10]"]
        for key, (features, intervals) in entries.items():
            entry = csd.read(key)
            assert entry.features.dtype == dtype and np.array_equal(entry.features, features)
            assert entry.intervals.dtype == np.float64 and np.array_equal(entry.intervals, intervals)
        assert {k: csd.metadata[k] for k in metadata} == {"dataset name": "X", "dimension names": ["x", "y"],
                                                           "dataset version": 2.5}
    with CsdFile(tmp_path / "w.csd") as csd:
        stored = csd.read("a").features
        assert stored.shape == (3, 1) and stored.dtype.kind == "S"
        assert decode_words(stored) == ["sp", "naïve", "日本"]


@pytest.mark.parametrize("key, features, message", [
    ("a/b", np.zeros((1, 1)), r"video id 'a/b' cannot be an HDF5 name; expected a non-empty string without '/'"),
    ("", np.zeros((1, 1)), r"video id '' cannot be an HDF5 name"),
    ("w", np.array([["x"]], dtype=object), r"\[R/data/w\]: video id 'w' is given twice; expected one entry per key"),
    ("n", np.array([[None]], dtype=object), r"\[R/data/n\]: word 0 is None; expected a string"),
    ("i", np.array([[3]], dtype=object), r"\[R/data/i\]: word 0 is 3; expected a string"),
])
def test_writer_refuses_what_hdf5_or_the_sdk_cannot_read_back_naming_file_and_video(tmp_path, key, features, message):
    entries = [("w", np.array([["sp"]]), np.array([[0, 1.0]])), (key, features, np.array([[0, 1.0]]))]
    with pytest.raises(CorpusFormatError, match=r"x\.csd.*" + message):
        write_csd(tmp_path / "x.csd", "R", entries)
    with pytest.raises(CorpusFormatError, match=r"metadata key 'a/b' cannot be an HDF5 name"):
        write_csd(tmp_path / "x.csd", "R", entries[:1], {"a/b": 1})
    with pytest.raises(CorpusFormatError, match=r"metadata 'creator' is .*, which is not JSON"):
        write_csd(tmp_path / "x.csd", "R", entries[:1], {"creator": object()})
    assert list(tmp_path.iterdir()) == []  # nothing half-written


# --- folds ------------------------------------------------------------------------------------------


def test_the_sdk_standard_folds_give_52_10_31_videos_as_module_and_as_json(tmp_path):
    module = tmp_path / "cmu_mosi_std_folds.py"
    module.write_text(MOSI_STD_FOLDS_PY)
    split_of = read_folds(module)
    counts = {s: list(split_of.values()).count(s) for s in ("train", "valid", "test")}
    assert counts == {"train": 52, "valid": 10, "test": 31} and len(split_of) == 93
    as_json = tmp_path / "folds.json"
    as_json.write_text(json.dumps({s: [v for v, f in split_of.items() if f == s] for s in counts}))
    assert read_folds(as_json) == split_of
    assert split_of["_dI--eQ6qVU"] == "valid" and split_of["d3_k5Xpfmik"] == "test"


def test_fold_ids_must_be_strings_and_a_non_json_text_file_says_what_is_read(tmp_path):
    (tmp_path / "n.json").write_text(json.dumps({"train": ["0042", 42]}))
    with pytest.raises(CorpusFormatError, match=r"n\.json: fold 'train' item 1 is 42; expected a video id as a string; "
                                                r"quote ids that look like numbers: \"42\""):
        read_folds(tmp_path / "n.json")
    (tmp_path / "n.py").write_text("standard_train_fold = ['a']\nstandard_test_fold = [1234, 'b']\n")
    with pytest.raises(CorpusFormatError, match=r"n\.py:2: standard_test_fold holds 1234; expected video ids as strings"):
        read_folds(tmp_path / "n.py")
    (tmp_path / "ids.txt").write_text("abc\nabcd\n")
    with pytest.raises(CorpusFormatError, match=r"ids\.txt:1:1: invalid JSON .*; expected a JSON object \{split: "
                                                r"\[video ids\]\} or the SDK's \*_std_folds\.py"):
        read_folds(tmp_path / "ids.txt")
    (tmp_path / "ok.json").write_text(json.dumps({"train": ["0042"], "test": ["123"]}))
    assert read_folds(tmp_path / "ok.json") == {"0042": "train", "123": "test"}


def test_videos_in_no_fold_and_fold_ids_of_no_video_are_reported(tmp_path, caplog):
    fake = write_mosi_csd(tmp_path)
    (tmp_path / "folds.json").write_text(json.dumps({"train": ["abc", "zzz-not-here"], "test": ["x9Y_z-1"]}))
    with caplog.at_level("WARNING", logger="mmdata.formats.folds"):
        result = load_corpus("csd", fake.root, options={"folds": "folds.json"})
    assert {s.sample_id: s.split for s in result.samples}["abcd[0]"] == "unassigned"
    assert "1 of 3 videos are in no fold (split 'unassigned'), e.g. abcd" in caplog.text
    assert "1 of 3 fold ids are no video of the corpus (or were dropped while loading), e.g. zzz-not-here" in caplog.text
    assert report_fold_coverage(tmp_path, {"a": "train", "b": "test"}, ["b", "c"]) == (["c"], ["a"])
