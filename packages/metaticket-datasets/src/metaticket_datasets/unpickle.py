"""Reading the pickles that learn2learn, MetaOptNet and CIFAR-100 leave behind, without running
code from them.

A pickle can name any importable callable and have it called (``os.system`` included), so the
unpickler only resolves the few numpy globals that rebuild plain arrays and scalars; everything
else a pickle asks for is refused before it is looked up. Strings are decoded as latin-1, which
reads Python 2 pickles (CIFAR-100, MetaOptNet, tieredImageNet) as well as Python 3 ones.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray, numeric

from metaticket_core.errors import DataError

# (module, name) -> object. Old and new numpy module paths both occur in the wild.
ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"numpy.{core}.multiarray", "_reconstruct"): multiarray._reconstruct
       for core in ("core", "_core")},
    **{(f"numpy.{core}.multiarray", "scalar"): multiarray.scalar for core in ("core", "_core")},
    **{(f"numpy.{core}.numeric", "_frombuffer"): numeric._frombuffer
       for core in ("core", "_core")},
}  # fmt: skip
# Python 3 writes bytes in protocol 2 as _codecs.encode(text, "latin1"): harmless.
ALLOWED[("_codecs", "encode")] = codecs.encode


class RefusedGlobal(pickle.UnpicklingError):
    pass


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def read_pickle(path: Path) -> Any:
    """The plain data (dicts, lists, strings, numbers, numpy arrays) stored in pickle ``path``."""
    try:
        with open(path, "rb") as f:
            return _Restricted(io.BufferedReader(f), encoding="latin1").load()
    except RefusedGlobal as exc:
        raise DataError(
            f"Refused to unpickle {path}: it asks for {exc}, and only plain arrays, lists, dicts, "
            "strings and numbers are read from pickles (anything else could run code). Is this "
            "really a dataset file?"
        ) from None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:  # fmt: skip
        raise DataError(f"Cannot read pickle {path}: {type(exc).__name__}: {exc}") from exc


def field(record: Any, name: str, path: Path) -> Any:
    """``record[name]`` of an unpickled dict whose keys may be str or (Python 2) bytes."""
    if isinstance(record, dict):
        for key in (name, name.encode()):
            if key in record:
                return record[key]
    keys = sorted(map(str, record)) if isinstance(record, dict) else type(record).__name__
    raise DataError(f"{path} has no {name!r} entry (found {keys}); is it the right file?")
