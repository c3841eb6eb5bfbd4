"""``mt reproduce``: each experiment of the paper in one command (``mt reproduce NAME``), the
catalogue with data and time (``list``), existing sweeps into the results store (``collect``)
and docs/RESULTS.md's tables from the store (``docs``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from typer.core import TyperGroup

from ...api.console import console, err_console
from ...api.errors import ConfigError, MetaticketError
from ...api.files import check_output, write_text
from ..reproduce import store, tables
from ..reproduce.catalogue import EXPERIMENTS, PAPER_SEEDS, Experiment, experiment, step_rates
from ..sweeps import settings as flat_settings
from .options import DEFAULT_RUNS_DIR, RUNS_DIR

DEFAULT_STORE = Path("docs/results")
STORE = Annotated[
    Path | None,
    typer.Option(
        help="The committed results store: one JSON file per experiment.",
        show_default=str(DEFAULT_STORE),
    ),
]
DATA_ROOTS = Annotated[
    list[str] | None,
    typer.Option("--data-root", help="NAME=DIR (repeatable): where dataset NAME lies."),
]
SPLIT_FILES = Annotated[
    list[str] | None,
    typer.Option("--split-file", help="NAME=PATH (repeatable): dataset NAME's class split file."),
]


class _Group(TyperGroup):
    """``mt reproduce NAME`` runs experiment NAME: a first word that is no subcommand is
    taken as ``run``'s argument."""

    def resolve_command(self, ctx, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_Group,
    help="The paper's experiments, each in one command: mt reproduce list, mt reproduce NAME.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="reproduce")


def _pairs(items: list[str] | None, option: str) -> dict[str, Path]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigError(
                f"{option} expects NAME=PATH, got {item!r} (e.g. omniglot=data/omniglot)."
            )
        out[name] = Path(value).expanduser()
    return out


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _rate(flat: dict, kind: str) -> dict | None:
    for entry in step_rates()[kind]:
        if all(flat.get(k) == v for k, v in entry["match"].items()):
            return entry
    return None


def estimate(exp: Experiment, kind: str, seeds: int = len(PAPER_SEEDS)) -> tuple[str, list[str]]:
    """Training time of the whole grid from measured rates, and the sources used; "not
    measured" where a setting has no rate."""
    total, trained, missing, sources = 0.0, 0, [], set()
    for setting in exp.settings:
        flat = flat_settings(store.setting_config(setting))
        if flat["iterations"] == 0:  # tested untrained
            continue
        trained += 1
        entry = _rate(flat, kind)
        if entry is None:
            missing.append(setting.key)
            continue
        total += seeds * flat["iterations"] / entry["per_s"]
        sources.add(entry["source"])
    if len(missing) == trained:
        return "not measured", []
    text = _duration(total)
    if missing:
        text += f" + {len(missing)} settings not measured ({', '.join(missing)})"
    return text, sorted(sources)


def _data_status(exp: Experiment, roots: dict[str, Path]) -> str:
    if not exp.datasets:
        return "generated, none needed"
    parts = []
    for name in exp.datasets:
        root = roots.get(name)
        state = "not given" if root is None else "present" if root.exists() else f"missing: {root}"
        parts.append(f"{name} ({state})")
    return ", ".join(parts)


@app.command("list")
def list_command(
    name: Annotated[str | None, typer.Argument(help="One experiment: its settings.")] = None,
    data_root: DATA_ROOTS = None,
) -> None:
    """Every experiment of the paper: its runs, the data it needs and whether it is there, and
    the training time here and on a GPU from measured step rates."""
    roots = _pairs(data_root, "--data-root")
    if name:
        return _list_settings(experiment(name))
    table = Table(title="the paper's experiments (mt reproduce NAME)", title_justify="left")
    for column in (
        "name",
        "paper",
        "runs",
        "data (--data-root NAME=DIR)",
        "time here (CPU)",
        "time on a GPU",
    ):
        table.add_column(column, overflow="fold")
    for exp in EXPERIMENTS.values():
        runs = f"{len(exp.settings)} settings x {len(PAPER_SEEDS)} seeds = {len(exp.settings) * len(PAPER_SEEDS)}"
        here, _ = estimate(exp, "cpu")
        gpu, _ = estimate(exp, "gpu")
        table.add_row(exp.name, exp.source, runs, _data_status(exp, roots), here, gpu)
    console.print(table)
    console.print(
        "Times: training only, 1 process, from the rates in "
        "metaticket_core/app/reproduce/rates.json (mt reproduce list NAME: per setting)."
    )


def _list_settings(exp: Experiment) -> None:
    table = Table(title=f"{exp.name}: {exp.title} ({exp.source})", title_justify="left")
    for column in (
        "setting",
        "preset",
        "changes",
        "cross-tests",
        "iterations",
        "per run here",
        "rate from",
    ):
        table.add_column(column, overflow="fold")
    for setting in exp.settings:
        flat = flat_settings(store.setting_config(setting))
        entry = _rate(flat, "cpu")
        time = (
            "-"
            if flat["iterations"] == 0
            else "not measured"
            if entry is None
            else _duration(flat["iterations"] / entry["per_s"])
        )
        table.add_row(
            setting.key,
            setting.preset,
            ", ".join(f"{k}={v}" for k, v in setting.sets.items()) or "-",
            ", ".join(setting.cross) or "-",
            f"{flat['iterations']:,}",
            time,
            entry["source"] if entry else "-",
        )
    console.print(table)


@app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="The experiment (mt reproduce list).")],
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = ",".join(
        map(str, PAPER_SEEDS)
    ),
    iterations: Annotated[
        int | None,
        typer.Option(min=0, help="Train this long instead of the paper's (the table says so)."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Only the settings matching this glob (repeatable), e.g. 'w1-*'."),
    ] = None,
    scale: Annotated[
        str, typer.Option(help="paper, or smoke: every setting for 2 iterations on tiny inputs.")
    ] = "paper",
    data_root: DATA_ROOTS = None,
    split_file: SPLIT_FILES = None,
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    store_dir: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Results store to update (smoke: none unless given).",
            show_default=str(DEFAULT_STORE),
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for NAME.md, NAME.json and the plots.")] = Path(
        "reproduce"
    ),
    json_out: Annotated[bool, typer.Option("--json", help="Also write NAME.json.")] = False,
    jobs: Annotated[int, typer.Option(min=1, help="Runs at once, each in its own process.")] = 1,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Intra-op threads of each run.")
    ] = None,
) -> None:
    """Run experiment NAME of the paper (resumable), cross-test where the paper does, and write
    NAME.md: the paper's numbers against ours, with verdicts, and the plots."""
    from ...engine.progress import Progress
    from ...engine.threads import set_threads
    from ..reproduce.runner import Plan, check_data, collect, train

    exp = experiment(name)
    if scale not in ("paper", "smoke"):
        raise ConfigError(f"--scale must be paper or smoke, got {scale!r}.")
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds expects integers like 1,2,3, got {seeds!r}.") from None
    plan = Plan(
        exp,
        exp.select(only),
        seed_list,
        iterations,
        scale == "smoke",
        _pairs(data_root, "--data-root"),
        _pairs(split_file, "--split-file"),
    )
    check_data(plan)
    if jobs == 1:
        set_threads(threads)
    with Progress() as progress:
        runs = train(plan, runs_dir, jobs, threads, progress)
        records = collect(plan, runs, runs_dir, progress)
    if store_dir is None and not plan.smoke:
        store_dir = DEFAULT_STORE
    if store_dir is not None:
        records, replaced = store.merge(store.load(store_dir, exp.name), records)
        path = store.save(store_dir, exp.name, records)
        console.print(
            f"wrote {path}" + (f" (replacing {', '.join(replaced)})" if replaced else ""),
            highlight=False,
        )
    for path in write_report(exp, records, out, json_out, runs):
        console.print(f"wrote {path}", highlight=False)


