"""Domain errors: the CLI shows each as one red line and exits 1 (traceback with MT_DEBUG=1)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MetaticketError(Exception):
    """Base class for errors caused by the user's input rather than by a bug."""


class ConfigError(MetaticketError):
    """An invalid run configuration."""


class DataError(MetaticketError):
    """Missing, badly laid out or too small data."""


class PluginError(MetaticketError):
    """A plugin that cannot be loaded or registers something invalid."""


class UnknownNameError(MetaticketError, KeyError):
    """A name that no registry knows; the message lists what exists and the closest match."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"Unknown {self.kind} {self.name!r}."
        close = closest(self.name, self.known)
        if close:
            text += f" Did you mean {close!r}?"
        if self.known:
            text += f" Available: {', '.join(self.known)}."
        else:
            text += f" No {self.kind}s are registered (is a plugin missing or disabled?)."
        return text

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``name``, if any is reasonably close."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None
