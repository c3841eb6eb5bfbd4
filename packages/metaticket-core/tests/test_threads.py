"""Threads per process: ``mt train --threads``, and the share each job of a sweep gets."""

import pytest
import torch
import yaml

from metaticket_core.app.cli import main
from metaticket_core.engine import threads
from metaticket_core.engine.runs import Run


@pytest.fixture
def train(tmp_path, toy_config, monkeypatch, capfd):
    """``mt train`` on a toy config with ARGS; returns (exit code, stderr). torch's thread
    count is given back afterwards."""
    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, "iterations": 2, "val_interval": 2}))
    before = torch.get_num_threads()

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(["train", "--config", str(config), *args])
        return info.value.code or 0, capfd.readouterr().err

    yield run
    torch.set_num_threads(before)


def test_train_threads_are_applied_and_recorded(train, tmp_path):
    code, err = train("--run-id", "t", "--threads", "3")
    assert code == 0, err
    assert torch.get_num_threads() == 3
    assert Run(tmp_path / "runs" / "t").status()["threads"] == 3


def test_train_threads_below_one_are_refused(train, tmp_path):
    code, err = train("--threads", "0")
    assert code == 1 and err.strip() == "Error: --threads must be at least 1, got 0."
    assert not (tmp_path / "runs").exists()


def test_each_job_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 8)
    assert [threads.share(jobs) for jobs in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    assert threads.share(2, threads=3) == 3
    env = threads.environment(4)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "4"


def test_train_threads_beyond_four_per_core_are_refused(train, tmp_path, monkeypatch):
    """torch.set_num_threads(100000) crashed the process (SIGSEGV), printing nothing."""
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    code, err = train("--threads", "100000")
    assert code == 1 and err.strip() == (
        "Error: --threads must be at most 8 (4 per core of this machine's 2), got 100000."
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("load", "expected"), [(0.3, 2), (1.0, 1), (4.2, 1), (7.0, 1)])
def test_the_default_takes_the_cores_the_load_leaves_idle(monkeypatch, load, expected):
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (load, load, load))
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice stands
        torch.set_num_threads(3)
        threads.set_threads(None)
        assert torch.get_num_threads() == 3
        for variable in threads.THREAD_VARIABLES:
            monkeypatch.delenv(variable, raising=False)
        threads.set_threads(None)
        assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)
