"""What a run's config builds: the dataset, the backbone and the learner, on this rank's device."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..api.backbone import build_backbone
from ..api.config import RunConfig, method_arguments
from ..api.console import err_console
from ..api.errors import ConfigError
from ..api.learner import MetaLearner
from ..api.precision import check_precision, set_numerics
from ..api.registry import datasets, methods
from ..api.tasks import SPLITS, FewShotDataset, default_cache_dir
from .distributed import SINGLE, World


@dataclass
class Experiment:
    """What a config builds: the data, the learner on its device."""

    config: RunConfig
    dataset: FewShotDataset
    learner: MetaLearner
    device: torch.device


def resolve_device(name: str, world: World = SINGLE) -> torch.device:
    """The device of this rank: with CUDA, the GPU of its local rank in a distributed run."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' but no CUDA device is available; use --device cpu or auto."
        )
    if name == "cuda" and world.size > 1:
        if world.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"local rank {world.local_rank} has no GPU of its own: "
                f"{torch.cuda.device_count()} CUDA devices; start fewer processes per node."
            )
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return torch.device(name)


def portable_device(run_id: str, trained: str, requested: str = "auto") -> str:
    """Where to load a trained run: ``requested``, or with ``auto`` the run's own device where
    this machine has one, else the CPU (said in one line), so that a run trained on a GPU can be
    tested, exported and resumed anywhere."""
    if requested != "auto":
        return requested
    if trained == "cuda" and not torch.cuda.is_available():
        err_console.print(
            f"run {run_id} was trained on cuda; no CUDA device here, so it runs on the CPU",
            highlight=False,
        )
        return "cpu"
    return trained


def load_dataset(config: RunConfig, cache_dir: Path | None = None) -> FewShotDataset:
    factory = datasets().get(config.dataset).factory
    return factory(
        config.data_root, cache_dir=cache_dir or default_cache_dir(), **config.dataset_options
    )


def build(config: RunConfig, cache_dir: Path | None = None, world: World = SINGLE) -> Experiment:
    """Check every name and size first, then build dataset, backbone and learner (seeded: every
    rank builds the same network)."""
    config.check_names()
    device = resolve_device(config.device, world)
    check_precision(config.precision, device)
    set_numerics(config.precision, config.deterministic, device)
    dataset = load_dataset(config, cache_dir)
    for split in SPLITS:
        dataset.check(split, **asdict(config.episode))
    torch.manual_seed(config.seed)
    backbone = build_backbone(config, dataset.input_shape, dataset.task_type)
    factory = methods().get(config.method).factory
    learner = factory(backbone, config, **method_arguments(config, factory))
    if config.batched == "on" and not learner.batches_tasks:
        raise ConfigError(
            f"batched=on, but method {config.method!r} runs its meta-batch its own way (it "
            f"overrides the outer loss); leave batched at auto."
        )
    return Experiment(config, dataset, learner.to(device), device)
