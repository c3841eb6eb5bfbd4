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
from torch import nn

from .. import __version__
from ..api.errors import MetaticketError
from ..api.files import check_output
from ..api.registry import models
from ..api.tasks import out_features
from ..engine import checkpoint
from ..engine.records import sparsity
from ..engine.runs import Run


def export_mask(
    run: Run,
    path: Path,
    which: str = "last",
    with_scores: bool = False,
    with_weights: bool = False,
    force: bool = False,
    device: str = "auto",
) -> dict[str, float]:
    """Write ``run``'s ticket to ``path`` (an existing file only with ``force``); returns the
    sparsity per layer and in total."""
    from .inference import load_experiment

    check_output(path, force)

    experiment = load_experiment(run, which, device)
    learner = experiment.learner
    masks = learner.masks()
    if not masks:
        raise MetaticketError(
            f"Method {experiment.config.method!r} learns no mask; export-mask needs a Meta-ticket "
            f"run (for example --method metaticket)."
        )
    scores = learner.scores() or {}
    for name, values in scores.items():
        if not torch.isfinite(values).all():
            raise MetaticketError(
                f"Checkpoint {which!r} of run {run.id!r} holds non-finite scores in {name} "
                f"({int((~torch.isfinite(values)).sum())} of {values.numel()}): its masks "
                f"mean nothing; export another checkpoint (--checkpoint best) or retrain."
            )
    tensors = {f"mask/{k}": m.to(torch.uint8) for k, m in masks.items()}
    if with_scores:
        tensors.update({f"scores/{k}": s for k, s in scores.items()})
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
        "out_features": str(out_features(experiment.dataset.task_type, config.ways)),
        "batchnorm": config.batchnorm,
        "config": json.dumps(config.model_dump(mode="json")),
        "sparsity": json.dumps(stats),
        "checkpoint": which,
        "run_id": run.id,
        "version": __version__,
    }
    checkpoint.save_with_metadata(path, tensors, metadata)
    return stats


JSON_FIELDS = ("model_options", "input_shape", "config", "sparsity")
TEXT_FIELDS = ("method", "model", "dataset", "batchnorm", "checkpoint", "run_id", "version")


def read_mask_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and metadata of an exported ticket, its JSON fields decoded; a file with
    damaged metadata is one clear error."""
    if not path.is_file():
        raise MetaticketError(f"Mask file {str(path)!r} does not exist.")
    tensors, metadata = checkpoint.read_safetensors(path, "Mask file")
    if metadata.get("format") != "metaticket-mask/1":
        raise MetaticketError(f"{str(path)!r} was not written by mt export-mask.")
    missing = [k for k in (*JSON_FIELDS, *TEXT_FIELDS, "out_features") if k not in metadata]
    try:
        decoded = {**metadata, **{k: json.loads(metadata[k]) for k in JSON_FIELDS}}
        decoded["out_features"] = int(metadata["out_features"])
    except (KeyError, ValueError) as exc:
        what = f"lacks {', '.join(missing)}" if missing else f"is damaged ({exc})"
        raise MetaticketError(f"Mask file {str(path)!r}: its metadata {what}.") from None
    if not isinstance(decoded["model_options"], dict) or not isinstance(decoded["config"], dict):
        raise MetaticketError(f"Mask file {str(path)!r}: its metadata is damaged.")
    for key, mask in tensors.items():
        if key.startswith("mask/") and ((mask != 0) & (mask != 1)).any():
            odd = mask[(mask != 0) & (mask != 1)].flatten()[0].item()
            raise MetaticketError(
                f"Mask file {str(path)!r}: {key} holds {odd!r}, but a mask holds only 0 and 1."
            )
    return tensors, decoded


def load_ticket(path: Path) -> nn.Module:
    """The sparse network of an exported ticket: the backbone with phi_0 loaded and every
    prunable weight multiplied by its mask (needs a file exported with ``--with-weights``)."""
    tensors, meta = read_mask_file(path)
    weights = {k[len("weights/") :]: v for k, v in tensors.items() if k.startswith("weights/")}
    if not weights:
        raise MetaticketError(
            f"{str(path)!r} has masks but no weights; export it with --with-weights."
        )
    # from the file's own fields, not build_backbone: a ticket loads without its run's config
    backbone = (
        models()
        .get(meta["model"])
        .factory(
            meta["out_features"],
            tuple(meta["input_shape"]),
            batchnorm=meta["batchnorm"],
            **meta["model_options"],
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