def write_report(
    exp: Experiment, records: list[dict], out: Path, json_out: bool, runs: list | None = None
) -> list[Path]:
    """NAME.md (and NAME.json) in ``out``, with a bar chart of every setting over seeds and,
    where the runs are at hand and the paper plots gradients, their curves."""
    from ..plots import plot_comparison, plot_report
    from ..sweeps import Row

    written = []
    bars = [
        Row(
            f"{g.setting} {g.variant()}".strip(), g.records[0]["metric"], tuple(g.values("test")), 0
        )
        for gs in tables.groups(records).values()
        for g in gs
        if g.values("test")
    ]
    plots = []
    if bars:
        written.append(plot_report(bars, out / f"{exp.name}.png", force=True))
        plots.append(f"{exp.name}.png")
    if runs and any(n.get("measure") == "grad" for n in exp.numbers()):
        first = min(r.config().seed for r in runs)
        chosen = [r for r in runs if r.config().seed == first and r.test_result()]
        for path in plot_comparison(chosen, out / f"{exp.name}-curves"):
            written.append(path)
            plots.append(str(path.relative_to(out)))
    md = out / f"{exp.name}.md"
    write_text(md, tables.report_markdown(exp, records, plots))
    written.append(md)
    if json_out:
        path = out / f"{exp.name}.json"
        write_text(path, json.dumps(tables.report_json(exp, records), indent=2) + "\n")
        written.append(path)
    return written


