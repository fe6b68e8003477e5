"""`copier update` stories: release N, a user's edits, release N+1, update, check the result.

Each story works on its own git copy of the template, tagged like real releases (PEP 440
tags), so that copier picks the newest release as it does for users.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update

from .conftest import REPO_ROOT, install, read_answers, run
from .docs_blocks import FENCE, as_script, run_at_a_terminal, shell_block
from .test_release import CHANGELOG, released_commits
from .test_security import HOOKS

CONFLICT_MARKER = "<<<<<<< "


@pytest.fixture
def template(template_repo: Path, tmp_path: Path) -> Path:
    """A private copy of the template repository, released as v1.0.0."""
    copy = tmp_path / "template"
    shutil.copytree(template_repo, copy)
    run(["git", "tag", "v1.0.0"], copy)
    return copy


# The template's params.yaml of a classification project (a regression project has its own).
CLASSIFICATION_PARAMS = "template/{% if ml_task == 'classification' %}params.yaml{% endif %}"


def release(template: Path, version: str, edits: dict[str, tuple[str, str]]) -> None:
    """Apply text edits {path: (old, new)} to the template, commit and tag ``version``."""
    for relative, (old, new) in edits.items():
        path = template / relative
        text = path.read_text()
        assert old in text, f"{relative} has no {old!r}"
        path.write_text(text.replace(old, new, 1))
    run(["git", "commit", "--quiet", "--all", "-m", f"Release {version}"], template)
    run(["git", "tag", version], template)


def generate(template: Path, destination: Path, **answers: object) -> Path:
    run_copy(str(template), str(destination), data=answers, defaults=True, quiet=True)
    for command in (["init", "--quiet", "-b", "main"], ["add", "--all"]):
        run(["git", *command], destination)
    run(["git", "commit", "--quiet", "-m", "Generated project"], destination)
    return destination


def edit(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text, f"{relative} has no {old!r}"
    path.write_text(text.replace(old, new, 1))


def conflicting_release(template: Path, project: Path, version: str) -> None:
    """The user rewords a line of the README, then release ``version`` rewords the same line."""
    edit(project, "README.md", "You need [uv]", "Our team needs [uv]")
    commit(project, "Our wording")
    release(
        template, version, {"template/README.md.jinja": ("You need [uv]", "You need a recent [uv]")}
    )


def commit(project: Path, message: str) -> None:
    run(["git", "add", "--all"], project)
    run(["git", "commit", "--quiet", "-m", message], project)


def update(project: Path, **answers: object) -> float:
    """Update to the newest release; return how long it took in seconds."""
    started = time.perf_counter()
    run_update(str(project), data=answers, defaults=True, overwrite=True, quiet=True, unsafe=True)
    return time.perf_counter() - started


def leftovers(project: Path) -> list[str]:
    """Conflict markers and .rej files an update left behind."""
    found = [str(p.relative_to(project)) for p in project.rglob("*.rej") if ".git" not in p.parts]
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(line.startswith(CONFLICT_MARKER) for line in text.splitlines()):
                found.append(str(path.relative_to(project)))
    return found


def conflict_guard(project: Path) -> subprocess.CompletedProcess[str]:
    """The project's own guard: its pre-commit hooks for markers and .rej files."""
    files = [str(p) for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]
    tool = Path(sys.executable).parent / "check-merge-conflict"
    markers = subprocess.run(
        [str(tool), "--assume-in-merge", *files],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    rejects = [name for name in files if name.endswith(".rej")]
    if rejects and markers.returncode == 0:
        markers.returncode, markers.stdout = 1, "\n".join(rejects)
    return markers


def user_edits(project: Path, package: str) -> None:
    """What a user typically changes after the first render."""
    edit(project, "params.yaml", "n_estimators: 200", "n_estimators: 300")
    anchor = "MISSING_CATEGORY = "
    edit(project, f"src/{package}/train.py", anchor, "# Our own note.\n" + anchor)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Our team\n\nAsk in #ml-help.\n")
    (project / "notes.md").write_text("Experiment log.\n")
    (project / "data/external/README.md").unlink()
    commit(project, "Our changes")


def test_update_keeps_every_user_edit_and_applies_the_release(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "project")
    user_edits(project, "tumour_classifier")
    release(
        template,
        "v1.1.0",
        {
            "template/README.md.jinja": ("## Set up\n", "## Set up\n\nNew in this release.\n"),
            "template/src/{{ package_name }}/gate.py": (
                "\ndef judge(",
                "\n# The gate reads params.yaml.\ndef judge(",
            ),
            CLASSIFICATION_PARAMS: ("threshold: 0.95", "threshold: 0.96"),
        },
    )
    seconds = update(project)
    print(f"copier update took {seconds:.2f} s")

    assert leftovers(project) == []
    params = (project / "params.yaml").read_text()
    assert "n_estimators: 300" in params, "the user's parameter survives"
    assert "threshold: 0.95" in params, "params.yaml is the user's: not overwritten"
    train = (project / "src/tumour_classifier/train.py").read_text()
    assert "# Our own note." in train
    readme = (project / "README.md").read_text()
    assert "Ask in #ml-help." in readme
    assert "New in this release." in readme
    assert (
        "# The gate reads params.yaml." in (project / "src/tumour_classifier/gate.py").read_text()
    )
    assert (project / "notes.md").read_text() == "Experiment log.\n"
    assert not (project / "data/external/README.md").exists(), "a deleted file stays deleted"
    status = run(["git", "status", "--porcelain"], project).stdout.splitlines()
    assert sorted(line[3:] for line in status) == [
        ".copier-answers.yml",
        "README.md",
        "src/tumour_classifier/gate.py",
    ]

    # That an updated project's lint, tests and pipeline pass is checked on a real release
    # by test_a_project_of_the_previous_release_updates_to_this_one.


def test_same_line_conflict_is_surfaced_and_fails_the_guard(template: Path, tmp_path: Path) -> None:
    project = generate(template, tmp_path / "project")
    conflicting_release(template, project, "v1.1.0")
    update(project)

    readme = (project / "README.md").read_text()
    assert "Our team needs [uv]" in readme, "the user's line is not lost"
    assert "You need a recent [uv]" in readme, "the template's line is shown"
    assert leftovers(project) == ["README.md"]
    guard = conflict_guard(project)
    assert guard.returncode != 0
    assert "README.md" in guard.stdout + guard.stderr


def test_migration_moves_a_file_once_keeping_the_users_version(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "project")
    edit(project, "data/external/README.md", "# External data", "# External data (ours)")
    commit(project, "Our data notes")

    old = template / "template/data/external/README.md.jinja"
    new = template / "template/data/README.md.jinja"
    run(["git", "mv", str(old), str(new)], template)
    migration = (
        '_migrations:\n  - version: v1.1.0\n    when: "{{ true }}"\n'
        '    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move_path.py", '
        '"{{ _stage }}", "data/external/README.md", "data/README.md"]\n\n'
    )
    copier_yml = template / "copier.yml"
    copier_yml.write_text(
        copier_yml.read_text().replace("project_name:\n", migration + "project_name:\n", 1)
    )
    release(template, "v1.1.0", {})
    update(project)

    assert not (project / "data/external/README.md").exists()
    assert (project / "data/README.md").read_text().startswith("# External data (ours)")
    assert leftovers(project) == []
    again = subprocess.run(
        [sys.executable, str(REPO_ROOT / "hooks/move_path.py"), "after",
         "data/external/README.md", "data/README.md"],
        cwd=project, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "already moved" in again.stdout


def test_changing_the_ci_provider_swaps_the_ci_files(template: Path, tmp_path: Path) -> None:
    project = generate(template, tmp_path / "project", ci_provider="github")
    assert (project / ".github/workflows/ci.yml").is_file()
    release(template, "v1.0.1", {"template/README.md.jinja": ("## Set up\n", "## Set up\n\n")})
    update(project, ci_provider="gitlab")

    assert not (project / ".github").exists()
    assert (project / ".gitlab-ci.yml").is_file()
    assert (project / "renovate.json").is_file()
    assert leftovers(project) == []


def merge_request_server(tmp_path: Path) -> tuple[list[str], Path]:
    """A stand-in for GitLab's git server: a bare repository that records the push options
    (GitLab opens the merge request from them); the environment CI's job gives the session."""
    bare = tmp_path / "server/group/project.git"
    run(["git", "init", "--quiet", "--bare", str(bare)], tmp_path)
    run(["git", "config", "receive.advertisePushOptions", "true"], bare)
    hook = bare / "hooks/pre-receive"
    hook.write_text(
        "#!/bin/sh\ni=0\n"
        'while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do\n'
        '  eval "printf \'%s\\n\' \\"\\$GIT_PUSH_OPTION_$i\\"" >> push-options.txt\n'
        "  i=$((i + 1))\ndone\n"
    )
    hook.chmod(0o755)
    env = [
        "env",
        f"CI_SERVER_URL={(tmp_path / 'server').as_uri()}",
        "CI_PROJECT_PATH=group/project",
    ]
    env += ["CI_DEFAULT_BRANCH=main", "TEMPLATE_UPDATE_TOKEN=token"]
    return env, bare


@pytest.mark.project
@pytest.mark.full
def test_template_update_session_opens_a_request_then_one_with_conflicts(
    template: Path, tmp_path: Path
) -> None:
    """The session the scheduled CI job runs: update cleanly and open a merge request; then
    a conflicting release: the request is opened titled so, and the session fails."""
    project = generate(template, tmp_path / "project")
    install(project)
    commit(project, "Lock the environment")
    new_dependency = (
        'dependencies = [\n    "pandas',
        'dependencies = [\n    "packaging>=24.0",\n    "pandas',
    )
    release(
        template,
        "v1.1.0",
        {
            "template/README.md.jinja": ("## Set up\n", "## Set up\n\nNew.\n"),
            "template/pyproject.toml.jinja": new_dependency,
        },
    )
    env, server = merge_request_server(tmp_path)
    session = ["uv", "run", "--locked", "nox", "-s", "template-update"]
    run([*env, *session, "--", "--open-request", "gitlab"], project)
    assert "New." in (project / "README.md").read_text()
    pushed = run(["git", "log", "-1", "--format=%s", "template-update"], server).stdout.strip()
    assert pushed == "Update from the project template"
    changed = run(["git", "show", "--name-only", "--format=", "template-update"], server).stdout
    assert "uv.lock" in changed.split(), "the lock follows a release's new dependency"
    run(["uv", "lock", "--check"], project)
    options = (server / "push-options.txt").read_text().splitlines()
    assert options == [
        "merge_request.create",
        "merge_request.target=main",
        "merge_request.title=Update from the project template",
    ]

    again = run(session, project)
    assert "up to date with its template" in again.stdout + again.stderr

    conflicting_release(template, project, "v1.2.0")
    result = run([*env, *session, "--", "--open-request", "gitlab"], project, check=False)
    assert result.returncode != 0
    assert "conflicts to resolve in: README.md" in result.stdout + result.stderr
    pushed = run(["git", "log", "-1", "--format=%s", "template-update"], server).stdout.strip()
    assert pushed == "Update from the project template (conflicts to resolve)"
    conflicted = run(["git", "show", "template-update:README.md"], server).stdout
    assert "<<<<<<< " in conflicted, "the request shows the conflict for review"


@pytest.mark.project
@pytest.mark.full
def test_update_commands_as_documented(template: Path, tmp_path: Path) -> None:
    """docs/updating.md's commands at a terminal: the project's `template-update` session
    runs copier (from PyPI, through uvx) with the project's answers, asks nothing, and the
    release lands in the working tree for `git status` and `git diff` to show."""
    project = generate(template, tmp_path / "project", project_name="Churn Model")
    install(project)
    commit(project, "Lock the environment")  # the README's set-up: uv.lock is committed
    release(
        template, "v1.1.0", {"template/README.md.jinja": ("## Set up\n", "## Set up\n\nNew.\n")}
    )
    session = run_at_a_terminal(as_script(shell_block("updating.md", "Taking a new release")),
                                project)  # fmt: skip
    assert session.status == 0, session.output[-3000:]
    assert session.questions == 0, "every answer is kept without asking"
    assert "modified:   README.md" in session.text, "git status shows the release's change"
    assert "\n+New.\n" in session.text, "git diff shows the release's change"
    assert "New." in (project / "README.md").read_text()
    answers = read_answers(project)
    assert (answers["_commit"], answers["project_name"]) == ("v1.1.0", "Churn Model")


@pytest.mark.project
@pytest.mark.full
def test_template_update_session_fails_when_it_deletes_a_file_you_changed(
    template: Path, tmp_path: Path
) -> None:
    """Turning `serve_api` off deletes the service's files, edited or not: the session lists
    what went, fails naming the files the user had changed (not the untouched ones), and the
    command it prints brings the user's versions back."""
    project = generate(template, tmp_path / "project")
    install(project)
    commit(project, "Lock the environment")
    serve = "src/tumour_classifier/serve.py"
    for name in ("Dockerfile", serve):
        path = project / name
        path.write_text(path.read_text() + "# Ours.\n")
    commit(project, "Our service changes")

    change = ["--", "--data", "serve_api=false"]
    result = run(["uv", "run", "--locked", "nox", "-s", "template-update", *change], project,
                 check=False)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert not (project / "Dockerfile").exists(), "the answer's change is applied"
    assert "ci/deploy.py" in output, "every deleted file is listed"
    restore = r"\(`(git checkout HEAD -- [^`]*)`\)"
    failure = re.search(r"deleted files you changed: (.*?) " + restore, output)
    assert failure, output[-3000:]
    assert failure.group(1).split(", ") == ["Dockerfile", serve]
    run(shlex.split(failure.group(2)), project)
    for name in ("Dockerfile", serve):
        assert (project / name).read_text().endswith("# Ours.\n")


def readme_block(project: Path, heading: str) -> str:
    """The first bash block under ``heading`` in a generated project's README."""
    text = (project / "README.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    fence = FENCE.search(section + "\n")
    assert fence and fence.group(1) == "bash", f"README.md has no bash block under {heading}"
    return fence.group(2)


def offline_hook_repositories(project: Path, tmp_path: Path, patch: pytest.MonkeyPatch) -> None:
    """Let pre-commit fetch the project's hook repositories without the network: a local
    stand-in for each, tagged with the pinned revision, whose hooks run the same tools from
    the test environment (as tests/test_security.py runs them), or installs them from PyPI
    where the config adds dependencies; git's `insteadOf` (given through GIT_CONFIG_COUNT,
    the only git settings pre-commit passes on) points there."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    rewrites = []
    for index, repo in enumerate(r for r in config["repos"] if r["repo"] not in ("local", "meta")):
        standin = tmp_path / "hook-repositories" / str(index)
        standin.mkdir(parents=True)
        manifest = []
        for hook in repo["hooks"]:
            command, pattern = HOOKS[hook["id"]]
            assert command is not None, "a hook of a hook repository runs a tool from PyPI"
            language = "python" if hook.get("additional_dependencies") else "system"
            if language == "system":
                command = [str(Path(sys.executable).parent / command[0]), *command[1:]]
            manifest.append({"id": hook["id"], "name": hook["id"], "entry": shlex.join(command),
                             "language": language, "files": pattern})  # fmt: skip
        (standin / ".pre-commit-hooks.yaml").write_text(yaml.safe_dump(manifest))
        (standin / "setup.py").write_text("from setuptools import setup\n\nsetup(name='x')\n")
        for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "x"],
                        ["tag", repo["rev"]]):  # fmt: skip
            run(["git", *command], standin)
        rewrites.append((f"url.{standin.as_uri()}.insteadOf", repo["repo"]))
    patch.setenv("GIT_CONFIG_COUNT", str(len(rewrites)))
    for index, (key, value) in enumerate(rewrites):
        patch.setenv(f"GIT_CONFIG_KEY_{index}", key)
        patch.setenv(f"GIT_CONFIG_VALUE_{index}", value)
    patch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))


@pytest.mark.project
@pytest.mark.full
def test_conflict_markers_are_listed_once_and_never_committed(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set up as the README says, the project's git hooks refuse a commit of conflict markers
    (also with `git commit -am`), the `template-update` session names the file once, and
    `pre-commit run --all-files` (what CI's `security` session runs first) fails on them."""
    project = tmp_path / "project"
    run_copy(str(template), str(project), defaults=True, quiet=True)
    run(["bash", "-c", as_script(readme_block(project, "Set up"))], project)
    hook = project / ".git/hooks/pre-commit"
    assert hook.is_file() and "pre-commit" in hook.read_text(), "set-up installs the hooks"
    offline_hook_repositories(project, tmp_path, monkeypatch)
    commit(project, "Generated project")  # the hooks pass on the generated project
    conflicting_release(template, project, "v1.1.0")

    result = run(["uv", "run", "--locked", "nox", "-s", "template-update"], project, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    listed = re.search(r"conflicts to resolve in: ([^\n(]+)", output)
    assert listed and listed.group(1).strip().split(", ") == ["README.md"], output[-3000:]

    refused = run(["git", "commit", "--quiet", "-am", "Take the update"], project, check=False)
    assert refused.returncode != 0
    assert "README.md" in refused.stdout + refused.stderr
    assert "Merge conflict string" in refused.stdout + refused.stderr
    assert run(["git", "log", "-1", "--format=%s"], project).stdout.strip() == "Our wording"
    security = (project / "noxfile.py").read_text()
    assert '"pre-commit", "run", "--all-files"' in security, "CI's security job runs every hook"
    ci = run(["uv", "run", "--locked", "pre-commit", "run", "--all-files"], project, check=False)
    assert ci.returncode != 0
    assert "README.md" in ci.stdout + ci.stderr

    readme = project / "README.md"
    resolved = ("<<<<<<< ", "=======", ">>>>>>> ", "You need a recent")
    lines = readme.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(resolved)]
    readme.write_text("".join(kept))
    commit(project, "Take the update")  # resolved: the hooks let it through


def test_a_regression_project_stays_one_across_an_update(template: Path, tmp_path: Path) -> None:
    """The task is an answer: an update keeps it, with the regression modules and files."""
    project = generate(template, tmp_path / "project", ml_task="regression")
    package = "disease_progression"
    edit(project, "params.yaml", "threshold: 60", "threshold: 58")
    commit(project, "Our threshold")
    release(
        template,
        "v1.1.0",
        {
            "template/src/{{ package_name }}/gate.py": (
                "\ndef judge(",
                "\n# The gate reads params.yaml.\ndef judge(",
            ),
        },
    )
    update(project)
    assert leftovers(project) == []
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["ml_task"] == "regression"
    assert 'TASK = "regression"' in (project / f"src/{package}/task.py").read_text()
    assert "threshold: 58" in (project / "params.yaml").read_text()
    assert "progression:" in (project / "schema.yaml").read_text()
    assert not (project / ".dvc/plots/class_curve.json").exists()
    status = run(["git", "status", "--porcelain"], project).stdout.splitlines()
    assert sorted(line[3:] for line in status) == [
        ".copier-answers.yml",
        f"src/{package}/gate.py",
    ]


@pytest.mark.project
@pytest.mark.full
def test_a_parameter_added_by_a_release_reaches_an_existing_project(
    template: Path, tmp_path: Path
) -> None:
    """params.yaml is the user's, so a release cannot add a key to it: the code reads a key a
    release added with its default, says so in one line, and the pipeline runs on."""
    params = template / CLASSIFICATION_PARAMS
    line = "  class_weight: null # or balanced: weigh classes by how rare they are\n"
    assert line in params.read_text()
    params.write_text(params.read_text().replace(line, ""))
    run(["git", "commit", "--quiet", "--all", "-m", "Release without class_weight"], template)
    run(["git", "tag", "--force", "v1.0.0"], template)
    project = generate(template, tmp_path / "project")
    edit(project, "params.yaml", "n_estimators: 200", "n_estimators: 20")
    commit(project, "Our parameters")

    release(
        template,
        "v1.1.0",
        {
            CLASSIFICATION_PARAMS: (
                "  seed: 42\n  random_forest:",
                "  seed: 42\n" + line + "  random_forest:",
            )
        },
    )
    update(project)
    assert leftovers(project) == []
    assert "class_weight" not in (project / "params.yaml").read_text(), "params.yaml is the user's"
    commit(project, "Update the template to v1.1.0")
    install(project)
    result = run(["uv", "run", "--locked", "dvc", "repro"], project)
    note = (
        "note: params.yaml has no train.class_weight; using None "
        "(add `class_weight` under `train` to choose)"
    )
    assert note in result.stdout + result.stderr
    assert "n_estimators: 20" in (project / "params.yaml").read_text()


def previous_release() -> tuple[str, str]:
    """The newest release whose CHANGELOG entry names its commit: (tag, commit)."""
    named = released_commits(CHANGELOG.read_text(encoding="utf-8"))
    if not named:
        pytest.fail("CHANGELOG.md names no released commit (`Commit: <sha>`)")
    return next(iter(named.items()))


def follow_migration_notes(project: Path) -> None:
    """What CHANGELOG.md's migration notes since the previous release ask of a project by
    hand: one still on the sample data with its label from v0.1.0 renames it."""
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    if "source: sklearn:breast_cancer" in text and re.search(r"(?m)^  target: target\b", text):
        params.write_text(re.sub(r"(?m)^  target: target\b", "  target: diagnosis", text))
        edit(project, "schema.yaml", "target: {type: int, allowed: [0, 1]}",
             "diagnosis: {type: category, allowed: [malignant, benign]}")  # fmt: skip


@pytest.mark.project
@pytest.mark.full
def test_a_project_of_the_previous_release_updates_to_this_one(
    template_repo: Path, tmp_path: Path
) -> None:
    """A project generated from the newest release tag takes this version of the template
    with `copier update`: nothing conflicts, and once the CHANGELOG's migration notes are
    followed, its lint, tests and pipeline pass."""
    tag, released = previous_release()
    template = tmp_path / "template"
    # The release's tag as the template's users see it, whether or not this clone has tags.
    run(["git", "clone", "--quiet", "--no-tags", str(REPO_ROOT), str(template)], tmp_path)
    run(["git", "tag", "--annotate", tag, released, "-m", tag], template)
    for path in template.iterdir():  # the clone's next commit: the template under test
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(template_repo, template, ignore=shutil.ignore_patterns(".git"),
                    dirs_exist_ok=True)  # fmt: skip
    run(["git", "add", "--all"], template)
    run(["git", "commit", "--quiet", "--allow-empty", "-m", "The template under test"], template)
    project = tmp_path / "project"
    run_copy(str(template), str(project), defaults=True, quiet=True, vcs_ref=tag)
    for command in (["init", "--quiet", "-b", "main"], ["add", "--all"]):
        run(["git", *command], project)
    run(["git", "commit", "--quiet", "-m", f"Generated from {tag}"], project)

    run_update(str(project), defaults=True, overwrite=True, quiet=True, unsafe=True, vcs_ref="HEAD")
    assert leftovers(project) == []
    assert read_answers(project)["_commit"] != tag
    follow_migration_notes(project)
    commit(project, "Update the template")
    install(project)
    run(["uv", "run", "--locked", "nox", "-s", "lint", "tests", "pipeline"], project)
