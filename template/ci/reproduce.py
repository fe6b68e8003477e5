"""Check that the committed results can be reproduced from the committed inputs.

    python ci/reproduce.py [--tolerance T] [--remote]

`uv run nox -s reproduce` runs it, on a laptop and in CI (on the main branch, after the
pipeline job's own run).
1. The committed dvc.lock must be current: git's tracked files must be as committed (a
   `dvc repro` just before that rewrote dvc.lock means it was stale), and `dvc status` may
   report outputs that are missing, but no changed code, parameters or data.
2. Every stage runs again from its inputs and seeds, without the run cache
   (`dvc repro --force --no-run-cache`; with --remote, the data is pulled first).
3. Each number in metrics.json must be within --tolerance (absolute) of the committed one.
   The outputs whose bytes came out the same (their md5 against dvc.lock) are listed too.
4. The committed files come back (`git checkout`, `dvc checkout`), whatever the outcome.
Exit codes: 0 reproduced, 1 stale or not reproduced, 2 a tool failed or the tree was dirty.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

METRICS = Path("metrics.json")
LOCK = Path("dvc.lock")
TOLERANCE = 1e-3  # metrics are rounded to 4 decimals; other hardware may move the last one


class NotReproduced(Exception):  # noqa: N818  # the outcome of the check, not a fault
    """The lock is stale, or the metrics differ beyond the tolerance (exit code 1)."""


class ToolError(RuntimeError):
    """A command failed, or the working tree holds uncommitted changes (exit code 2)."""


def run(*command: str) -> str:
    """Run a command with fixed arguments; what it printed, or ToolError."""
    executable = shutil.which(command[0]) or command[0]
    result = subprocess.run(  # noqa: S603  # nosec B603
        [executable, *command[1:]], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-3000:]
        raise ToolError(f"`{' '.join(command)}` exited {result.returncode}\n{output}")
    return result.stdout


def dvc(*args: str) -> str:
    return run(sys.executable, "-m", "dvc", *args)


def modified_files() -> list[str]:
    return run("git", "status", "--porcelain", "--untracked-files=no").splitlines()


def stale_stages(status: dict[str, Any]) -> list[str]:
    """What `dvc status --json` reports besides missing outputs: changed code, parameters,
    data or commands, each as `stage: what`."""
    found = []
    for stage, entries in status.items():
        for entry in entries:
            if isinstance(entry, str):  # "changed command", "always changed"
                found.append(f"{stage}: {entry}")
                continue
            for kind, paths in entry.items():
                for path, state in (paths or {}).items():
                    if kind == "changed outs" and state in {"deleted", "not in cache"}:
                        continue  # not pulled or checked out here: nothing is stale
                    found.append(f"{stage}: {kind} {path} ({state})")
    return found


def numbers(value: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every number in a metrics mapping, with its dotted name (per_class.benign.f1)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from numbers(inner, f"{prefix}{key}.")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield prefix.rstrip("."), float(value)


def compare(committed: dict[str, Any], again: dict[str, Any], tolerance: float) -> str:
    """One line on how far the metrics moved; NotReproduced beyond the tolerance."""
    before, after = dict(numbers(committed)), dict(numbers(again))
    if before.keys() != after.keys():
        gone, new = sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys())
        raise NotReproduced(f"{METRICS} has other metrics now: missing {gone}, new {new}")
    moved = {name: abs(after[name] - value) for name, value in before.items()}
    beyond = {name: delta for name, delta in moved.items() if delta > tolerance}
    if beyond:
        listed = ", ".join(
            f"{name} {before[name]} -> {after[name]}" for name in sorted(beyond, key=beyond.get)
        )
        raise NotReproduced(f"{len(beyond)} metric(s) moved beyond {tolerance}: {listed}")
    largest = max(moved.values(), default=0.0)
    return f"{len(moved)} values of {METRICS} within {tolerance} (largest difference {largest:g})"


def locked_md5s() -> dict[str, str]:
    lock = yaml.safe_load(LOCK.read_text(encoding="utf-8")) or {}
    return {
        str(out["path"]): str(out.get("md5"))
        for stage in (lock.get("stages") or {}).values()
        for out in stage.get("outs") or []
    }


def check(tolerance: float, remote: bool) -> list[str]:
    """Run the check; the lines to print on success."""
    dirty = modified_files()
    if any(line.endswith(f" {LOCK}") for line in dirty):
        raise NotReproduced(f"{LOCK} is stale: `dvc repro` changed it; commit what it writes")
    if dirty:
        listed = ", ".join(line[3:] for line in dirty)
        raise ToolError(f"tracked files differ from the commit ({listed}): commit or stash them")
    if remote:
        dvc("pull", "--quiet")
    stale = stale_stages(json.loads(dvc("status", "--json") or "{}"))
    if stale:
        raise NotReproduced(f"{LOCK} is stale: " + "; ".join(stale))
    committed = json.loads(METRICS.read_text(encoding="utf-8"))
    before = locked_md5s()
    lines = [f"{LOCK} is current (dvc status)"]
    try:
        dvc("repro", "--force", "--no-run-cache", "--quiet")
        lines.append(compare(committed, json.loads(METRICS.read_text(encoding="utf-8")), tolerance))
        after = locked_md5s()
        same = sorted(path for path, md5 in after.items() if before.get(path) == md5)
        other = sorted(path for path, md5 in after.items() if before.get(path) != md5)
        lines.append(f"the same bytes again: {', '.join(same) or 'none'}")
        if other:
            lines.append(f"other bytes, same metrics: {', '.join(other)}")
    finally:  # the committed results come back, reproduced or not
        run("git", "checkout", "--", ".")
        dvc("checkout", "--force", "--quiet")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="default: %(default)s")
    parser.add_argument("--remote", action="store_true", help="pull the data first")
    args = parser.parse_args(argv)
    try:
        lines = check(args.tolerance, args.remote)
    except NotReproduced as failure:
        print(f"reproduce: not reproduced: {failure}", file=sys.stderr)
        return 1
    except (ToolError, OSError, json.JSONDecodeError, yaml.YAMLError) as error:
        print(f"reproduce: {error}", file=sys.stderr)
        return 2
    for line in lines:
        print(f"reproduce: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
