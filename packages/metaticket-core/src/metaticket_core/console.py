"""Rich consoles for results (stdout) and for errors, warnings and progress (stderr)."""

from rich.console import Console

console = Console()
err_console = Console(stderr=True)