@app.command("collect")
def collect_command(
    name: Annotated[str, typer.Argument(help="The experiment the runs belong to.")],
    sweep: Annotated[list[str], typer.Option(help="Sweep id or run id (repeatable).")],
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    store_dir: Annotated[
        Path, typer.Option("--store", help="Results store to update.")
    ] = DEFAULT_STORE,
) -> None:
    """Add the finished runs of existing sweeps (mt sweep) to the results store of experiment
    NAME: each run goes to the setting its config departs from least, its departures kept."""
    from ..sweeps import sweep_runs

    exp = experiment(name)
    new = []
    for sweep_id in sweep:
        runs, pending = sweep_runs([sweep_id], runs_dir)
        unfinished = [r.id for r in runs if r.test_result() is None] + pending
        if unfinished:
            err_console.print(
                f"{sweep_id}: {len(unfinished)} runs not finished, left out: "
                f"{', '.join(unfinished)}",
                soft_wrap=True,
            )
        for run in runs:
            if run.test_result() is not None:
                provenance = (
                    f"mt reproduce collect {name} --sweep {sweep_id}, run folder {run.path}"
                )
                new.append(store.record(run, exp, provenance))
    if not new:
        raise MetaticketError(f"No finished runs in {', '.join(sweep)} under {runs_dir}.")
    records, replaced = store.merge(store.load(store_dir, exp.name), new)
    path = store.save(store_dir, exp.name, records)
    for rec in new:
        variant = tables.Group(rec["setting"], rec["deviations"], (rec,)).variant()
        console.print(
            f"{rec['run_id']}: {rec['setting']}" + (f" ({variant})" if variant else ""),
            highlight=False,
            soft_wrap=True,
        )
    note = f", replacing {', '.join(replaced)}" if replaced else ""
    console.print(f"wrote {path}: {len(new)} runs added{note}", highlight=False, soft_wrap=True)


@app.command("docs")
def docs_command(
    page: Annotated[Path, typer.Option(help="The page whose mt:table blocks to write.")] = Path(
        "docs/RESULTS.md"
    ),
    store_dir: Annotated[Path, typer.Option("--store", help="The results store.")] = DEFAULT_STORE,
    check: Annotated[
        bool, typer.Option(help="Write nothing; exit 1 if the page's tables are out of date.")
    ] = False,
) -> None:
    """Write the tables of PAGE's mt:table blocks from the results store: a block runs from
    <!-- mt:table NAME --> (or NAME settings) to <!-- /mt:table -->; the text around them stays
    as written."""
    if not page.is_file():
        raise MetaticketError(f"{page} is not a file.")
    text = page.read_text(encoding="utf-8")

    def render(name: str, view: str) -> str:
        exp = experiment(name)
        records = store.load(store_dir, name)
        return (tables.numbers_markdown if view == "numbers" else tables.settings_markdown)(
            exp, records
        )

    new, names = tables.fill_blocks(text, render)
    if not names:
        raise MetaticketError(f"{page} has no <!-- mt:table NAME --> blocks.")
    if check:
        if new != text:
            raise MetaticketError(f"{page}'s tables are out of date: run mt reproduce docs.")
        console.print(f"{page}: {len(names)} tables up to date", highlight=False)
        return
    check_output(page, force=True)
    write_text(page, new)
    console.print(f"wrote {page}: {len(names)} tables ({', '.join(names)})", highlight=False)
