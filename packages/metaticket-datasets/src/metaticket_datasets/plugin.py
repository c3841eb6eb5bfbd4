"""The datasets plugin: registers the built-in few-shot datasets and the ``mt preview`` command.

Loaders are imported only when a dataset is built, so ``mt`` starts without numpy, Pillow or torch.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from metaticket_core import hookimpl


def _lazy(module: str) -> Callable[..., Any]:
    def factory(root: Any, **options: Any) -> Any:
        return import_module(f"metaticket_datasets.{module}").load(root, **options)

    return factory


@hookimpl
def register_datasets(register: Any) -> None:
    register(
        "omniglot",
        _lazy("omniglot"),
        description="Omniglot handwritten characters, 28x28, rotations as classes",
        formats=[
            "images_background/<Alphabet>/characterNN/*.png + images_evaluation/... (official)",
            "omniglot-py/images_background/... (torchvision)",
        ],
        split="vinyals (default): 1028/172/423 characters, the last 423 = Vinyals' test set, "
        "val seeded; split_file=PATH for protonets txt or torchmeta json; "
        "background: background alphabets / evaluation alphabets alternating val, test",
        options="split=vinyals|background, split_file=PATH, rotations=true, size=28",
    )
    register(
        "tiny-imagenet",
        _lazy("tinyimagenet"),
        description="Tiny-ImageNet natural images, 200 classes, RGB 32x32",
        formats=[
            "wnids.txt + train/<wnid>/images/*.JPEG",
            "tiny-imagenet-200/wnids.txt + tiny-imagenet-200/train/...",
        ],
        split="wnids.txt order: 64% / 16% / 20% of the classes (128 / 32 / 40)",
        options="size=32",
    )
    register(
        "glyphs",
        _lazy("glyphs"),
        description="Generated Omniglot-like handwritten glyphs, 28x28 (offline default)",
        formats=["generated from a seed, no files"],
        split="class index: 2/3 / 1/12 / 1/4 of the classes (800 / 100 / 300)",
        options="seed=0, classes=1200, examples=20",
    )
    register(
        "sinusoid",
        _lazy("sinusoid"),
        description="Sine-wave regression tasks (Finn et al. 2017)",
        formats=["generated, no files"],
        split="one task distribution; splits differ by generator seed",
    )


@hookimpl
def register_commands(app: Any) -> None:
    from .cli import register

    register(app)
