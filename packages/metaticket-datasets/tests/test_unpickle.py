"""The restricted unpickler: plain data and numpy arrays in, everything else refused unrun."""

import os
import pickle

import numpy as np
import pytest

from metaticket_core.errors import DataError
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
