"""Render time of our default project beside cookiecutter-data-science's default project.

Both templates render from local disk: our committed temporary copy of this repository, and a
local copy of cookiecutter-data-science's template (its `ccds` CLI otherwise clones it from
GitHub on every run). The CLI figures include interpreter start-up; the in-process figures
time the library call alone, in a worker process that renders once untimed first.

Run as a module, this file is that worker, printing each render's seconds as a JSON list:

    python -m bench.render ours|ccds TEMPLATE SCRATCH REPETITIONS
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import BIN, ROOT, CommandFailed, count_files, log, run, summarize

CCDS_REPOSITORY = "https://github.com/drivendataorg/cookiecutter-data-science"
TOOLS = ("ours", "ccds")


def ccds_template(source: str | None, scratch: Path) -> tuple[Path | None, str]:
    """A local copy of cookiecutter-data-science's template and where it came from, or None
    and the reason it could not be had. ``source`` is a local checkout or a git URL; by
    default the upstream repository at the tag of the installed ccds release."""
    if source and Path(source).is_dir():
        return Path(source).resolve(), str(Path(source).resolve())
    tag = f"v{metadata.version('cookiecutter-data-science')}"
    url = source or CCDS_REPOSITORY
    branch = ["--branch", tag] if source is None else []
    destination = scratch / "ccds-template"
    try:
        clone: list[str | Path] = ["git", "clone", "--quiet", "--depth", "1", *branch, url]
        run([*clone, destination], scratch, timeout=300)
    except (CommandFailed, subprocess.TimeoutExpired) as error:
        return None, str(error).strip().splitlines()[-1]
    return destination, f"{url} at {tag}" if branch else url


def cli_command(tool: str, template: Path, destination: Path) -> list[str | Path]:
    """The command a user types to render the tool's default project into ``destination``."""
    if tool == "ours":
        return [BIN / "copier", "copy", "--defaults", "--vcs-ref", "HEAD", template, destination]
    return [BIN / "ccds", "--no-input", "--output-dir", destination, template]


def render_in_process(tool: str, template: Path, destination: Path) -> None:
    """Render the tool's default project with its Python API."""
    if tool == "ours":
        from copier import run_copy

        run_copy(str(template), str(destination), defaults=True, quiet=True, vcs_ref="HEAD")
    else:
        # Importing ccds's entry module applies its patches to cookiecutter; its tests call
        # cookiecutter this way. The patches loosen jinja2 globally: hence a separate process.
        from ccds.__main__ import api_main

        api_main.cookiecutter(str(template), no_input=True, output_dir=str(destination))


def cli_samples(
    templates: dict[str, Path], repetitions: int, scratch: Path
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Seconds per CLI render of each tool, taking turns so both see the same load, and the
    number of files each renders."""
    samples: dict[str, list[float]] = {tool: [] for tool in templates}
    files: dict[str, int] = {}
    for repetition in range(repetitions):
        for tool, template in templates.items():
            destination = Path(tempfile.mkdtemp(prefix=f"{tool}-cli-", dir=scratch)) / "out"
            start = time.perf_counter()
            run(cli_command(tool, template, destination), scratch)
            samples[tool].append(time.perf_counter() - start)
            files[tool] = count_files(destination)
            shutil.rmtree(destination.parent)
        log(f"CLI renders {repetition + 1}/{repetitions}")
    return samples, files


def in_process_samples(tool: str, template: Path, repetitions: int, scratch: Path) -> list[float]:
    """Seconds per in-process render, measured in a worker process."""
    command: list[str | Path] = [sys.executable, "-m", "bench.render", tool, template, scratch]
    command.append(str(repetitions))
    return [float(seconds) for seconds in json.loads(run(command, ROOT).splitlines()[-1])]


def render_figures(
    template: Path, ccds: Path | None, repetitions: int, scratch: Path
) -> dict[str, Any]:
    """Render figures of both tools (ours only when ccds's template is missing) and the
    ratios ours/ccds of the medians."""
    templates = {"ours": template} | ({"ccds": ccds} if ccds else {})
    cli, files = cli_samples(templates, repetitions, scratch)
    figures: dict[str, Any] = {}
    for tool, source in templates.items():
        log(f"in-process renders of {tool}")
        process = in_process_samples(tool, source, repetitions, scratch)
        figures[tool] = {
            "cli": summarize(cli[tool]),
            "in_process": summarize(process),
            "files": files[tool],
        }
    if ccds:
        figures["ratio"] = {
            kind: round(figures["ours"][kind]["median"] / figures["ccds"][kind]["median"], 3)
            for kind in ("cli", "in_process")
        }
    return figures


def worker(tool: str, template: Path, scratch: Path, repetitions: int) -> list[float]:
    """Render once untimed (imports, caches), then ``repetitions`` timed renders."""
    seconds: list[float] = []
    for repetition in range(repetitions + 1):
        destination = Path(tempfile.mkdtemp(prefix=f"{tool}-api-", dir=scratch)) / "out"
        start = time.perf_counter()
        render_in_process(tool, template, destination)
        if repetition:
            seconds.append(time.perf_counter() - start)
        shutil.rmtree(destination.parent)
    return seconds


if __name__ == "__main__":
    tool_name, template_path, scratch_path, count = sys.argv[1:5]
    if tool_name not in TOOLS:
        sys.exit(f"unknown tool {tool_name!r}: choose from {', '.join(TOOLS)}")
    print(json.dumps(worker(tool_name, Path(template_path), Path(scratch_path), int(count))))
