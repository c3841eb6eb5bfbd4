"""The restricted unpickler: plain data and numpy arrays in, everything else refused unrun."""

import os
import pickle

import numpy as np
import pytest
from numpy._core import multiarray

from metaticket_core import DataError
from metaticket_datasets.unpickle import read_pickle


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_reads_arrays_and_plain_data(tmp_path, protocol):
    data = {"data": np.arange(12, dtype=np.uint8).reshape(3, 4), "labels": [1, 2, np.int64(3)],
            "names": ["a", b"b"], "pngs": [np.zeros(5, np.uint8)], "x": 1.5}  # fmt: skip
    (tmp_path / "p").write_bytes(pickle.dumps(data, protocol=protocol))
    back = read_pickle(tmp_path / "p")
    assert np.array_equal(back["data"], data["data"]) and back["labels"] == [1, 2, 3]
    assert back["names"] == ["a", b"b"] and back["x"] == 1.5


def test_refuses_code_without_running_it(tmp_path, build):
    marker = tmp_path / "pwned"
    evil = tmp_path / "FC100"
    evil.mkdir()
    for split in ("train", "val", "test"):
        payload = {"data": Exploit(marker), "labels": [0]}
        (evil / f"FC100_{split}.pickle").write_bytes(pickle.dumps(payload))
    with pytest.raises(DataError, match=r"Refused to unpickle .*FC100_\w+\.pickle: it asks for "
                       r"(posix|os)\.system"):  # fmt: skip
        build("fc100", tmp_path, tmp_path / "cache")
    assert not marker.exists()


def test_refuses_other_numpy_and_builtins(tmp_path):
    for name, obj in (("eval", eval), ("load", np.load)):
        (tmp_path / name).write_bytes(pickle.dumps(obj))
        with pytest.raises(DataError, match=f"it asks for .*{name}"):
            read_pickle(tmp_path / name)
    (tmp_path / "cut").write_bytes(pickle.dumps({"a": 1})[:-3])
    with pytest.raises(DataError, match="Cannot read pickle"):
        read_pickle(tmp_path / "cut")


def test_a_length_beyond_the_file_is_refused_before_anything_is_allocated(tmp_path):
    # BINBYTES8 claiming 32 TiB: the unpickler would allocate that much before reading
    (tmp_path / "huge").write_bytes(b"\x80\x04\x8e" + (2**45).to_bytes(8, "little") + b"abc.")
    with pytest.raises(DataError, match=r"Cannot read pickle .*huge: ValueError: expected 3518"):
        read_pickle(tmp_path / "huge")


class ShapeWithoutData:
    """An object array that claims far more elements than its list holds."""

    def __reduce__(self):
        state = (1, (150_000_000,), np.dtype(object), False, [1, 2, 3])
        return multiarray._reconstruct, (np.ndarray, (0,), b"b"), state


def test_an_array_must_hold_the_data_its_shape_claims(tmp_path):
    # numpy would allocate 1.2 GB for the shape, then crash on the short list
    (tmp_path / "bomb").write_bytes(pickle.dumps(ShapeWithoutData(), protocol=2))
    with pytest.raises(DataError, match=r"shape \(150000000,\) comes with 3 elements"):
        read_pickle(tmp_path / "bomb")
    (tmp_path / "call").write_bytes(b"\x80\x02cnumpy\nndarray\nK\x05\x85R.")  # ndarray((5,))
    with pytest.raises(DataError, match=r"it asks for numpy\.ndarray\(\.\.\.\)"):
        read_pickle(tmp_path / "call")
    objects = np.array([np.arange(3, dtype=np.uint8), "name"], dtype=object)
    (tmp_path / "fine").write_bytes(pickle.dumps({"a": objects}))
    back = read_pickle(tmp_path / "fine")["a"]
    assert type(back) is np.ndarray and type(back[0]) is np.ndarray and back[1] == "name"
