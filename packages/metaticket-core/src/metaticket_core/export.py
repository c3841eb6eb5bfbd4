"""Tickets as files: a run's masks (and optionally scores and phi_0) in one safetensors file.

Keys: ``mask/<param>`` (uint8 0/1, one per prunable parameter), ``scores/<param>`` and
``weights/<param>`` (every parameter of phi_0, unmasked). The header metadata holds the method,
model and its options, dataset, full config, sparsity and package version, as JSON strings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import nn

from . import __version__, checkpoint
from .errors import MetaticketError
from .registry import models
from .runs import Run
from .trainer import sparsity


def export_mask(
    run: Run,
    path: Path,
    which: str = "last",
    with_scores: bool = False,
    with_weights: bool = False,
) -> dict[str, float]:
    """Write ``run``'s ticket to ``path``; returns the sparsity per layer and in total."""
    from .inference import load_experiment

    experiment = load_experiment(run, which)
    learner = experiment.learner
    masks = learner.masks()
    if not masks:
        raise MetaticketError(
            f"Method {experiment.config.method!r} learns no mask; export-mask needs a Meta-ticket "
            f"run (for example --method metaticket)."
        )
    tensors = {f"mask/{k}": m.to(torch.uint8) for k, m in masks.items()}
    if with_scores:
        tensors.update({f"scores/{k}": s for k, s in (learner.scores() or {}).items()})
    if with_weights:
        tensors.update({f"weights/{k}": w for k, w in learner.initial_parameters().items()})
    config = experiment.config
    stats = sparsity(masks)
    metadata = {
        "format": "metaticket-mask/1",
        "method": config.method,
        "model": config.model,
        "model_options": json.dumps(config.model_options),
        "dataset": config.dataset,
        "input_shape": json.dumps(list(experiment.dataset.input_shape)),
        "out_features": str(config.ways if experiment.dataset.task_type == "classification" else 1),
        "batchnorm": config.batchnorm,
        "config": json.dumps(config.model_dump(mode="json")),
        "sparsity": json.dumps(stats),
        "checkpoint": which,
        "run_id": run.id,
        "version": __version__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save_with_metadata(path, tensors, metadata)
    return stats


def read_mask_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise MetaticketError(f"Mask file {str(path)!r} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    except (OSError, ValueError) as exc:
        raise MetaticketError(f"{str(path)!r} is not a safetensors file: {exc}") from None
    if metadata.get("format") != "metaticket-mask/1":
        raise MetaticketError(f"{str(path)!r} was not written by mt export-mask.")
    return tensors, metadata


def load_ticket(path: Path) -> nn.Module:
    """The sparse network of an exported ticket: the backbone with phi_0 loaded and every
    prunable weight multiplied by its mask (needs a file exported with ``--with-weights``)."""
    tensors, meta = read_mask_file(path)
    weights = {k[len("weights/") :]: v for k, v in tensors.items() if k.startswith("weights/")}
    if not weights:
        raise MetaticketError(
            f"{str(path)!r} has masks but no weights; export it with --with-weights."
        )
    backbone = (
        models()
        .get(meta["model"])
        .factory(
            int(meta["out_features"]),
            tuple(json.loads(meta["input_shape"])),
            batchnorm=meta["batchnorm"],
            **json.loads(meta["model_options"]),
        )
    )
    for key, mask in tensors.items():
        if key.startswith("mask/"):
            name = key[len("mask/") :]
            weights[name] = weights[name] * mask.to(weights[name].dtype)
    backbone.load_state_dict(weights, strict=False)
    missing = set(dict(backbone.named_parameters())) - set(weights)
    if missing:
        raise MetaticketError(f"{str(path)!r} lacks weights for {', '.join(sorted(missing))}.")
    return backbone


def describe_masks(tensors: dict[str, Any]) -> list[tuple[str, tuple[int, ...], int, int]]:
    """(name, shape, kept, total) per mask, layers in network order (body.4 before body.10)."""
    rows = [
        (k[len("mask/") :], tuple(m.shape), int(m.sum()), m.numel())
        for k, m in tensors.items()
        if k.startswith("mask/")
    ]
    return sorted(rows, key=lambda row: natural_key(row[0]))


def natural_key(name: str) -> list[Any]:
    """Sort key that orders numbered layers numerically (body.4 before body.10)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
