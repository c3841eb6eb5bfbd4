"""What the trainer logs for a window of outer steps: the mean of each step metric, the masks'
sparsity, and the progress bar's summary of them.

Steps and evaluation episodes leave their metrics as tensors on the device (reading one is a
device sync, that on a GPU stalls the queue of kernels); ``on_host`` reads a whole window or
batch of episodes in one go."""

from __future__ import annotations

import time

import torch

Metrics = dict[str, float | torch.Tensor]  # numbers, or single-value tensors not read yet


def on_host(rows: list[Metrics]) -> list[dict[str, float]]:
    """``rows`` with every tensor value read, all of them in one transfer (exactly: float64
    holds any float32 or bfloat16 value)."""
    tensors = [v for row in rows for v in row.values() if isinstance(v, torch.Tensor)]
    if not tensors:
        return [dict(row) for row in rows]
    values = iter(torch.stack([t.detach().double().reshape(()) for t in tensors]).tolist())
    return [
        {k: next(values) if isinstance(v, torch.Tensor) else v for k, v in row.items()}
        for row in rows
    ]


def window_record(
    iteration: int, window: list[Metrics], masks: dict[str, torch.Tensor] | None
) -> dict[str, float]:
    """Means over the window; diagnostics come from its last step, the only one that has
    them."""
    window = on_host(window)
    record = {"iteration": iteration, "time": time.time()}
    for key in window[-1]:
        values = [m[key] for m in window if key in m]
        record[key] = sum(values) / len(values)
    if masks:
        record.update(sparsity(masks))
    return record


def sparsity(masks: dict[str, torch.Tensor]) -> dict[str, float]:
    """Fraction of pruned weights per layer and in total (key ``sparsity``)."""
    values = torch.stack([m.mean() for m in masks.values()] + [m.sum() for m in masks.values()])
    read = values.tolist()  # one transfer
    means, sums = read[: len(masks)], read[len(masks) :]
    out = {f"sparsity/{name}": 1 - mean for name, mean in zip(masks, means, strict=True)}
    total = sum(m.numel() for m in masks.values())
    out["sparsity"] = 1 - sum(sums) / total
    return out


def bar_info(record: dict[str, float]) -> str:
    parts = [f"loss {record['loss']:.3f}"]
    if "accuracy" in record:
        parts.append(f"acc {100 * record['accuracy']:.1f}%")
    if "sparsity" in record:
        parts.append(f"sparsity {100 * record['sparsity']:.1f}%")
    return " ".join(parts)
