"""The template's own release procedure and CI (docs/development.md, "Releasing").

CHANGELOG.md entries, newest first, each say whether a migration runs; release tags are
annotated and have an entry; the repository's own workflow (.github/workflows/ci.yml)
validates, passes zizmor, pins its actions and runs the sessions `.ci/run` runs.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from .test_ci import PINNED_ACTION, check, tool, triggers

REPO_ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = REPO_ROOT / "CHANGELOG.md"
WORKFLOW = REPO_ROOT / ".github/workflows/ci.yml"
HEADING = re.compile(r"^## (.+)$", re.MULTILINE)
VERSION_HEADING = re.compile(r"v(\d+)\.(\d+)\.(\d+) — \S.*")
COMMIT_LINE = re.compile(r"^Commit: ([0-9a-f]{40})$", re.MULTILINE)


def entries(text: str) -> list[tuple[str, str]]:
    """The changelog's entries, newest first: (heading, body)."""
    headings = list(HEADING.finditer(text))
    return [
        (heading.group(1), text[heading.end() : later.start() if later else len(text)])
        for heading, later in zip(headings, [*headings[1:], None], strict=True)
    ]


def released_commits(text: str) -> dict[str, str]:
    """Each release's tag and the commit its entry names, newest first."""
    named = {}
    for title, body in entries(text):
        commit = COMMIT_LINE.search(body)
        if VERSION_HEADING.fullmatch(title) and commit:
            named[title.split(" — ")[0]] = commit.group(1)
    return named


def changelog_problems(text: str) -> list[str]:
    """What is wrong with a changelog's entries: each is `## Unreleased` (first only) or
    `## vX.Y.Z — title`, newest first, and holds a `Migration:` line; a release names its
    tagged commit (`Commit: <sha>`) unless it is the newest entry, whose commit is the
    release itself until the next entry opens."""
    if not entries(text):
        return ["no entry (`## vX.Y.Z — title`)"]
    problems, previous = [], None
    for index, (title, body) in enumerate(entries(text)):
        if not re.search(r"^Migration: \S", body, re.MULTILINE):
            problems.append(f"{title}: no `Migration:` line saying whether a migration runs")
        if title == "Unreleased":
            if index:
                problems.append("Unreleased: only the newest entry may be unreleased")
            continue
        version = VERSION_HEADING.fullmatch(title)
        if not version:
            problems.append(f"{title}: not `vX.Y.Z — title`")
            continue
        if index and not COMMIT_LINE.search(body):
            problems.append(f"{title}: no `Commit:` line naming the tagged commit")
        number = tuple(int(part) for part in version.groups())
        if previous is not None and number >= previous:
            problems.append(f"{title}: entries go newest first")
        previous = number
    return problems


def test_changelog_check_finds_what_it_must() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    good = (
        "# Changelog\n\n## Unreleased\n\n- x\n\nMigration: none.\n\n"
        f"## v0.1.0 — first\n\nCommit: {sha}\n\nMigration: none.\n"
    )
    assert changelog_problems(good) == []
    assert released_commits(good) == {"v0.1.0": sha}
    just_released = good.split("## Unreleased")[0] + good.split("Migration: none.\n\n", 1)[1]
    assert changelog_problems(just_released.replace(f"Commit: {sha}\n\n", "")) == []
    assert changelog_problems(good.replace(f"Commit: {sha}\n\n", "")) == [
        "v0.1.0 — first: no `Commit:` line naming the tagged commit"
    ]
    missing = good.replace("Migration: none.\n\n## v0.1.0", "## v0.1.0")
    assert changelog_problems(missing) == [
        "Unreleased: no `Migration:` line saying whether a migration runs"
    ]
    order = good + f"\n## v0.2.0 — later\n\nCommit: {sha}\n\nMigration: none.\n"
    assert changelog_problems(order) == ["v0.2.0 — later: entries go newest first"]
    assert changelog_problems("## 0.3 (soon)\n\nMigration: none.\n") == [
        "0.3 (soon): not `vX.Y.Z — title`"
    ]


def test_every_changelog_entry_says_whether_a_migration_runs() -> None:
    assert changelog_problems(CHANGELOG.read_text(encoding="utf-8")) == []


