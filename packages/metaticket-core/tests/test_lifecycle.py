"""A run's lifecycle under faults: full disks, kills, signals, two processes, odd paths and
damaged files. Each error is one line and leaves the run resumable."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from metaticket_core import MetaticketError, RunConfig
from metaticket_core.app.cli import main
from metaticket_core.engine import checkpoint
from metaticket_core.engine.runs import Run, create_run
from metaticket_core.engine.trainer import Trainer, TrainingInterrupted, build

HERE = Path(__file__).parent


@pytest.fixture
def cli(tmp_path, toy_config, monkeypatch, capsys):
    """``cli(*argv)`` runs ``mt`` here on the toys (MT_RUNS_DIR in tmp_path, a config file
    ``toy.yaml``); returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(toy_config))

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        out, err = capsys.readouterr()
        return info.value.code or 0, out, err

    return run


def train(cli, tmp_path, *extra: str) -> None:
    code, _, err = cli("train", "--config", str(tmp_path / "toy.yaml"), *extra)
    assert code == 0, err


def one_line(code: int, err: str, *expected: str) -> None:
    """Exit 1 and one error line, the last (progress lines may come before it)."""
    last = err.rstrip("\n").splitlines()[-1]
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert code == 1 and errors == [last], err
    assert "Traceback" not in err, err
    for text in expected:
        assert text in last, err


def without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def enospc_after(write, allowed: int):
    """``write`` that puts out ``allowed`` bytes, then fails as a full disk does."""

    def full(self, data):
        write(self, data[:allowed])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return full


# 1. outputs --------------------------------------------------------------------------------
def test_outputs_replace_only_regular_files_and_only_with_force(cli, tmp_path):
    train(cli, tmp_path, "--run-id", "t")
    fifo, link, target = tmp_path / "fifo", tmp_path / "link", tmp_path / "target"
    os.mkfifo(fifo)
    target.write_text("keep")
    link.symlink_to(target)
    for path, kind in ((fifo, "a fifo"), (link, "a symbolic link"), (tmp_path, "a folder")):
        code, _, err = cli("export-mask", "t", "-o", str(path), "--force")
        one_line(code, err, f"is {kind}, not a regular file")
    assert fifo.is_fifo() and link.is_symlink() and target.read_text() == "keep"

    existing = tmp_path / "ticket.safetensors"
    existing.write_text("an older file")
    code, _, err = cli("export-mask", "t", "-o", str(existing))
    one_line(code, err, "exists; pass --force to replace it")
    assert existing.read_text() == "an older file"
    assert cli("export-mask", "t", "-o", str(existing), "--force")[0] == 0
    assert existing.read_bytes() != b"an older file"


# 2. full disks -----------------------------------------------------------------------------
def test_full_disk_while_logging_fails_in_one_line_and_the_resume_repairs_it(
    cli, tmp_path, monkeypatch
):
    train(cli, tmp_path, "--run-id", "whole")
    original = Run.log

    def log_then_fill_the_disk(self, record):
        if record["iteration"] == 13 and "loss" in record:
            with open(self.metrics_path, "ab") as f:
                f.write(json.dumps(record).encode()[:9])  # the torn tail a full disk leaves
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.metrics_path))
        original(self, record)

    monkeypatch.setattr(Run, "log", log_then_fill_the_disk)
    code, _, err = cli("train", "--config", str(tmp_path / "toy.yaml"), "--run-id", "full")
    one_line(code, err, "No space left on device", "metrics.jsonl")
    run = Run(tmp_path / "runs" / "full")
    assert run.state() == "failed" and "No space left" in run.status()["reason"]
    assert [r["iteration"] for r in run.metrics()][-1] == 12  # the torn line is left out

    monkeypatch.setattr(Run, "log", original)
    code, _, err = cli("train", "--resume", "full")
    assert code == 0, err
    whole = Run(tmp_path / "runs" / "whole")
    assert without_time(run.metrics()) == without_time(whole.metrics())
    assert run.metrics_path.read_text().endswith("}\n")


