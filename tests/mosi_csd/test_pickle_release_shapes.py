"""Processed pickles as the MMSA and MulT releases ship them (Python 2 byte strings, string/bytes ids, ids
missing, short text columns), and pickles that abuse numpy's rebuilders (each refused before numpy runs it)."""
from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.formats.safe_pickle import load_pickle_safely
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import mmsa_split, mult_split

ROOT = Path(__file__).resolve().parents[2]


class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 `str` (SHORT_BINSTRING/BINSTRING) and numpy's module as Python 2 numpy named it,
    as the old CMU-era protocol-2 releases hold them."""

    # pickle's own savers only: dill (imported with `datasets` by other tests) adds its own for dict,
    # type, function, ... to pickle's table, and this pickle must be written as Python 2 wrote it.
    dispatch = {t: f for t, f in pickle._Pickler.dispatch.items() if getattr(f, "__module__", None) == "pickle"}

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_dumps(obj) -> bytes:
    f = io.BytesIO()
    Py2Pickler(f, protocol=2).dump(obj)
    data = f.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"_codecs" not in data and b"c__builtin__\n" in data and b"cnumpy.core.multiarray\n" in data
    return data


def test_a_python2_mult_pickle_loads_with_its_ids_labels_and_float64_features(tmp_path):
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(2, 4, 5)).astype(np.float32)
    audio[0, 1, 2] = -np.inf
    part = {"vision": rng.normal(size=(2, 4, 20)), "text": rng.normal(size=(2, 4, 300)), "audio": audio,
            "labels": np.array([[[1.5]], [[-0.25]]], np.float32),
            "id": np.array([[b"-3g5yACwYnA", b"82.753", b"100.555"], [b"Iu2PFX3z_1s", b"0.0", b"4.5"]]),
            "tags": {1, 2}, "scale": np.float32(2.5)}
    (tmp_path / "mult").mkdir()
    (tmp_path / "mult" / "mosi_data.pkl").write_bytes(py2_dumps({"train": part}))
    loaded = load_pickle_safely(tmp_path / "mult" / "mosi_data.pkl")["train"]
    assert loaded["id"].dtype == np.dtype("S11") and loaded["tags"] == {1, 2} and loaded["scale"] == np.float32(2.5)
    assert loaded["vision"].dtype == np.float64 and np.array_equal(loaded["vision"], part["vision"])
    samples = load_corpus("mult", tmp_path / "mult").samples
    assert [(s.sample_id, s.group_id, s.start, s.end, s.label) for s in samples] == [
        ("-3g5yACwYnA_82.753_100.555", "-3g5yACwYnA", 82.753, 100.555, 1.5),
        ("Iu2PFX3z_1s_0.0_4.5", "Iu2PFX3z_1s", 0.0, 4.5, -0.25)]
    extract("mult", tmp_path / "mult", tmp_path / "out", corpus_options={"nonfinite": "zero"}, extractors=[],
            num_workers=0)
    rows = {r["sample_id"]: r for r in open_dataset(tmp_path / "out").table("audio.mult").to_table().to_pylist()}
    stored = np.array(rows[samples[0].sample_id]["feature"], np.float32)
    assert np.array_equal(stored, np.where(np.isinf(audio[0]), 0, audio[0]))  # -inf zeroed, as MulT does on load


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_mult_pickle_without_ids_numbers_its_rows_as_mult_itself_allows(tmp_path, protocol):
    data = {s: mult_split(s, n, k) for k, (s, n) in enumerate({"train": 2, "test": 1}.items())}
    for part in data.values():
        del part["id"]
    (tmp_path / "mult").mkdir()
    (tmp_path / "mult" / "iemocap_data.pkl").write_bytes(pickle.dumps(data, protocol=protocol))
    result = load_corpus("mult", tmp_path / "mult")
    assert [(s.sample_id, s.split, s.start) for s in result.samples] == [
        ("train_0", "train", None), ("train_1", "train", None), ("test_0", "test", None)]
    assert result.samples[1].label == pytest.approx(float(data["train"]["labels"][1, 0, 0]))
    assert "no 'id'" in result.metadata["ids"]
    extract("mult", tmp_path / "mult", tmp_path / "out", corpus_options={"nonfinite": "zero"}, extractors=[],
            num_workers=0)
    rows = {r["sample_id"]: r for r in open_dataset(tmp_path / "out").table("video.mult").to_table().to_pylist()}
    assert np.array_equal(np.array(rows["test_0"]["feature"], np.float32), data["test"]["vision"][0])


@pytest.mark.parametrize("key", ["raw_text", "annotations"])
def test_a_short_text_column_of_an_mmsa_pickle_is_a_format_error_naming_it(tmp_path, key):
    part = mmsa_split("train", 3, 0)
    part["id"] = np.array([b"03bSnISJMiM$_$1", b"03bSnISJMiM$_$2", b"0h-zjBukYpk$_$1"])  # ids as a bytes array
    part[key] = part[key][:2]
    (tmp_path / "mmsa").mkdir()
    (tmp_path / "mmsa" / "unaligned_50.pkl").write_bytes(pickle.dumps({"train": part}, protocol=4))
    with pytest.raises(CorpusFormatError,
                       match=rf"unaligned_50\.pkl: split 'train' key '{key}' has 2 rows, expected 3"):
        load_corpus("mmsa", tmp_path / "mmsa")


# --- pickles that misuse numpy's rebuilders -----------------------------------------------------------------

def _reduce(func, args, state=None):
    class Reduce:
        def __reduce__(self):
            return (func, args) if state is None else (func, args, state)
    return Reduce()


def _load_in_a_child(path: Path) -> subprocess.CompletedProcess:
    """Load in another process: on the unchecked numpy path some of these files crash the interpreter."""
    code = textwrap.dedent(f"""
        from mmdata.errors import CorpusFormatError
        from mmdata.formats.safe_pickle import load_pickle_safely
        try:
            value = load_pickle_safely({str(path)!r})
        except CorpusFormatError as e:
            print("REFUSED", e)
        else:
            print("LOADED", getattr(value, "dtype", None), getattr(value, "shape", None))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def _reconstruct():
    from numpy._core.multiarray import _reconstruct
    return _reconstruct


