"""Loading processed-feature pickles without running the code a pickle may carry.

`pickle.load` calls whatever global a file names (`os.system`, `subprocess.Popen`, ...), so a
downloaded `.pkl` can run code. The MMSA and MulT releases hold only dicts, lists, strings and
numpy arrays; this unpickler admits exactly the globals needed to rebuild those and refuses any
other with `UnsafePickleError`, naming the file and the global.

Admitting numpy's rebuilders is not enough by itself: numpy trusts the shape, dtype and data a
pickle hands them, so a file of a few hundred bytes could declare a terabyte array, an object array
longer than the list of its items (numpy then reads past the list: a crash) or a structured dtype
whose fields point outside each item. So the rebuilders are wrapped: arrays are rebuilt only in the
two ways numpy writes them (an empty `_reconstruct` then the state, or `_frombuffer`), from a plain
dtype (bool, integer, float, complex, bytes, str or object; no fields, no sub-arrays), with exactly
as many bytes or items as the shape declares; no object may declare more bytes than the file holds.

Python 2 pickles (the older CMU releases) load too: their byte strings are read as latin-1,
which is what numpy needs to rebuild arrays pickled under Python 2. The text among them (ids,
transcripts, annotations) was UTF-8 bytes in Python 2, so once the file is loaded each string that
came from a Python 2 string opcode (STRING, BINSTRING, SHORT_BINSTRING) and whose latin-1 bytes are
valid UTF-8 is decoded as UTF-8 ("cafÃ©" becomes "café"). Strings a Python 3 pickle holds are
never changed, and array data (consumed by numpy while loading) stays bit-exact.
"""
from __future__ import annotations

import codecs
import collections
import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import CorpusFormatError, CorpusNotFoundError


class UnsafePickleError(CorpusFormatError):
    """A pickle names a global outside the numpy-and-containers allowlist."""


#: numpy dtype kinds an array may have: bool, signed/unsigned integer, float, complex, bytes, str, object.
PLAIN_KINDS = "biufcSUO"


def _check_latin1(encoding: str, what: str) -> None:
    if not isinstance(encoding, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"{what} with encoding {encoding!r} is not allowed (only latin-1)")


def _encode_latin1(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles rebuild `bytes` (and numpy buffers) via `_codecs.encode(text, 'latin1')`.
    _check_latin1(encoding, "_codecs.encode")
    return text.encode("latin1")


def _bytearray(source: Any = b"", encoding: str | None = None) -> bytearray:
    # Protocol 2 writes bytearray(text, 'latin-1'), protocols 3/4 bytearray(bytes); bytearray(n) would allocate n bytes.
    if not isinstance(source, (bytes, str)):
        raise pickle.UnpicklingError(f"bytearray from a {type(source).__name__} is not allowed (only from bytes)")
    if isinstance(source, str):
        _check_latin1(encoding if encoding is not None else "", "bytearray")
        return bytearray(source, "latin1")
    return bytearray(source)


def _bytes(source: Any = b"", encoding: str | None = None) -> bytes:
    """`bytes()` as pickles call it: Python 3 writes an empty bytes (an empty array's data, b"") as
    `builtins.bytes()` below protocol 3. Only no argument, bytes, or latin-1 text is allowed:
    bytes(n) would allocate n bytes."""
    if isinstance(source, (bytes, bytearray)) and encoding is None:
        return bytes(source)
    if isinstance(source, str):
        _check_latin1(encoding if encoding is not None else "latin1", "bytes")
        return source.encode("latin1")
    raise pickle.UnpicklingError(f"bytes from a {type(source).__name__} is not allowed (only from bytes or text)")


class _Py2Str(str):
    """Text a Python 2 string opcode gave (its bytes read as latin-1); see `_utf8_text`."""


def _utf8_text(text: _Py2Str) -> str:
    """A Python 2 string as the text it held: UTF-8 when its latin-1 bytes are valid UTF-8, else as read."""
    try:
        return text.encode("latin1").decode("utf-8")
    except UnicodeError:
        return str(text)


def _redecode_py2_strings(value: Any, seen: dict[int, Any]) -> Any:
    """`value` with every `_Py2Str` inside it (dict keys and values, list, tuple and set items, object
    array items) replaced by its text (`_utf8_text`). Containers are changed in place where they can be
    (shared and cyclic ones are visited once); tuples and sets are rebuilt."""
    if isinstance(value, _Py2Str):
        return _utf8_text(value)
    if id(value) in seen:
        return seen[id(value)]
    if isinstance(value, dict):
        seen[id(value)] = value
        items = [(_redecode_py2_strings(k, seen), _redecode_py2_strings(v, seen)) for k, v in value.items()]
        value.clear()
        value.update(items)
    elif isinstance(value, list):
        seen[id(value)] = value
        value[:] = [_redecode_py2_strings(v, seen) for v in value]
    elif isinstance(value, np.ndarray) and value.dtype.hasobject:
        seen[id(value)] = value
        flat = value.reshape(-1)
        for i, item in enumerate(flat):
            flat[i] = _redecode_py2_strings(item, seen)
    elif isinstance(value, (tuple, set, frozenset)):
        seen[id(value)] = value  # a tuple cannot hold itself; a placeholder stops a cycle through a list
        rebuilt = type(value)(_redecode_py2_strings(v, seen) for v in value)
        seen[id(value)] = rebuilt
        return rebuilt
    return value


def _plain_dtype(dtype: Any) -> np.dtype:
    """A fresh copy of `dtype` if it is a plain one (see PLAIN_KINDS), else an error. The copy matters: a
    dtype the pickle holds can be changed later by another BUILD, and an array must not see that."""
    if not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError(f"expected a numpy dtype, got a {type(dtype).__name__}")
    if dtype.kind not in PLAIN_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise pickle.UnpicklingError(f"numpy dtype {dtype} is not allowed (only plain bool, integer, float, complex, "
                                     "bytes, str and object dtypes; no fields or sub-arrays)")
    fresh = np.dtype(dtype.str)
    if fresh.itemsize != dtype.itemsize:
        raise pickle.UnpicklingError(f"numpy dtype {dtype.str} declares {dtype.itemsize} bytes per item")
    return fresh


def _shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or not all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape):
        raise pickle.UnpicklingError(f"expected an array shape (a tuple of sizes), got {shape!r:.80}")
    return tuple(int(n) for n in shape)


