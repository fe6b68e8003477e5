"""Move a file of the generated project during `copier update`, keeping the user's version.

    python move_path.py before|after OLD NEW

A release that moves OLD to NEW runs this in both migration stages. Copier drops a file the
new release no longer has, user edits included, so `before` puts the user's OLD aside (in
the git directory, never tracked) and `after`, once the update has written the release's
NEW, puts the user's version there and removes OLD. Running a stage again changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def aside(new: Path) -> Path:
    """Where the user's version waits during the update: inside the git directory."""
    git_dir = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return Path(git_dir) / "copier-moves" / new


def before(old: Path, new: Path) -> str:
    if not old.is_file():
        return f"{old} is not in the project: nothing to keep"
    kept = aside(new)
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(old, kept)
    return f"kept the project's {old} for {new}"


def after(old: Path, new: Path) -> str:
    kept = aside(new)
    if not kept.is_file():
        return f"{old} already moved"
    new.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(kept, new)
    old.unlink(missing_ok=True)
    return f"moved {old} to {new}"


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("before", "after"):
        print(
            "usage: move_path.py before|after OLD NEW (paths inside the project)", file=sys.stderr
        )
        return 2
    root = Path.cwd().resolve()
    old, new = Path(argv[1]), Path(argv[2])
    for path in (old, new):
        if path.is_absolute() or not (root / path).resolve().is_relative_to(root):
            print(f"move_path.py: {path} is outside the project", file=sys.stderr)
            return 2
    print((before if argv[0] == "before" else after)(old, new))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
