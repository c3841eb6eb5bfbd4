"""Running an experiment: its data checked before anything trains, its grid of settings and
seeds through the sweep engine (one sweep per experiment and scale, so running it again resumes
it), the cross-tests the paper makes, and the records of the finished runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...api.config import RunConfig
from ...api.errors import DataError, MetaticketError
from ...api.files import write_json
from ...api.registry import datasets
from ...api.tasks import default_cache_dir
from ...engine.evaluation import evaluate
from ...engine.progress import Progress
from ...engine.runs import Run, open_run
from .. import sweeps
from ..inference import load_experiment
from ..sweep_jobs import run_jobs
from .catalogue import Experiment, Setting
from .store import CROSS_FILE, record, setting_config

# --scale smoke: every setting end to end in seconds on tiny data; the large CNNs swapped for
# small ones of the same family (the run's deviations say so)
SMOKE = {
    "iterations": 2,
    "val_interval": 2,
    "val_episodes": 2,
    "test_episodes": 2,
    "meta_batch": 2,
    "ways": 2,
    "shots": 1,
    "queries": 1,
}
SMOKE_MODELS = {"resnet12": ("conv4", {"channels": 4}), "wrn28-10": ("wrn28-k", {"k": 1})}
SMOKE_IMAGE_SIZE = 16  # conv4's four poolings need 16
GENERATED = {"sinusoid", "glyphs"}  # datasets without files


@dataclass
class Plan:
    """What ``mt reproduce`` is asked to run."""

    experiment: Experiment
    settings: tuple[Setting, ...]
    seeds: list[int]
    iterations: int | None = None  # the paper's unless given
    smoke: bool = False
    data_roots: dict[str, Path] = field(default_factory=dict)
    split_files: dict[str, Path] = field(default_factory=dict)

    @property
    def sweep_id(self) -> str:
        """Runs of another length or scale get their own ids: resuming never mixes them."""
        suffix = "-smoke" if self.smoke else ""
        suffix += f"-it{self.iterations}" if self.iterations is not None else ""
        return f"reproduce-{self.experiment.name}{suffix}"

    def dataset_options(self, name: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if name in self.split_files:
            options["split_file"] = str(self.split_files[name])
        if self.smoke and name not in GENERATED:
            options["size"] = SMOKE_IMAGE_SIZE
        return options

    def changes(self, setting: Setting) -> dict[str, Any]:
        """Dotted keys over the setting's config: data, scale and length."""
        base = setting_config(setting)
        out: dict[str, Any] = {}
        if base.dataset in self.data_roots:
            out["data_root"] = str(self.data_roots[base.dataset])
        out.update(
            {f"dataset_options.{k}": v for k, v in self.dataset_options(base.dataset).items()}
        )
        if self.smoke:
            out.update(
                {k: min(v, base.iterations) if k == "iterations" else v for k, v in SMOKE.items()}
            )
            if base.model in SMOKE_MODELS:
                model, options = SMOKE_MODELS[base.model]
                out["model"] = model
                out["model_options"] = options
        if self.iterations is not None and base.iterations > 0:  # a random mask stays untrained
            out["iterations"] = self.iterations
        return out

    def config(self, point: dict[str, Any]) -> RunConfig:
        """A grid point ``{"setting": key, "seed": n}`` as a run's config."""
        setting = self.experiment.setting(point["setting"])
        return setting_config(setting, {**self.changes(setting), "seed": point["seed"]})

    def needed(self) -> list[str]:
        """The datasets these settings train or cross-test on that need files."""
        names = {setting_config(s).dataset for s in self.settings}
        names |= {d for s in self.settings for d in s.cross}
        return [d for d in self.experiment.datasets if d in names and d not in GENERATED]


def check_data(plan: Plan) -> None:
    """Load every dataset the plan needs, so that missing or misplaced data stops it before
    anything trains, with the dataset's name and the layout it expects."""
    for name in plan.needed():
        entry = datasets().get(name)
        layouts = "; ".join(entry.info.get("formats", [])) or "see mt list datasets"
        fetch = (
            f" `mt data download {name} --root DIR` fetches it where `mt data list` lists "
            "it as downloadable."
        )
        root = plan.data_roots.get(name)
        if root is None:
            raise DataError(
                f"{plan.experiment.name} needs {name}: pass --data-root {name}=DIR, DIR laid "
                f"out as {layouts}.{fetch}"
            )
        if not root.exists():
            raise DataError(f"{name}: {root} does not exist; expected {layouts} there.{fetch}")
        entry.factory(root, cache_dir=default_cache_dir(), **plan.dataset_options(name))


def train(
    plan: Plan, runs_dir: Path, jobs: int, threads: int | None, progress: Progress
) -> list[Run]:
    """Train and test every point of the plan (finished runs kept, unfinished resumed)."""
    grid = {"setting": [s.key for s in plan.settings]}
    if jobs == 1:
        done = sweeps.run_sweep(plan.config, grid, plan.seeds, runs_dir, plan.sweep_id, progress)
        return [run for run, _ in done]
    points = sweeps.plan(plan.config, grid, plan.seeds, runs_dir, plan.sweep_id)
    failed = run_jobs(points, runs_dir, jobs, threads, progress)
    if failed:
        raise MetaticketError(
            f"{len(failed)} of {len(points)} runs failed: {', '.join(failed)} (their output: "
            f"<run>/job.log); running the same mt reproduce again retries them."
        )
    return [open_run(run_id, runs_dir) for run_id, _ in points]


def setting_of(plan: Plan, run: Run) -> Setting:
    """The setting a run of this plan's sweep was made for, from its id."""
    suffix = run.id.removeprefix(f"{plan.sweep_id}-setting=")
    return plan.experiment.setting(suffix.rsplit("-seed", 1)[0])


def cross_test(plan: Plan, run: Run, setting: Setting, progress: Progress) -> None:
    """Meta-test ``run`` on each of the setting's other datasets, once: the results are kept
    in the run folder (cross-test.json), so a resumed reproduce does not test again."""
    path = run.path / CROSS_FILE
    done = json.loads(path.read_text()) if path.exists() else {}
    for name in setting.cross:
        if name in done:
            continue
        changes = {
            "dataset": name,
            "data_root": plan.data_roots.get(name),
            "dataset_options": plan.dataset_options(name),
        }
        x = load_experiment(run, "last", **changes)
        progress.log(f"{run.id}: cross-test on {name}")
        result = evaluate(
            x.learner, x.dataset, x.config, "test", x.config.test_episodes, x.device, progress
        )
        done[name] = {
            k: v for k, v in result.as_dict().items() if k in ("mean", "ci95", "episodes")
        }
        write_json(path, done)


def collect(plan: Plan, runs: list[Run], runs_dir: Path, progress: Progress) -> list[dict]:
    """Cross-test the finished runs where the paper does, and return their records."""
    records = []
    for run in runs:
        if run.test_result() is None:
            continue
        setting = setting_of(plan, run)
        cross_test(plan, run, setting, progress)
        provenance = f"mt reproduce {plan.experiment.name}, run folder {runs_dir / run.id}"
        records.append(record(run, plan.experiment, provenance, setting))
    return records
