"""PNG plots of a run: learning curves, sparsity, inner-loop gradients (paper Fig. 2) and the
first-layer mask of 28x28 inputs (paper Fig. 4); several runs side by side; a report's rows."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ..api.backbone import build_backbone
from ..api.files import atomic_path, check_output
from ..engine.runs import Run
from .export import natural_key


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    points = [(r["iteration"], r[key]) for r in records if key in r]
    return [p[0] for p in points], [p[1] for p in points]


def _save(fig: plt.Figure, path: Path, force: bool = True) -> Path:
    """Write the PNG atomically; a plot folder's own PNGs are replaced, anything else never."""
    check_output(path, force)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def plot_run(run: Run, out_dir: Path) -> list[Path]:
    """Write every plot that the run's metrics support; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = run.metrics()
    written = [_curves(run, records, out_dir / "training.png")]
    for prefix, name, title, ylabel in (
        ("sparsity/", "sparsity.png", "per-layer sparsity", "fraction pruned"),
        (
            "grad/",
            "inner-gradients.png",
            "mean |inner-loop task gradient| (paper Fig. 2)",
            "mean |grad|",
        ),
    ):
        keys = sorted({k for r in records for k in r if k.startswith(prefix)}, key=natural_key)
        if prefix == "grad/":  # weights only: biases before BatchNorm get no gradient at all
            keys = [k for k in keys if k.endswith("weight")]
        if keys:
            written.append(_per_layer(records, keys, prefix, title, ylabel, out_dir / name))
    mask = _first_layer_mask(run, out_dir / "first-layer-mask.png")
    if mask:
        written.append(mask)
    return written


def _curves(run: Run, records: list[dict], path: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(*_series(records, "loss"), label="meta-train query loss")
    left.plot(*_series(records, "val_loss"), "o-", label="meta-val loss")
    left.set_xlabel("iteration")
    left.set_ylabel("loss")
    left.legend()
    metric = "accuracy" if any("accuracy" in r for r in records) else None
    if metric:
        right.plot(*_series(records, "accuracy"), label="meta-train query accuracy")
        right.plot(*_series(records, "val_accuracy"), "o-", label="meta-val accuracy")
        right.set_ylabel("accuracy")
    else:
        right.plot(*_series(records, "val_mse"), "o-", label="meta-val MSE")
        right.set_ylabel("MSE")
    right.set_xlabel("iteration")
    right.legend()
    config = run.config()
    fig.suptitle(f"{run.id}: {config.method} / {config.model} / {config.dataset}")
    return _save(fig, path)


def _per_layer(records, keys, prefix, title, ylabel, path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in keys:
        ax.plot(*_series(records, key), label=key[len(prefix) :])
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if prefix == "grad/":
        ax.set_yscale("log")
    ax.legend(fontsize="small", ncol=2)
    return _save(fig, path)


def _first_layer_mask(run: Run, path: Path, units: int = 32) -> Path | None:
    """The masks of the first ``units`` first-layer units as 28x28 images (paper Fig. 4)."""
    if not run.checkpoint("last").exists():
        return None
    status = run.status()
    shape = tuple(status.get("input_shape", ()))
    if shape[-2:] != (28, 28):
        return None
    from .inference import load_experiment

    masks = load_experiment(run, "last").learner.masks()
    if not masks:
        return None
    first = next(iter(masks.values()))
    if first.dim() != 2 or first.shape[1] != 28 * 28:
        return None
    cols = 8
    rows = max(1, min(units, first.shape[0]) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.2))
    for i, ax in enumerate(axes.flat):
        ax.imshow(first[i].reshape(28, 28).cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle(f"first-layer masks of {rows * cols} units (light = kept)")
    return _save(fig, path)


def plot_comparison(runs: list[Run], out_dir: Path) -> list[Path]:
    """Several runs side by side: meta-validation curves, and the inner-loop task gradient of
    every feature-extractor weight, one panel per layer (paper Fig. 2)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = {run.id: run.metrics() for run in runs}
    labels = {run.id: f"{run.config().method} ({run.id})" for run in runs}
    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        metric = "val_accuracy" if any("val_accuracy" in r for r in records[run.id]) else "val_mse"
        ax.plot(*_series(records[run.id], metric), "o-", label=labels[run.id])
    ax.set_xlabel("iteration")
    ax.set_ylabel("meta-validation " + metric[len("val_") :])
    ax.legend(fontsize="small")
    written = [_save(fig, out_dir / "validation.png")]

    body = {run.id: feature_gradient_keys(run) for run in runs}  # each backbone built once
    layers = sorted(
        {k for run in runs for r in records[run.id] for k in r if k in body[run.id]},
        key=natural_key,
    )
    if layers:
        cols = min(4, len(layers))
        rows = -(-len(layers) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3 * rows), squeeze=False)
        for ax, key in zip(axes.flat, layers, strict=False):
            for run in runs:
                ax.plot(*_series(records[run.id], key), label=labels[run.id])
            ax.set_title(key[len("grad/") :], fontsize="small")
            ax.set_yscale("log")
            ax.set_xlabel("iteration")
        for ax in axes.flat[len(layers) :]:
            ax.axis("off")
        axes.flat[0].set_ylabel("mean |inner-loop task gradient|")
        axes.flat[0].legend(fontsize="x-small")
        fig.suptitle("inner-loop task gradients of the feature extractor (paper Fig. 2)")
        written.append(_save(fig, out_dir / "inner-gradients.png"))
    return written


def feature_gradient_keys(run: Run) -> set[str]:
    """The metrics keys of the feature extractor's inner-loop task gradients (paper Fig. 2)."""
    return {f"grad/{name}" for name in _prunable(run)}


def _prunable(run: Run) -> set[str]:
    """The feature extractor's linear and conv weights (tagged ``prunable``: no head, biases or
    BatchNorm), from a fresh build of the run's backbone."""
    status = run.status()
    task_type = status.get("task_type", "classification")
    backbone = build_backbone(run.config(), tuple(status["input_shape"]), task_type)
    return set(backbone.names_with("prunable"))


def plot_report(rows: list, path: Path, force: bool = False) -> Path:
    """A report's rows (``sweeps.Row``) as bars of the mean over seeds, the std as error bars."""
    done = [r for r in rows if r.values]
    scale = 100 if done and done[0].metric == "accuracy" else 1
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(done) + 1), 4.5))
    ax.bar(
        range(len(done)), [scale * r.mean for r in done], yerr=[scale * r.std for r in done],
        capsize=3, color="tab:blue",
    )  # fmt: skip
    ax.set_xticks(range(len(done)), [r.label.replace(", ", "\n") for r in done], fontsize=8)
    ax.set_ylabel(f"meta-test {done[0].metric if done else ''}" + (" (%)" if scale == 100 else ""))
    if done:
        low = min(scale * (r.mean - r.std) for r in done)
        ax.set_ylim(bottom=max(0, low - 0.1 * abs(low)))
    return _save(fig, path, force)
