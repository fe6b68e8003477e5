"""docs/benchmarks.md, written from the results of a run (`nox -s bench -- --docs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.results import as_markdown, load_text, sections

INTRODUCTION = """\
# Benchmarks

How long the template takes from `copier copy` to a green pipeline, measured beside
[cookiecutter-data-science](https://cookiecutter-data-science.drivendata.org/) (`ccds`), and
how fast the generated model service answers. `nox -s bench -- --docs` writes this page from
the results of the run (`build/bench/results.json`): every figure below was measured in that
run, on the machine described at the end.
"""

NOISE = """\
!!! warning "Noisy figures"
    The machine has {cores} cores, and other work shared them during the run: the load
    average (1, 5 and 15 minutes) was {start} when it started and {end} when it ended. Each
    render series takes turns with the other tool's so that both see the same load, and the
    tables give medians with their minimum and maximum; still, read differences of a few
    tenths of a second, or under about 20 %, as noise.
"""

NO_CCDS = """\
!!! note "cookiecutter-data-science not measured"
    Its template is not published on PyPI: the `ccds` command clones it from GitHub, which
    this machine could not reach (`{reason}`). On a machine that can, the same command
    measures it; offline, pass a local checkout with `-- --ccds-template PATH`.
"""

MEASURED = """\
## What is measured

- **Render**: our default project (`copier copy --defaults --vcs-ref HEAD`, from a committed
  temporary git copy of this repository, absolute paths) and cookiecutter-data-science's
  default (`ccds --no-input`, from a local copy of its template, so that neither side
  clones over the network). *CLI* is the whole command, interpreter start-up included;
  *in-process* is the library call alone (`copier.run_copy`, and cookiecutter's API with
  ccds's patches), after one untimed render. The ratio divides the medians.
- **Time to first green**: each step the generated README gives, in order, as a user types
  it: render, `uv lock`, `uv sync --locked`, `uv run nox -s lint`, `uv run nox -s tests`,
  `git init` and the first commit, `uv run nox -s pipeline`, and the report against that
  first commit (`uv run nox -s report -- <commit>`). *Cold* starts from an empty uv cache,
  so every package is downloaded from PyPI; *warm* runs next, on a new project, with that
  cache filled.
- **No-op repro**: `uv run dvc repro` in the first-green project, where nothing changed.
- **Update**: `copier update` of a project generated from a template copy tagged v1.0.0 to
  the next release, v1.1.0, which changes the README (as the update tests do), on a fresh
  copy of the project each time.
- **The service**: one uvicorn process of the first-green project on 127.0.0.1, sent
  `GET /health` and single-row `/predict` requests (the project's example row) from one
  thread and from eight, on keep-alive connections after a warm-up, then `/predict` with
  1000 rows (`bench/predict_latency.py`). The ratio divides `/predict`'s requests per
  second by `/health`'s on the same server.
- **Serving environment**: what the image installs, measured as a virtual environment on
  disk: the `serve` group alone, which runs the ONNX model, against the same with the
  project's dependencies, which a pipeline without the export stage needs to serve the
  skops model.

Git reads a temporary configuration, DVC and cookiecutter keep their caches and settings
in a temporary directory, and everything the run creates is deleted when it ends.
"""

REPRODUCE = """\
## Reproduce

From the template repository, with uv and nox installed (`pip install uv nox`):

```bash
nox -s bench -- --quick      # {quick} repetitions per series: a few minutes
nox -s bench                 # {full} repetitions per series
nox -s bench -- --suite      # also time the template's own test suite (several minutes)
nox -s bench -- --docs       # also rewrite this page from the run's results
```

The session prints the tables above and writes them, with every sample, to
`build/bench/results.json`. The targets are figures to aim for on a 2-core machine: a miss
is printed, and the session still succeeds. `-- --project PATH` measures only the service,
on a project you already have ([Serving](serving.md#benchmark)).
"""


def page(results: dict[str, Any], quick: int, full: int) -> str:
    """The whole page for ``results``; ``quick`` and ``full`` are the repetition counts."""
    start, end = load_text(results, "start"), load_text(results, "end")
    parts = [INTRODUCTION, NOISE.format(cores=results["machine"]["cores"], start=start, end=end)]
    if "ccds" not in results["render"]:
        reason = results["render"].get("ccds_source", "not available")
        parts.append(NO_CCDS.format(reason=reason))
    parts += [
        "## Latest figures\n",
        f"A {results['mode']} run ({results['repetitions']} repetitions per series).\n",
        as_markdown(sections(results)),
        MEASURED,
        REPRODUCE.format(quick=quick, full=full),
    ]
    return "\n".join(parts)


def write_page(results: dict[str, Any], path: Path, quick: int, full: int) -> None:
    path.write_text(page(results, quick, full), encoding="utf-8")