@pytest.mark.parametrize("make, words", [
    # an object array declaring more items than its list holds: numpy reads past the list
    (lambda: _reduce(_reconstruct(), (np.ndarray, (0,), b"b"), (1, (1000,), np.dtype("O"), False, [None])),
     r"numpy object array of shape \(1000,\) holds 1 items; expected a list of 1000"),
    # a structured dtype whose field lies outside the 8-byte item
    (lambda: _reduce(_reconstruct(), (np.ndarray, (0,), b"b"),
                     (1, (2,), _reduce(np.dtype, ("V8", False, True),
                                       (3, "|", None, ("a",), {"a": (np.dtype("f8"), 10**7)}, 8, 1, 16)),
                      False, b"\0" * 16)),
     r"numpy dtype .* is not allowed \(only plain"),
    # a huge array declared directly (numpy would try to allocate it)
    (lambda: _reduce(_reconstruct(), (np.ndarray, (10**6, 10**6), b"b")), r"numpy _reconstruct\(numpy\.ndarray"),
    (lambda: _reduce(_reconstruct(), (np.ndarray, (3 * 10**8,), "O")), r"numpy _reconstruct\(numpy\.ndarray"),
    (lambda: _reduce(np.ndarray, ((10**6, 10**6),)), r"'_NdarrayType' object is not callable"),
    (lambda: _reduce(bytearray, (10**13,)), r"bytearray from a int is not allowed"),
], ids=["object-array-longer-than-its-list", "dtype-field-out-of-item", "reconstruct-huge", "reconstruct-huge-object",
        "ndarray-call", "bytearray-size"])
@pytest.mark.parametrize("protocol", [2, 5])
def test_numpy_rebuilders_misused_by_a_pickle_are_refused_without_crashing_or_allocating(tmp_path, make, words,
                                                                                         protocol):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps({"train": {"audio": make()}}, protocol=protocol))
    done = _load_in_a_child(path)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.startswith(f"REFUSED {path}: not a readable pickle"), done.stdout
    assert __import__("re").search(words, done.stdout), done.stdout


def test_a_dtype_changed_after_an_array_used_it_does_not_change_the_array(tmp_path):
    """numpy arrays share their dtype object: a later BUILD on it (S5 -> S1000) would make the array read
    1000 bytes per item from a 5-byte buffer."""
    array = np.array([b"abcde"], "S5")
    stream = pickle.dumps([array.dtype, array], protocol=2)  # the array's state refers to the memoized dtype
    assert stream.endswith(b"e.")  # ... APPENDS STOP
    dtype_memo = stream.index(b"R", stream.index(b"cnumpy\ndtype\n")) + 1  # the BINPUT after the dtype's REDUCE
    assert stream[dtype_memo:dtype_memo + 1] == pickle.BINPUT
    get = pickle.BINGET + stream[dtype_memo + 1:dtype_memo + 2]
    state = pickle.dumps((3, "|", None, None, None, 1000, 1, 0), protocol=2)[2:-1]
    path = tmp_path / "mutate.pkl"
    path.write_bytes(stream[:-1] + get + state + pickle.BUILD + pickle.POP + pickle.STOP)
    done = _load_in_a_child(path)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.split() == ["LOADED", "None", "None"]  # the list loads
    values = load_pickle_safely(path)
    assert values[1].dtype == np.dtype("S5") and values[1].tolist() == [b"abcde"]


def test_a_length_larger_than_the_file_is_a_format_error_not_an_allocation(tmp_path):
    path = tmp_path / "long.pkl"
    for opcode in (pickle.BINBYTES8, pickle.BYTEARRAY8, pickle.BINUNICODE8):
        path.write_bytes(pickle.PROTO + b"\x05" + opcode + struct.pack("<Q", 1 << 45) + b"abc.")
        with pytest.raises(CorpusFormatError, match=r"long\.pkl: not a readable pickle .* declares 35184372088832 "
                                                    r"bytes but the file has 15"):
            load_pickle_safely(path)
