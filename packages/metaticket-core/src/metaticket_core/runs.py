"""Run folders: ``<runs_dir>/<run_id>/`` with the validated config, metrics and checkpoints.

config.json        the RunConfig as trained
status.json        iterations done, best validation, state (running/finished/...)
metrics.jsonl      one JSON object per logged iteration or validation
checkpoints/       last.safetensors and best.safetensors (see checkpoint.py)
test.json          the final meta-test result
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .checkpoint import default_mode
from .config import RunConfig, validate
from .errors import MetaticketError, UnknownNameError


def default_runs_dir() -> Path:
    return Path(os.environ.get("MT_RUNS_DIR", "runs"))


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetaticketError(f"{str(path)!r} is missing.") from None
    except json.JSONDecodeError as exc:
        raise MetaticketError(f"{str(path)!r} is not valid JSON: {exc}") from None


class Run:
    """One run folder."""

    def __init__(self, path: Path):
        self.path = path
        self.id = path.name

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def checkpoint(self, which: str = "last") -> Path:
        return self.checkpoints / f"{which}.safetensors"

    def config(self) -> RunConfig:
        return validate(read_json(self.path / "config.json"))

    def status(self) -> dict[str, Any]:
        path = self.path / "status.json"
        return read_json(path) if path.exists() else {}

    def update_status(self, **changes: Any) -> None:
        write_json(self.path / "status.json", {**self.status(), **changes})

    def log(self, record: dict[str, Any]) -> None:
        with open(self.path / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def truncate_metrics(self, iteration: int) -> None:
        """Drop records past ``iteration`` (written after the checkpoint a resume starts from)."""
        kept = [r for r in self.metrics() if r.get("iteration", 0) <= iteration]
        path = self.path / "metrics.jsonl"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, path)

    def test_result(self) -> dict[str, Any] | None:
        path = self.path / "test.json"
        return read_json(path) if path.exists() else None


def create_run(config: RunConfig, runs_dir: Path, run_id: str | None = None) -> Run:
    """A new run folder holding ``config``; a given ``run_id`` must not exist yet."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        if "/" in run_id or run_id in {"", ".", ".."}:
            raise MetaticketError(f"Invalid run id {run_id!r}: use letters, digits, '-' and '_'.")
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
    path = runs_dir / run_id
    if not (path / "config.json").is_file():
        raise UnknownNameError("run", run_id, [r.id for r in list_runs(runs_dir)])
    return Run(path)


def list_runs(runs_dir: Path) -> list[Run]:
    if not runs_dir.is_dir():
        return []
    return [Run(p) for p in sorted(runs_dir.iterdir()) if (p / "config.json").is_file()]
