"""``python -m metaticket_core`` runs the ``mt`` CLI (used by torchrun, which needs a module)."""

from .app.cli import main

main()
