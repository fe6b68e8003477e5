"""The generated pre-commit hooks pass on every variant, run here without cloning anything.

Hook repositories cannot be cloned on every machine, so each hook's own tool is installed in
the test environment at the version the config pins (checked below, so the two never drift)
and run the way the hook runs it, with the config's arguments, over the rendered project.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import read_answers, render, run
from .docs_blocks import as_script, run_at_a_terminal, shell_block
from .matrix import Variant

# Hook repository -> the PyPI distribution that carries its tool.
HOOK_PACKAGES = {
    "https://github.com/pre-commit/pre-commit-hooks": "pre-commit-hooks",
    "https://github.com/astral-sh/ruff-pre-commit": "ruff",
    "https://github.com/Yelp/detect-secrets": "detect-secrets",
    "https://github.com/PyCQA/bandit": "bandit",
    "https://github.com/zizmorcore/zizmor-pre-commit": "zizmor",
    "https://github.com/python-jsonschema/check-jsonschema": "check-jsonschema",
    "https://github.com/kynan/nbstripout": "nbstripout",
    "https://github.com/codespell-project/codespell": "codespell",
}
# Hook id -> (command the hook runs, which files it is given); the config's args are added.
HOOKS = {
    "check-added-large-files": (["check-added-large-files", "--enforce-all"], r".*"),
    "detect-private-key": (["detect-private-key"], r".*"),
    "check-merge-conflict": (["check-merge-conflict"], r".*"),
    "check-yaml": (["check-yaml"], r".*\.ya?ml$"),
    "check-toml": (["check-toml"], r".*\.toml$"),
    "check-json": (["check-json"], r".*\.(json|ipynb)$"),
    "ruff-check": (["ruff", "check", "--force-exclude"], r".*\.(py|ipynb)$"),
    "ruff-format": (["ruff", "format", "--force-exclude", "--check"], r".*\.(py|ipynb)$"),
    "detect-secrets": (["detect-secrets-hook"], r".*"),
    "bandit": (["bandit"], r".*\.py$"),
    "zizmor": (["zizmor", "--no-progress"], r"^\.github/.*\.ya?ml$"),
    "hadolint": (["hadolint"], r"(^|/)Dockerfile$"),
    "check-github-workflows": (
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows"],
        r"^\.github/workflows/.*\.ya?ml$",
    ),
    "check-dependabot": (
        ["check-jsonschema", "--builtin-schema", "vendor.dependabot"],
        r"^\.github/dependabot\.ya?ml$",
    ),
    "check-gitlab-ci": (
        ["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci"],
        r"^\.gitlab-ci\.ya?ml$",
    ),
    "check-renovate": (
        ["check-jsonschema", "--builtin-schema", "vendor.renovate"],
        r"^renovate\.json$",
    ),
    "nbstripout": (["nbstripout", "--verify"], r".*\.ipynb$"),
    "codespell": (["codespell"], r".*"),
    # Runs in the project's own environment, so it is run where that exists: the lint
    # session (`nox -s lint`) of every project that tests/test_project.py sets up.
    "mypy": (None, r"^src/.*\.py$"),
    "no-update-rejects": ([], r".*\.rej$"),
}


def pre_commit_config(project: Path) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    return config


def hooks(project: Path) -> list[tuple[str, dict[str, Any]]]:
    """(repository, hook) for every hook the config declares."""
    return [
        (repo["repo"], hook)
        for repo in pre_commit_config(project)["repos"]
        for hook in repo["hooks"]
    ]


def project_files(project: Path) -> list[str]:
    return sorted(
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.parts
    )


def test_pre_commit_config_validates(variant: Variant, rendered: Path) -> None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    result = subprocess.run(
        [str(pre_commit), "validate-config", ".pre-commit-config.yaml"],
        cwd=rendered, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hook_passes(variant: Variant, rendered: Path, tmp_path: Path) -> None:
    # A committed copy: several hooks ask git about the files, and tools leave caches behind.
    project = tmp_path / "project"
    shutil.copytree(rendered, project)
    for git in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "x"]):
        subprocess.run(["git", *git], cwd=project, check=True, capture_output=True)
    files = project_files(project)
    failures = []
    for _, hook in hooks(rendered):
        assert hook["id"] in HOOKS, f"hook {hook['id']} has no runner in this test"
        command, pattern = HOOKS[hook["id"]]
        selected = [name for name in files if re.match(hook.get("files", pattern), name)]
        exclude = hook.get("exclude")
        selected = [name for name in selected if not (exclude and re.search(exclude, name))]
        if command is None:
            continue
        if not command:
            if selected:
                failures.append(f"{hook['id']}: {selected}")
            continue
        if not selected:
            continue
        executable = Path(sys.executable).parent / command[0]
        argv = [str(executable), *command[1:], *hook.get("args", []), *selected]
        result = subprocess.run(argv, cwd=project, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            failures.append(f"{hook['id']}:\n{result.stdout}{result.stderr}")
    assert failures == [], "\n".join(failures)


def test_hook_versions_match_the_tools_tested(variant: Variant, rendered: Path) -> None:
    """A tool pinned in two places (hook rev, pyproject, test environment) never drifts."""
    for repository, _ in hooks(rendered):
        if repository == "local":
            continue
        revision = next(
            r["rev"] for r in pre_commit_config(rendered)["repos"] if r["repo"] == repository
        )
        package = HOOK_PACKAGES[repository]
        assert metadata.version(package) == revision.removeprefix("v"), package
    for repo in pre_commit_config(rendered)["repos"]:
        for hook in repo["hooks"]:
            for requirement in hook.get("additional_dependencies", []):
                name, version = re.split(r"(?:\[[^\]]*\])?==", requirement)
                assert metadata.version(name) == version, requirement
    pyproject = tomllib.loads((rendered / "pyproject.toml").read_text())
    ruff = next(dep for dep in pyproject["dependency-groups"]["dev"] if str(dep).startswith("ruff"))
    assert ruff == f"ruff=={metadata.version('ruff')}"


def test_security_files_name_the_answers(variant: Variant, rendered: Path) -> None:
    answers = read_answers(rendered)
    assert answers["author_email"] in (rendered / "SECURITY.md").read_text()
    owners = (rendered / "CODEOWNERS").read_text().splitlines()[-1]
    assert owners == f"* {answers['code_owners']}"


@pytest.mark.project
def test_faq_recipe_for_a_false_alarm_satisfies_the_hook(
    template_repo: Path, tmp_path: Path
) -> None:
    """docs/faq.md: a checksum that looks like a secret is flagged; after the page's scan and
    an audit that answers `y`, the baseline records it as no secret and the hook passes."""
    project = render(template_repo, tmp_path / "project", {})
    checksums = "tests/checksums.py"
    (project / checksums).write_text('DATASET_SHA1 = "f3a9c1e27b84d6059a1e3c7b2d8f4e6a91b0c5d7"\n')
    for command in (["init", "--quiet"], ["add", "--all"]):
        run(["git", *command], project)
    hook = [str(Path(sys.executable).parent / "detect-secrets-hook")]
    hook += ["--baseline", ".secrets.baseline", checksums]
    assert run(hook, project, check=False).returncode != 0, "the checksum is flagged at first"

    script = as_script(shell_block("faq.md", "Security hooks"))
    session = run_at_a_terminal(script, project, {r"\(y\)es, \(n\)o, \(s\)kip": "y"})
    assert session.status == 0, session.text[-3000:]
    assert "Should this string be committed to the repository?" in session.text
    findings = json.loads((project / ".secrets.baseline").read_text())["results"]
    assert [finding["is_secret"] for finding in findings[checksums]] == [False]
    run(["git", "add", ".secrets.baseline"], project)  # the page: "then commit" it
    run(hook, project)
