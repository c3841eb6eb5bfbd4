"""The datasets plugin: registers the built-in few-shot datasets and the ``mt preview`` and
``mt data`` commands.

Loaders are imported only when a dataset is built, so ``mt`` starts without numpy, Pillow or torch.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from metaticket_core import hookimpl

SPLIT_FILE = "class split file (docs/FORMATS.md), for folders that carry none"


def _images(size: int, split_file: str = SPLIT_FILE) -> dict[str, str]:
    """The options of an image dataset whose loader takes ``split_file`` and ``size``."""
    return {"split_file": split_file, "size": f"image side in pixels (default {size})"}


def _lazy(module: str, function: str = "load") -> Callable[..., Any]:
    def factory(root: Any, **options: Any) -> Any:
        return getattr(import_module(f"metaticket_datasets.{module}"), function)(root, **options)

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
        split="vinyals (default): 1028/172/423 characters, torchmeta's files in "
        "vinyals-split/ when there (mt data download omniglot), else the last 423 = Vinyals' "
        "test set, val seeded; split_file=PATH for protonets txt or torchmeta json; "
        "background: background alphabets / evaluation alphabets alternating val, test",
        options={
            "split": "vinyals (default) or background",
            "split_file": SPLIT_FILE,
            "rotations": "the four rotations of a character as classes (default true)",
            "size": "image side in pixels (default 28)",
        },
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
        options={"size": "image side in pixels (default 32)"},
    )
    register(
        "cifar-fs",
        _lazy("cifar", "load_cifar_fs"),
        description="CIFAR-FS: CIFAR-100 classes split 64/16/20, RGB 32x32",
        formats=[
            "cifar100/data.hdf5 + cifar100/cifar-fs/{split}_labels.json (torchmeta)",
            "CIFAR_FS_{train,val,test}.pickle (MetaOptNet, learn2learn)",
            "cifarfs/processed/{train,val,test}/<class>/*.png or cifarfs/cifar100/data/ + "
            "splits/bertinetto/ (learn2learn)",
            "cifar-100-python/{train,test,meta} + split_file (CIFAR-100 python pickles)",
        ],
        split="Bertinetto et al. 64/16/20, as the folder carries it; cifar-100-python needs "
        "split_file=PATH: r2d2 train.txt/val.txt/test.txt or torchmeta json",
        options=_images(32),
    )
    register(
        "fc100",
        _lazy("cifar", "load_fc100"),
        description="FC100: CIFAR-100 split by superclass 12/4/4 (60/20/20 classes), RGB 32x32",
        formats=[
            "cifar100/data.hdf5 + cifar100/fc100/{split}_labels.json (torchmeta)",
            "FC100_{train,val,test}.pickle (MetaOptNet, learn2learn)",
            "cifar-100-python/{train,test,meta} + split_file (CIFAR-100 python pickles)",
        ],
        split="Oreshkin et al. by superclass, as the folder carries it; cifar-100-python needs "
        "split_file=PATH: torchmeta fc100 json (superclasses) or {split: {superclass: [class]}}",
        options=_images(32),
    )
    register(
        "miniimagenet",
        _lazy("miniimagenet"),
        description="miniImageNet: 100 ImageNet classes x 600 images, RGB 84x84",
        formats=[
            "mini-imagenet-cache-{train,validation,test}.pkl (learn2learn)",
            "{train,val,test}_data.hdf5 + {split}_labels.json (torchmeta)",
            "{train,val,test}/<wnid>/*.jpg (image folders)",
            "images/*.jpg + train.csv/val.csv/test.csv (Ravi & Larochelle)",
        ],
        split="Ravi & Larochelle 64/16/20, as the files carry it; images/ without CSVs needs "
        "split_file=PATH (Ravi's CSV folder)",
        options=_images(84),
    )
    register(
        "tieredimagenet",
        _lazy("tieredimagenet"),
        description="tieredImageNet: 608 ImageNet classes in 34 categories, RGB 84x84",
        formats=[
            "{train,val,test}_images_png.pkl + {split}_labels.pkl (learn2learn)",
            "{train,val,test}_data.hdf5 + {split}_labels.json (torchmeta)",
            "ImageNet <wnid>/*.JPEG folders + train.csv/val.csv/test.csv (class,category)",
        ],
        split="Ren et al. 351/97/160 by category, as the files carry it; ImageNet folders need "
        "the CSVs beside them or split_file=PATH",
        options=_images(84),
    )
    register(
        "cub",
        _lazy("cub"),
        description="CUB-200-2011 birds, resize 126 + center crop, RGB 84x84",
        formats=[
            "CUB_200_2011/images/<NNN.Name>/*.jpg (official archive)",
            "cub/{split}_data.hdf5 + {split}_labels.json (torchmeta)",
        ],
        split="parity rule on sorted class folders (i%2==0 train, i%4==1 val, i%4==3 test): "
        "100/50/50; split_file=PATH for torchmeta or Meta-Dataset json",
        options=_images(84),
    )
    register(
        "cars",
        _lazy("cars"),
        description="Stanford Cars, cropped to bounding boxes, RGB 84x84",
        formats=["cars_train/*.jpg + devkit/cars_train_annos.mat, cars_meta.mat (official)"],
        split="parity rule on class ids (i=class-1: i%2==0 train, i%4==1 val, i%4==3 test): "
        "98/49/49; split_file=PATH for a json of class ids",
        options=_images(84),
    )
    register(
        "aircraft",
        _lazy("aircraft"),
        description="FGVC-Aircraft variants, cropped to bounding boxes, RGB 84x84",
        formats=[
            "fgvc-aircraft-2013b/data/images/*.jpg + images_variant_*.txt + images_box.txt "
            "(official)"
        ],
        split="none carried: split_file=PATH required, Meta-Dataset json 70/15/15",
        options=_images(32, "class split file (required)"),
    )
    register(
        "vgg-flower",
        _lazy("vggflower"),
        description="Oxford 102 Flowers (VGG), RGB 32x32 (paper setting; size=84 common)",
        formats=["jpg/image_NNNNN.jpg + imagelabels.mat (official)"],
        split="none carried: split_file=PATH required, Meta-Dataset json 71/15/16",
        options=_images(32, "class split file (required)"),
    )
    register(
        "glyphs",
        _lazy("glyphs"),
        description="Generated Omniglot-like handwritten glyphs, 28x28 (offline default)",
        formats=["generated from a seed, no files"],
        split="class index: 2/3 / 1/12 / 1/4 of the classes (800 / 100 / 300)",
        options={
            "seed": "generator seed (default 0)",
            "classes": "number of classes (default 1200)",
            "examples": "examples per class (default 20)",
        },
    )
    register(
        "sinusoid",
        _lazy("sinusoid"),
        description="Sine-wave regression tasks (Finn et al. 2017)",
        formats=["generated, no files"],
        split="one task distribution; splits differ by generator seed",
        options={},
    )


@hookimpl
def register_commands(app: Any) -> None:
    from .cli import register

    register(app)
