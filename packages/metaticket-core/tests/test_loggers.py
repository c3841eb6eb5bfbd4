"""Loggers: metrics.jsonl always, CSV and TensorBoard on request, each equal to the JSONL records,
each dropping on resume what the interrupted run wrote past its checkpoint."""

import csv
import importlib.util
import json

import numpy as np
import pytest
import torch
import yaml

from metaticket_core import (
    ConfigError,
    Logger,
    RunConfig,
    UnknownNameError,
    hookimpl,
    list_loggers,
    methods,
)
from metaticket_core.app.testing import registered_plugin, run_cli
from metaticket_core.engine.runs import create_run
from metaticket_core.engine.trainer import Trainer, TrainingInterrupted, build


@pytest.fixture
def scored(toys):
    """The toy learner with scores for its mask, as Meta-ticket has, as method ``scored``."""

    class ScoredLearner(methods().get("toymaml").factory):
        def __init__(self, backbone, config):
            super().__init__(backbone, config)
            self.score = torch.nn.Parameter(torch.randn(8, 4))

        def meta_parameters(self):
            return [*super().meta_parameters(), self.score]

        def outer_loss(self, tasks, diagnostics=False):
            loss, metrics = super().outer_loss(tasks, diagnostics)
            return loss + 1e-3 * self.score.square().sum(), metrics

        def scores(self):
            return {"body.weight": self.score}

    class Scored:
        @hookimpl
        def register_methods(self, register):
            register("scored", ScoredLearner)

    with registered_plugin(Scored(), "scored"):
        yield


def fit(settings, tmp_path, run_id, interrupt_at=None, monkeypatch=None):
    config = RunConfig(**settings)
    trainer = Trainer(build(config), create_run(config, tmp_path, run_id))
    if interrupt_at is None:
        trainer.fit()
        return trainer
    original = Trainer.step

    def step(self, iteration, diagnostics=False):
        if iteration == interrupt_at:
            raise KeyboardInterrupt
        return original(self, iteration, diagnostics)

    monkeypatch.setattr(Trainer, "step", step)
    with pytest.raises(TrainingInterrupted):
        trainer.fit()
    monkeypatch.setattr(Trainer, "step", original)
    resumed = Trainer(build(config), trainer.run)
    resumed.restore("last")
    resumed.fit()
    return resumed


def csv_records(run):
    """metrics.csv folded back into one dict per (iteration, kind of record), in file order; the
    CSV holds numbers only, and a record's kind shows in its names (val_...)."""
    records: dict = {}
    with open(run.path / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            kind = "val" if row["name"].startswith("val_") else "train"
            record = {"iteration": int(row["iteration"]), "kind": kind}
            records.setdefault((record["iteration"], kind), record)[row["name"]] = float(
                row["value"]
            )
    return list(records.values())


def test_core_registers_jsonl_csv_and_tensorboard():
    assert list_loggers() == ["csv", "jsonl", "tensorboard"]
    assert "tensorboard" in run_cli("list", "loggers").stdout


def test_csv_holds_exactly_the_jsonl_records(toy_config, tmp_path):
    run = fit({**toy_config, "loggers": ["csv"]}, tmp_path, "r").run
    assert csv_records(run) == run.metrics()
    assert [r["iteration"] for r in run.metrics() if "val_accuracy" in r] == [10, 20]


def test_resume_drops_what_the_interrupted_run_logged_past_its_checkpoint(
    toy_config, tmp_path, monkeypatch
):
    settings = {**toy_config, "loggers": ["csv"]}
    whole = fit(settings, tmp_path, "whole").run
    # interrupted at 15: 11..14 were logged after the checkpoint of iteration 10
    resumed = fit(settings, tmp_path, "split", interrupt_at=15, monkeypatch=monkeypatch).run

    def without_time(records):
        return [{k: v for k, v in r.items() if k != "time"} for r in records]

    assert without_time(resumed.metrics()) == without_time(whole.metrics())
    assert csv_records(resumed) == resumed.metrics()


def test_loggers_are_comma_lists_of_unique_names():
    assert RunConfig(loggers="tensorboard,csv").loggers == ["tensorboard", "csv"]
    assert RunConfig(loggers=["csv", "tensorboard, csv"]).loggers == ["csv", "tensorboard"]


def test_unknown_logger_suggests_the_closest(toy_config):
    with pytest.raises(UnknownNameError, match="Did you mean 'tensorboard'"):
        RunConfig(**toy_config, loggers=["tensorbord"]).check_names()


def test_missing_tensorboard_is_one_line_naming_the_extra(toy_config, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name)
    )
    with pytest.raises(ConfigError, match=r"pip install 'metaticket-core\[tensorboard\]'"):
        RunConfig(**toy_config, loggers=["tensorboard"]).check_names()
    result = run_cli(
        "train", "--method", "toymaml", "--model", "toynet", "--dataset", "toy", "--ways", "3",
        "--runs-dir", str(tmp_path), "--log", "csv,tensorboard",
    )  # fmt: skip
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "--log tensorboard needs the 'tensorboard' package" in result.stderr
    assert not list(tmp_path.iterdir())  # refused before a run folder was made


# TensorBoard, read back with its own reader ---------------------------------------------------
def event_accumulator(run):
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        pytest.skip("tensorboard is not installed: pip install 'metaticket-core[tensorboard]'")
    accumulator = event_accumulator.EventAccumulator(
        str(run.path / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0}
    )
    return accumulator.Reload()


