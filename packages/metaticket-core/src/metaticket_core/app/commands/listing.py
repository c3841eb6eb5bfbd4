"""``mt list``: what the installed plugins provide."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ...api.console import console
from ...api.errors import did_you_mean
from ...api.plugin_manager import plugin_manager
from ...api.presets import list_presets, preset
from ...api.registry import Entry, Registry, datasets, loggers, methods, models

KINDS = {"methods": methods, "models": models, "datasets": datasets, "loggers": loggers}
WHAT = (*KINDS, "presets", "plugins")


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)


def list_command(
    what: Annotated[
        str | None, typer.Argument(help=f"One of: {', '.join(WHAT)}. Default: all of them.")
    ] = None,
    pattern: Annotated[
        str, typer.Argument(help="fnmatch pattern on names, e.g. 'metaticket*'.")
    ] = "*",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show details.")] = False,
) -> None:
    """List the registered methods, models, datasets, loggers, the presets and the plugins."""
    if what is not None and what not in WHAT:
        raise typer.BadParameter(
            f"{what!r} is not one of {', '.join(WHAT)}.{did_you_mean(what, WHAT)}",
            param_hint="WHAT",
        )
    for kind in [what] if what else WHAT:
        if kind == "plugins":
            console.print(_plugins_table(pattern))
        elif kind == "presets":
            console.print(_presets_table(pattern, verbose))
        else:
            console.print(_registry_table(kind, KINDS[kind](), pattern, verbose))


def _registry_table(kind: str, registry: Registry, pattern: str, verbose: bool) -> Table:
    entries = registry.entries(pattern)
    table = Table(title=f"{kind} ({len(entries)})", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column("plugin", style="dim")
    if verbose:
        table.add_column("details")
    for entry in entries:
        row = [entry.name, entry.description, entry.plugin]
        if verbose:
            row.append(_details(entry, registry.kind))
        table.add_row(*row)
    return table


def _details(entry: Entry, kind: str) -> str:
    """The registration's details and the options with their defaults and help. Plain text,
    never rich markup: ``metaticket-core[tensorboard]`` must print as written."""
    lines = [
        f"{key}: {', '.join(map(str, value)) if isinstance(value, list | tuple) else value}"
        for key, value in entry.info.items()
    ]
    if "options" not in entry.info and kind != "logger":
        described = [option.describe(name) for name, option in entry.options.items()]
        lines.append(f"options: {'; '.join(described) or 'none'}")
    return escape("\n".join(lines))


def _presets_table(pattern: str, verbose: bool) -> Table:
    presets = list_presets(pattern)
    table = Table(title=f"presets ({len(presets)})", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("description")
    if verbose:
        table.add_column("settings")
    for name, description in presets:
        row = [name, description]
        if verbose:
            row.append(_details(preset(name).settings()))
        table.add_row(*row)
    return table


def _plugins_table(pattern: str) -> Table:
    import fnmatch

    infos = [p for p in plugin_manager().describe() if fnmatch.fnmatchcase(p.name, pattern)]
    table = Table(title=f"plugins ({len(infos)})", title_justify="left")
    for column in ("name", "distribution", "version", "hooks"):
        table.add_column(column, no_wrap=column != "hooks")
    for info in infos:
        hooks = f"[red]{info.error}[/]" if info.error else ", ".join(info.hooks)
        table.add_row(f"[bold cyan]{info.name}[/]", info.distribution, info.version, hooks)
    return table
