"""The built-in datasets, each described once: registration (plugin.py), ``mt list datasets``,
``mt data`` and the docs' tables (a test checks them) all read these specs.

Every checksum is copied from the file named in its ``checksum_from``, nothing is guessed. Each
archive is unpacked into the folder given as ``--root``, which is then the ``--data-root`` the
dataset's reader takes (docs/FORMATS.md).
"""

from __future__ import annotations

from .spec import Archive, DatasetSpec, Option

TORCHVISION = "pytorch/vision torchvision/datasets/"
OMNIGLOT_URL = "https://github.com/brendenlake/omniglot/raw/master/python/"
# torchmeta's Omniglot class split (Vinyals et al.'s characters), which the authors trained with;
# pinned to a commit, so the MD5 of each file there is stable (torchmeta verifies none itself)
TORCHMETA_COMMIT = "2dd22382a3af27b2c4137fd7ed2822a32597162f"
OMNIGLOT_SPLIT = "vinyals-split"
OMNIGLOT_SPLIT_URL = (
    f"https://raw.githubusercontent.com/tristandeleu/pytorch-meta/{TORCHMETA_COMMIT}/"
    "torchmeta/datasets/assets/omniglot/"
)
CIFAR100 = (
    Archive(
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        TORCHVISION + "cifar.py (CIFAR100.tgz_md5)",
        ("cifar-100-python",),
    ),
)
FLOWERS_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
NO_SPLIT = "carries no few-shot split: add --set dataset_options.split_file=PATH"
IMAGENET = "built from ImageNet images, whose terms require an ImageNet account"


def image_options(size: int) -> dict[str, Option]:
    """The options of an image dataset read through the pipeline."""
    return {
        "split_file": Option(
            None, "class split file (docs/FORMATS.md), for layouts that carry none"
        ),
        "size": Option(size, "image side in pixels"),
    }


