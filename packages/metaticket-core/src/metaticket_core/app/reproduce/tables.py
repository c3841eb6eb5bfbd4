"""An experiment's tables from its stored records: one row per number of the paper with our
mean ± std over seeds and a verdict, and one row per setting with each seed's result.

The verdict rules (docs/REPRODUCE.md states them for readers):
- a number the paper gives as mean ± std: **reproduced** when the paper's value lies within our
  mean ± 2 std over at least 2 seeds (the larger of our std and the paper's: a spread either
  side saw) and our std is at most twice the paper's, else **not reproduced** (saying so when
  only the spread fails); one seed is **too few seeds**;
- "about X": **reproduced** within our mean ± max(2 std, 1 unit of X's last digit);
- a claim the paper shows as a plot: **direction reproduced** when our means order the two
  settings as the paper says, else **direction not reproduced**.
Rows of runs that depart from the paper's setting (fewer iterations, other options) say so
beside the verdict: they are never labelled as the paper's.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from typing import Any

from .catalogue import PAPER_SEEDS, Experiment

TRANSCRIBED = "transcribed"  # provenance prefix of records copied from an earlier page
RULE = (
    "reproduced: the paper's value within our mean ± 2 std over seeds (2 seeds at least; the "
    "larger of our std and the paper's), our std at most twice the paper's ('about X': within max(2 std, 1 in X's last digit)); "
    "direction reproduced: our means order the settings as the paper's plot or text says"
)


@dataclass(frozen=True)
class Group:
    """The records of one setting run one way (the same deviations), over seeds."""

    setting: str
    deviations: dict[str, Any]
    records: tuple[dict[str, Any], ...]

    @property
    def paper_scale(self) -> bool:
        return not self.deviations

    def variant(self) -> str:
        """How the runs depart from the paper's setting, or "" for none."""
        return ", ".join(
            f"{k} {_plain(d['ours'])} (paper {_plain(d['paper'])})"
            for k, d in self.deviations.items()
        )

    def values(self, measure: str) -> list[float]:
        return [
            v
            for r in self.records
            if r.get("seed") is not None
            for v in [_value(r, measure)]
            if v is not None
        ]

    def stats(self, measure: str) -> tuple[float, float, int] | None:
        """Mean, std over seeds and their count; from a transcribed aggregate if that is all."""
        values = self.values(measure)
        if values:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            return statistics.fmean(values), std, len(values)
        for r in self.records:
            if r.get("aggregate") and measure == "test":
                return r["test"]["mean"], r["aggregate"]["std"], r["aggregate"]["n"]
        return None

    def transcribed(self) -> bool:
        return any(r["provenance"].startswith(TRANSCRIBED) for r in self.records)


def _value(rec: dict[str, Any], measure: str) -> float | None:
    if measure == "test":
        return rec["test"]["mean"]
    if measure == "val":
        return rec.get("val_best")
    if measure == "grad":
        return rec.get("gradient_ratio")
    cross = rec.get("cross", {}).get(measure.removeprefix("cross:"))
    return cross["mean"] if cross else None


def _plain(value: Any) -> str:
    return "none" if value is None else json.dumps(value) if isinstance(value, dict) else f"{value}"


def groups(records: list[dict[str, Any]]) -> dict[str, list[Group]]:
    """Records by setting, then by deviations: the paper's scale first, variants after."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        found.setdefault(
            (rec["setting"], json.dumps(rec["deviations"], sort_keys=True)), []
        ).append(rec)
    out: dict[str, list[Group]] = {}
    for (setting, deviations), members in found.items():
        group = Group(setting, json.loads(deviations), tuple(sorted(members, key=_seed)))
        out.setdefault(setting, []).append(group)
    for gs in out.values():
        gs.sort(key=lambda g: (not g.paper_scale, g.variant()))
    return out


def _seed(rec: dict[str, Any]) -> int:
    return -1 if rec.get("seed") is None else rec["seed"]


def _scale(metric: str) -> float:
    return 100.0 if metric == "accuracy" else 1.0


def _fmt(value: float, metric: str, digits: int | None = None) -> str:
    digits = digits if digits is not None else (2 if metric == "accuracy" else 3)
    return f"{_scale(metric) * value:.{digits}f}"


def _metric(group: Group, measure: str) -> str:
    return "ratio" if measure == "grad" else group.records[0].get("metric", "accuracy")


def _ours(group: Group, measure: str) -> tuple[str, tuple[float, float, int] | None]:
    stats = group.stats(measure)
    if stats is None:
        return "not measured", None
    mean, std, n = stats
    metric = _metric(group, measure)
    spread = f" ± {_fmt(std, metric)}" if n > 1 else ""
    unit = "%" if metric == "accuracy" else ""
    return f"{_fmt(mean, metric)}{spread}{unit} ({n} seed{'s' * (n != 1)})", stats


def _decimals(value: float) -> int:
    text = f"{value}"
    return len(text.split(".")[1]) if "." in text and not text.endswith(".0") else 0


def verdict(number: dict[str, Any], stats: tuple[float, float, int] | None, metric: str) -> str:
    """The verdict on one number of the paper, by the rules in this module's docstring."""
    if stats is None:
        return "not run"
    mean, std, n = stats
    ours, spread = _scale(metric) * mean, _scale(metric) * std
    if number.get("about"):
        tolerance = max(2 * spread, 10.0 ** -_decimals(number["value"]))
        return "reproduced" if abs(ours - number["value"]) <= tolerance else "not reproduced"
    if n < 2:
        return "too few seeds"
    if abs(ours - number["value"]) > 2 * max(spread, number["std"]):
        return "not reproduced"
    if spread > 2 * number["std"]:  # within a spread the paper's runs did not have
        return f"not reproduced: our std is {spread / number['std']:.1f} times the paper's"
    return "reproduced"


