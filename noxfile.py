"""Tasks for the template repository.

nox -s demo             render a project with the default answers and run its pipeline
nox -s tests            render every choice; run the generated checks on the default project
nox -s tests -- --full  run the generated checks on every variant (what CI runs)
nox -s lint             lint this repository's own Python code
nox -s bench            benchmarks: render vs cookiecutter-data-science, first green, /predict
nox -s docs             build the documentation site into build/site (fails on any warning)
nox -s docs-serve       serve the documentation site locally, rebuilt on every change
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# A generated project's commands run outside this session's environment: nox's uv backend
# points uv at the session's virtual environment, which would take the project's place.
OUTSIDE_SESSION = {
    "VIRTUAL_ENV": None,
    "UV_PYTHON": None,
    "UV_PROJECT_ENVIRONMENT": None,
    "DVC_NO_ANALYTICS": "1",
}


def interpreter_env() -> dict[str, str]:
    """Make every pyenv-installed Python visible to uv, so each python_version answer resolves.

    pyenv's shims answer only for the selected versions; selecting all of them (the current
    one first) lets uv find 3.11, 3.12 and 3.13 side by side. Without pyenv this is empty and
    uv finds (or downloads) interpreters as usual.
    """
    if shutil.which("pyenv") is None:
        return {}
    installed = subprocess.run(
        ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    current = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    versions = current + [v for v in installed if v not in current]
    return {"PYENV_VERSION": ":".join(versions)} if versions else {}


@nox.session
def tests(session: nox.Session) -> None:
    """Run the template's test suite (pass --full to check every variant end to end)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs, env=interpreter_env())


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and format-check this repository's Python code (the template is checked by tests)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """Render a project with the defaults into build/demo, set it up and run its pipeline."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    destination = Path(session.posargs[0] if session.posargs else ROOT / "build" / "demo")
    if destination.exists():
        shutil.rmtree(destination)
    session.run(
        "copier",
        "copy",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        "HEAD",
        str(ROOT),
        str(destination),
    )
    env = interpreter_env() | OUTSIDE_SESSION
    with session.chdir(destination):
        session.run("git", "init", "--quiet", "-b", "main", external=True)
        session.run("uv", "lock", "--quiet", external=True, env=env)
        session.run("uv", "sync", "--locked", "--quiet", external=True, env=env)
        session.run("uv", "run", "--locked", "nox", "-s", "pipeline", external=True, env=env)
    session.log(f"Project ready in {destination}; see its README.md for what to do next.")


@nox.session
def bench(session: nox.Session) -> None:
    """Print benchmark figures and write build/bench/results.json (not a test).

    Render time beside cookiecutter-data-science, time to first green, no-op repro, update
    and /predict; `-- --quick` repeats less, `-- --suite` also times `nox -s tests`,
    `-- --docs` rewrites docs/benchmarks.md, `-- --help` lists the rest.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "bench"))
    env = interpreter_env() | OUTSIDE_SESSION
    session.run("python", "-m", "bench", *session.posargs, env=env)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into build/site; any warning or broken link fails it."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "build" / "site"))


@nox.session(name="docs-serve")
def docs_serve(session: nox.Session) -> None:
    """Serve the documentation site at http://127.0.0.1:8000, rebuilt on every change."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mkdocs", "serve", *session.posargs)
