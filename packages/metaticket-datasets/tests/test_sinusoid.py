"""Sinusoid regression tasks (Finn et al.)."""

import math

import pytest
import torch

from metaticket_core import DataError


def test_tasks(tmp_path, build, tasks):
    ds = build("sinusoid", None, tmp_path)
    assert ds.task_type == "regression" and ds.input_shape == (1,)
    batch = tasks.take(ds, 50, split="train", ways=5, shots=5, queries=10, seed=0)
    task = batch[0]
    assert task.support_x.shape == (5, 1) and task.query_y.shape == (10, 1)
    assert task.support_y.dtype == torch.float32 and task.classes == ()
    xs = torch.cat([t.query_x for t in batch])
    ys = torch.cat([t.query_y for t in batch])
    assert xs.min() >= -5 and xs.max() <= 5 and ys.abs().max() <= 5
    amplitude = max(t.query_y.abs().max().item() for t in batch)
    assert amplitude > 2  # amplitudes up to 5 are drawn


def test_points_lie_on_one_sine(tmp_path, build):
    task = next(
        build("sinusoid", None, tmp_path).episodes("val", ways=1, shots=20, queries=0, seed=1)
    )
    x, y = task.support_x[:, 0].double(), task.support_y[:, 0].double()
    basis = torch.stack([torch.sin(x), torch.cos(x)], 1)  # A sin(x - p) = a sin x + b cos x
    coef = torch.linalg.lstsq(basis, y[:, None]).solution
    assert torch.allclose(basis @ coef, y[:, None], atol=1e-5)
    a, b = coef[:, 0].tolist()
    assert 0.1 <= math.hypot(a, b) <= 5 and 0 <= math.atan2(-b, a) <= math.pi + 1e-6


def test_determinism_and_splits(tmp_path, build, tasks):
    ds = build("sinusoid", None, tmp_path)
    kw = dict(ways=1, shots=5, queries=5)
    a = tasks.take(ds, 5, split="train", seed=0, **kw)
    assert tasks.same(a, tasks.take(ds, 5, split="train", seed=0, **kw))
    for other in (
        dict(split="test", seed=0),
        dict(split="train", seed=1),
        dict(split="train", seed=0, rank=1),
    ):
        assert not tasks.same(a, tasks.take(ds, 5, **other, **kw))


def test_bad_input(tmp_path, build):
    with pytest.raises(DataError, match="'sinusoid' is generated"):
        build("sinusoid", tmp_path, tmp_path)
    with pytest.raises(DataError, match="shots >= 1"):
        build("sinusoid", None, tmp_path).check("train", ways=1, shots=0, queries=5)
