"""Sweeps and reports: one configuration over several seeds and a grid of values, and the
mean +- std over seeds of the results, in the form of the paper's tables.

A sweep's runs are ordinary runs named ``<sweep>-<grid values>-seed<N>``; its manifest
``<runs_dir>/sweeps/<sweep>.json`` lists them. Running the same sweep again skips finished runs
and resumes unfinished ones, so a sweep longer than a session continues in the next.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api.config import RunConfig, factory_options, method_arguments, parse_set
from ..api.errors import ConfigError, MetaticketError, UnknownNameError
from ..api.files import write_json
from ..api.registry import methods
from ..engine.evaluation import EvalResult
from ..engine.experiment import Experiment, build
from ..engine.progress import Progress
from ..engine.runs import Run, check_id, create_run, open_run, read_json
from ..engine.trainer import Trainer


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``key=v1,v2`` (YAML values) per item -> {key: [v1, v2]}, each value once. The seed is not
    a grid key: ``--seeds`` sets it for every point, and would silently override it."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, raw = item.split("=", 1) if "=" in item else (item, "")
        values = [parse_set(f"{key}={v.strip()}")[1] for v in raw.split(",") if v.strip()]
        if not key.strip() or not values:
            raise ConfigError(
                f"--grid expects key=v1,v2,..., got {item!r} (e.g. method=maml,metaticket)."
            )
        if key.strip() == "seed":
            raise ConfigError(
                f"--grid {item} conflicts with --seeds, which sets every point's seed; give "
                f"the seeds as --seeds {raw}."
            )
        grid[key.strip()] = list({_key(v): v for v in values}.values())
    return grid


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` -> [0, 1, 2], each seed once (a repeated seed is the same run)."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise ConfigError(f"--seeds expects integers like 0,1,2, got {text!r}.")
    return list(dict.fromkeys(seeds))


def _key(value: Any) -> str:
    """``value`` as a string that is equal exactly when the values are."""
    return json.dumps(value, sort_keys=True, default=repr)


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.+_-]+", "_", str(value))


def expand(
    configure: Callable[[dict[str, Any]], RunConfig],
    grid: dict[str, list[Any]],
    seeds: list[int],
) -> list[tuple[str, RunConfig]]:
    """(name suffix, config) for every grid point and seed, validated before anything runs.
    ``configure`` builds a config from a point's dotted-key values, so that a preset gives each
    method of a grid its own outer-loop settings."""
    points = []
    for values in itertools.product(*grid.values()):
        for seed in seeds:
            point = {**dict(zip(grid, values, strict=True)), "seed": seed}
            label = [
                f"{key.split('.')[-1]}={_slug(v)}" for key, v in zip(grid, values, strict=True)
            ]
            points.append(("-".join([*label, f"seed{seed}"]), configure(point)))
    return points


def plan(
    configure: Callable[[dict[str, Any]], RunConfig],
    grid: dict[str, list[Any]],
    seeds: list[int],
    runs_dir: Path,
    sweep_id: str,
) -> list[tuple[str, RunConfig]]:
    """(run id, config) of every point, all validated, and compared with the runs of the same
    ids started before, before anything runs; writes the manifest, which keeps the runs of
    earlier invocations with other seeds or values (the report shows them all)."""
    check_id(sweep_id, "sweep")
    points = [(f"{sweep_id}-{suffix}", c) for suffix, c in expand(configure, grid, seeds)]
    for run_id, config in points:
        check_id(run_id)
        config.check_names()
        if (runs_dir / run_id / "config.json").is_file():
            check_unchanged(open_run(run_id, runs_dir), config)
    manifest = runs_dir / "sweeps" / f"{sweep_id}.json"
    earlier = read_json(manifest, dict) if manifest.is_file() else {}
    runs = [*earlier.get("runs", []), *(run_id for run_id, _ in points)]
    write_json(manifest, {"sweep": sweep_id, "grid": grid,
                          "seeds": list(dict.fromkeys([*earlier.get("seeds", []), *seeds])),
                          "runs": list(dict.fromkeys(runs))})  # fmt: skip
    return points


UNCOMPARED = {"device", "loggers"}  # where a run trains and what it logs, not what it computes


def check_unchanged(run: Run, config: RunConfig) -> None:
    """ConfigError naming the settings in which ``run``'s stored config differs from the one
    asked for: a sweep refuses to serve (or resume) a run trained with other settings as the
    result of these."""
    stored, asked = settings(run.config()), settings(config)
    differ = [
        f"{k}={stored.get(k, '-')} (asked {asked.get(k, '-')})"
        for k in sorted(stored.keys() | asked.keys())
        if k not in UNCOMPARED and _key(stored.get(k)) != _key(asked.get(k))
    ]
    if differ:
        raise ConfigError(
            f"Run {run.id!r} was started with other settings: {', '.join(differ)}; choose "
            f"another --sweep-id, or remove {str(run.path)!r} to train it again."
        )


def started(run_id: str, runs_dir: Path, progress: Progress) -> tuple[Run | None, bool]:
    """The run of a point if its folder exists, and whether it is finished (then kept)."""
    run = open_run(run_id, runs_dir) if (runs_dir / run_id).exists() else None
    finished = run is not None and run.test_result() is not None
    if finished:
        progress.log(f"{run_id}: finished, kept")
    return run, finished


def train_run(experiment: Experiment, run: Run, progress: Progress) -> EvalResult:
    """Train a sweep's run from its last checkpoint, or from the start, then test it, holding
    the run's lock as ``mt train`` does."""
    with run.lock():
        resume = run.checkpoint("last").exists()
        progress.log(f"{run.id}: {'resuming' if resume else 'training'}")
        return Trainer(experiment, run, progress).complete(resume)


