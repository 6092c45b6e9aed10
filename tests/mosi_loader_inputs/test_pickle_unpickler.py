"""The restricted unpickler: empty bytes of protocols 0-2, and the text of Python 2 pickles."""
from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.formats.safe_pickle import load_pickle_safely


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_empty_arrays_and_empty_bytes_load_below_protocol_3(tmp_path, protocol):
    value = {"empty": np.zeros((0, 4), np.float32), "b": b"", "full": b"ab\xff", "ids": np.array([], dtype=object)}
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    loaded = load_pickle_safely(path)
    assert loaded["empty"].shape == (0, 4) and loaded["empty"].dtype == np.float32
    assert loaded["b"] == b"" and loaded["full"] == b"ab\xff" and loaded["ids"].shape == (0,)


@pytest.mark.parametrize("args", [b"I1000000000000\n", b"I3\n"])
def test_bytes_of_a_size_is_refused(tmp_path, args):
    path = tmp_path / "big.pkl"
    path.write_bytes(b"c__builtin__\nbytes\n(" + args + b"tR.")
    with pytest.raises(CorpusFormatError, match=r"big\.pkl: not a readable pickle .*bytes from a int is not allowed"):
        load_pickle_safely(path)


def _py2_str(data: bytes) -> bytes:
    """A Python 2 `str` as Python 2's pickle writes it (SHORT_BINSTRING / BINSTRING)."""
    return (b"U" + bytes([len(data)]) + data) if len(data) < 256 else (b"T" + struct.pack("<i", len(data)) + data)


def _py2_array(a: np.ndarray) -> bytes:
    """A numpy array as Python 2 numpy pickles it (protocol 2, data as a byte string)."""
    shape = b"(" + b"".join(b"J" + struct.pack("<i", n) for n in a.shape) + b"t"
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01" + shape
            + b"cnumpy\ndtype\n" + _py2_str(a.dtype.str[1:].encode()) + b"K\x00K\x01\x87R(K\x03"
            + _py2_str(a.dtype.str[:1].encode()) + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
            + _py2_str(a.tobytes()) + b"tb")


def _py2_dict(pairs) -> bytes:
    return b"}(" + b"".join(_py2_str(k.encode()) + v for k, v in pairs) + b"u"


def _py2_list(items) -> bytes:
    return b"](" + b"".join(items) + b"e"


def test_python2_text_is_read_as_utf8_and_arrays_stay_bit_exact(tmp_path):
    audio = np.frombuffer(bytes(range(256))[:4 * 2 * 3 * 4], dtype=np.float32).reshape(4, 2, 3).copy()
    labels = np.array([0.1, -0.7, 2.8, 3.0], dtype=np.float32)
    split = _py2_dict([
        ("id", _py2_list([_py2_str(f"vid{i}$_$é{i}".encode()) for i in range(4)])),
        ("raw_text", _py2_list([_py2_str("我不知道 café".encode()), _py2_str(b"latin \xe9 alone"),
                                _py2_str(b"plain"), _py2_str(("é" * 200).encode())])),
        ("audio", _py2_array(audio)), ("regression_labels", _py2_array(labels)),
    ])
    (tmp_path / "py2.pkl").write_bytes(b"\x80\x02" + _py2_dict([("train", split)]) + b".")
    loaded = load_pickle_safely(tmp_path / "py2.pkl")
    train = loaded["train"]
    # BINSTRING (over 255 bytes) too; bytes that are not UTF-8 are left as latin-1 read them
    assert train["raw_text"] == ["我不知道 café", "latin é alone", "plain", "é" * 200]
    assert train["id"][0] == "vid0$_$é0" and type(train["id"][0]) is str and type(next(iter(loaded))) is str
    assert train["audio"].tobytes() == audio.tobytes() and train["audio"].dtype == np.float32
    samples = load_corpus("mmsa", tmp_path).samples
    assert samples[0].transcript == "我不知道 café" and samples[0].extra["clip_id"] == "é0"
    assert [s.label for s in samples] == [0.1, -0.7, 2.8, 3.0]


def test_python3_strings_are_never_redecoded(tmp_path):
    mojibake = "cafÃ©"  # a genuine Python 3 string that happens to look like mis-decoded UTF-8
    for protocol in (0, 2, 4):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps({"t": [mojibake, (mojibake,)], "o": np.array([mojibake], dtype=object)},
                                      protocol=protocol))
        loaded = load_pickle_safely(path)
        assert loaded["t"] == [mojibake, (mojibake,)] and loaded["o"].tolist() == [mojibake]
