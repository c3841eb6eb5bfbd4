"""``mt config``: validate a configuration and show it resolved, as a run would use it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ...api.config import load_config
from ...api.console import console
from ...api.registry import NO_DEFAULT, datasets, methods, models


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
    """Validate a run configuration (names included) and print it with every default filled in,
    the options of its method, model and dataset too (``null``: the method's own default)."""
    config = load_config(file, sets=set_)
    config.check_names()
    data = config.model_dump(mode="json")
    for kind, registry in (("method", methods()), ("model", models()), ("dataset", datasets())):
        options = registry.get(data[kind]).options
        defaults = {n: _plain(o.default) for n, o in options.items() if o.default is not NO_DEFAULT}
        data[f"{kind}_options"] = {**defaults, **data[f"{kind}_options"]}
    console.print(yaml.safe_dump(data, sort_keys=False).rstrip(), highlight=False, markup=False)


def _plain(value: Any) -> Any:
    """A default as YAML can show it (a path as its text)."""
    return value if isinstance(value, bool | int | float | str | list | dict | None) else str(value)