def test_release_tags_are_annotated_and_described() -> None:
    """Every vX.Y.Z tag this clone has is annotated, has its CHANGELOG entry, and is on the
    commit that entry names (a clone may have no tags: the entries name the commits)."""
    tags = subprocess.run(
        ["git", "tag", "--list", "v*"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    text = CHANGELOG.read_text(encoding="utf-8")
    described = {title.split(" — ")[0] for title, _ in entries(text)}
    named = released_commits(text)
    for tag, commit in named.items():
        ancestor = ["git", "merge-base", "--is-ancestor", commit, "HEAD"]
        assert subprocess.run(ancestor, cwd=REPO_ROOT).returncode == 0, f"{tag}: {commit}?"
    for tag in tags:
        kind = subprocess.run(
            ["git", "cat-file", "-t", tag], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        assert kind == "tag", f"{tag} is a lightweight tag: use `git tag -a {tag}`"
        assert tag in described, f"{tag} has no entry in CHANGELOG.md"
        if tag in named:
            on = subprocess.run(
                ["git", "rev-list", "-n", "1", tag],
                cwd=REPO_ROOT, capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            assert on == named[tag], f"{tag} is on {on}; CHANGELOG.md names {named[tag]}"


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def test_own_workflow_validates_and_zizmor_finds_nothing() -> None:
    check([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
          REPO_ROOT)  # fmt: skip
    for persona in ("regular", "auditor"):
        output = check(
            [tool("zizmor"), "--offline", "--no-progress", f"--persona={persona}", ".github/"],
            REPO_ROOT,
        )
        assert "No findings to report" in output, output


def test_own_workflow_pins_actions_and_grants_least_privilege() -> None:
    spec = workflow()
    assert spec["permissions"] == {}
    for name, job in spec["jobs"].items():
        assert "timeout-minutes" in job, f"{name} has no timeout"
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        assert writes <= {"pages", "id-token"}, f"{name} writes {writes}"
        if writes:
            assert job["if"] == "startsWith(github.ref, 'refs/tags/v')", "only releases publish"
            assert job["environment"]["name"] == "github-pages"
        for step in job["steps"]:
            action = step.get("uses", "")
            if action:
                assert PINNED_ACTION.match(action), f"{name}: {action} is not SHA-pinned"
            if action.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            if action.startswith("astral-sh/setup-uv@"):
                assert step["with"]["enable-cache"] is False, "no shared cache in release runs"
            assert "${{" not in step.get("run", ""), f"{name}: expression in run"
    for line in WORKFLOW.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"\s*(?:- )?uses: (\S+)(.*)", line):
            assert re.fullmatch(r" # v\d+(\.\d+)*", match.group(2)), line.strip()


def test_own_workflow_runs_what_ci_run_runs() -> None:
    """Lint and docs on every event; the default suite on pull requests and the full matrix
    on main and tags, as root with the packages `.ci/run` installs; nox pinned."""
    spec = workflow()
    runs = {
        name: [(step.get("if", ""), step["run"]) for step in job["steps"] if "run" in step]
        for name, job in spec["jobs"].items()
    }
    assert runs["lint"] == [("", 'uvx "$NOX" -s lint')]
    assert runs["docs"] == [("", 'uvx "$NOX" -s docs')]
    by_event = {condition: command for condition, command in runs["tests"] if condition}
    assert by_event["github.event_name == 'pull_request'"].endswith('uvx "$NOX" -s tests')
    assert by_event["github.event_name == 'push'"].endswith('uvx "$NOX" -s tests -- --full')
    packages = re.search(r"install -y -qq (.+)", runs["tests"][0][1])
    ci_run = (REPO_ROOT / ".ci/run").read_text(encoding="utf-8")
    assert packages and set(packages.group(1).split()) <= set(ci_run.split())
    assert re.fullmatch(r"nox==[\d.]+", spec["env"]["NOX"])
    events = triggers(spec)
    assert events["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert "pull_request" in events
    assert spec["jobs"]["pages"]["needs"] == ["lint", "docs", "tests"]
