"""Time to first green: from `copier copy` to a passing pipeline and its report, step by step.

The steps are the ones the generated README gives, run as a user types them. With a cold uv
cache every package is downloaded from PyPI; with a warm one uv links them from its cache.
"""

from __future__ import annotations

from pathlib import Path
from time import perf_counter
from typing import Any

from bench.common import BIN, ROOT, commit_all, log, run, summarize, timed

# Step names, as the results and the targets (bench/results.py) know them.
TESTS_STEP = "uv run nox -s tests"
PIPELINE_STEP = "uv run nox -s pipeline"
SETUP_STEPS = (
    ("uv lock", ["uv", "lock"]),
    ("uv sync --locked", ["uv", "sync", "--locked"]),
    ("uv run nox -s lint", ["uv", "run", "nox", "-s", "lint"]),
    (TESTS_STEP, ["uv", "run", "nox", "-s", "tests"]),
)
REPRO = ["uv", "run", "dvc", "repro"]


def first_green(template: Path, project: Path, env: dict[str, str]) -> dict[str, Any]:
    """Render ``template`` into ``project`` and take it to a green pipeline and a report;
    return the seconds of each step and their sum."""
    steps: dict[str, float] = {}
    render: list[str | Path] = [BIN / "copier", "copy", "--defaults", "--vcs-ref", "HEAD"]
    render += [template, project]
    steps["copier copy"] = timed(render, ROOT, env)
    for name, command in SETUP_STEPS:
        log(f"first green: {name}")
        steps[name] = timed(command, project, env)
    steps["git init + commit"] = timed_commit(project)
    first_commit = run(["git", "rev-parse", "HEAD"], project).strip()
    log("first green: pipeline and report")
    steps[PIPELINE_STEP] = timed(["uv", "run", "nox", "-s", "pipeline"], project, env)
    report = ["uv", "run", "nox", "-s", "report", "--", first_commit]
    steps["uv run nox -s report"] = timed(report, project, env)
    if not (project / "reports/pr/report.md").is_file():
        raise RuntimeError(f"the report session wrote no reports/pr/report.md in {project}")
    rounded = {name: round(seconds, 3) for name, seconds in steps.items()}
    return {"steps": rounded, "total": round(sum(steps.values()), 3)}


def timed_commit(project: Path) -> float:
    """Seconds to create the git repository and commit the set-up project."""
    start = perf_counter()
    commit_all(project, "Generated project", init=True)
    return perf_counter() - start


def noop_repro(project: Path, repetitions: int, env: dict[str, str]) -> dict[str, Any]:
    """Seconds of `uv run dvc repro` when nothing changed (each run must do nothing)."""
    samples = []
    for _ in range(repetitions):
        start = perf_counter()
        output = run(REPRO, project, env)
        samples.append(perf_counter() - start)
        if "up to date" not in output:
            raise RuntimeError(f"`dvc repro` was not a no-op in {project}:\n{output[-2000:]}")
    return summarize(samples)
