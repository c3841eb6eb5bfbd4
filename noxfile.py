"""Each package and the example plugin tested alone with core, then everything together
(``.venv/bin/nox``)."""

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["core", "package", "plugin", "all"]

TORCH = "torch==2.13.0"  # exact: a looser pin pulls a multi-GB CUDA build
PACKAGES = ["datasets", "models", "methods"]
PLUGINS = ["metasgd"]


def install(session: nox.Session, *names: str, plugins: tuple[str, ...] = ()) -> None:
    session.install(TORCH, "pytest")
    folders = [f"packages/metaticket-{name}" for name in names]
    folders += [f"plugins/metaticket-{name}" for name in plugins]
    session.install(*[arg for folder in folders for arg in ("-e", folder)])


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
@nox.parametrize("name", PLUGINS)
def plugin(session: nox.Session, name: str) -> None:
    """The example plugin with core only: core's public API is all a plugin needs."""
    install(session, "core", plugins=(name,))
    session.run("pytest", "-q", f"plugins/metaticket-{name}", *session.posargs)


@nox.session(python="3.11")
def all(session: nox.Session) -> None:
    """Everything together, the plugin and the integration tests included (hatchling: the
    fresh-venv plugin test installs offline, without build isolation)."""
    install(session, "core", *PACKAGES, plugins=tuple(PLUGINS))
    session.install("hatchling")
    session.run("pytest", "-q", *session.posargs)
