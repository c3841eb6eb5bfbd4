"""The ``mt`` command: a Typer app with core's commands and those plugins add.

Every error prints one red line on stderr (errors.one_line) and exits 1; usage errors exit 2
(Click); ``MT_DEBUG=1`` lets the traceback through.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from typing import Annotated

import typer
from rich.markup import escape

from ..api.console import err_console, warn
from ..api.errors import one_line
from ..engine.allocator import keep_freed_memory


def versions() -> dict[str, str]:
    """Installed metaticket distributions (packages and plugins) and torch, by name."""
    found = {
        dist.metadata["Name"]: dist.version
        for dist in metadata.distributions()
        if (dist.metadata["Name"] or "").lower().startswith("metaticket")
    }
    found = dict(sorted(found.items()))
    try:
        found["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:
        found["torch"] = "not installed"
    return found


def _version_callback(value: bool) -> None:
    if value:
        for name, version in versions().items():
            typer.echo(f"{name} {version}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """A fresh app with every plugin's commands (plugins load here)."""
    from ..api.plugin_manager import plugin_manager

    app = typer.Typer(
        name="mt",
        help="Meta-learning sparse subnetworks (Meta-ticket) and its baselines (MAML, ANIL, BOIL).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                callback=_version_callback,
                is_eager=True,
                help="Show the versions of the metaticket packages and torch, then exit.",
            ),
        ] = False,
    ) -> None:
        """Meta-learning sparse subnetworks (Meta-ticket) and its baselines."""

    pm = plugin_manager()
    for info in pm.failures.values():
        warn(f"plugin {info.name!r} {info.error}")
    add_core_commands(app)
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(app)
        except Exception as exc:  # one broken plugin must not take the CLI down
            if os.environ.get("MT_DEBUG") == "1":
                raise
            warn(
                f"plugin {impl.plugin_name!r} failed to add its commands: {type(exc).__name__}: {exc}"
            )
    return app


def add_core_commands(app: typer.Typer) -> None:
    """Core's commands, in the order ``mt --help`` lists them, before any plugin's."""
    from .commands import (
        config,
        evaluate,
        listing,
        plot,
        predict,
        reproduce,
        runs,
        sweep,
        tickets,
        train,
    )

    for command in (
        listing,
        config,
        train,
        evaluate,
        tickets,
        runs,
        plot,
        predict,
        sweep,
        reproduce,
    ):
        command.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point of ``mt``."""
    keep_freed_memory()
    try:
        build_app()(args=argv, prog_name="mt")
    except Exception as exc:  # the one place where errors become a line on the terminal
        if os.environ.get("MT_DEBUG") == "1":
            raise
        err_console.print(f"[bold red]Error:[/] {escape(one_line(exc))}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[bold red]Interrupted.[/]")
        sys.exit(130)
