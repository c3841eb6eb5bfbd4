"""What ``mt report`` groups together and how it labels the groups."""

from metaticket_core import RunConfig
from metaticket_core.app.sweeps import Row, report_rows


class FinishedRun:
    """A finished run, as much of it as a report reads."""

    def __init__(self, config: RunConfig, mean: float):
        self._config, self.mean = config, mean

    def config(self) -> RunConfig:
        return self._config

    def test_result(self) -> dict:
        return {"metric": "accuracy", "mean": self.mean}


def test_an_older_runs_spelled_out_defaults_group_with_a_newer_run(toy_config):
    """Older config.json files wrote every Meta-ticket setting, for any method (p_init=0.0 and
    so on): the same run as one that leaves them to the method, so one row, and the label
    shows only what differs."""
    legacy = {"p_init": 0.0, "iterand_period": 1000, "iterand_rate": 1.0, "constant_init": None}
    older = RunConfig(**toy_config, **legacy)
    assert older.method_options == {}  # read as then: the toy method takes none of them
    newer = RunConfig(**toy_config, seed=1)
    other = RunConfig(**{**toy_config, "inner_lr": 0.1})
    varying, rows = report_rows(
        [FinishedRun(older, 0.5), FinishedRun(newer, 0.7), FinishedRun(other, 0.6)]
    )
    assert varying == ["inner_lr"]
    assert [(r.label, r.values) for r in rows] == [
        ("inner_lr=0.5", (0.5, 0.7)),
        ("inner_lr=0.1", (0.6,)),
    ]


def test_a_row_shows_a_spread_only_over_two_seeds_or_more():
    """One seed has no std: ``95.54 ± 0.00%`` would claim a spread that was never measured."""
    assert Row("a", "accuracy", (0.9554,), 1).text() == "95.54%"
    assert Row("a", "accuracy", (0.95, 0.97), 0).text() == "96.00 ± 1.41%"
    assert Row("a", "mse", (0.5, 0.7), 0).text() == "0.6000 ± 0.1414"
    assert Row("a", "accuracy", (), 2).text() == "-"