def test_a_torn_tail_is_left_out_by_readers_and_cut_before_the_next_record(tmp_path):
    run = Run(tmp_path)
    run.log({"iteration": 1})
    with open(run.metrics_path, "ab") as f:
        f.write(b'{"iteration": 2, "lo')  # the append that the full disk cut short
    assert run.metrics() == [{"iteration": 1}]
    run.log({"iteration": 2})
    assert run.metrics() == [{"iteration": 1}, {"iteration": 2}]
    run.metrics_path.write_text('{"iteration": 1}\n{"iteration": 2, "lo\n{"iteration": 3}\n')
    with pytest.raises(MetaticketError, match=r"metrics\.jsonl' line 2 is damaged"):
        run.metrics()  # a damaged line elsewhere is not a torn tail: said, not dropped


def test_full_disk_during_a_checkpoint_keeps_the_previous_one(cli, tmp_path, monkeypatch):
    train(cli, tmp_path, "--run-id", "c", "--set", "iterations=10")
    last = tmp_path / "runs" / "c" / "checkpoints" / "last.safetensors"
    before = last.read_bytes()
    writes = []

    def full_disk(tensors, filename, metadata=None):
        writes.append(filename)
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)

    monkeypatch.setattr(checkpoint, "save_file", full_disk)
    code, _, err = cli("train", "--resume", "c", "--iterations", "20")
    one_line(code, err, "No space left on device")
    assert writes and last.read_bytes() == before
    assert sorted(p.name for p in last.parent.iterdir()) == ["best.safetensors", "last.safetensors"]
    assert Run(last.parents[1]).state() == "failed"


def toy_process(tmp_path, *args: str, **env: str) -> subprocess.Popen:
    """``mt ARGS`` on the toys in a process of its own."""
    full_env = {**os.environ, "MT_RUNS_DIR": str(tmp_path / "runs"), **env}
    full_env["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, str(HERE / "toy_worker.py"), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_process_killed_while_writing_a_checkpoint_leaves_a_resumable_run(cli, tmp_path):
    config = str(tmp_path / "toy.yaml")
    train(cli, tmp_path, "--run-id", "whole")
    # checkpoints: best and last at iteration 10, then best (if better) and last at 20
    killed = toy_process(tmp_path, "train", "--config", config, "--run-id", "k",
                         MT_TEST_KILL_IN_SAVE="3")  # fmt: skip
    assert killed.wait(timeout=120) == -signal.SIGKILL
    run = Run(tmp_path / "runs" / "k")
    assert run.status()["state"] == "running" and run.state() == "interrupted"
    assert list(run.checkpoints.glob(".*.tmp"))  # what the kill left behind

    code, _, err = cli("train", "--resume", "k")
    assert code == 0, err
    assert not list(run.checkpoints.glob(".*.tmp")) and not list(run.path.glob(".*.tmp"))
    whole = Run(tmp_path / "runs" / "whole")
    assert without_time(run.metrics()) == without_time(whole.metrics())
    assert run.state() == "finished"


# 3, 4. one process per run; how a run ended ------------------------------------------------
def wait_until_held(run: Path, process: subprocess.Popen) -> None:
    from metaticket_core.engine import locks

    for _ in range(600):
        if locks.is_held(run) and json.loads((run / "status.json").read_text())["state"] == (
            "running"
        ):
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    raise AssertionError("the training process never took its run")


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_one_process_per_run_and_the_state_says_how_it_ended(cli, tmp_path, stop):
    config = str(tmp_path / "toy.yaml")
    holder = toy_process(tmp_path, "train", "--config", config, "--run-id", "r",
                         MT_TEST_HANG="0:15")  # fmt: skip
    run = tmp_path / "runs" / "r"
    try:
        wait_until_held(run, holder)
        code, _, err = cli("train", "--resume", "r")
        one_line(code, err, f"Run 'r' is in use by process {holder.pid}", "--run-id r")
        deadline = time.monotonic() + 120  # the hang at 15: iteration 14 logged, however slow
        while max((r["iteration"] for r in Run(run).metrics()), default=0) < 14:
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        holder.send_signal(stop)
        _, holder_err = holder.communicate(timeout=60)
    if stop == signal.SIGTERM:
        assert holder.returncode == 1 and "Interrupted at iteration 14" in holder_err
        assert json.loads((run / "status.json").read_text())["state"] == "interrupted"
    else:
        assert json.loads((run / "status.json").read_text())["state"] == "running"
    assert Run(run).state() == "interrupted"
    assert [r["iteration"] for r in Run(run).metrics()] == [*range(1, 11), 10, *range(11, 15)]

    code, _, err = cli("train", "--resume", "r")
    assert code == 0, err
    assert Run(run).state() == "finished"


# 5. Ctrl-C during validation ----------------------------------------------------------------
def test_ctrl_c_during_validation_or_between_logged_steps_loses_nothing(
    toy_config, tmp_path, monkeypatch
):
    # 600 iterations log every 3rd step: Ctrl-C between two of them, during the validation at
    # 300, and right after it
    config = RunConfig(**{**toy_config, "iterations": 600, "val_interval": 300, "val_episodes": 3})
    whole = Trainer(build(config), create_run(config, tmp_path, "whole"))
    whole.complete(resume=False)

    run = create_run(config, tmp_path, "cut")
    for name, at in (("step", 31), ("validate", 300), ("step", 301)):
        original = getattr(Trainer, name)

        def interrupt(self, *args, at=at, original=original, **kwargs):
            if self.iteration == at:
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Trainer, name, interrupt)
        with pytest.raises(TrainingInterrupted, match=f"at iteration {at};"):
            Trainer(build(config), run).complete(resume=at != 31)
        monkeypatch.setattr(Trainer, name, original)
        torch.manual_seed(at)  # a fresh process would have another generator state
    resumed = Trainer(build(config), run)
    resumed.complete(resume=True)

    assert without_time(run.metrics()) == without_time(whole.run.metrics())
    assert run.status()["best_val"] == whole.run.status()["best_val"]
    for key, value in whole.x.learner.state_dict().items():
        assert torch.equal(resumed.x.learner.state_dict()[key], value), key


