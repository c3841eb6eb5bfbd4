"""What mt knows about a dataset without reading it: a ``DatasetSpec``, written once per dataset
(specs.py) and read by registration, ``mt list datasets --verbose``, ``mt data`` and the docs'
tables (checked by a test).

This module imports only the standard library: ``mt`` lists and checks datasets without numpy,
Pillow or torch, and imports a dataset's loader only when the dataset is built.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Option:
    """A dataset option (``dataset_options.NAME``): its default and what it means."""

    default: Any
    help: str


@dataclass(frozen=True)
class Archive:
    """One file ``mt data download`` fetches and unpacks (zip, tar.gz / tgz) or keeps as it is
    (anything else), with the MD5 its publisher's well-kept downloader verifies and where that
    checksum was copied from (nothing is guessed). ``provides``: the paths it leaves in the root.
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


@dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """One dataset's facts. ``loader`` (``"module:attribute"``) is called as
    ``loader(spec, root, cache_dir=..., **options)`` with every option filled in; an image
    dataset's loader is its layout reader (pipeline.ImageReader)."""

    name: str
    description: str
    layouts: tuple[str, ...]  # what --data-root may hold, each with whose layout it is
    data_root: str  # the folder --data-root points at
    classes: str  # classes per split, "train / val / test"
    split: str  # how classes are split
    loader: str
    options: dict[str, Option] = field(default_factory=dict)
    split_files: str = ""  # the class split files ``split_file`` takes, named in errors
    archives: tuple[Archive, ...] = ()  # what mt data download fetches
    unavailable: str = ""  # why mt data download cannot fetch it, and how to get it
    afterwards: str = ""  # what is left to do after mt data download

    @property
    def size(self) -> int | None:
        """The default image side, for datasets that have one."""
        return self.options["size"].default if "size" in self.options else None

    @property
    def expected(self) -> str:
        """What the data root should hold, for errors."""
        return " or ".join(self.layouts)

    @property
    def summary(self) -> str:
        """The description, with the default image size where there is one."""
        return f"{self.description}, {self.size}x{self.size}" if self.size else self.description

    def factory(self) -> Callable[..., Any]:
        """The registered factory, ``factory(root, *, cache_dir=None, <options>)``: its signature
        shows the options as keyword-only parameters with their defaults, which core reads; an
        unknown option is an error naming the closest. The loader is imported only when called."""

        def build(root: Path | str | None, *, cache_dir: Path | None = None, **options: Any):
            from metaticket_core import check_options, default_cache_dir

            check_options(f"dataset {self.name!r}", options, list(self.options))
            module, _, attribute = self.loader.partition(":")
            return getattr(import_module(module), attribute)(
                self,
                Path(root).expanduser() if root is not None else None,
                cache_dir=Path(cache_dir or default_cache_dir()),
                **{name: options.get(name, o.default) for name, o in self.options.items()},
            )

        keyword = inspect.Parameter.KEYWORD_ONLY
        build.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
            inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("cache_dir", keyword, default=None),
            *(inspect.Parameter(n, keyword, default=o.default) for n, o in self.options.items()),
        ])  # fmt: skip
        build.__doc__ = self.summary
        return build

    def register(self, register: Callable[..., None]) -> None:
        """Register the dataset through a ``register_datasets`` hook's ``register``."""
        register(
            self.name,
            self.factory(),
            description=self.summary,
            formats=list(self.layouts),
            classes=self.classes,
            split=self.split,
            **({"split_files": self.split_files} if self.split_files else {}),
            options={name: option.help for name, option in self.options.items()},
        )
