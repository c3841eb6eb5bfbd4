"""--precision and --deterministic as torch's process-wide settings (precision.py), checked as
flags: no GPU needed to see what a GPU run would be set up with."""

from __future__ import annotations

import json
import os

import pytest
import torch

from metaticket_core import autocast
from metaticket_core.api.errors import one_line
from metaticket_core.api.precision import set_numerics

CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def restored(monkeypatch):
    """Every flag back as it was, and no CUBLAS_WORKSPACE_CONFIG left behind."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    flags = [
        (torch.backends.cuda.matmul, "allow_tf32"),
        (torch.backends.cudnn, "allow_tf32"),
        (torch.backends.cudnn, "benchmark"),
        (torch.backends.cudnn, "deterministic"),
    ]
    before = [getattr(owner, name) for owner, name in flags]
    yield
    for (owner, name), value in zip(flags, before, strict=True):
        setattr(owner, name, value)
    torch.use_deterministic_algorithms(False)


def settings():
    return {
        "matmul tf32": torch.backends.cuda.matmul.allow_tf32,
        "conv tf32": torch.backends.cudnn.allow_tf32,
        "benchmark": torch.backends.cudnn.benchmark,
        "cudnn deterministic": torch.backends.cudnn.deterministic,
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fp32_and_bf16_are_true_float32_with_benchmark_mode(precision):
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's default for convolutions
    set_numerics(precision, False, CUDA)
    assert settings() == {
        "matmul tf32": False,
        "conv tf32": False,
        "benchmark": True,
        "cudnn deterministic": False,
        "deterministic": False,
    }


def test_tf32_is_explicit_for_matmuls_and_convolutions():
    set_numerics("tf32", False, CUDA)
    assert settings()["matmul tf32"] and settings()["conv tf32"]
    assert autocast("tf32", CUDA).__class__ is autocast("fp32", CUDA).__class__  # no autocast


def test_deterministic_sets_what_cublas_needs(monkeypatch):
    set_numerics("fp32", True, CUDA)
    assert settings() == {
        "matmul tf32": False,
        "conv tf32": False,
        "benchmark": False,
        "cudnn deterministic": True,
        "deterministic": True,
    }
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")  # the user's own choice is kept
    set_numerics("fp32", True, CUDA)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_the_cpu_leaves_the_gpu_flags_alone():
    torch.backends.cudnn.benchmark = False
    set_numerics("tf32", False, torch.device("cpu"))
    assert not settings()["benchmark"] and not settings()["deterministic"]


def test_an_op_without_a_deterministic_kernel_is_one_line_naming_it():
    set_numerics("fp32", True, torch.device("cpu"))
    with pytest.raises(RuntimeError) as info:  # put_ without accumulate: none on the CPU
        torch.zeros(3).put_(torch.tensor([0, 0]), torch.tensor([1.0, 2.0]))
    assert one_line(info.value) == (
        "--deterministic: put_ has no deterministic implementation on this device; train "
        "without --deterministic, or with another model or method."
    )


def test_deterministic_training_is_recorded_and_resumable(
    capsys, toy_config, tmp_path, monkeypatch
):
    from metaticket_core.app.cli import main

    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    path = tmp_path / "toy.json"
    path.write_text(json.dumps({**toy_config, "iterations": 4, "val_interval": 2}))
    for argv in (
        ["train", "--config", str(path), "--run-id", "d", "--deterministic"],
        ["train", "--resume", "d", "--iterations", "6", "--precision", "tf32"],
    ):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert not done.value.code, capsys.readouterr().err
    config = json.loads((tmp_path / "runs" / "d" / "config.json").read_text())
    assert config["deterministic"] is True and config["iterations"] == 6
