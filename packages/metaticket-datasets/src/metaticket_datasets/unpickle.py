"""Reading the pickles that learn2learn, MetaOptNet and CIFAR-100 leave behind, without running
code from them.

A pickle can name any importable callable and have it called (``os.system`` included), so the
unpickler only resolves the few numpy globals that rebuild plain arrays and scalars; everything
else a pickle asks for is refused before it is looked up. Strings are decoded as latin-1, which
reads Python 2 pickles (CIFAR-100, MetaOptNet, tieredImageNet) as well as Python 3 ones.

Memory: a pickle cannot make the reader allocate more than it holds. Every length field must
fit in the file before anything is unpickled (the unpickler allocates a length's worth first),
and an array's shape must match the data that comes with it before numpy sees it (numpy
allocates an object array's shape first, and crashes on one its list does not fill).
"""

from __future__ import annotations

import codecs
import io
import math
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray, numeric

from metaticket_core import DataError


class RefusedGlobal(pickle.UnpicklingError):
    pass


class _CheckedArray(np.ndarray):
    """What a pickle gets for ``numpy.ndarray``: rebuilt only from a state that holds all of its
    data, and never constructed by a direct call (that allocates any shape asked for)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _CheckedArray:
        raise RefusedGlobal("numpy.ndarray(...) (an array of any size, from no data)")

    def __setstate__(self, state: Any) -> None:
        *_, shape, dtype, _fortran, data = state
        size = math.prod(shape) if all(isinstance(n, int) and n >= 0 for n in shape) else -1
        held = len(data) if isinstance(data, list) else len(data) // max(1, dtype.itemsize)
        if size != held or (dtype.hasobject != isinstance(data, list)):
            raise pickle.UnpicklingError(
                f"an array of shape {tuple(shape)} comes with {held} elements"
            )
        super().__setstate__(state)


# (module, name) -> object. Old and new numpy module paths both occur in the wild.
ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _CheckedArray,
    ("numpy", "dtype"): np.dtype,
    **{(f"numpy.{core}.multiarray", "_reconstruct"): multiarray._reconstruct
       for core in ("core", "_core")},
    **{(f"numpy.{core}.multiarray", "scalar"): multiarray.scalar for core in ("core", "_core")},
    **{(f"numpy.{core}.numeric", "_frombuffer"): numeric._frombuffer
       for core in ("core", "_core")},
}  # fmt: skip
# Python 3 writes bytes in protocol 2 as _codecs.encode(text, "latin1"): harmless.
ALLOWED[("_codecs", "encode")] = codecs.encode


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def read_pickle(path: Path) -> Any:
    """The plain data (dicts, lists, strings, numbers, numpy arrays) stored in pickle ``path``."""
    try:
        data = path.read_bytes()
        _check_lengths(data)
        return _plain(_Restricted(io.BytesIO(data), encoding="latin1").load())
    except RefusedGlobal as exc:
        raise DataError(
            f"Refused to unpickle {path}: it asks for {exc}, and only plain arrays, lists, dicts, "
            "strings and numbers are read from pickles (anything else could run code). Is this "
            "really a dataset file?"
        ) from None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:  # fmt: skip
        raise DataError(f"Cannot read pickle {path}: {type(exc).__name__}: {exc}") from exc


def _check_lengths(data: bytes) -> None:
    """Walk the opcodes without building anything: pickletools reads each counted argument
    from the bytes at hand and fails where a length claims more than the file holds."""
    for _ in pickletools.genops(io.BytesIO(data)):
        pass


def _plain(value: Any) -> Any:
    """``value`` with every rebuilt array as a plain ``numpy.ndarray``."""
    if isinstance(value, _CheckedArray):
        array = value.view(np.ndarray)
        if array.dtype.hasobject:
            for index, item in np.ndenumerate(array):
                array[index] = _plain(item)
        return array
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def field(record: Any, name: str, path: Path) -> Any:
    """``record[name]`` of an unpickled dict whose keys may be str or (Python 2) bytes."""
    if isinstance(record, dict):
        for key in (name, name.encode()):
            if key in record:
                return record[key]
    keys = sorted(map(str, record)) if isinstance(record, dict) else type(record).__name__
    raise DataError(f"{path} has no {name!r} entry (found {keys}); is it the right file?")


def labels_field(record: Any, name: str, path: Path) -> np.ndarray:
    """``record[name]`` as a 1-D integer array; any other content is a clear error."""
    value = field(record, name, path)
    try:
        labels = np.asarray(value)
    except ValueError:
        labels = np.asarray([], dtype=object)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        kinds = sorted({type(v).__name__ for v in value}) if isinstance(value, list) else []
        found = f"a list of {', '.join(kinds)}" if kinds else type(value).__name__
        raise DataError(f"{path}: {name!r} must be a list of integer labels, found {found}.")
    return labels
