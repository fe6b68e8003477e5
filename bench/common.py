"""What every benchmark needs: an isolated environment, timed commands, summaries of samples."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # copier, ccds and nox of the environment running the bench
COMMAND_TIMEOUT = 1800
# Set by the nox session that runs the bench; generated projects must use their own.
# What the bench's own environment sets that a user's shell does not. A machine-wide
# PYTHONDONTWRITEBYTECODE, for one, makes every process of a project compile its libraries
# again (seconds each for scikit-learn and pandas), where a user's first run caches them.
FOREIGN_VARIABLES = (
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "UV_PYTHON",
    "PYTHONPATH",
    "PYTHONDONTWRITEBYTECODE",
)
GITCONFIG = (
    "[user]\n\tname = Template Bench\n\temail = bench@example.com\n"
    "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
)


class CommandFailed(RuntimeError):
    """A command the benchmark depends on exited non-zero."""


def log(message: str) -> None:
    """Progress on stderr, so that stdout holds only the results table."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def isolate(home: Path) -> None:
    """Point git, DVC and cookiecutter at configuration in ``home``, for this process and its
    children, and drop the variables of the bench's environment that a user's has not."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "gitconfig").write_text(GITCONFIG, encoding="utf-8")
    cookiecutter = home / "cookiecutter.yaml"
    cookiecutter.write_text(
        f"cookiecutters_dir: {home / 'cookiecutters'}\nreplay_dir: {home / 'replay'}\n",
        encoding="utf-8",
    )
    for name in FOREIGN_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
            "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
            "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
            "COOKIECUTTER_CONFIG": str(cookiecutter),
        }
    )


def run(
    command: Sequence[str | Path],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> str:
    """Run a command to completion and return its stdout; raise CommandFailed on failure."""
    arguments = [str(part) for part in command]
    result = subprocess.run(
        arguments,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        msg = f"`{' '.join(arguments)}` exited {result.returncode} in {cwd}:\n{output}"
        raise CommandFailed(msg)
    return result.stdout


def timed(command: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None) -> float:
    """Seconds a command takes, wall clock, from start to exit."""
    start = time.perf_counter()
    run(command, cwd, env)
    return time.perf_counter() - start


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of timing samples in seconds, with the samples themselves."""
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "n": len(samples),
        "samples": [round(sample, 4) for sample in samples],
    }


def template_copy(destination: Path) -> Path:
    """A committed git copy of this repository's files (tracked and new, not ignored), so the
    bench measures the working tree as it is, rendered from an absolute path."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    commit_all(destination, "template under benchmark", init=True)
    return destination


def commit_all(repository: Path, message: str, init: bool = False) -> None:
    """Commit every file of ``repository`` (creating the repository first when ``init``)."""
    if init:
        run(["git", "init", "--quiet", "-b", "main"], repository)
    run(["git", "add", "--all"], repository)
    run(["git", "commit", "--quiet", "--allow-empty", "-m", message], repository)


def count_files(tree: Path) -> int:
    """Files in a rendered project, not counting git's own."""
    return sum(1 for path in tree.rglob("*") if path.is_file() and ".git" not in path.parts)


def megabytes(tree: Path) -> int:
    """Size of the files under ``tree`` in MB (a file linked twice counts twice)."""
    files = (path for path in tree.rglob("*") if path.is_file() and not path.is_symlink())
    return round(sum(path.stat().st_size for path in files) / 1e6)