def run_sweep(
    configure: Callable[[dict[str, Any]], RunConfig],
    grid: dict[str, list[Any]],
    seeds: list[int],
    runs_dir: Path,
    sweep_id: str,
    progress: Progress,
) -> list[tuple[Run, EvalResult | None]]:
    """Train and test every point, one after another; finished runs are kept, unfinished ones
    resumed."""
    results = []
    for run_id, config in plan(configure, grid, seeds, runs_dir, sweep_id):
        run, finished = started(run_id, runs_dir, progress)
        if finished:
            results.append((run, None))
            continue
        experiment = build(run.config() if run else config)
        run = run or create_run(config, runs_dir, run_id)
        results.append((run, train_run(experiment, run, progress)))
    return results


def sweep_runs(ids: list[str], runs_dir: Path) -> tuple[list[Run], list[str]]:
    """Runs named by run ids or sweep ids (a sweep id stands for all of its runs), and the ids of
    sweep runs not started yet (a sweep in progress reports what it has)."""
    runs: list[Run] = []
    pending: list[str] = []
    for name in ids:
        manifest = runs_dir / "sweeps" / f"{check_id(name, 'run or sweep')}.json"
        if manifest.exists():
            for run_id in read_json(manifest, dict).get("runs", []):
                if (runs_dir / run_id / "config.json").is_file():
                    runs.append(open_run(run_id, runs_dir))
                else:
                    pending.append(run_id)
        else:
            runs.append(open_run(name, runs_dir))
    return runs, pending


@dataclass(frozen=True)
class Row:
    """One configuration of a report, its results over seeds."""

    label: str
    metric: str
    values: tuple[float, ...]
    missing: int  # runs without a test result yet

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def text(self) -> str:
        """The mean, with ``± std`` only where there are seeds to spread: one seed has none."""
        if not self.values:
            return "-"
        scale, unit, digits = (100, "%", 2) if self.metric == "accuracy" else (1, "", 4)
        mean = f"{scale * self.mean:.{digits}f}"
        if len(self.values) == 1:
            return f"{mean}{unit}"
        return f"{mean} ± {scale * self.std:.{digits}f}{unit}"


IGNORED = {"seed", "device"}


def settings(config: RunConfig) -> dict[str, Any]:
    """``config`` as dotted keys, the method's options completed with its factory's defaults:
    what the run used, whether its config.json spelled a default out (older runs wrote every
    Meta-ticket setting, for MAML too) or left it to the factory."""
    flat = config.model_dump(mode="json")
    options = {field: flat.pop(field) for field in ("method_options", "model_options")}
    with contextlib.suppress(UnknownNameError):  # a method whose plugin is gone: as written
        factory = methods().get(config.method).factory
        given = method_arguments(config, factory)
        options["method_options"] = {**(factory_options(factory) or {}), **given}
    for field, values in options.items():
        flat.update({f"{field}.{k}": v for k, v in values.items() if k != "cache_dir"})
    return flat


def report_rows(runs: list[Run]) -> tuple[list[str], list[Row]]:
    """Group runs by what they used but the seed; the label shows the settings whose values
    differ among the runs that have them (as ``key=value``, the key's last part)."""
    if not runs:
        raise MetaticketError("Nothing to report: no runs given.")
    configs = [{k: v for k, v in settings(r.config()).items() if k not in IGNORED} for r in runs]
    keys = sorted({k for c in configs for k in c})
    varying = [k for k in keys if len({_key(c[k]) for c in configs if k in c}) > 1]
    groups: dict[str, tuple[str, list[Run]]] = {}
    for run, config in zip(runs, configs, strict=True):
        shown = [f"{k.split('.')[-1]}={config[k]}" for k in varying if k in config]
        label = ", ".join(shown) or f"{config['method']}"
        groups.setdefault(_key(config), (label, []))[1].append(run)
    rows = []
    for label, members in groups.values():
        tests = [r.test_result() for r in members]
        done = [t for t in tests if t]
        metric = done[0]["metric"] if done else "accuracy"
        rows.append(Row(label, metric, tuple(t["mean"] for t in done), len(tests) - len(done)))
    return varying, rows
