"""`.csd` storage of small and large arrays: small arrays (a key per word after aligning to words) are
written contiguous and uncompressed, large ones chunked and gzipped at GZIP_LEVEL; files written the
SDK's way (every array gzip 9 in chunks) read the same; the loader looks each key up once and keeps
small keys' rows for the table reader without changing a value or an error."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora import csd as csd_loader
from mmdata.errors import CorpusFormatError
from mmdata.formats.csd import GZIP_LEVEL, SMALL_ARRAY_BYTES, CsdFile, read_rows, write_csd

WORDS_PER_VIDEO = 6
VIDEOS = ("vA", "vB")
METADATA = {"dataset name": "CMU-MOSI", "dimension names": ["a", "b", "c"], "creator": "tests"}


def word_rows(video: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A file aligned to words: one key `vid[i]` of one row per word."""
    rng = np.random.default_rng(video)
    return {f"{VIDEOS[video]}[{i}]": (rng.normal(size=(1, 3)).astype(np.float32), np.array([[i * 0.5, i * 0.5 + 0.5]]))
            for i in range(WORDS_PER_VIDEO)}


def aligned_folder(root, *, sdk_layout: bool):
    """Words, COVAREP-like rows aligned to them (a key per word) and labels, written by `write_csd`
    or, with `sdk_layout`, as the SDK's `deploy` writes them (every array chunked, gzip level 9)."""
    words = {key: (np.array([[b"sp" if key.endswith("[0]") else b"word"]]), iv)
             for video in range(2) for key, (_, iv) in word_rows(video).items()}
    covarep = {key: rows for video in range(2) for key, rows in word_rows(video).items()}
    labels = {v: (np.array([[1.5]], np.float32), np.array([[0.0, WORDS_PER_VIDEO * 0.5]])) for v in VIDEOS}
    files = {"CMU_MOSI_TimestampedWords.csd": ("words", words), "CMU_MOSI_COVAREP.csd": ("COAVAREP", covarep),
             "CMU_MOSI_Opinion_Labels.csd": ("Opinion Segment Labels", labels)}
    for name, (root_name, data) in files.items():
        if sdk_layout:
            write_sdk_way(root / name, root_name, data)
        else:
            write_csd(root / name, root_name, ((k, f, i) for k, (f, i) in data.items()), METADATA)
    return root


