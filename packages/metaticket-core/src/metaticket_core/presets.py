"""Named starting configurations: the paper's experiments (DESIGN.md section 4) and the demo.

A preset is a partial config; flags and ``--set`` still override it. Generated from the paper's
table rather than written out one by one, so each setting stands in one place.
"""

from __future__ import annotations

from typing import Any

from .errors import UnknownNameError

PAPER = {"meta_batch": 4, "iterations": 30_000}

OMNIGLOT = {"dataset": "omniglot", "model": "mlp", "inner_lr": 0.4, "inner_steps": 1,
            "test_inner_steps": 3}  # fmt: skip
NATURAL_MLP = {"dataset": "tiny-imagenet", "model": "mlp5", "ways": 5, "shots": 5, "queries": 5,
               "inner_lr": 0.5, "inner_steps": 1, "test_inner_steps": 1}  # fmt: skip
MINIIMAGENET = {"dataset": "miniimagenet", "ways": 5, "inner_lr": 0.3, "inner_steps": 1,
                "test_inner_steps": 1}  # fmt: skip
SINUSOID = {"dataset": "sinusoid", "model": "sine-mlp", "shots": 5, "queries": 5,
            "inner_lr": 0.01, "inner_steps": 5, "test_inner_steps": 5}  # fmt: skip

# Short enough for a laptop (about 3 minutes on 2 CPU cores), long enough to learn.
DEMO = {"method": "metaticket", "model": "mlp", "dataset": "glyphs", "ways": 5, "shots": 5,
        "queries": 5, "inner_lr": 0.4, "inner_steps": 1, "test_inner_steps": 3,
        "iterations": 5000, "warmup": 500, "val_interval": 1000, "val_episodes": 100,
        "test_episodes": 1000}  # fmt: skip


def _build() -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {
        "demo": ("Meta-ticket on the embedded glyphs, about 3 minutes on a laptop (default)", DEMO)
    }
    for ways in (5, 20):
        for shots in (1, 5):
            for method in ("maml", "metaticket", "metaticket+iterand"):
                out[f"omniglot-{ways}w{shots}s-{method}"] = (
                    f"Paper Fig. 3: Omniglot {ways}-way {shots}-shot, MLP, {method}",
                    {**PAPER, **OMNIGLOT, "method": method, "ways": ways, "shots": shots,
                     "queries": shots, "warmup": 1000},
                )  # fmt: skip
    for method in ("maml", "anil", "boil", "metaticket", "metaticket+boil"):
        out[f"mlp5-5w5s-{method}"] = (
            f"Paper Table 1 style: 5-layer MLP on 32x32 RGB (any such dataset), {method}",
            {**PAPER, **NATURAL_MLP, "method": method, "warmup": 100},
        )
    for model in ("resnet12", "wrn28-10"):
        for shots in (1, 5):
            for method in ("maml", "metaticket"):
                outer = {"outer_lr": 6e-4} if method == "maml" else {"warmup": 1000}
                out[f"miniimagenet-{model}-5w{shots}s-{method}"] = (
                    f"Paper Table 2: miniImageNet 84x84, {model}, 5-way {shots}-shot, {method}",
                    {**PAPER, **MINIIMAGENET, "model": model, "method": method, "shots": shots,
                     "queries": shots, **outer},
                )  # fmt: skip
    for method, what in (
        ("maml", "MAML"),
        ("metaticket-reg", "modified Meta-ticket"),
        ("metaticket-reg-naive", "naive Meta-ticket"),
    ):
        out[f"sinusoid-{method}"] = (
            f"Paper appendix C: sinusoid regression, 5-shot, {what}",
            {**PAPER, **SINUSOID, "method": method},
        )
    out["omniglot-constant-init"] = (
        "Paper 4.1.2: Omniglot 5w5s, every weight the same constant; only the mask learns",
        {**OMNIGLOT, "method": "metaticket", "ways": 5, "shots": 5, "queries": 5,
         "model_options": {"width": 4}, "constant_init": 0.01, "inner_steps": 3,
         "test_inner_steps": 3, "outer_optimizer": "adamw", "outer_lr": 0.1, "schedule": "cosine",
         "warmup": 0, "meta_batch": 32, "iterations": 60_000},
    )  # fmt: skip
    return out


PRESETS = _build()


def preset(name: str) -> dict[str, Any]:
    """A copy of preset ``name``; unknown names suggest the closest."""
    if name not in PRESETS:
        raise UnknownNameError("preset", name, PRESETS)
    return dict(PRESETS[name][1])


def list_presets(pattern: str = "*") -> list[tuple[str, str]]:
    import fnmatch

    return [(n, d) for n, (d, _) in sorted(PRESETS.items()) if fnmatch.fnmatchcase(n, pattern)]
