"""What ``mt data download`` fetches: each dataset's archives, with the MD5 their publishers'
well-kept downloaders verify, and where that checksum was taken from. Nothing here is guessed:
a checksum is copied from the file named in ``checksum_from``.

Each archive is unpacked into the folder given as ``--root``, which is then the ``--data-root``
the dataset's reader takes (docs/FORMATS.md); ``provides`` are the paths it leaves there.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Archive:
    """One file to fetch and unpack (zip, tar.gz / tgz) or keep as it is (anything else).
    ``images``: the numbers of folders holding images and of image files it unpacks, counted in
    an unpacked copy, for ``mt data check`` of a folder mt did not unpack (None: not counted)."""

    url: str
    md5: str
    checksum_from: str
    provides: tuple[str, ...]
    images: tuple[int, int] | None = None
    folder: str = ""  # where under the root a file kept as it is goes

    @property
    def filename(self) -> str:
        return urlsplit(self.url).path.rsplit("/", 1)[-1]

    @property
    def key(self) -> str:
        """Unique among a root's archives: names its manifest."""
        return f"{self.folder}-{self.filename}" if self.folder else self.filename


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

SOURCES: dict[str, tuple[Archive, ...]] = {
    "omniglot": tuple(
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
    "cifar-fs": CIFAR100,
    "fc100": CIFAR100,
    "tiny-imagenet": (
        Archive(
            "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
            "90528d7ca1a48142e341f4ef8d21d0de",
            "ContinualAI/avalanche avalanche/benchmarks/datasets/tiny_imagenet/tiny_imagenet.py",
            ("tiny-imagenet-200",),
        ),
    ),
    "cub": (
        Archive(
            # CaltechDATA's record of the archive torchmeta fetched from www.vision.caltech.edu
            "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
            "97eceeb196236b17998738112f37df78",
            "tristandeleu/pytorch-meta torchmeta/datasets/cub.py (CUBClassDataset.tgz_md5)",
            ("CUB_200_2011",),
        ),
    ),
    "aircraft": (
        Archive(
            "https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz",
            "d4acdd33327262359767eeaa97a4f732",
            "mlverse/torchvision R/dataset-fgvc.R (torchvision's Python loader has none)",
            ("fgvc-aircraft-2013b",),
        ),
    ),
    "vgg-flower": (
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
}

# what a download leaves to do before training
AFTERWARDS = {
    "cifar-fs": "CIFAR-100 carries no few-shot split: add --set dataset_options.split_file=PATH "
    "(r2d2's train.txt/val.txt/test.txt or torchmeta's cifar-fs json)",
    "fc100": "CIFAR-100 carries no few-shot split: add --set dataset_options.split_file=PATH "
    "(torchmeta's fc100 json)",
    "aircraft": "the archive carries no few-shot split: add --set dataset_options.split_file=PATH "
    "(Meta-Dataset's aircraft json)",
    "vgg-flower": "the archive carries no few-shot split: add --set dataset_options.split_file="
    "PATH (Meta-Dataset's vgg_flower json)",
}

UNAVAILABLE = {
    "miniimagenet": "built from ImageNet images, whose terms require an ImageNet account; copies "
    "circulate on Google Drive and Kaggle with no stable address or published checksum. Get "
    "learn2learn's mini-imagenet-cache-*.pkl or torchmeta's HDF5 files, or Ravi & Larochelle's "
    "CSVs with the ImageNet images (docs/FORMATS.md)",
    "tieredimagenet": "built from ImageNet images, as miniimagenet; get learn2learn's "
    "*_images_png.pkl or torchmeta's HDF5 files, or ImageNet's train/ with the class CSVs "
    "(docs/FORMATS.md)",
    "cars": "the original host (ai.stanford.edu/~jkrause/cars) no longer serves the archive and "
    "torchvision dropped its download; a copy is on Kaggle, see "
    "https://github.com/pytorch/vision/issues/7545 (layout: docs/FORMATS.md)",
}
