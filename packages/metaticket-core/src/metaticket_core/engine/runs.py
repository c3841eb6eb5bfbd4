"""Run folders: ``<runs_dir>/<run_id>/`` with the validated config, metrics and checkpoints.

config.json        the RunConfig as trained
status.json        iterations done, best validation, state (running/finished/failed/...)
metrics.jsonl      one JSON object per logged iteration or validation
checkpoints/       last.safetensors and best.safetensors (see checkpoint.py)
test.json          the final meta-test result
.lock              held by the process working on the run (see locks.py)

Run ids are checked on every access, so no id can reach outside the runs folder.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..api.config import RunConfig, validate, without_unused_legacy_options
from ..api.console import warn
from ..api.errors import MetaticketError, UnknownNameError
from ..api.files import remove_orphans, write_json, write_text
from . import locks

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]{0,127}")
LIVE_STATES = ("created", "running")  # states that only a live process may be in


def check_id(name: str, kind: str = "run") -> str:
    """``name`` if it is a valid run (or sweep) id, a clear error otherwise."""
    if not ID_PATTERN.fullmatch(name):
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise MetaticketError(
            f"Invalid {kind} id {shown!r}: use 1 to 128 letters, digits, '-', '_', '.', '=' or "
            f"'+', starting with a letter or digit."
        )
    return name


def read_json(path: Path, kind: type | None = None) -> Any:
    """The JSON value in ``path`` (of type ``kind`` where given); a file that is not (bad
    UTF-8, nested too deep, a number of thousands of digits, another type) is one clear error."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetaticketError(f"{str(path)!r} is missing.") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, digits
        reason = "nested too deep" if isinstance(exc, RecursionError) else exc
        raise MetaticketError(f"{str(path)!r} is not valid JSON: {reason}") from None
    if kind is not None and not isinstance(value, kind):
        raise MetaticketError(
            f"{str(path)!r} is damaged: it holds a {type(value).__name__}, not a "
            f"{'mapping' if kind is dict else kind.__name__}."
        )
    return value


class Run:
    """One run folder."""

    def __init__(self, path: Path):
        self.path = path
        self.id = path.name
        self._warned = False  # about the settings config() drops: once per Run

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def checkpoint(self, which: str = "last") -> Path:
        return self.checkpoints / f"{which}.safetensors"

    def config(self) -> RunConfig:
        """The config it was trained with, less the Meta-ticket options that an earlier
        release saved for a method that ignored them (one warning)."""
        data, dropped = without_unused_legacy_options(read_json(self.path / "config.json", dict))
        if dropped and not self._warned:
            self._warned = True
            warn(
                f"Run {self.id!r} was saved with method_options {', '.join(dropped)}, which "
                f"method {data['method']!r} does not take (it ignored them); left out."
            )
        return validate(data)

    def status(self) -> dict[str, Any]:
        path = self.path / "status.json"
        return read_json(path, dict) if path.exists() else {}

    def state(self) -> str:
        """The recorded state, except that a run no process holds cannot be running: its
        process was killed (or the machine stopped) before it could record that."""
        state = self.status().get("state", "-")
        if state in LIVE_STATES and not locks.is_held(self.path):
            return "interrupted"
        return state

    def update_status(self, **changes: Any) -> None:
        write_json(self.path / "status.json", {**self.status(), **changes})

    @contextmanager
    def lock(self) -> Iterator[Run]:
        """Hold the run for this process (RunInUse names the holder otherwise); the temporary
        files of a writer that was killed are removed then."""
        with locks.hold(self.path):
            for folder in (self.path, self.checkpoints):
                remove_orphans(folder)
            yield self

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def log(self, record: dict[str, Any]) -> None:
        """Append one record; a torn last line (a full disk during an earlier append) is cut
        off first, so that it cannot glue onto this one."""
        with open(self.metrics_path, "a+b") as f:
            end = f.seek(0, os.SEEK_END)
            if end and os.pread(f.fileno(), 1, end - 1) != b"\n":
                start = max(0, end - (1 << 20))  # a record is far shorter
                f.truncate(start + os.pread(f.fileno(), end - start, start).rfind(b"\n") + 1)
            f.write((json.dumps(record) + "\n").encode())

    def metrics(self) -> list[dict[str, Any]]:
        """The records; a torn last line (no newline yet, or ever) is left out."""
        if not self.metrics_path.exists():
            return []
        lines = self.metrics_path.read_text(encoding="utf-8", errors="replace").split("\n")
        records = []
        for number, line in enumerate(lines[:-1], 1):  # lines[-1]: after the last newline
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(f"a {type(record).__name__}, not a record")
                if type(record.get("iteration")) is not int:
                    raise ValueError("no iteration number")
            except (ValueError, RecursionError) as exc:
                raise MetaticketError(
                    f"{str(self.metrics_path)!r} line {number} is damaged ({exc}); remove that "
                    f"line to use the run."
                ) from None
            records.append(record)
        return records

    def truncate_metrics(self, iteration: int, validated: bool = True) -> None:
        """Keep the records up to ``iteration`` (written before the checkpoint a resume starts
        from), without that iteration's validation unless it was ``validated``; this also
        repairs a torn last line."""
        kept = [
            r
            for r in self.metrics()
            if r.get("iteration", 0) < iteration
            or (r.get("iteration", 0) == iteration and (validated or not is_validation(r)))
        ]
        write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    def test_result(self) -> dict[str, Any] | None:
        """test.json, None before the meta-test; one that lacks its figures is an error."""
        path = self.path / "test.json"
        if not path.exists():
            return None
        result = read_json(path, dict)
        mean = result.get("mean")
        if not isinstance(result.get("metric"), str) or type(mean) not in (int, float):
            raise MetaticketError(f"{str(path)!r} is damaged: it lacks a metric and its mean.")
        return result


def create_run(config: RunConfig, runs_dir: Path, run_id: str | None = None) -> Run:
    """A new run folder holding ``config``; a given ``run_id`` must not exist yet."""
    if run_id is not None:
        check_id(run_id)
    runs_dir.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        if (runs_dir / run_id).exists():
            raise MetaticketError(
                f"Run {run_id!r} already exists in {str(runs_dir)!r}; "
                f"continue it with --resume {run_id} or choose another --run-id."
            )
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{config.method}-{config.dataset}".replace("+", "-")
        run_id, n = base, 1
        while (runs_dir / run_id).exists():
            n += 1
            run_id = f"{base}-{n}"
    path = runs_dir / run_id
    path.mkdir()
    run = Run(path)
    write_json(path / "config.json", config.model_dump(mode="json"))
    run.update_status(state="created", iteration=0, created=time.time())
    return run


def open_run(run_id: str, runs_dir: Path) -> Run:
    """An existing run; unknown ids suggest the closest."""
    path = runs_dir / check_id(run_id)
    if not (path / "config.json").is_file():
        raise UnknownNameError("run", run_id, [r.id for r in list_runs(runs_dir)])
    return Run(path)


def list_runs(runs_dir: Path) -> list[Run]:
    if not runs_dir.is_dir():
        return []
    return [Run(p) for p in sorted(runs_dir.iterdir()) if (p / "config.json").is_file()]


def is_validation(record: dict[str, Any]) -> bool:
    return any(key.startswith("val_") for key in record)