# 6. --resume and other flags ----------------------------------------------------------------
def test_resume_extends_iterations_and_refuses_other_settings(cli, tmp_path):
    train(cli, tmp_path, "--run-id", "r", "--set", "iterations=10")
    code, _, err = cli("train", "--resume", "r", "--outer-lr", "5", "--dataset", "omniglot")
    one_line(code, err, "cannot change --dataset, --outer-lr")
    code, _, err = cli("train", "--resume", "r", "--iterations", "5")
    one_line(code, err, "--iterations 5 is fewer than the 10")

    code, _, err = cli("train", "--resume", "r", "--iterations", "14")
    assert code == 0, err
    run = Run(tmp_path / "runs" / "r")
    assert run.config().iterations == 14 and run.status()["iteration"] == 14
    assert [r["iteration"] for r in run.metrics() if "loss" in r] == list(range(1, 15))


# 7. run ids ----------------------------------------------------------------------------------
@pytest.mark.parametrize("run_id", ["../x", "--", "x\ny", "a/b", ".hidden", "x" * 300])
def test_run_ids_are_checked_on_every_access(cli, tmp_path, run_id):
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "config.json").write_text(json.dumps(RunConfig().model_dump(mode="json")))
    config = str(tmp_path / "toy.yaml")
    for argv in (
        ["show", "--", run_id],
        ["test", "--", run_id],
        ["train", f"--resume={run_id}"],
        ["export-mask", "--", run_id],
        ["train", "--config", config, f"--run-id={run_id}"],
    ):
        one_line(*cli(*argv)[::2], "Invalid run id")
    assert sorted(p.name for p in outside.iterdir()) == ["config.json"]


# 8. bounds -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--meta-batch", "100000000"], "meta_batch=100000000"),
        (["--outer-lr", "inf"], "outer_lr=inf"),
        (["--set", "inner_lr=.nan"], "inner_lr=nan"),
        (["--set", "weight_decay=.inf"], "weight_decay=inf"),
        (["--seed", str(2**70)], "seed="),
    ],
)
def test_settings_beyond_any_real_run_are_refused(cli, tmp_path, flags, expected):
    code, _, err = cli("train", "--config", str(tmp_path / "toy.yaml"), *flags)
    one_line(code, err, "Invalid config", expected)
    assert not (tmp_path / "runs").exists()