def assert_scalars_equal_jsonl(run):
    events = event_accumulator(run)
    records = run.metrics()
    names = {k for r in records for k in r} - {"iteration", "time", "kind"}
    assert set(events.Tags()["scalars"]) == names
    for name in names:
        expected = [(r["iteration"], np.float32(r[name])) for r in records if name in r]
        assert [(e.step, np.float32(e.value)) for e in events.Scalars(name)] == expected, name
    return events


def test_tensorboard_scalars_equal_jsonl_and_histograms_hold_the_scores(
    toy_config, scored, tmp_path
):
    settings = {**toy_config, "method": "scored", "loggers": ["tensorboard"]}
    trainer = fit(settings, tmp_path, "r")
    events = assert_scalars_equal_jsonl(trainer.run)
    assert {"loss", "accuracy", "lr", "sparsity", "sparsity/body.weight", "val_accuracy"} <= set(
        events.Tags()["scalars"]
    )
    (histogram,) = events.Tags()["histograms"]
    assert histogram == "mask_scores/body.weight"
    at_validations = events.Histograms(histogram)
    assert [h.step for h in at_validations] == [10, 20]
    last, score = at_validations[-1].histogram_value, trainer.x.learner.score.detach()
    assert last.num == score.numel() == 32
    assert (last.min, last.max) == (score.min().item(), score.max().item())
    assert last.sum == pytest.approx(score.sum().item(), abs=1e-5)


def test_tensorboard_after_resume_shows_each_iteration_once(toy_config, tmp_path, monkeypatch):
    settings = {**toy_config, "loggers": ["tensorboard"]}
    resumed = fit(settings, tmp_path, "split", interrupt_at=15, monkeypatch=monkeypatch).run
    events = assert_scalars_equal_jsonl(resumed)
    assert [e.step for e in events.Scalars("loss")] == list(range(1, 21))


# faults (issue 27) ------------------------------------------------------------------------------
def test_resume_log_alone_is_kept_for_the_next_resume(toy_config, tmp_path, monkeypatch):
    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path))
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, "iterations": 4}))
    assert run_cli("train", "--config", str(config), "--run-id", "r").exit_code == 0
    resumed = run_cli("train", "--resume", "r", "--log", "csv")
    assert resumed.exit_code == 0, resumed.stderr
    assert RunConfig(**json.loads((tmp_path / "r" / "config.json").read_text())).loggers == ["csv"]


@pytest.mark.parametrize("kind", ["renamed header", "symlink"])
def test_a_foreign_metrics_csv_is_never_written_over(toy_config, tmp_path, kind):
    config = RunConfig(**{**toy_config, "loggers": ["csv"], "iterations": 2})
    run = create_run(config, tmp_path, "r")
    foreign = tmp_path / "mine.csv"
    foreign.write_text("step,name,value\n1,loss,0.5\n2,loss,0.4\n")
    if kind == "symlink":
        foreign.write_text("iteration,name,value\n1,loss,0.5\n")
        (run.path / "metrics.csv").symlink_to(foreign)
    else:
        (run.path / "metrics.csv").write_text(foreign.read_text())
    before = foreign.read_text()
    trainer = Trainer(build(config), run)
    if kind == "symlink":  # the link is replaced by the run's own file
        trainer.fit()
        assert not (run.path / "metrics.csv").is_symlink()
        assert csv_records(run) == run.metrics()
    else:
        with pytest.raises(ConfigError, match=r"is not a metrics.csv of mt .*move it away"):
            trainer.fit()
        assert (run.path / "metrics.csv").read_text() == before
    assert foreign.read_text() == before


@pytest.fixture
def broken_logger():
    """Logger ``broken``, whose ``close`` raises ``broken_logger.error`` (or whose ``log`` calls
    exit when ``in_log``)."""

    class Broken(Logger):
        def __init__(self, run, *, start):
            pass

        def log(self, record):
            if Plugin.in_log:
                raise SystemExit(0)

        def close(self):
            raise Plugin.error

    class Plugin:
        error: BaseException = OSError("disk gone")
        in_log = False

        @hookimpl
        def register_loggers(self, register):
            register("broken", Broken)

    with registered_plugin(Plugin(), "broken"):
        yield Plugin


def test_a_logger_failing_to_close_leaves_a_tested_run(toy_config, tmp_path, broken_logger):
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, "iterations": 2, "loggers": ["broken"]}))
    result = run_cli("train", "--config", str(config), "--runs-dir", str(tmp_path), "--run-id", "r")
    assert result.exit_code == 0, result.stderr
    assert "Warning: logger 'broken' failed to close (disk gone)" in result.stderr
    assert json.loads((tmp_path / "r" / "status.json").read_text())["state"] == "finished"
    assert (tmp_path / "r" / "test.json").exists()


@pytest.mark.parametrize("where", ["log", "close"])
def test_a_logger_calling_exit_is_an_error_naming_it(toy_config, tmp_path, broken_logger, where):
    broken_logger.in_log = where == "log"
    broken_logger.error = SystemExit(0)
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, "iterations": 2, "loggers": ["broken"]}))
    result = run_cli("train", "--config", str(config), "--runs-dir", str(tmp_path), "--run-id", "r")
    if where == "log":
        message = "Error: Logger 'broken' called exit(0) in log()."
        assert result.exit_code == 1 and message in result.stderr
        assert json.loads((tmp_path / "r" / "status.json").read_text())["state"] == "failed"
    else:  # reported, and the run tested all the same
        message = "Warning: logger 'broken' failed to close (it called exit(0))"
        assert result.exit_code == 0 and message in result.stderr
        assert (tmp_path / "r" / "test.json").exists()