def write_sdk_way(path, root_name, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        group = h5.create_group(root_name).create_group("data")
        for key, (features, intervals) in data.items():
            entry = group.create_group(key)
            entry.create_dataset("features", data=features, compression="gzip", compression_opts=9)
            entry.create_dataset("intervals", data=intervals, compression="gzip", compression_opts=9)
        meta = h5[root_name].create_group("metadata")
        meta.create_dataset("root name", (1,), dtype=h5py.string_dtype())[0] = f'"{root_name}"'


def table_rows(result):
    """{table: {sample_id: (features, intervals, extra columns)}} of every table of a load."""
    ids = [s.sample_id for s in result.samples]
    return {t.name: {r.sample_id: (r.features, r.intervals, r.columns) for r in t.read(ids)} for t in result.tables}


def assert_same_rows(left, right):
    assert left.keys() == right.keys()
    for table in left:
        assert left[table].keys() == right[table].keys()
        for sample_id, (features, intervals, columns) in left[table].items():
            other = right[table][sample_id]
            assert features.dtype == other[0].dtype and features.tobytes() == other[0].tobytes(), (table, sample_id)
            assert intervals.dtype == other[1].dtype and intervals.tobytes() == other[1].tobytes(), (table, sample_id)
            assert columns == other[2]


def test_small_arrays_are_contiguous_and_uncompressed_large_ones_chunked_gzip_at_the_new_level(tmp_path):
    frames = np.random.default_rng(0).normal(size=(SMALL_ARRAY_BYTES // 4 // 74 + 10, 74)).astype(np.float32)
    steps = np.stack([np.arange(len(frames)) / 100, np.arange(1, len(frames) + 1) / 100], 1)
    many_words = np.array([[b"word"]] * (SMALL_ARRAY_BYTES // 4 + 1), dtype="S4")
    word_steps = np.stack([np.arange(len(many_words)), np.arange(1, len(many_words) + 1)], 1).astype(np.float64)
    write_csd(tmp_path / "seq.csd", "seq", [("word[0]", frames[:1], steps[:1]), ("video", frames, steps),
                                            ("empty", frames[:0], steps[:0]), ("words", many_words, word_steps)])
    with h5py.File(tmp_path / "seq.csd", "r") as h5:
        data = h5["seq"]["data"]
        for name in ("features", "intervals"):
            small = data["word[0]"][name]
            assert (small.chunks, small.compression, small.shuffle) == (None, None, False)
        big = data["video"]["features"]
        assert big.nbytes >= SMALL_ARRAY_BYTES
        assert big.chunks is not None and (big.compression, big.compression_opts, big.shuffle) == ("gzip", GZIP_LEVEL, True)
        assert data["video"]["intervals"].compression is None  # (T, 2) float64 of a short video: small
        assert (data["empty"]["features"].chunks, data["empty"]["features"].compression) == (None, None)
        text = data["words"]["features"]  # large words: compressed, without the shuffle filter numbers get
        assert (text.compression, text.compression_opts, text.shuffle) == ("gzip", GZIP_LEVEL, False)
    assert GZIP_LEVEL == 4


def test_values_intervals_and_metadata_round_trip_bit_identically(tmp_path):
    rng = np.random.default_rng(1)
    entries = [("v[0]", rng.normal(size=(1, 74)).astype(np.float32), np.array([[0.125, 0.5]])),
               ("v[1]", rng.normal(size=(3, 2, 2)), np.array([[0.5, 1.0], [1.0, 1.5], [1.5, 2.0]])),
               ("big", rng.normal(size=(400, 74)).astype(np.float32), np.arange(800, dtype=np.float64).reshape(400, 2)),
               ("half", np.full((2, 2), 1 / 3, np.float16), np.array([[0.0, 0.1], [0.1, 0.2]])),
               ("empty", np.zeros((0, 5), np.float32), np.zeros((0, 2)))]
    write_csd(tmp_path / "seq.csd", "Seq Root", entries, METADATA)
    with CsdFile(tmp_path / "seq.csd") as csd:
        for key, features, intervals in entries:
            entry = csd.read(key)
            assert entry.features.dtype == features.dtype and entry.features.shape == features.shape
            assert entry.features.tobytes() == features.tobytes()
            assert entry.intervals.dtype == np.float64 and entry.intervals.tobytes() == intervals.tobytes()
        assert csd.metadata["dimension names"] == ["a", "b", "c"] and csd.metadata["root name"] == "Seq Root"
        assert csd.metadata["dataset name"] == "CMU-MOSI" and csd.metadata["creator"] == "tests"
        features, intervals = read_rows(csd, ["half"], sort=True)
        assert features.dtype == np.float16 and intervals.tolist() == [[0.0, 0.1], [0.1, 0.2]]


def test_a_file_written_the_sdk_way_reads_identically_to_one_written_now(tmp_path):
    old = load_corpus("csd", aligned_folder(tmp_path / "old", sdk_layout=True))
    new = load_corpus("csd", aligned_folder(tmp_path / "new", sdk_layout=False))
    assert old.problems == [] and new.problems == []
    assert [s.sample_id for s in old.samples] == [s.sample_id for s in new.samples] == ["vA[0]", "vB[0]"]
    assert [s.transcript for s in old.samples] == [s.transcript for s in new.samples]
    with h5py.File(tmp_path / "old" / "CMU_MOSI_COVAREP.csd", "r") as h5:
        assert h5["COAVAREP"]["data"]["vA[0]"]["features"].compression_opts == 9
    assert_same_rows(table_rows(old), table_rows(new))


def test_kept_rows_give_what_the_file_gives(tmp_path, monkeypatch):
    folder = aligned_folder(tmp_path / "csd", sdk_layout=False)
    kept = load_corpus("csd", folder)
    covarep = csd_loader.inspect_csd(folder / "CMU_MOSI_COVAREP.csd", csd_loader.CsdOptions(), [], labels=False)
    assert sorted(covarep.kept_rows) == list(VIDEOS)
    assert covarep.kept_rows["vA"].bounds["vA[2]"] == (2, 3)
    monkeypatch.setattr(csd_loader, "KEPT_ROWS_BYTES", 0)  # every key read from the file again
    assert csd_loader.inspect_csd(folder / "CMU_MOSI_COVAREP.csd", csd_loader.CsdOptions(), [], labels=False).kept_rows == {}
    read_again = load_corpus("csd", folder)
    assert_same_rows(table_rows(kept), table_rows(read_again))
    # whole-key samples (no labels): each key's own rows, kept or read
    monkeypatch.setattr(csd_loader, "KEPT_ROWS_BYTES", 256 * 2**20)
    by_key = load_corpus("csd", folder, options={"labels": "none"})
    monkeypatch.setattr(csd_loader, "KEPT_ROWS_BYTES", 0)
    assert_same_rows(table_rows(by_key), table_rows(load_corpus("csd", folder, options={"labels": "none"})))


@pytest.mark.parametrize("corrupt, message", [
    (lambda data: data["vA[1]"].__delitem__("intervals"),
     "[COAVAREP/data/vA[1]]: missing dataset 'intervals'; expected 'features' and 'intervals' datasets in each "
     "video's group, as the SDK writes them; video 'vA' is left out of every table"),
    (lambda data: (data.__delitem__("vA[1]"), data.create_dataset("vA[1]", data=[1.0])),
     "[COAVAREP/data/vA[1]]: is a dataset of shape (1,); expected a group holding 'features' and 'intervals', as "
     "the SDK writes each video; video 'vA' is left out of every table"),
    (lambda data: (data["vA[1]"].__delitem__("intervals"), data["vA[1]"].create_dataset("intervals", data=np.zeros((2, 2)))),
     "[COAVAREP/data/vA[1]]: features have 1 rows but intervals have 2; expected one [start, end] interval per "
     "feature row; video 'vA' is left out of every table"),
    (lambda data: data["vA[1]"]["intervals"].write_direct(np.array([[np.nan, 1.0]])),
     "[COAVAREP/data/vA[1]]: interval row 0 is [nan, 1.0]; expected finite seconds; video 'vA' is left out of "
     "every table"),
])
def test_a_corrupt_key_gives_the_same_error_as_before(tmp_path, corrupt, message):
    folder = aligned_folder(tmp_path / "csd", sdk_layout=False)
    path = folder / "CMU_MOSI_COVAREP.csd"
    with h5py.File(path, "a") as h5:
        corrupt(h5["COAVAREP"]["data"])
    result = load_corpus("csd", folder)
    problems = {p.sample_id: p.reason for p in result.problems}
    assert problems == {"vA[1]": f"{path} {message}"}
    assert [s.sample_id for s in result.samples] == ["vB[0]"]
    with CsdFile(path) as csd, pytest.raises(CorpusFormatError) as error:
        csd_loader._check_key(csd, "vA[1]", csd_loader._FileInfo(path, "COAVAREP", {}, False), csd_loader.CsdOptions(),
                              rows_checked=True)
    assert f"{path} {message}".startswith(str(error.value))
