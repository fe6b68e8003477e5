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

nox.needs_version = ">=2025.2.9"
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
    # One worker per core; tests sharing a costly fixture stay on one (see tests/conftest.py).
    # `-- -n 0` runs them in this process, e.g. to debug one.
    session.run(
        "pytest",
        "-n",
        "auto",
        "--dist",
        "loadgroup",
        "--durations=15",
        *session.posargs,
        env=interpreter_env(),
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Lint, format-check and type-check (mypy, strict) this repository's Python code; the
    template's is checked in the projects the tests generate."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


# The demo commits what it made as this author, and records the commit in the demo's git config:
# a later run replaces the directory only while that commit is all it holds.
DEMO_AUTHOR = ("-c", "user.name=nox -s demo", "-c", "user.email=demo@localhost")
DEMO_KEY = "demo.commit"
# Ignored files the demo records and compares (a user's data file is ignored by git too);
# these folders are remade by tools at every run, so new files in them are not the user's.
REMADE = (".venv/", ".nox/", ".dvc/cache/", ".dvc/tmp/", "__pycache__/", "_cache/")


def git_output(directory: Path, *command: str) -> str:
    """What a git command prints in ``directory`` ("" when it fails)."""
    result = subprocess.run(
        ["git", "-C", str(directory), *command], capture_output=True, text=True, check=False
    )
    return result.stdout.rstrip() if result.returncode == 0 else ""


def demo_leftovers(destination: Path) -> list[str]:
    """Why ``destination`` may not be replaced: the commits and files in it that the demo did
    not make (empty when it is missing, empty, or exactly as a previous demo left it). Files
    git ignores count too, except in folders that tools remake (.venv, caches)."""
    if not destination.exists() or not any(destination.iterdir()):
        return []
    toplevel = git_output(destination, "rev-parse", "--show-toplevel")
    if not toplevel or Path(toplevel).resolve() != destination.resolve():
        return [f"{destination} is not empty and is not a git repository made by the demo"]
    recorded = git_output(destination, "config", "--local", DEMO_KEY)
    commits = git_output(destination, "rev-list", "--all", "--reflog").split()
    found = [
        f"commit {commit[:12]}: {git_output(destination, 'log', '-1', '--format=%s', commit)}"
        for commit in commits
        if commit != recorded
    ]
    if not recorded:
        found.append("no commit made by the demo")
    status = git_output(destination, "status", "--porcelain", "--untracked-files=all")
    found += [f"uncommitted: {line}" for line in status.splitlines()]
    record = destination / ".git" / "demo-ignored"
    made = set(record.read_text(encoding="utf-8").splitlines()) if record.is_file() else set()
    new = [name for name in ignored(destination) if name not in made]
    found += [f"ignored by git, not made by the demo: {name}" for name in new]
    return found


def ignored(directory: Path) -> list[str]:
    """Files git ignores in ``directory``, outside folders that tools remake."""
    listed = git_output(directory, "ls-files", "--others", "--ignored", "--exclude-standard")
    return [name for name in listed.splitlines() if not any(part in name for part in REMADE)]


@nox.session
def demo(session: nox.Session) -> None:
    """Render a project with the defaults into build/demo (or `-- DEST`), set it up as its
    README says, run its pipeline and commit the result.

    A destination that holds anything the demo did not make (commits, uncommitted or untracked
    files, or a directory that is not a previous demo) is left alone and the session fails.
    """
    destination = Path(session.posargs[0] if session.posargs else ROOT / "build" / "demo")
    leftovers = demo_leftovers(destination)
    if leftovers:
        shown = "\n  ".join(leftovers[:20])
        session.error(
            f"{destination} holds work the demo did not make, so it is kept:\n  {shown}\n"
            "Move it away (or delete it), or pass another destination: nox -s demo -- DEST"
        )
    session.install(*nox.project.dependency_groups(PYPROJECT, "render"))
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
        try:
            session.run("uv", "lock", "--quiet", external=True, env=env)
            session.run("uv", "sync", "--locked", "--quiet", external=True, env=env)
            session.run("uv", "run", "--locked", "pre-commit", "install", external=True, env=env)
            session.run("uv", "run", "--locked", "nox", "-s", "pipeline", external=True, env=env)
        finally:
            # Committed even when a step failed, so that the next run may replace it.
            session.run("git", "add", "--all", external=True)
            commit = ("git", *DEMO_AUTHOR, "-c", "commit.gpgsign=false", "commit", "--quiet")
            session.run(*commit, "--no-verify", "-m", "Demo project", external=True)
            head = git_output(destination, "rev-parse", "HEAD")
            session.run("git", "config", "--local", DEMO_KEY, head, external=True)
            made = "".join(f"{name}\n" for name in ignored(destination))
            (destination / ".git" / "demo-ignored").write_text(made, encoding="utf-8")
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
    # The report example renders and runs a default project, on its Python version.
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(ROOT / "build" / "site"),
        env=interpreter_env(),
    )


@nox.session(name="docs-serve")
def docs_serve(session: nox.Session) -> None:
    """Serve the documentation site at http://127.0.0.1:8000, rebuilt on every change."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mkdocs", "serve", *session.posargs, env=interpreter_env())