def _make_dtype(spec: Any, align: Any = False, copy: Any = True) -> np.dtype:
    # numpy writes dtype('f4', False, True); always copy, so that a later BUILD changes no shared dtype.
    if not isinstance(spec, str):
        raise pickle.UnpicklingError(f"numpy dtype from a {type(spec).__name__} is not allowed (only from a type code)")
    dtype = np.dtype(spec, bool(align), True)
    if dtype.kind not in PLAIN_KINDS:
        _plain_dtype(dtype)  # raises, naming the dtype
    return dtype


class _NdarrayType:
    """Stands for `numpy.ndarray` in a pickle: only `_reconstruct` may use it (calling ndarray allocates)."""

    def __repr__(self) -> str:
        return "numpy.ndarray"


_NDARRAY = _NdarrayType()


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    from numpy._core import multiarray

    # numpy writes _reconstruct(ndarray, (0,), b'b') and then sets the real shape, dtype and data by BUILD.
    if subtype is not _NDARRAY or math.prod(_shape(shape)) != 0:
        raise pickle.UnpicklingError(f"numpy _reconstruct({subtype!r:.40}, {shape!r:.40}, ...) is not allowed (numpy "
                                     "writes an empty ndarray here)")
    return multiarray._reconstruct(np.ndarray, (0,), b"b")


def _scalar(dtype: Any, data: Any = None) -> Any:
    from numpy._core import multiarray

    dtype = _plain_dtype(dtype)
    if dtype.hasobject or not isinstance(data, (bytes, str)):
        raise pickle.UnpicklingError(f"numpy scalar of {dtype} from a {type(data).__name__} is not allowed")
    return multiarray.scalar(dtype, str(data) if isinstance(data, _Py2Str) else data)


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    from numpy._core import numeric

    dtype = _plain_dtype(dtype)
    if dtype.hasobject:
        raise pickle.UnpicklingError("numpy _frombuffer of an object dtype is not allowed")
    return numeric._frombuffer(buffer, dtype, _shape(shape), order)


