"""``mt sweep --jobs N`` and ``--threads`` on the toys: each job is a ``toy_worker.py`` process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from metaticket_core.app.cli import main
from metaticket_core.app.sweep_jobs import _stop_requests
from metaticket_core.engine.progress import Progress, parse_plain
from metaticket_core.engine.runs import Run

pytestmark = pytest.mark.slow  # each job is a process of its own

GRID = ["--seeds", "0", "--grid", "inner_lr=0.3,0.5"]
RUN_IDS = ["inner_lr=0.3-seed0", "inner_lr=0.5-seed0"]


@pytest.fixture
def sweep(tmp_path, toy_config, toy_children, monkeypatch, capfd):
    """``mt sweep ARGS`` on a toy config in this process; returns (exit code, stderr)."""
    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, "iterations": 6, "val_interval": 3}))

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(["sweep", "--config", str(config), *args])
        return info.value.code or 0, capfd.readouterr().err

    return run


def runs(tmp_path: Path, sweep_id: str) -> list[Run]:
    return [Run(tmp_path / "runs" / f"{sweep_id}-{suffix}") for suffix in RUN_IDS]


def test_two_jobs_give_the_results_of_one_with_their_threads(sweep, tmp_path):
    code, err = sweep(*GRID, "--sweep-id", "par", "--jobs", "2", "--threads", "3")
    assert code == 0, err
    assert "2 runs, 2 at a time, 3 thread(s) each" in err
    assert err.count("accuracy") == 2 and "Traceback" not in err
    code, err = sweep(*GRID, "--sweep-id", "seq")
    assert code == 0, err
    for parallel, sequential in zip(runs(tmp_path, "par"), runs(tmp_path, "seq"), strict=True):
        assert parallel.test_result() == sequential.test_result()
        assert parallel.status()["state"] == "finished"
        assert parallel.status()["threads"] == 3  # torch.get_num_threads() in the job
        assert "training" in (parallel.path / "job.log").read_text()
    code, err = sweep(*GRID, "--sweep-id", "par", "--jobs", "2")
    assert code == 0 and err.count("finished, kept") == 2


def test_a_failing_run_is_reported_and_the_others_finish(sweep, tmp_path):
    grid = ["--seeds", "0", "--grid", "inner_lr=1e30,0.3,0.5"]  # 1e30: the loss overflows
    code, err = sweep(*grid, "--sweep-id", "par", "--jobs", "2", "--threads", "1")
    assert code == 1 and "Traceback" not in err
    assert "par-inner_lr=1e+30-seed0 failed: The meta-loss became nan at iteration 1" in err
    assert err.strip().splitlines()[-1] == (
        "Error: 1 of 3 runs failed: par-inner_lr=1e+30-seed0 (their output: <run>/job.log); "
        "running the same sweep again retries them."
    )
    for run in runs(tmp_path, "par"):
        assert run.test_result() is not None and f"{run.id}: accuracy" in err


def hanging_sweep(tmp_path, stderr):
    """``mt sweep --jobs 2`` in a process of its own, once both runs passed their checkpoint at
    iteration 3; they hang at iteration 5, as long runs would still be running."""
    config = tmp_path / "toy.yaml"  # the sweep fixture's
    args = ["sweep", "--config", str(config), *GRID, "--sweep-id", "par", "--jobs", "2"]
    parent = subprocess.Popen(
        [sys.executable, "-m", "toy_worker", *args, "--threads", "1"],
        env={**os.environ, "MT_TEST_HANG": "0:5"},
        stderr=stderr,
        text=True,
    )
    started = runs(tmp_path, "par")
    deadline = time.monotonic() + 120
    while not all(r.path.exists() and r.status().get("iteration", 0) >= 3 for r in started):
        assert parent.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    return parent, started


def test_ctrl_c_checkpoints_every_job_and_the_sweep_resumes(sweep, tmp_path):
    """The parent is a process of its own here, to be sent SIGINT; its jobs hang at iteration 5
    (after the checkpoint at 3), as long runs would be running when the user presses Ctrl-C."""
    parent, interrupted = hanging_sweep(tmp_path, stderr=subprocess.PIPE)
    parent.send_signal(signal.SIGINT)
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 1 and "Traceback" not in err
    assert "Error: Interrupted: 2 runs unfinished" in err
    for run in interrupted:
        assert run.status()["state"] == "interrupted" and run.checkpoint("last").exists()
        assert f"{run.id} stopped: Interrupted at iteration" in err

    code, err = sweep(*GRID, "--sweep-id", "par", "--jobs", "2")
    assert code == 0, err
    assert sweep(*GRID, "--sweep-id", "seq")[0] == 0
    for resumed, uninterrupted in zip(interrupted, runs(tmp_path, "seq"), strict=True):
        assert "resuming" in (resumed.path / "job.log").read_text()
        assert resumed.test_result() == uninterrupted.test_result()


def test_children_stop_with_their_killed_parent_and_the_sweep_resumes(sweep, tmp_path):
    """SIGKILL leaves the parent no chance to pass anything on: its jobs checkpoint and stop
    instead of training on under PID 1, and the next sweep resumes them instead of finding them
    in use."""
    parent, orphans = hanging_sweep(tmp_path, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=60)
    while any(r.state() == "running" for r in orphans):  # the lock held by a live child
        assert time.monotonic() < deadline, [r.state() for r in orphans]
        time.sleep(0.2)
    assert [r.state() for r in orphans] == ["interrupted", "interrupted"]
    code, err = sweep(*GRID, "--sweep-id", "par")  # in this process: no more jobs to start
    assert code == 0 and "in use" not in err, err
    for run in orphans:
        assert f"{run.id}: resuming" in err and run.test_result()


def test_a_closed_terminal_stops_a_sweep_as_ctrl_c_does():
    """SIGHUP used to kill the parent outright, leaving its jobs to train on."""
    before = signal.getsignal(signal.SIGHUP)
    with _stop_requests() as stop:
        os.kill(os.getpid(), signal.SIGHUP)
        assert stop
    assert signal.getsignal(signal.SIGHUP) is before


@pytest.mark.parametrize("option", ["--jobs", "--threads"])
def test_counts_below_one_are_refused(sweep, tmp_path, option):
    code, err = sweep(*GRID, option, "0")
    assert code == 1 and err.strip() == f"Error: {option} must be at least 1, got 0."
    assert not (tmp_path / "runs").exists()


def test_plain_progress_lines_read_back(capsys):
    with Progress(plain=True) as progress:
        bar = progress.task("train", 40)
        bar.advance(2, info="loss 0.125 acc 50.0%")
    line = capsys.readouterr().err.strip()
    parsed = parse_plain(line)
    assert parsed is not None and (parsed.description, parsed.completed) == ("train", 2)
    assert (parsed.total, parsed.info) == (40, "loss 0.125 acc 50.0%") and parsed.rate >= 0
    assert parse_plain("iteration 3: val accuracy 50.00% ± 1.00% (5 episodes)") is None


def test_each_job_sees_a_gpu_of_its_own(sweep, tmp_path, monkeypatch):
    """Two GPUs (faked in the parent: the children find none and train on the CPU), two jobs:
    each child is started seeing one GPU, job slot k GPU k, and a third run reuses the slot
    that freed."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("MT_TEST_SHOW_GPU", "1")
    grid = ["--seeds", "0", "--grid", "inner_lr=0.3,0.5,0.7", "--set", "device=auto"]
    code, err = sweep(*grid, "--sweep-id", "g", "--jobs", "2", "--threads", "1")
    assert code == 0, err
    assert "3 runs, 2 at a time, 1 thread(s) each, GPUs 0,1" in err
    seen = [
        (tmp_path / "runs" / f"g-inner_lr={lr}-seed0" / "job.log").read_text().splitlines()[0]
        for lr in ("0.3", "0.5", "0.7")
    ]
    assert seen[:2] == ["visible GPUs: 0", "visible GPUs: 1"]
    assert seen[2] in ("visible GPUs: 0", "visible GPUs: 1")

    from metaticket_core.app.sweep_jobs import visible_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7,9")  # the parent's own share of the GPUs
    assert visible_gpus() == ["5", "7"]  # as many as torch counts


def test_more_jobs_than_gpus_is_one_line(sweep, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    code, err = sweep(*GRID, "--set", "device=cuda", "--sweep-id", "x", "--jobs", "3")
    assert code == 1 and err.count("\n") == 1
    assert "--jobs 3 but this machine has 2 GPU(s)" in err and "--jobs 2 or fewer" in err
    assert not (tmp_path / "runs" / "x-inner_lr=0.3-seed0").exists()
