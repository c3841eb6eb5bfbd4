"""What the trainer logs for a window of outer steps: the mean of each step metric, the masks'
sparsity, and the progress bar's summary of them."""

from __future__ import annotations

import time

import torch


def window_record(
    iteration: int, window: list[dict[str, float]], masks: dict[str, torch.Tensor] | None
) -> dict[str, float]:
    """Means over the window; diagnostics come from its last step, the only one that has
    them."""
    record = {"iteration": iteration, "time": time.time()}
    for key in window[-1]:
        values = [m[key] for m in window if key in m]
        record[key] = sum(values) / len(values)
    if masks:
        record.update(sparsity(masks))
    return record


def sparsity(masks: dict[str, torch.Tensor]) -> dict[str, float]:
    """Fraction of pruned weights per layer and in total (key ``sparsity``)."""
    out = {f"sparsity/{name}": 1 - m.mean().item() for name, m in masks.items()}
    total = sum(m.numel() for m in masks.values())
    out["sparsity"] = 1 - sum(m.sum().item() for m in masks.values()) / total
    return out


def bar_info(record: dict[str, float]) -> str:
    parts = [f"loss {record['loss']:.3f}"]
    if "accuracy" in record:
        parts.append(f"acc {100 * record['accuracy']:.1f}%")
    if "sparsity" in record:
        parts.append(f"sparsity {100 * record['sparsity']:.1f}%")
    return " ".join(parts)
