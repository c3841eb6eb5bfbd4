"""Decoding images: a very large one is one warning line, not Python's raw warning."""

import numpy as np
from PIL import Image

from metaticket_datasets.images import Preprocess, decode_files


def test_a_decompression_bomb_warning_is_one_line(tmp_path, monkeypatch, capsys, recwarn):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 12 x 12 = 144: warned, not refused
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(path)
    assert decode_files([path], preprocess=Preprocess(4, "L")).shape == (1, 1, 4, 4)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DecompressionBomb" not in err
    assert f"Warning: image {path} has 144 pixels, more than 100:" in " ".join(err.split())
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
