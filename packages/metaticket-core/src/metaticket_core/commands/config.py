"""``mt config``: validate a configuration and show it resolved, as a run would use it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from ..config import load_config
from ..console import console


def register(app: typer.Typer) -> None:
    app.command("config")(config_command)


def config_command(
    file: Annotated[
        Path | None, typer.Argument(help="A YAML or JSON config file.", show_default=False)
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting: key=value (repeatable)."),
    ] = None,
) -> None:
    """Validate a run configuration (names included) and print it with every default filled in."""
    config = load_config(file, sets=set_)
    config.check_names()
    data = config.model_dump(mode="json")
    console.print(yaml.safe_dump(data, sort_keys=False).rstrip(), highlight=False, markup=False)