def _paper_text(number: dict[str, Any]) -> str:
    if number.get("claim"):
        return "plot only"
    std = f" ± {number['std']}" if "std" in number else ""
    return f"{'about ' if number.get('about') else ''}{number['value']}{std}{number['unit']}"


def number_rows(experiment: Experiment, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per number of the paper and way it was run (the paper's scale first)."""
    by_setting = groups(records)
    rows = []
    for number in experiment.numbers():
        base = {
            "id": number["id"],
            "source": number["source"],
            "label": number["label"],
            "paper": _paper_text(number),
        }
        if number.get("claim"):
            rows += _claim_rows(number, by_setting, base)
            continue
        found = by_setting.get(number["setting"], [])
        if not found:
            rows.append({**base, "ours": "-", "variant": "", "verdict": "not run"})
        for group in found:
            text, stats = _ours(group, number["measure"])
            rows.append(
                {
                    **base,
                    "ours": text,
                    "variant": group.variant(),
                    "verdict": verdict(number, stats, _metric(group, number["measure"])),
                    "transcribed": group.transcribed(),
                }
            )
    return rows


def _claim_rows(number, by_setting, base) -> list[dict[str, Any]]:
    """A plotted claim: ``better`` above ``worse`` (below, for an MSE), per way they were run."""
    rows = []
    worse = {g.variant(): g for g in by_setting.get(number["worse"], [])}
    for group in by_setting.get(number["better"], []):
        other = worse.get(group.variant())
        a, b = group.stats(number["measure"]), other and other.stats(number["measure"])
        if not a or not b:
            continue
        metric = _metric(group, number["measure"])
        ahead = a[0] < b[0] if metric == "mse" else a[0] > b[0]
        text = (
            f"{number['better']} {_ours(group, number['measure'])[0]} against "
            f"{number['worse']} {_ours(other, number['measure'])[0]}"
        )
        rows.append(
            {
                **base,
                "ours": text,
                "variant": group.variant(),
                "verdict": f"direction {'' if ahead else 'not '}reproduced",
                "transcribed": group.transcribed() or other.transcribed(),
            }
        )
    return rows or [{**base, "ours": "-", "variant": "", "verdict": "not run"}]


def setting_rows(experiment: Experiment, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per setting and way it was run: each seed's meta-test, mean ± std, pruning."""
    by_setting = groups(records)
    rows = []
    for setting in experiment.settings:
        for group in by_setting.get(setting.key, []):
            metric = _metric(group, "test")
            unit = "%" if metric == "accuracy" else ""
            seeds = [
                f"{r['seed']}: {_fmt(r['test']['mean'], metric)}{unit}"
                for r in group.records
                if r.get("seed") is not None
            ]
            pruned = [f"{100 * r['sparsity']:.1f}%" for r in group.records if r.get("sparsity")]
            seconds = [
                f"{r['train_seconds']:,.0f}"
                for r in group.records
                if r.get("train_seconds") is not None
            ]
            rows.append(
                {
                    "setting": setting.key,
                    "variant": group.variant(),
                    "seeds": ", ".join(seeds) or "-",
                    "mean": _ours(group, "test")[0],
                    "pruned": ", ".join(pruned) or "-",
                    "train_seconds": ", ".join(seconds) or "-",
                    "source": ", ".join(sorted({_source(r) for r in group.records})),
                }
            )
    return rows


def _source(rec: dict[str, Any]) -> str:
    """Where a record came from, short: the store keeps the whole provenance."""
    if rec["provenance"].startswith(TRANSCRIBED):
        return f"{rec['provenance'].split(';')[0]}; folder not kept"
    return f"run `{rec['run_id']}`" if rec.get("run_id") else rec["provenance"]


def cut_note(experiment: Experiment, records: list[dict[str, Any]]) -> str:
    """What keeps these records from being the paper's experiment, or "" when nothing does."""
    notes = []
    ran = {r["setting"] for r in records}
    missing = [s.key for s in experiment.settings if s.key not in ran]
    if missing:
        notes.append(f"not run: {', '.join(missing)}")
    variants = sorted({g.variant() for gs in groups(records).values() for g in gs if g.variant()})
    if variants:
        notes.append("runs departing from the paper's settings: " + "; ".join(variants))
    seeds = {r["seed"] for r in records if r.get("seed") is not None}
    if records and seeds != set(PAPER_SEEDS):
        notes.append(
            f"seeds {', '.join(map(str, sorted(seeds))) or 'none'} (the paper's: "
            f"{', '.join(map(str, PAPER_SEEDS))})"
        )
    return "; ".join(notes)


def _cells(row: dict[str, Any], keys: tuple[str, ...]) -> str:
    return "| " + " | ".join(str(row[k]).replace("|", "\\|") for k in keys) + " |"


def numbers_markdown(experiment: Experiment, records: list[dict[str, Any]]) -> str:
    lines = [
        "| paper's number | source | paper | ours: mean ± std over seeds | run as | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in number_rows(experiment, records):
        verdict_text = f"**{row['verdict']}**" + (
            " (transcribed)" if row.get("transcribed") else ""
        )
        variant = f"not the paper's: {row['variant']}" if row["variant"] else "paper's settings"
        lines.append(
            _cells(
                {**row, "variant": variant, "verdict": verdict_text},
                ("label", "source", "paper", "ours", "variant", "verdict"),
            )
        )
    return "\n".join(lines)


def settings_markdown(experiment: Experiment, records: list[dict[str, Any]]) -> str:
    lines = [
        "| setting | run as | each seed | mean ± std over seeds | pruned at the end | "
        "training s | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in setting_rows(experiment, records):
        row = {
            **row,
            "variant": f"not the paper's: {row['variant']}"
            if row["variant"]
            else "paper's settings",
        }
        lines.append(
            _cells(
                row, ("setting", "variant", "seeds", "mean", "pruned", "train_seconds", "source")
            )
        )
    return "\n".join(lines)


def report_markdown(experiment: Experiment, records: list[dict[str, Any]], plots: list[str]) -> str:
    """``NAME.md``: what was run, the paper's numbers against ours, every setting's runs."""
    cut = cut_note(experiment, records)
    scale = (
        f"**Cut down, not the paper's experiment**: {cut}."
        if cut
        else ("At the paper's settings and seeds.")
    )
    parts = [
        f"# {experiment.name}: {experiment.title}",
        f"Paper: {experiment.source}. {scale}",
        f"Verdicts: {RULE}.",
        "## The paper's numbers",
        numbers_markdown(experiment, records),
        "## Every setting",
        settings_markdown(experiment, records),
        *[f"![{experiment.name}]({p})" for p in plots],
    ]
    return "\n\n".join(parts) + "\n"


def report_json(experiment: Experiment, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "experiment": experiment.name,
        "source": experiment.source,
        "rule": RULE,
        "cut": cut_note(experiment, records) or None,
        "numbers": number_rows(experiment, records),
        "settings": setting_rows(experiment, records),
    }


BLOCK = re.compile(
    r"(<!-- mt:table (?P<name>[\w.+-]+)(?: (?P<view>numbers|settings))? -->\n)(?P<body>.*?)"
    r"(<!-- /mt:table -->)",
    re.DOTALL,
)


def fill_blocks(text: str, render) -> tuple[str, list[str]]:
    """``text`` with every ``<!-- mt:table NAME [numbers|settings] -->...<!-- /mt:table -->``
    block's body replaced by ``render(NAME, VIEW)``; the text around them stays as written."""
    names = []

    def replace(m: re.Match) -> str:
        names.append(m["name"])
        return f"{m.group(1)}{render(m['name'], m['view'] or 'numbers')}\n{m.group(5)}"

    return BLOCK.sub(replace, text), names