def _array_state(state: Any) -> tuple[Any, ...]:
    """numpy's ndarray state `([version,] shape, dtype, is_fortran, data)`, checked: data holds exactly the
    bytes (or, for an object array, the list items) the shape declares; the dtype a fresh plain one."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise pickle.UnpicklingError(f"numpy array state {type(state).__name__} is not (version, shape, dtype, "
                                     "is_fortran, data)")
    shape, dtype, fortran, data = state[-4:]
    shape, dtype = _shape(shape), _plain_dtype(dtype)
    if isinstance(data, _Py2Str):  # a Python 2 array's bytes, read as latin-1: numpy takes them as they are
        data = str(data)
    count = math.prod(shape)
    if dtype.hasobject:
        if not isinstance(data, list) or len(data) != count:
            what = f"{len(data)} items" if isinstance(data, list) else f"a {type(data).__name__}"
            raise pickle.UnpicklingError(f"numpy object array of shape {shape} holds {what}; expected a list of "
                                         f"{count}")
    elif not isinstance(data, (bytes, bytearray, str)) or len(data) != count * dtype.itemsize:
        what = f"{len(data)} bytes" if isinstance(data, (bytes, bytearray, str)) else f"a {type(data).__name__}"
        raise pickle.UnpicklingError(f"numpy array of shape {shape} and dtype {dtype} holds {what}; expected "
                                     f"{count * dtype.itemsize}")
    return (*state[:-4], shape, dtype, fortran, data)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {("_codecs", "encode"): _encode_latin1}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = _reconstruct
        allowed[(module, "scalar")] = _scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = _frombuffer
    allowed[("numpy", "ndarray")] = _NDARRAY
    allowed[("numpy", "dtype")] = _make_dtype
    for module in ("builtins", "__builtin__"):
        for name, obj in (("set", set), ("frozenset", frozenset), ("bytearray", _bytearray), ("complex", complex),
                          ("list", list), ("dict", dict), ("tuple", tuple), ("bytes", _bytes)):
            allowed[(module, name)] = obj
    allowed[("collections", "OrderedDict")] = collections.OrderedDict
    return allowed


class _SizedReader:
    """The file, refusing any read longer than the whole file: a pickle's declared lengths are not trusted."""

    def __init__(self, file: Any, size: int):
        self.file, self.size = file, size

    def read(self, n: int = -1) -> bytes:
        if n > self.size and n > 8:  # reads of an opcode or of a length field just come back short
            raise pickle.UnpicklingError(f"an object declares {n} bytes but the file has {self.size}")
        return self.file.read(n)

    def readline(self) -> bytes:
        return self.file.readline()


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that rebuilds only numpy arrays, numpy scalars/dtypes and plain containers.

    It is the pure-Python unpickler (as fast on files of a few large arrays) because its BUILD step must
    check numpy's array and dtype states before numpy sees them.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: Any, *, source: str, size: int | None = None):
        if size is None:
            size = os.fstat(file.fileno()).st_size
        super().__init__(_SizedReader(file, size), encoding="latin1")
        self.source, self.size = source, size
        self._allowed = _allowed_globals()
        self.python2_strings = False  # whether a Python 2 string opcode was read (see `_redecode_py2_strings`)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self.source}: refusing to unpickle the global {module}.{name}; expected only numpy arrays and "
                "plain containers (dict, list, tuple, str, bytes, numbers). Loading this file with pickle would "
                "call that global: check where the file came from, or convert it to .npz"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.source}: refusing a persistent id {pid!r:.60}; expected a self-contained pickle")

    def load_build(self) -> None:
        state, inst = self.stack[-1], self.stack[-2]
        if isinstance(inst, np.ndarray):
            self.stack[-1] = _array_state(state)
        elif not isinstance(inst, np.dtype):
            raise pickle.UnpicklingError(f"setting the state of a {type(inst).__name__} is not allowed")
        pickle._Unpickler.load_build(self)
        if isinstance(inst, np.dtype):
            _plain_dtype(inst)

    dispatch[pickle.BUILD[0]] = load_build

    def load_bytearray8(self) -> None:
        (length,) = pickle.unpack("<Q", self.read(8))
        if length > self.size:
            raise pickle.UnpicklingError(f"a bytearray declares {length} bytes but the file has {self.size}")
        buffer = bytearray(length)
        self.readinto(buffer)
        self.append(buffer)

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8

    def _mark_python2_string(self) -> None:
        """Mark the text a Python 2 string opcode just pushed (bytes stay bytes, as with encoding='bytes')."""
        if type(self.stack[-1]) is str:
            self.stack[-1] = _Py2Str(self.stack[-1])
            self.python2_strings = True

    def load_string(self) -> None:
        pickle._Unpickler.load_string(self)
        self._mark_python2_string()

    def load_binstring(self) -> None:
        pickle._Unpickler.load_binstring(self)
        self._mark_python2_string()

    def load_short_binstring(self) -> None:
        pickle._Unpickler.load_short_binstring(self)
        self._mark_python2_string()

    dispatch[pickle.STRING[0]] = load_string
    dispatch[pickle.BINSTRING[0]] = load_binstring
    dispatch[pickle.SHORT_BINSTRING[0]] = load_short_binstring

    def load(self) -> Any:
        value = super().load()
        return _redecode_py2_strings(value, {}) if self.python2_strings else value


def load_pickle_safely(path: str | Path) -> Any:
    """Load a pickle of numpy arrays and plain containers; refuse anything else.

    Raises:
        CorpusNotFoundError: the file does not exist.
        UnsafePickleError: the pickle names a global outside the allowlist (e.g. `os.system`).
        CorpusFormatError: the file is truncated, not a pickle, or rebuilds numpy objects in ways numpy
            never writes (an array larger than its data, a structured dtype, ...).

    Example:
        >>> data = load_pickle_safely("MOSI/Processed/unaligned_50.pkl")
        >>> data["train"]["audio"].shape
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusNotFoundError(f"pickle file not found: {path}")
    with open(path, "rb") as f:
        try:
            return RestrictedUnpickler(f, source=str(path)).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
                MemoryError, OverflowError, RecursionError) as e:
            raise CorpusFormatError(
                f"{path}: not a readable pickle ({type(e).__name__}: {e}); the file may be truncated, of another "
                "format, or not the plain numpy arrays and containers it should hold"
            ) from e
