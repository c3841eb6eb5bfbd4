"""A third-party logger: ``mt train --log summary`` writes ``summary.json`` in the run folder, the
last value of every metric, for scripts that want one number per run without reading logs."""

from __future__ import annotations

import json

from metaticket_core import Logger


class SummaryLogger(Logger):
    """The last value of every metric, written to <run>/summary.json when training stops."""

    def __init__(self, run, *, start):
        self.path, self.last = run.path / "summary.json", {}

    def log(self, record):
        self.last.update(record)

    def close(self):
        self.path.write_text(json.dumps(self.last, indent=2) + "\n")
