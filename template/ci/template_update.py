"""Take the project template's newest release, and check that nothing of yours was lost.

    python ci/template_update.py --copier-version X [--open-request github|gitlab] [COPIER...]

`uv run nox -s template-update` runs it. Options it does not know go to `copier update`:
`--data serve_api=false` changes an answer (and updates even when no new release exists).

When the update changes pyproject.toml, `uv lock` brings uv.lock in line with it.
It fails (exit 1) when the update leaves conflicts, inline (<<<<<<< markers) or in .rej
files, or deletes a file you changed since the template rendered it; the edits stay
uncommitted for review. With `--open-request`, CI's scheduled job commits whatever the
update changed to the `template-update` branch and opens (or retitles) a pull or merge
request, conflicts included, titled so; the exit code stays the update's.
  github: pushes with GH_TOKEN and opens the pull request with the `gh` CLI.
  gitlab: pushes with TEMPLATE_UPDATE_TOKEN to CI_SERVER_URL/CI_PROJECT_PATH, and the push
          options open the merge request against CI_DEFAULT_BRANCH.
Exit codes: 0 up to date or updated cleanly, 1 a check failed, 2 usage or a tool failed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

BRANCH = "template-update"
TITLE = "Update from the project template"
BODY = "Changes from the newest release of the project template (see its changelog)."
IDENTITY = {
    "github": ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com"),
    "gitlab": ("Template update", "template-update@noreply.invalid"),
}


class ToolError(RuntimeError):
    """A command this script runs failed; the message holds its output."""


def run(*command: str, quiet: bool = False) -> str:
    """Run a command with fixed arguments; its output, or ToolError with what it printed."""
    executable = shutil.which(command[0]) or command[0]
    result = subprocess.run(  # noqa: S603  # nosec B603
        [executable, *command[1:]], capture_output=quiet, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "") if quiet else ""
        raise ToolError(f"`{' '.join(command)}` exited {result.returncode}\n{output}".strip())
    return result.stdout or ""


def git(*args: str) -> str:
    return run("git", *args, quiet=True)


def git_paths(*args: str) -> list[str]:
    """The paths a git command lists, each once (an unmerged file is listed once per side)."""
    output = git(*args, "-z")
    return list(dict.fromkeys(name for name in output.split("\0") if name.strip()))


def has_conflict(path: Path) -> bool:
    """Whether a file holds conflict markers."""
    if not path.is_file():
        return False
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines)


def edited_since_rendered(copier: tuple[str, ...], paths: list[str]) -> list[str]:
    """The paths whose committed content differs from what the template rendered at the
    release and with the answers that the committed .copier-answers.yml names (or that the
    template did not render at all): renders that release into a temporary folder."""
    answers = yaml.safe_load(git("show", "HEAD:.copier-answers.yml"))
    with tempfile.TemporaryDirectory() as temporary:
        previous = Path(temporary) / "previous-release"
        data = Path(temporary) / "answers.yml"
        questions = {key: value for key, value in answers.items() if not key.startswith("_")}
        data.write_text(yaml.safe_dump(questions), encoding="utf-8")
        release = ("--vcs-ref", str(answers["_commit"]), "--data-file", str(data))
        render = (*copier, "copy", "--defaults", "--trust", "--quiet", *release)
        run(*render, str(answers["_src_path"]), str(previous), quiet=True)
        committed = git("rev-parse", *(f"HEAD:{path}" for path in paths)).splitlines()
        rendered = [path for path in paths if (previous / path).is_file()]
        files = [str(previous / path) for path in rendered]
        hashes = git("hash-object", "--no-filters", "--", *files).splitlines() if files else []
    original = dict(zip(rendered, hashes, strict=True))
    return [path for path, blob in zip(paths, committed, strict=True) if original.get(path) != blob]


def update(copier: tuple[str, ...], copier_args: list[str]) -> list[str]:
    """Run the update; return the problems found (empty when it went cleanly)."""
    if not copier_args:
        output = run(*copier, "check-update", "--output-format", "json", quiet=True)
        status = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
        if not status["update_available"]:
            print("The project is up to date with its template.")
            return []
    run(*copier, "update", "--defaults", "--trust", "--conflict", "inline", *copier_args)
    problems = []
    changed = git_paths("ls-files", "--modified", "--others", "--exclude-standard")
    conflicts = [name for name in changed if name.endswith(".rej") or has_conflict(Path(name))]
    if conflicts:
        problems.append("The update left conflicts to resolve in: " + ", ".join(conflicts))
    if "pyproject.toml" in changed and "pyproject.toml" not in conflicts:
        problems += relock()
    deleted = git_paths("diff", "--name-only", "--diff-filter=D", "HEAD")
    if deleted:
        print("The update deleted: " + ", ".join(deleted))
        edited = edited_since_rendered(copier, deleted)
        if edited:
            restore = "git checkout HEAD -- " + " ".join(edited)
            listed = ", ".join(edited)
            problems.append(f"The update deleted files you changed: {listed} (`{restore}`)")
    return problems


def relock() -> list[str]:
    """Bring uv.lock in line with the updated pyproject.toml, so that `uv run --locked`
    keeps working; the problem found, if any."""
    if not Path("uv.lock").is_file():
        return []
    try:
        run("uv", "lock", quiet=True)
    except ToolError as error:
        return [f"uv.lock could not follow the updated pyproject.toml: {error}"]
    print("uv.lock follows the updated pyproject.toml.")
    return []


def basic_auth(user: str, token: str) -> str:
    credentials = base64.b64encode(f"{user}:{token}".encode()).decode()
    return f"http.extraHeader=Authorization: Basic {credentials}"


def open_request(platform: str, title: str) -> None:
    """Commit the update to BRANCH, push it, and open or retitle its pull/merge request."""
    name, email = IDENTITY[platform]
    git("add", "--all")  # first: staging also settles the entries copier left unmerged
    git("switch", "--force-create", BRANCH)
    identity = ("-c", f"user.name={name}", "-c", f"user.email={email}")
    # Conflict markers too: the request shows them for review, and its own CI checks it.
    git(*identity, "commit", "--quiet", "--no-verify", "-m", title)
    env = os.environ
    if platform == "github":
        run("gh", "auth", "setup-git", quiet=True)  # git authenticates with GH_TOKEN
        git("push", "--force", "origin", f"HEAD:refs/heads/{BRANCH}")
        try:
            create = ("pr", "create", "--head", BRANCH, "--title", title, "--body", BODY)
            run("gh", *create, quiet=True)
        except ToolError:  # it exists: keep its title in step with this update
            run("gh", "pr", "edit", BRANCH, "--title", title, quiet=True)
        return
    token = env.get("TEMPLATE_UPDATE_TOKEN", "")
    if not token:
        raise ToolError("TEMPLATE_UPDATE_TOKEN is not set (see docs/updating.md)")
    target = f"{env['CI_SERVER_URL']}/{env['CI_PROJECT_PATH']}.git"
    options = [
        "-o", "merge_request.create",
        "-o", f"merge_request.target={env['CI_DEFAULT_BRANCH']}",
        "-o", f"merge_request.title={title}",
    ]  # fmt: skip
    push = ("push", "--force", *options, target, f"HEAD:refs/heads/{BRANCH}")
    git("-c", basic_auth("oauth2", token), *push)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--copier-version", required=True)
    parser.add_argument("--open-request", choices=sorted(IDENTITY))
    args, copier_args = parser.parse_known_args(argv)
    copier = ("uvx", f"copier=={args.copier_version}")
    try:
        problems = update(copier, copier_args)
        for problem in problems:
            print(problem, file=sys.stderr)
        if args.open_request and git("status", "--porcelain"):
            title = TITLE + (" (conflicts to resolve)" if problems else "")
            open_request(args.open_request, title)
            print(f"template-update: pushed {BRANCH} and opened the request: {title}")
        elif args.open_request:
            print("No change from the template.")
    except ToolError as error:
        print(f"template-update: {error}", file=sys.stderr)
        return 2
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
