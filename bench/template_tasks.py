"""What template maintainers and users wait for: `copier update` between two releases, and
the template's own test suite.

The update works as the update tests do: a private copy of the template tagged v1.0.0, a
project generated from it and committed, then a release v1.1.0 that changes the README.
Each repetition updates a fresh copy of that project.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from time import perf_counter
from typing import Any

from copier import run_copy, run_update

from bench.common import BIN, ROOT, commit_all, log, run, summarize

RELEASE_NOTE = "Updated by release v1.1.0."


def released_project(template_repo: Path, scratch: Path) -> tuple[Path, Path]:
    """A template copy with releases v1.0.0 and v1.1.0, and a project generated at v1.0.0."""
    template = scratch / "update-template"
    shutil.copytree(template_repo, template)
    run(["git", "tag", "v1.0.0"], template)
    project = scratch / "update-project"
    run_copy(str(template), str(project), defaults=True, quiet=True)
    commit_all(project, "Generated project", init=True)
    readme = template / "template/README.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{RELEASE_NOTE}\n", encoding="utf-8")
    commit_all(template, "Release v1.1.0")
    run(["git", "tag", "v1.1.0"], template)
    return template, project


def update_once(base: Path, destination: Path, cli: bool) -> float:
    """Seconds to update a fresh copy of ``base`` to the newest release (CLI or in-process)."""
    shutil.copytree(base, destination)
    start = perf_counter()
    if cli:
        run([BIN / "copier", "update", "--defaults", "--trust", "--quiet"], destination)
    else:
        run_update(str(destination), defaults=True, overwrite=True, quiet=True, unsafe=True)
    seconds = perf_counter() - start
    if RELEASE_NOTE not in (destination / "README.md").read_text(encoding="utf-8"):
        raise RuntimeError(f"the update did not apply release v1.1.0 in {destination}")
    shutil.rmtree(destination)
    return seconds


def update_figures(template_repo: Path, scratch: Path, repetitions: int) -> dict[str, Any]:
    """`copier update` from v1.0.0 to v1.1.0: CLI and in-process, taking turns."""
    _, base = released_project(template_repo, scratch)
    cli: list[float] = []
    in_process: list[float] = []
    for repetition in range(repetitions):
        cli.append(update_once(base, scratch / f"update-cli-{repetition}", cli=True))
        in_process.append(update_once(base, scratch / f"update-api-{repetition}", cli=False))
        log(f"updates {repetition + 1}/{repetitions}")
    return {"cli": summarize(cli), "in_process": summarize(in_process)}


def template_suite(scratch: Path) -> dict[str, Any]:
    """Seconds of `nox -s tests` (default mode) in this repository and whether it passed; its
    virtual environment is created afresh in ``scratch`` so no other run's is touched."""
    log("the template's test suite (several minutes)")
    command = [sys.executable, "-m", "nox", "-s", "tests", "--envdir", str(scratch / "nox")]
    start = perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = perf_counter() - start
    if result.returncode != 0:
        log(f"`nox -s tests` failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return {"seconds": round(seconds, 1), "passed": result.returncode == 0}
