"""Domain errors, and ``one_line``: how the CLI shows any error as one red line before it exits
1 (traceback with MT_DEBUG=1)."""

from __future__ import annotations

import difflib
import re
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
        text = f"Unknown {self.kind} {self.name!r}.{did_you_mean(self.name, self.known)}"
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


def did_you_mean(name: str, candidates: Iterable[str], form: str = " Did you mean {!r}?") -> str:
    """The hint an error about an unknown name carries: ``form`` with the closest candidate, or
    "" when none is close."""
    close = closest(name, candidates)
    return form.format(close) if close else ""


def one_line(exc: BaseException) -> str:
    """The one line the CLI prints for ``exc``: a domain error's own message; for the system's
    errors (a full disk, a read-only or missing folder) what failed and on which path; for
    anything else its type and first line, marked as unexpected."""
    if isinstance(exc, MetaticketError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
        return f"{exc.strerror}: {' -> '.join(map(repr, paths))}" if paths else exc.strerror
    if isinstance(exc, MemoryError):
        return "Out of memory; use a smaller meta-batch, model or dataset."
    if isinstance(exc, RuntimeError) and (op := nondeterministic_op(exc)):
        return (
            f"--deterministic: {op} has no deterministic implementation on this device; train "
            f"without --deterministic, or with another model or method."
        )
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"unexpected {type(exc).__name__}: {text} (MT_DEBUG=1 shows the traceback)"


def nondeterministic_op(exc: RuntimeError) -> str | None:
    """The operation named by PyTorch's error for one that has no deterministic kernel while
    deterministic algorithms are on, else None."""
    match = re.match(r"\s*(.+?) does not have a deterministic implementation", str(exc))
    return match[1] if match else None
