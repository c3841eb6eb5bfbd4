"""Each package tested alone with core, then everything together (``.venv/bin/nox``)."""

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["core", "package", "all"]

TORCH = "torch==2.13.0"  # exact: a looser pin pulls a multi-GB CUDA build
PACKAGES = ["datasets", "models", "methods"]


def install(session: nox.Session, *names: str) -> None:
    session.install(TORCH, "pytest")
    session.install(*[arg for name in names for arg in ("-e", f"packages/metaticket-{name}")])


@nox.session(python="3.11")
def core(session: nox.Session) -> None:
    """Core alone: it must not need any other package of ours."""
    install(session, "core")
    session.run("pytest", "-q", "packages/metaticket-core", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("name", PACKAGES)
def package(session: nox.Session, name: str) -> None:
    """One package with core only: it must not need its siblings."""
    install(session, "core", name)
    session.run("pytest", "-q", f"packages/metaticket-{name}", *session.posargs)


@nox.session(python="3.11")
def all(session: nox.Session) -> None:
    """Everything together, integration tests included."""
    install(session, "core", *PACKAGES)
    session.run("pytest", "-q", *session.posargs)