def test_test_episodes_and_checkpoint_iterations_are_bounded(cli, tmp_path):
    train(cli, tmp_path, "--run-id", "b")
    for episodes in ("-5", "0", "1"):
        code, _, err = cli("test", "b", "--episodes", episodes)
        assert code == 2 and "greater than or equal to 2" in err
    last = tmp_path / "runs" / "b" / "checkpoints" / "last.safetensors"
    tensors, state = checkpoint.load(last)
    checkpoint.save(last, tensors, {**state, "iteration": 1_000_000})
    code, _, err = cli("train", "--resume", "b")
    one_line(code, err, "says iteration 1000000, but run 'b' has 20 iterations")


def test_divergence_before_any_checkpoint_says_so(toy_config, tmp_path, monkeypatch):
    from metaticket_core.engine.trainer import TrainingDiverged

    config = RunConfig(**toy_config)
    trainer = Trainer(build(config), create_run(config, tmp_path, "d"))
    original = type(trainer.x.learner).outer_loss
    monkeypatch.setattr(
        type(trainer.x.learner),
        "outer_loss",
        lambda self, tasks, diagnostics=False: (original(self, tasks)[0] * float("nan"), {}),
    )
    with pytest.raises(TrainingDiverged, match="no checkpoint had been written yet"):
        trainer.fit()


# 9. damaged files and system errors: one line -----------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        b"not a safetensors file",
        (2**60).to_bytes(8, "little") + b"{}",
        (8).to_bytes(8, "little") + b"{broken}",
    ],
    ids=["garbage", "huge-header", "bad-json"],
)
def test_damaged_safetensors_are_one_line(cli, tmp_path, content):
    train(cli, tmp_path, "--run-id", "s")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(content)
    one_line(*cli("inspect", str(bad))[::2], "is not a readable safetensors file")
    (tmp_path / "runs" / "s" / "checkpoints" / "last.safetensors").write_bytes(content)
    one_line(*cli("test", "s")[::2], "is not a readable safetensors file")
    one_line(*cli("train", "--resume", "s")[::2], "is not a readable safetensors file")


@pytest.mark.parametrize("tamper", ["no optimizer", "wrong types", "another model"])
def test_a_tampered_checkpoint_is_one_line(cli, tmp_path, tamper):
    train(cli, tmp_path, "--run-id", "t")
    last = tmp_path / "runs" / "t" / "checkpoints" / "last.safetensors"
    tensors, state = checkpoint.load(last)
    if tamper == "no optimizer":
        del state["optimizer"]
    elif tamper == "wrong types":
        state["iteration"] = "ten"
    else:
        tensors["learner/net.body.weight"] = torch.zeros(3, 3)
    checkpoint.save(last, tensors, state)
    code, _, err = cli("train", "--resume", "t")
    one_line(code, err, "Checkpoint")


def test_system_errors_are_one_line(cli, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    config = str(tmp_path / "toy.yaml")
    code, _, err = cli("train", "--config", config, "--runs-dir", str(not_a_folder))
    one_line(code, err, "File exists", str(not_a_folder))
    code, _, err = cli("train", "--config", config, "--runs-dir", str(not_a_folder / "runs"))
    one_line(code, err, "Not a directory", str(not_a_folder))


# 10. YAML alias bombs; mt config checks what mt train checks --------------------------------
def test_yaml_alias_bomb_is_refused_at_once(cli, tmp_path, monkeypatch):
    rows = ["dataset_options:", "  a: &a [x, x, x, x, x, x, x, x, x]"]
    rows += [
        f"  {c}: &{c} [{', '.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    ]
    (tmp_path / "bomb.yaml").write_text("\n".join(rows) + "\n")  # 9**8 values, in 300 bytes
    monkeypatch.chdir(tmp_path)
    for argv in (["config", "bomb.yaml"], ["train", "-c", "bomb.yaml"]):
        one_line(*cli(*argv)[::2], "expands to more than 100,000 values")


def test_config_checks_dataset_options_as_train_does(cli, tmp_path):
    config = {**yaml.safe_load((tmp_path / "toy.yaml").read_text())}
    (tmp_path / "opts.yaml").write_text(
        yaml.safe_dump({**config, "dataset_options": {"classes_per_splitt": 3}})
    )
    results = [
        cli("config", str(tmp_path / "opts.yaml")),
        cli("train", "--config", str(tmp_path / "opts.yaml")),
    ]
    for code, _, err in results:
        one_line(code, err, "Unknown option 'classes_per_splitt' for dataset 'toy'")
    assert results[0][2] == results[1][2]
