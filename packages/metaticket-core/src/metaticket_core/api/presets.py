"""Named starting configurations: the paper's experiments (DESIGN.md section 4) and the demo.

A preset is one experiment (data, model, episodes, inner loop) run by one method. Outer-loop
settings belong to the method, so each experiment states them per method, as the authors'
``config.yaml`` does: when another method is run (``--method``, ``--set method=``, a sweep's
grid), it gets this experiment's settings for that method, or its own defaults where the
experiment names none. Files, flags and ``--set`` override both. Generated from the paper's
table rather than written out one by one, so each setting stands in one place.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
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
# Paper 4.1.2 (the authors' randexp config): 5-way 5-shot, width 4, 3 inner steps at train and
# test, meta-batch 32, 60,000 iterations; scores with AdamW lr 0.1, constant, no weight decay.
CONSTANT_INIT = {**OMNIGLOT, "method": "metaticket", "ways": 5, "shots": 5, "queries": 5,
                 "model_options": {"width": 4}, "method_options": {"constant_init": 1.0},
                 "inner_steps": 3, "test_inner_steps": 3, "meta_batch": 32,
                 "iterations": 60_000}  # fmt: skip

# Outer-loop settings per method and experiment, where they differ from the method's defaults
# (MAML family: Adam 1e-3, constant; Meta-ticket: SGD 10, momentum 0.9, cosine, warmup 1000).
MAML_FAMILY = ("maml", "anil", "boil")
TICKETS = ("metaticket", "metaticket+boil", "metaticket+iterand", "metaticket+boil+iterand")
OMNIGLOT_OUTER = {method: {"warmup": 1000} for method in TICKETS}
NATURAL_MLP_OUTER = {method: {"warmup": 100} for method in TICKETS}
MINIIMAGENET_OUTER = {
    **{method: {"outer_lr": 6e-4} for method in MAML_FAMILY},
    **{method: {"warmup": 1000} for method in TICKETS},
}
CONSTANT_INIT_OUTER = {
    "metaticket": {"outer_optimizer": "adamw", "outer_lr": 0.1, "schedule": "constant",
                   "warmup": 0, "weight_decay": 0.0},
}  # fmt: skip

# Short enough for a laptop (about 3 minutes on 2 CPU cores), long enough to learn.
DEMO = {"method": "metaticket", "model": "mlp", "dataset": "glyphs", "ways": 5, "shots": 5,
        "queries": 5, "inner_lr": 0.4, "inner_steps": 1, "test_inner_steps": 3,
        "iterations": 5000, "val_interval": 1000, "val_episodes": 100,
        "test_episodes": 1000}  # fmt: skip
DEMO_OUTER = {"metaticket": {"warmup": 500}}


@dataclass(frozen=True)
class Preset:
    description: str
    experiment: dict[str, Any]  # everything but the outer loop, the method included
    outer: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # by method

    @property
    def method(self) -> str:
        return self.experiment["method"]

    def settings(self, method: str | None = None) -> dict[str, Any]:
        """The config this preset gives ``method`` (default: its own), a copy to modify."""
        method = method or self.method
        return copy.deepcopy({**self.experiment, "method": method, **self.outer.get(method, {})})


def _build() -> dict[str, Preset]:
    demo = "Meta-ticket on the embedded glyphs, about 3 minutes on a laptop (default)"
    out = {"demo": Preset(demo, DEMO, DEMO_OUTER)}
    for ways in (5, 20):
        for shots in (1, 5):
            for method in ("maml", "metaticket", "metaticket+iterand"):
                out[f"omniglot-{ways}w{shots}s-{method}"] = Preset(
                    f"Paper Fig. 3: Omniglot {ways}-way {shots}-shot, MLP, {method}",
                    {**PAPER, **OMNIGLOT, "method": method, "ways": ways, "shots": shots,
                     "queries": shots},
                    OMNIGLOT_OUTER,
                )  # fmt: skip
    for method in (*MAML_FAMILY, "metaticket", "metaticket+boil"):
        out[f"mlp5-5w5s-{method}"] = Preset(
            f"Paper Table 1 style: 5-layer MLP on 32x32 RGB (any such dataset), {method}",
            {**PAPER, **NATURAL_MLP, "method": method},
            NATURAL_MLP_OUTER,
        )
    for model in ("resnet12", "wrn28-10"):
        for shots in (1, 5):
            for method in (*MAML_FAMILY, "metaticket", "metaticket+boil"):
                out[f"miniimagenet-{model}-5w{shots}s-{method}"] = Preset(
                    f"Paper Table 2: miniImageNet 84x84, {model}, 5-way {shots}-shot, {method}",
                    {**PAPER, **MINIIMAGENET, "model": model, "method": method, "shots": shots,
                     "queries": shots},
                    MINIIMAGENET_OUTER,
                )  # fmt: skip
    for method, what in (
        ("maml", "MAML"),
        ("metaticket-reg", "modified Meta-ticket (with IteRand, as the authors ran it)"),
        ("metaticket-reg-naive", "naive Meta-ticket"),
    ):
        out[f"sinusoid-{method}"] = Preset(
            f"Paper appendix C: sinusoid regression, 5-shot, {what}",
            {**PAPER, **SINUSOID, "method": method},
        )
    out["omniglot-constant-init"] = Preset(
        "Paper 4.1.2: Omniglot 5w5s, every weight its layer's Kaiming std; only the mask learns",
        CONSTANT_INIT,
        CONSTANT_INIT_OUTER,
    )
    return out


PRESETS = _build()


def preset(name: str) -> Preset:
    """Preset ``name``; unknown names suggest the closest."""
    if name not in PRESETS:
        raise UnknownNameError("preset", name, PRESETS)
    return PRESETS[name]


def list_presets(pattern: str = "*") -> list[tuple[str, str]]:
    return [
        (n, p.description) for n, p in sorted(PRESETS.items()) if fnmatch.fnmatchcase(n, pattern)
    ]
