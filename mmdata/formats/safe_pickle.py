"""Loading processed-feature pickles without running the code a pickle may carry.

`pickle.load` calls whatever global a file names (`os.system`, `subprocess.Popen`, ...), so a
downloaded `.pkl` can run code. The MMSA and MulT releases hold only dicts, lists, strings and
numpy arrays; this unpickler admits exactly the globals needed to rebuild those and refuses any
other with `UnsafePickleError`, naming the file and the global.

Python 2 pickles (the older CMU releases) load too: their byte strings are read as latin-1,
which is what numpy needs to rebuild arrays pickled under Python 2.
"""
from __future__ import annotations

import codecs
import collections
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import CorpusFormatError, CorpusNotFoundError


class UnsafePickleError(CorpusFormatError):
    """A pickle names a global outside the numpy-and-containers allowlist."""


def _encode_latin1(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles rebuild `bytes` (and numpy buffers) via `_codecs.encode(text, 'latin1')`.
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed (only latin-1)")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    from numpy._core import multiarray, numeric

    allowed: dict[tuple[str, str], Any] = {("_codecs", "encode"): _encode_latin1}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = multiarray._reconstruct
        allowed[(module, "scalar")] = multiarray.scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = numeric._frombuffer
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    for module in ("builtins", "__builtin__"):
        for name, obj in (("set", set), ("frozenset", frozenset), ("bytearray", bytearray), ("complex", complex),
                          ("list", list), ("dict", dict), ("tuple", tuple)):
            allowed[(module, name)] = obj
    allowed[("collections", "OrderedDict")] = collections.OrderedDict
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only numpy arrays, numpy scalars/dtypes and plain containers."""

    def __init__(self, file: Any, *, source: str):
        super().__init__(file, encoding="latin1")
        self.source = source
        self._allowed = _allowed_globals()

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


def load_pickle_safely(path: str | Path) -> Any:
    """Load a pickle of numpy arrays and plain containers; refuse anything else.

    Raises:
        CorpusNotFoundError: the file does not exist.
        UnsafePickleError: the pickle names a global outside the allowlist (e.g. `os.system`).
        CorpusFormatError: the file is truncated or not a pickle.

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
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
            raise CorpusFormatError(
                f"{path}: not a readable pickle ({type(e).__name__}: {e}); the file may be truncated or of another format"
            ) from e