OMNIGLOT = DatasetSpec(
    name="omniglot",
    description="Omniglot handwritten characters, rotations as classes, gray",
    layouts=(
        "images_background/<Alphabet>/characterNN/*.png + images_evaluation/... (official)",
        "omniglot-py/images_background/... (torchvision)",
    ),
    data_root="the folder that contains images_background/ and images_evaluation/ (the "
    "official zips unpacked)",
    classes="1028 / 172 / 423 characters, x 4 rotations",
    split="vinyals (default): torchmeta's files in vinyals-split/ when there (mt data download "
    "omniglot), else the last 423 = Vinyals' test set, val seeded; background: background "
    "alphabets / evaluation alphabets alternating val, test",
    split_files="prototypical networks' train.txt / val.txt / test.txt or torchmeta's json",
    loader="metaticket_datasets.omniglot:load",
    options={
        "split": Option("vinyals", "vinyals or background"),
        "split_file": Option(None, "class split file (docs/FORMATS.md), replacing the split"),
        "rotations": Option(True, "the four rotations of a character as classes"),
        "size": Option(28, "image side in pixels"),
    },
    archives=tuple(
        Archive(
            f"{OMNIGLOT_URL}{name}.zip",
            md5,
            TORCHVISION + "omniglot.py (Omniglot.zips_md5)",
            (name,),
            images,
        )
        for name, md5, images in (
            ("images_background", "68d2efa1b9178cc56df9314c21c6e718", (964, 19280)),
            ("images_evaluation", "6b91aef0f799c5bb55b94e3f2daec811", (659, 13180)),
        )
    )
    + tuple(
        Archive(
            f"{OMNIGLOT_SPLIT_URL}{split}.json",
            md5,
            f"MD5 of tristandeleu/pytorch-meta torchmeta/datasets/assets/omniglot/{split}.json "
            f"at commit {TORCHMETA_COMMIT[:7]}",
            (f"{OMNIGLOT_SPLIT}/{split}.json",),
            folder=OMNIGLOT_SPLIT,
        )
        for split, md5 in (
            ("train", "75b5c96cf5e131cc4ffc2a052b73c42a"),
            ("val", "92d588a8a5890f7ab814e3768e73c038"),
            ("test", "79e7105d953d854dd8acb677188b756c"),
        )
    ),
)
TINY_IMAGENET = DatasetSpec(
    name="tiny-imagenet",
    description="Tiny-ImageNet natural images, 200 classes, RGB",
    layouts=(
        "wnids.txt + train/<wnid>/images/*.JPEG",
        "tiny-imagenet-200/wnids.txt + tiny-imagenet-200/train/...",
    ),
    data_root="the folder that contains wnids.txt",
    classes="128 / 32 / 40",
    split="wnids.txt order: first 64% train, next 16% val, last 20% test",
    loader="metaticket_datasets.tinyimagenet:load",
    options={"size": Option(32, "image side in pixels")},
    archives=(
        Archive(
            "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
            "90528d7ca1a48142e341f4ef8d21d0de",
            "ContinualAI/avalanche avalanche/benchmarks/datasets/tiny_imagenet/tiny_imagenet.py",
            ("tiny-imagenet-200",),
        ),
    ),
)
CIFAR_FS = DatasetSpec(
    name="cifar-fs",
    description="CIFAR-FS: CIFAR-100 classes split 64/16/20, RGB",
    layouts=(
        "cifar100/data.hdf5 + cifar100/cifar-fs/{split}_labels.json (torchmeta)",
        "CIFAR_FS_{train,val,test}.pickle (MetaOptNet, learn2learn)",
        "cifarfs/processed/{train,val,test}/<class>/*.png or cifarfs/cifar100/data/ + "
        "splits/bertinetto/ (learn2learn)",
        "cifar-100-python/{train,test,meta} + split_file (CIFAR-100 python pickles)",
    ),
    data_root="the folder that contains cifar100/, the pickles, cifarfs/ or cifar-100-python/",
    classes="64 / 16 / 20",
    split="Bertinetto et al.'s, as torchmeta, MetaOptNet and learn2learn folders carry it; "
    "cifar-100-python carries none",
    split_files="r2d2's train.txt / val.txt / test.txt (one CIFAR-100 class per line) or "
    "torchmeta's train.json ... ([[coarse, fine], ...])",
    loader="metaticket_datasets.cifar:load_cifar_fs",
    options=image_options(32),
    archives=CIFAR100,
    afterwards=f"CIFAR-100 {NO_SPLIT} (r2d2's train.txt/val.txt/test.txt or torchmeta's "
    "cifar-fs json)",
)
FC100 = DatasetSpec(
    name="fc100",
    description="FC100: CIFAR-100 split by superclass 12/4/4 (60/20/20 classes), RGB",
    layouts=(
        "cifar100/data.hdf5 + cifar100/fc100/{split}_labels.json (torchmeta)",
        "FC100_{train,val,test}.pickle (MetaOptNet, learn2learn)",
        "cifar-100-python/{train,test,meta} + split_file (CIFAR-100 python pickles)",
    ),
    data_root="the folder that contains cifar100/, the pickles or cifar-100-python/",
    classes="60 / 20 / 20 (12 / 4 / 4 superclasses)",
    split="Oreshkin et al.'s by superclass, as torchmeta and MetaOptNet folders carry it; "
    "cifar-100-python carries none",
    split_files="torchmeta's fc100 train.json / val.json / test.json (superclass names per "
    'split) or one json {"train": {superclass: [class, ...]}, "val": ..., "test": ...}',
    loader="metaticket_datasets.cifar:load_fc100",
    options=image_options(32),
    archives=CIFAR100,
    afterwards=f"CIFAR-100 {NO_SPLIT} (torchmeta's fc100 json)",
)
MINIIMAGENET = DatasetSpec(
    name="miniimagenet",
    description="miniImageNet: 100 ImageNet classes x 600 images, RGB",
    layouts=(
        "mini-imagenet-cache-{train,validation,test}.pkl (learn2learn)",
        "{train,val,test}_data.hdf5 + {split}_labels.json (torchmeta)",
        "{train,val,test}/<wnid>/*.jpg (image folders)",
        "images/*.jpg + train.csv/val.csv/test.csv (Ravi & Larochelle)",
    ),
    data_root="the folder that contains the pickles, the HDF5 files, the split folders or images/",
    classes="64 / 16 / 20",
    split="Ravi & Larochelle's, as the files carry it; images/ without the CSVs beside it needs "
    "them as split_file",
    split_files="Ravi's train.csv / val.csv / test.csv (filename,label per image, with a header)",
    loader="metaticket_datasets.miniimagenet:load",
    options=image_options(84),
    unavailable=f"{IMAGENET}; copies circulate on Google Drive and Kaggle with no stable address "
    "or published checksum. Get learn2learn's mini-imagenet-cache-*.pkl or torchmeta's HDF5 "
    "files, or Ravi & Larochelle's CSVs with the ImageNet images (docs/FORMATS.md)",
)
TIEREDIMAGENET = DatasetSpec(
    name="tieredimagenet",
    description="tieredImageNet: 608 ImageNet classes in 34 categories, RGB",
    layouts=(
        "{train,val,test}_images_png.pkl + {split}_labels.pkl (learn2learn)",
        "{train,val,test}_data.hdf5 + {split}_labels.json (torchmeta)",
        "ImageNet <wnid>/*.JPEG folders + train.csv/val.csv/test.csv (class,category)",
    ),
    data_root="the folder that contains the pickles, the HDF5 files or the ImageNet class folders",
    classes="351 / 97 / 160",
    split="Ren et al.'s by category, as the files carry it; ImageNet folders need the CSVs "
    "beside them or as split_file",
    split_files="tieredImageNet's train.csv / val.csv / test.csv (<class wnid>,<category wnid> "
    "per line)",
    loader="metaticket_datasets.tieredimagenet:load",
    options=image_options(84),
    unavailable=f"{IMAGENET}, as miniimagenet; get learn2learn's *_images_png.pkl or "
    "torchmeta's HDF5 files, or ImageNet's train/ with the class CSVs (docs/FORMATS.md)",
)
CUB = DatasetSpec(
    name="cub",
    description="CUB-200-2011 birds, resize 1.5x + center crop, RGB",
    layouts=(
        "CUB_200_2011/images/<NNN.Name>/*.jpg (official archive)",
        "cub/{split}_data.hdf5 + {split}_labels.json (torchmeta)",
    ),
    data_root="CUB_200_2011/ (the archive unpacked)",
    classes="100 / 50 / 50",
    split="parity rule on sorted class folders: i%2==0 train, i%4==1 val, i%4==3 test",
    split_files="torchmeta's train.json / val.json / test.json (class folder names) or "
    'Meta-Dataset\'s json {"train": [...], "valid": [...], "test": [...]}',
    loader="metaticket_datasets.cub:load",
    options=image_options(84),
    archives=(
        Archive(
            # CaltechDATA's record of the archive torchmeta fetched from www.vision.caltech.edu
            "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
            "97eceeb196236b17998738112f37df78",
            "tristandeleu/pytorch-meta torchmeta/datasets/cub.py (CUBClassDataset.tgz_md5)",
            ("CUB_200_2011",),
        ),
    ),
)
CARS = DatasetSpec(
    name="cars",
    description="Stanford Cars, cropped to bounding boxes, RGB",
    layouts=("cars_train/*.jpg + devkit/cars_train_annos.mat, cars_meta.mat (official)",),
    data_root="the folder that contains cars_train/ and devkit/",
    classes="98 / 49 / 49",
    split="parity rule on class ids, i = class - 1: i%2==0 train, i%4==1 val, i%4==3 test",
    split_files='a json {"train": [1, 3, ...], "val": [...], "test": [...]} of 1-based class '
    "ids or names",
    loader="metaticket_datasets.cars:load",
    options=image_options(84),
    unavailable="the original host (ai.stanford.edu/~jkrause/cars) no longer serves the archive "
    "and torchvision dropped its download; a copy is on Kaggle, see "
    "https://github.com/pytorch/vision/issues/7545 (layout: docs/FORMATS.md)",
)
AIRCRAFT = DatasetSpec(
    name="aircraft",
    description="FGVC-Aircraft variants, cropped to bounding boxes, RGB",
    layouts=(
        "fgvc-aircraft-2013b/data/images/*.jpg + images_variant_*.txt + images_box.txt (official)",
    ),
    data_root="fgvc-aircraft-2013b/ (the archive unpacked)",
    classes="70 / 15 / 15",
    split="none carried: split_file required (Meta-Dataset's)",
    split_files='Meta-Dataset\'s aircraft json {"train": [variant, ...], "valid": [...], '
    '"test": [...]}',
    loader="metaticket_datasets.aircraft:load",
    options=image_options(32),
    archives=(
        Archive(
            "https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz",
            "d4acdd33327262359767eeaa97a4f732",
            "mlverse/torchvision R/dataset-fgvc.R (torchvision's Python loader has none)",
            ("fgvc-aircraft-2013b",),
        ),
    ),
    afterwards=f"the archive {NO_SPLIT} (Meta-Dataset's aircraft json)",
)
VGG_FLOWER = DatasetSpec(
    name="vgg-flower",
    description="Oxford 102 Flowers (VGG), RGB",
    layouts=("jpg/image_NNNNN.jpg + imagelabels.mat (official)",),
    data_root="the folder that contains jpg/ and imagelabels.mat",
    classes="71 / 15 / 16",
    split="none carried: split_file required (Meta-Dataset's)",
    split_files='Meta-Dataset\'s vgg_flower json {"train": ["090.canna lily", ...], "valid": '
    '[...], "test": [...]} (NNN = label)',
    loader="metaticket_datasets.vggflower:load",
    options=image_options(32),
    archives=(
        Archive(
            FLOWERS_URL + "102flowers.tgz",
            "52808999861908f626f3c1f4e79d11fa",
            TORCHVISION + "flowers102.py (Flowers102._file_dict)",
            ("jpg",),
        ),
        Archive(
            FLOWERS_URL + "imagelabels.mat",
            "e0620be6f572b9609742df49c70aed4d",
            TORCHVISION + "flowers102.py (Flowers102._file_dict)",
            ("imagelabels.mat",),
        ),
    ),
    afterwards=f"the archive {NO_SPLIT} (Meta-Dataset's vgg_flower json)",
)
GLYPHS = DatasetSpec(
    name="glyphs",
    description="Generated Omniglot-like handwritten glyphs, 28x28 (offline default)",
    layouts=("generated from a seed, no files",),
    data_root="none: generated",
    classes="800 / 100 / 300",
    split="class index: first 2/3 train, next 1/12 val, last 1/4 test",
    loader="metaticket_datasets.glyphs:load",
    options={
        "seed": Option(0, "generator seed"),
        "classes": Option(1200, "number of classes"),
        "examples": Option(20, "examples per class"),
    },
)
SINUSOID = DatasetSpec(
    name="sinusoid",
    description="Sine-wave regression tasks (Finn et al. 2017)",
    layouts=("generated, no files",),
    data_root="none: generated",
    classes="one task distribution",
    split="one task distribution; splits differ by generator seed",
    loader="metaticket_datasets.sinusoid:load",
)

SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (OMNIGLOT, TINY_IMAGENET, CIFAR_FS, FC100, MINIIMAGENET, TIEREDIMAGENET, CUB,
                 CARS, AIRCRAFT, VGG_FLOWER, GLYPHS, SINUSOID)
}  # fmt: skip
