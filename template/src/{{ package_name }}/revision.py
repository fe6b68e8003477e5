"""Files as a git revision holds them: what the gate and the report compare against."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .config import InputError


def git(*args: str) -> subprocess.CompletedProcess[str]:
    """Run git with fixed arguments chosen by this package, returning what it printed."""
    executable = shutil.which("git") or "git"
    return subprocess.run(  # noqa: S603  # nosec B603
        [executable, *args], capture_output=True, text=True, check=False
    )


def resolve(revision: str) -> str:
    """The commit ``revision`` names. A remote branch (``origin/main``) that is not here yet
    is fetched first; anything else that git does not know is an InputError."""

    def lookup() -> str:
        return git("rev-parse", "--verify", "--quiet", revision + "^{commit}").stdout.strip()

    commit = lookup()
    remote, _, branch = revision.partition("/")
    if not commit and branch and remote in git("remote").stdout.split():
        git("fetch", "--quiet", "--no-tags", remote, f"{branch}:refs/remotes/{revision}")
        commit = lookup()
    if not commit:
        if not git("rev-parse", "--verify", "--quiet", "HEAD").stdout.strip():
            msg = f"base revision {revision!r} not found: this repository has no commit yet"
        else:
            msg = f"base revision {revision!r} not found (fetch it, or name another base)"
        raise InputError(msg)
    return commit


def show(revision: str, path: Path) -> str | None:
    """The text of ``path`` at ``revision``, or None when the revision has no such file."""
    result = git("show", f"{revision}:{path.as_posix()}")
    return result.stdout if result.returncode == 0 else None
