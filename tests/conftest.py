"""Fixtures for rendering the template and running the generated projects' own checks.

Tests are hermetic: git reads a temporary config, DVC keeps its site cache in a temporary
directory, and the template is rendered from a temporary git copy of this repository.
Only uv's package cache is shared (across variants and runs) so that installs stay fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from .matrix import Variant, choice_values, questions, variants

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMAND_TIMEOUT = 1200


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        help="run every generated project's checks end to end, not only the defaults'",
    )


def project_variants(config: pytest.Config) -> list[Variant]:
    """Variants whose projects are set up and checked end to end."""
    every = variants()
    return every if config.getoption("--full") else [every[0]]


def answer(variant: Variant, name: str) -> Any:
    """A variant's answer to a question: its own, or the question's default."""
    return variant.answers.get(name, questions()[name]["default"])


def applicable(variant: Variant, marker: pytest.Mark) -> bool:
    """Whether a variant has what `@pytest.mark.applies_to(question=(values, ...))` asks."""
    return all(answer(variant, name) in values for name, values in marker.kwargs.items())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        chosen = variants()
        for marker in metafunc.definition.iter_markers("applies_to"):
            chosen = [variant for variant in chosen if applicable(variant, marker)]
        assert chosen, f"{metafunc.definition.name}: no variant has what applies_to asks"
        metafunc.parametrize("variant", chosen, ids=lambda v: v.name, scope="session")
    if "project_variant" in metafunc.fixturenames:
        chosen = project_variants(metafunc.config)
        metafunc.parametrize("project_variant", chosen, ids=lambda v: v.name, scope="session")


@pytest.fixture(scope="session", autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Isolate git and DVC from the developer's configuration for the whole session."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Template Tests\n\temail = tests@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("DVC_NO_ANALYTICS", "1")
        patch.setenv("DVC_SITE_CACHE_DIR", str(home / "dvc-site-cache"))
        patch.setenv("DVC_GLOBAL_CONFIG_DIR", str(home / "dvc-global"))
        patch.setenv("DVC_SYSTEM_CONFIG_DIR", str(home / "dvc-system"))
        # One mypy cache for every generated project: the libraries' types are read once
        # per Python version instead of once per project (about 30 s each).
        patch.setenv("MYPY_CACHE_DIR", str(home / "mypy-cache"))
        for name in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "UV_PYTHON"):
            patch.delenv(name, raising=False)
        yield


def system_tool(name: str, install: str) -> str:
    """A program from the system's packages: its path. Missing, it skips the test on a
    laptop and fails it in CI (`CI` set), where `.ci/run` installs it."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed ({install}; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def run(command: Sequence[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail the test with the command and its output."""
    result = subprocess.run(
        list(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr)[-6000:]
        pytest.fail(f"`{' '.join(command)}` exited {result.returncode} in {cwd}:\n{output}")
    return result


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed git copy of this repository's files (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    copy = tmp_path_factory.mktemp("template")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    run(["git", "init", "--quiet"], copy)
    run(["git", "add", "--all"], copy)
    run(["git", "commit", "--quiet", "-m", "template under test"], copy)
    return copy


def render(template: Path, destination: Path, answers: dict[str, Any]) -> Path:
    """Render the template with ``answers`` (defaults for the rest) into ``destination``."""
    run_copy(
        str(template),
        str(destination),
        data=answers,
        defaults=True,
        quiet=True,
        vcs_ref="HEAD",
        unsafe=False,
    )
    return destination


def read_answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rendered(
    variant: Variant, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The project rendered for ``variant`` (render only, nothing installed)."""
    return render(template_repo, tmp_path_factory.mktemp(variant.name) / "project", variant.answers)


@pytest.fixture(scope="session")
def project(
    project_variant: Variant, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A project set up as its README says: git repository, uv.lock, synced environment."""
    destination = tmp_path_factory.mktemp(f"project-{project_variant.name}") / "project"
    return setup_project(render(template_repo, destination, project_variant.answers))


@pytest.fixture(scope="session")
def ci_projects(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Projects with both CI providers, one per DVC remote (the matrix pairs remotes and
    providers only partly) and one publishing the report with CML, keyed by that answer."""
    cases = {kind: {"dvc_remote": kind} for kind in choice_values(questions()["dvc_remote"])}
    cases["cml"] = {"report_publisher": "cml"}
    projects = {}
    for name, answers in cases.items():
        destination = tmp_path_factory.mktemp(f"ci-{name}") / "project"
        projects[name] = render(template_repo, destination, answers | {"ci_provider": "both"})
    return projects


def install(project: Path) -> None:
    """Pin the project's dependencies and create its environment, as its README says."""
    run(["uv", "lock", "--quiet"], project)
    run(["uv", "sync", "--locked", "--quiet"], project)


def setup_project(project: Path) -> Path:
    """Follow the generated README's set-up steps, then commit the result."""
    run(["git", "init", "--quiet", "-b", "main"], project)
    install(project)
    run(["git", "add", "--all"], project)
    run(["git", "commit", "--quiet", "-m", "Generated project"], project)
    return project


def point_params_at(project: Path, source: str, target: str, positive_class: str | None) -> None:
    """Edit params.yaml as a user would after bringing their own data: the data source, the
    label column and, for two classes, the class that binary metrics describe."""
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    edits = {
        r"(?m)^(  source: )\S+": source,
        r"(?m)^(  target: )\S+": target,
        r"(?m)^(  positive_class: )\S+": positive_class or "null",
    }
    for pattern, value in edits.items():
        text, count = re.subn(pattern, lambda match, value=value: match.group(1) + value, text)
        assert count == 1, f"params.yaml no longer has one line matching {pattern!r}"
    params.write_text(text, encoding="utf-8")


def pipeline_stages(project: Path) -> list[str]:
    """The project's stage names in the order dvc.yaml lists them (DVC's order here)."""
    return list(yaml.safe_load((project / "dvc.yaml").read_text())["stages"])


def stages_affected_by(project: Path, param: str) -> list[str]:
    """The stages that a change to ``param`` (dotted) makes `dvc repro` run, in order: those
    that declare it (or a section holding it), and those reading what they write."""

    def names(entries: list[Any]) -> set[str]:
        return {entry if isinstance(entry, str) else next(iter(entry)) for entry in entries}

    affected, written = [], set()
    for name, stage in yaml.safe_load((project / "dvc.yaml").read_text())["stages"].items():
        declared = names(stage.get("params", []))
        reads = names(stage.get("deps", []))
        if any(param == key or param.startswith(key + ".") for key in declared) or reads & written:
            affected.append(name)
            for kind in ("outs", "metrics", "plots"):
                written |= names(stage.get(kind, []))
    return affected
