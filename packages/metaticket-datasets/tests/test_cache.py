"""The decode cache: reused without decoding, invalidated by file changes, written atomically."""

import numpy as np
import pytest

from metaticket_datasets import cache, pipeline


def test_second_load_does_not_decode(omniglot_root, tmp_path, monkeypatch, build):
    first = build("omniglot", omniglot_root, tmp_path / "cache")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(pipeline, "decode_into", no_decoding)
    second = build("omniglot", omniglot_root, tmp_path / "cache")
    assert np.array_equal(first.images, second.images)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [
        second.describe()["cache"].rsplit("/", 1)[1]
    ]  # one .npz, no temporary files left


def test_changed_files_or_options_rebuild(omniglot_root, tmp_path, build):
    build("omniglot", omniglot_root, tmp_path / "cache")
    build("omniglot", omniglot_root, tmp_path / "cache", size=20)
    extra = omniglot_root / "images_background/Alpha/character01/9999_99.png"
    extra.write_bytes(next(extra.parent.glob("*.png")).read_bytes())
    ds = build("omniglot", omniglot_root, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3
    assert ds.counts[0] == 5


def test_unreadable_cache_is_rebuilt(tmp_path):
    calls = []

    def make():
        calls.append(1)
        return {"a": np.arange(3)}

    _, path = cache.cached_arrays(tmp_path, "x", "k", make)
    path.write_bytes(b"not a zip")
    again, _ = cache.cached_arrays(tmp_path, "x", "k", make)
    assert len(calls) == 2 and np.array_equal(again["a"], np.arange(3))
    cache.cached_arrays(tmp_path, "x", "k", make)
    assert len(calls) == 2


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError, match="pickle"):
        cache.cached_arrays(tmp_path, "x", "k", lambda: {"a": np.array([object()])})
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    def crash(file, **arrays):
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.cached_arrays(tmp_path, "x", "k", lambda: {"a": np.arange(3)})
    assert list(tmp_path.iterdir()) == []


def test_key_depends_on_every_part():
    key = cache.cache_key(source="/a", files=[("x.png", 1)], size=28)
    assert key == cache.cache_key(size=28, files=[("x.png", 1)], source="/a")
    assert key != cache.cache_key(source="/a", files=[("x.png", 2)], size=28)
    assert key != cache.cache_key(source="/b", files=[("x.png", 1)], size=28)
