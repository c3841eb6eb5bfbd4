"""The committed results store: per experiment one JSON file (docs/results/<experiment>.json) of
compact records, one per run, so that the tables can be written again after the run folders
are gone. A record says which setting of the experiment its run belongs to and how its config
departs from that setting's ("deviations": a cut run is never mistaken for the paper's)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from ...api.config import RunConfig, load_config
from ...api.errors import MetaticketError
from ...api.files import write_json
from ...api.presets import preset
from ...engine.runs import Run, read_json
from ..sweeps import settings as flat_settings
from .catalogue import Experiment, Setting

STORE_VERSION = 1
# what does not change a run's numbers: where it ran and what it logged
IGNORED = {"seed", "device", "data_root", "loggers", "val_interval", "batched", "precision"}
SHOWN = ("method", "dataset", "model", "ways", "shots", "meta_batch", "inner_lr", "iterations")
CROSS_FILE = "cross-test.json"  # beside a run's test.json: its meta-tests on other datasets


def setting_config(setting: Setting, extra: dict[str, Any] | None = None) -> RunConfig:
    """The config of ``setting`` (its preset with its changes), then ``extra`` (dotted keys)."""
    return load_config(preset=preset(setting.preset), extra={**setting.sets, **(extra or {})})


def _matter(config: RunConfig) -> dict[str, Any]:
    flat = flat_settings(config)
    return {k: v for k, v in flat.items() if k not in IGNORED and not k.endswith("split_file")}


def deviations(expected: RunConfig, actual: RunConfig) -> dict[str, dict[str, Any]]:
    """The settings that matter where ``actual`` departs from ``expected``."""
    want, got = _matter(expected), _matter(actual)
    keys = sorted(set(want) | set(got))
    return {
        k: {"paper": want.get(k), "ours": got.get(k)}
        for k in keys
        if json.dumps(want.get(k), sort_keys=True) != json.dumps(got.get(k), sort_keys=True)
    }


def match(experiment: Experiment, config: RunConfig) -> tuple[Setting, dict[str, Any]]:
    """The setting of ``experiment`` that ``config`` departs from least (same method and
    dataset), and how it departs."""
    candidates = [
        (len(d), i, s, d)
        for i, s in enumerate(experiment.settings)
        for d in [deviations(setting_config(s), config)]
        if "method" not in d and "dataset" not in d
    ]
    if not candidates:
        raise MetaticketError(
            f"{config.method} on {config.dataset} is no setting of {experiment.name} (its "
            f"settings: {', '.join(s.key for s in experiment.settings)})."
        )
    _, _, setting, departs = min(candidates, key=lambda c: c[:2])
    return setting, departs


def machine() -> str:
    """This host, as a record says where it was collected (and trained, by mt reproduce)."""
    import torch

    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{platform.machine()}, {os.cpu_count()} CPUs{gpu}, torch {torch.__version__}"


def last_sparsity(records: list[dict[str, Any]]) -> float | None:
    values = [r["sparsity"] for r in records if "sparsity" in r]
    return values[-1] if values else None


def gradient_ratio(run: Run, records: list[dict[str, Any]]) -> float | None:
    """Mean |inner-loop task gradient| of the last feature layer over the last tenth of the
    logged iterations, divided by that over the first tenth: near 0 when the gradients
    vanish (feature reuse), near or above 1 when they stop falling (rapid learning, Fig. 2)."""
    from ..export import natural_key
    from ..plots import feature_gradient_keys

    last = sorted(feature_gradient_keys(run), key=natural_key)[-1]
    series = [r[last] for r in records if last in r]
    if not series:
        return None
    tenth = max(1, len(series) // 10)
    return statistics.fmean(series[-tenth:]) / statistics.fmean(series[:tenth])


def record(
    run: Run, experiment: Experiment, provenance: str, setting: Setting | None = None
) -> dict[str, Any]:
    """The compact record of a finished run of ``setting`` of ``experiment`` (default: the
    setting its config departs from least)."""
    config = run.config()
    if setting is None:
        setting, departs = match(experiment, config)
    else:
        departs = deviations(setting_config(setting), config)
    status, test = run.status(), run.test_result()
    if test is None:
        raise MetaticketError(f"Run {run.id!r} has no test result yet.")
    metrics = run.metrics()
    flat = _matter(config)
    cross_path = run.path / CROSS_FILE
    out = {
        "run_id": run.id,
        "setting": setting.key,
        "seed": config.seed,
        "settings": {k: flat[k] for k in flat if k in SHOWN or k in setting.sets},
        "deviations": departs,
        "metric": test["metric"],
        "test": {k: test[k] for k in ("mean", "ci95", "episodes")},
        "cross": read_json(cross_path) if cross_path.exists() else {},
        "val_best": status.get("best_val"),
        "sparsity": last_sparsity(metrics),
        "iterations": status.get("iteration"),
        "train_seconds": status.get("train_seconds"),
        "machine": machine(),
        "provenance": provenance,
        "collected": time.strftime("%Y-%m-%d"),
    }
    if any(n.get("measure") == "grad" for n in experiment.numbers()):
        out["gradient_ratio"] = gradient_ratio(run, metrics)
    return out


def store_path(store: Path, name: str) -> Path:
    return store / f"{name}.json"


def load(store: Path, name: str) -> list[dict[str, Any]]:
    path = store_path(store, name)
    return read_json(path)["records"] if path.exists() else []


def identity(rec: dict[str, Any]) -> str:
    """Records of one identity stand for the same run: the same setting, deviations and seed."""
    return json.dumps([rec["setting"], rec["deviations"], rec["seed"]], sort_keys=True)


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[list[dict], list[str]]:
    """``old`` with ``new`` added; a new record replaces an old one of the same identity (a run
    folder's replaces a transcription). Returns the records and the replaced records' ids."""
    by_identity = {identity(r): r for r in old}
    replaced = []
    for rec in new:
        previous = by_identity.get(identity(rec))
        if previous is not None and previous.get("run_id") != rec["run_id"]:
            replaced.append(previous.get("run_id") or previous["provenance"])
        by_identity[identity(rec)] = rec
    records = sorted(
        by_identity.values(),
        key=lambda r: (r["setting"], json.dumps(r["deviations"], sort_keys=True), r["seed"] or 0),
    )
    return records, replaced


def save(store: Path, name: str, records: list[dict[str, Any]]) -> Path:
    path = store_path(store, name)
    write_json(path, {"experiment": name, "version": STORE_VERSION, "records": records})
    return path
