"""The paper's experiments: each a grid of settings (a preset and what differs from it), the
datasets it trains and cross-tests on, and the numbers of the paper it is judged against
(paper.json). Settings are built from the presets, so an experiment never restates one."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ...api.errors import UnknownNameError

PAPER_SEEDS = (1, 2, 3)
FIG3_METHODS = ("maml", "metaticket", "metaticket+iterand")
TABLE_METHODS = ("maml", "anil", "boil", "metaticket", "metaticket+boil")


@dataclass(frozen=True)
class Setting:
    """One configuration of an experiment, trained once per seed."""

    key: str  # in the run ids and the tables
    preset: str
    sets: dict[str, Any] = field(default_factory=dict)  # dotted keys over the preset
    cross: tuple[str, ...] = ()  # datasets its runs are meta-tested on besides their own


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    source: str  # where in the paper
    settings: tuple[Setting, ...]
    datasets: tuple[str, ...]  # that need files: training and cross-test data

    def setting(self, key: str) -> Setting:
        found = {s.key: s for s in self.settings}
        if key not in found:
            raise UnknownNameError(f"setting of {self.name}", key, found)
        return found[key]

    def select(self, patterns: list[str] | None) -> tuple[Setting, ...]:
        """The settings whose keys match any of ``patterns`` (globs); all without any."""
        if not patterns:
            return self.settings
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(s.key, pattern) for s in self.settings):
                raise UnknownNameError(
                    f"setting of {self.name}", pattern, [s.key for s in self.settings]
                )
        return tuple(
            s for s in self.settings if any(fnmatch.fnmatchcase(s.key, p) for p in patterns)
        )

    def numbers(self) -> list[dict[str, Any]]:
        return [n for n in paper_numbers() if n["experiment"] == self.name]


def _figure3(ways: int) -> Experiment:
    return Experiment(
        f"figure3-{ways}way",
        f"Omniglot {ways}-way 5-shot, MLP widths 1, 2, 4 and 8",
        "Figure 3, section 4.1.1",
        tuple(
            Setting(
                f"w{width}-{method}", f"omniglot-{ways}w5s-{method}", {"model_options.width": width}
            )
            for width in (1, 2, 4, 8)
            for method in FIG3_METHODS
        ),
        ("omniglot",),
    )


def _table1() -> Experiment:
    domains = ("cifar-fs", "vgg-flower", "aircraft")
    return Experiment(
        "table1",
        "5-MLP meta-trained on CIFAR-FS and on VGG-Flower, cross-tested on all three domains",
        "Table 1, section 4.1.3",
        tuple(
            Setting(
                f"{train}-{method}",
                f"mlp5-5w5s-{method}",
                {"dataset": train},
                tuple(d for d in domains if d != train),
            )
            for train in domains[:2]
            for method in TABLE_METHODS
        ),
        domains,
    )


def _build() -> dict[str, Experiment]:
    experiments = [
        _figure3(5),
        _figure3(20),
        Experiment(
            "constant-init",
            "Omniglot 5-way 5-shot from constant parameters: only the mask learns; against a "
            "random 50% mask of the same network (--iterations 0 meta-tests the untrained start)",
            "section 4.1.2",
            (
                Setting("metaticket", "omniglot-constant-init"),
                Setting(
                    "random-mask",
                    "omniglot-constant-init",
                    {"iterations": 0, "method_options.p_init": 0.5},
                ),
            ),
            ("omniglot",),
        ),
        Experiment(
            "sinusoid",
            "Sinusoid regression, 5-shot, 5 inner steps: MAML, modified and naive Meta-ticket",
            "appendix C",
            tuple(
                Setting(method, f"sinusoid-{method}")
                for method in ("maml", "metaticket-reg", "metaticket-reg-naive")
            ),
            (),
        ),
        _table1(),
        Experiment(
            "table2",
            "ResNet-12 and WRN-28-10 meta-trained on miniImageNet 5-way 5-shot, cross-tested on "
            "CUB and Cars",
            "Table 2, section 4.2",
            tuple(
                Setting(
                    f"{model}-{method}",
                    f"miniimagenet-{model}-5w5s-{method}",
                    cross=("cub", "cars"),
                )
                for model in ("resnet12", "wrn28-10")
                for method in TABLE_METHODS
            ),
            ("miniimagenet", "cub", "cars"),
        ),
        Experiment(
            "figure2",
            "Inner-loop task gradients of the 5-MLP on CIFAR-FS, MAML against Meta-ticket, at "
            "four inner learning rates (rapid learning or feature reuse)",
            "Figure 2, section 3.2 (rates of Figure 7)",
            tuple(
                Setting(
                    f"{method}-lr{lr}",
                    f"mlp5-5w5s-{method}",
                    {"dataset": "cifar-fs", "inner_lr": lr},
                )
                for lr in (0.001, 0.01, 0.1, 1.0)
                for method in ("maml", "metaticket")
            ),
            ("cifar-fs",),
        ),
        Experiment(
            "table8",
            "Meta-ticket's meta-validation accuracy by initial sparsity, ResNet-12, miniImageNet "
            "5-way 1-shot",
            "Table 8, appendix B.2",
            tuple(
                Setting(
                    f"p{p}", "miniimagenet-resnet12-5w1s-metaticket", {"method_options.p_init": p}
                )
                for p in (0.0, 0.3, 0.5, 0.7, 0.9)
            ),
            ("miniimagenet",),
        ),
    ]
    return {e.name: e for e in experiments}


EXPERIMENTS = _build()


def experiment(name: str) -> Experiment:
    """Experiment ``name``; unknown names suggest the closest."""
    if name not in EXPERIMENTS:
        raise UnknownNameError("experiment", name, EXPERIMENTS)
    return EXPERIMENTS[name]


def _data(name: str) -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def paper_numbers() -> list[dict[str, Any]]:
    """Every number and plotted claim of the paper that an experiment is judged against."""
    return _data("paper.json")["numbers"]


@cache
def step_rates() -> dict[str, list[dict[str, Any]]]:
    """Measured iterations per second, by kind of machine (cpu, gpu), with their sources."""
    return {kind: entries for kind, entries in _data("rates.json").items() if kind != "_about"}
