"""mt reproduce's tables: the verdict rules, cut runs kept apart from the paper's, the store's
merge, and the page's generated blocks (tests/test_reproduce.py runs the experiments)."""

from __future__ import annotations

import pytest

from metaticket_core.app.reproduce import store, tables
from metaticket_core.app.reproduce.catalogue import experiment

NUMBER = {"value": 0.346, "std": 0.113}


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ((0.5, 0.05, 3), "reproduced"),  # 0.154 from the paper, within 2 x the paper's 0.113
        ((0.6, 0.05, 3), "not reproduced"),  # 0.254: outside 2 x 0.113
        ((0.822, 0.409, 3), "not reproduced: our std is 3.6 times the paper's"),
        ((0.346, 0.0, 1), "too few seeds"),
        (None, "not run"),
    ],
)
def test_verdict_on_a_mean_and_std(stats, expected):
    assert tables.verdict(NUMBER, stats, "mse") == expected


def test_verdict_on_about_x_in_percent():
    about = {"value": 33, "about": True}
    assert tables.verdict(about, (0.3249, 0.0019, 3), "accuracy") == "reproduced"
    assert tables.verdict(about, (0.3150, 0.0019, 3), "accuracy") == "not reproduced"


def rec(setting, seed, mean, deviations=None, provenance="run", run_id=None):
    return {
        "run_id": run_id or f"{setting}-{seed}",
        "setting": setting,
        "seed": seed,
        "deviations": deviations or {},
        "metric": "accuracy",
        "test": {"mean": mean, "ci95": 0.01, "episodes": 100},
        "provenance": provenance,
    }


def test_claims_and_cut_runs_in_rows_of_their_own():
    exp = experiment("figure3-5way")
    cut = {"iterations": {"paper": 30000, "ours": 100}}
    records = [rec("w1-metaticket", s, 0.90 + s / 100) for s in (1, 2)]
    records += [rec("w1-metaticket+iterand", s, 0.95) for s in (1, 2)]
    records += [rec("w1-metaticket+iterand", s, 0.80, cut) for s in (1, 2)]
    records += [rec("w1-metaticket", s, 0.70, cut) for s in (1, 2)]
    rows = [r for r in tables.number_rows(exp, records) if r["id"] == "5way-iterand"]
    assert [(r["variant"], r["verdict"]) for r in rows] == [
        ("", "direction reproduced"),
        ("iterations 100 (paper 30000)", "direction reproduced"),
    ]
    records[-2:] = [rec("w1-metaticket", s, 0.85, cut) for s in (1, 2)]
    rows = [r for r in tables.number_rows(exp, records) if r["id"] == "5way-iterand"]
    assert rows[1]["verdict"] == "direction not reproduced"
    assert [r["verdict"] for r in tables.number_rows(exp, records) if r["id"] == "5way-small"] == [
        "not run"
    ]
    note = tables.cut_note(exp, records)
    assert "iterations 100 (paper 30000)" in note and "not run: w1-maml" in note
    assert "Cut down, not the paper's experiment" in tables.report_markdown(exp, records, [])


def test_a_run_folder_replaces_a_transcription_of_the_same_run():
    old = [
        rec("maml", 0, 0.5, provenance="transcribed from x", run_id="old-0"),
        rec("maml", 1, 0.6),
    ]
    new = [rec("maml", 0, 0.4, run_id="new-0"), rec("maml", 0, 0.3, {"outer_guard": {}})]
    records, replaced = store.merge(old, new)
    assert replaced == ["old-0"]
    assert sorted((r["run_id"], r["test"]["mean"]) for r in records) == [
        ("maml-0", 0.3),
        ("maml-1", 0.6),
        ("new-0", 0.4),
    ]


def test_blocks_are_filled_and_the_text_around_them_kept():
    text = "a\n<!-- mt:table x -->\nold\n<!-- /mt:table -->\nb\n<!-- mt:table y settings -->\n<!-- /mt:table -->\n"
    new, names = tables.fill_blocks(text, lambda name, view: f"{name}:{view}")
    assert names == ["x", "y"]
    assert (
        new
        == "a\n<!-- mt:table x -->\nx:numbers\n<!-- /mt:table -->\nb\n<!-- mt:table y settings -->\ny:settings\n<!-- /mt:table -->\n"
    )
