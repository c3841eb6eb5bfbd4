"""Rich consoles for results (stdout) and for errors, warnings and progress (stderr)."""

from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def warn(message: str) -> None:
    """One yellow ``Warning:`` line on stderr."""
    err_console.print(f"[yellow]Warning:[/] {escape(message)}", soft_wrap=True)
