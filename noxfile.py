"""Each package and the example plugin tested alone with core, then everything together
(``.venv/bin/nox``; CI runs ``alone``)."""

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["alone", "all"]

TORCH = "torch==2.13.0"  # exact: a looser pin pulls a multi-GB CUDA build
CORE = "packages/metaticket-core[tensorboard]"  # its logger tests read event files back
# fewest third-party dependencies first: what one leaves installed, the next cannot lean on
ALONE = {
    "metaticket-models": "packages/metaticket-models",
    "metaticket-methods": "packages/metaticket-methods",
    "metaticket-metasgd": "plugins/metaticket-metasgd",
    "metaticket-datasets": "packages/metaticket-datasets",
}


@nox.session(python="3.11")
def alone(session: nox.Session) -> None:
    """Core's tests with core alone: it must not need any other package of ours. Then each
    package and the example plugin in turn installed next to core, tested and uninstalled, so
    that no sibling is there to import (one virtualenv: torch is installed once)."""
    session.install(TORCH, "pytest", "-e", CORE)
    session.run("pytest", "-q", "packages/metaticket-core", *session.posargs)
    for distribution, folder in ALONE.items():
        session.install("-e", folder)
        session.run("pytest", "-q", folder, *session.posargs)
        session.run("python", "-m", "pip", "uninstall", "--yes", "--quiet", distribution)


@nox.session(python="3.11")
def all(session: nox.Session) -> None:
    """Everything together, the plugin and the integration tests included (hatchling: the
    fresh-venv plugin test installs offline, without build isolation)."""
    editable = [arg for folder in [CORE, *ALONE.values()] for arg in ("-e", folder)]
    session.install(TORCH, "pytest", "hatchling", *editable)
    session.run("pytest", "-q", *session.posargs)
