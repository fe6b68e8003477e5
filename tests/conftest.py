"""Fixtures for rendering the template and running the generated projects' own checks.

Tests are hermetic: git reads a temporary config, DVC keeps its site cache in a temporary
directory, and the template is rendered from a temporary git copy of this repository.
Only uv's package cache is shared (across variants and runs) so that installs stay fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
        for marker in metafunc.definition.iter_markers("applies_to"):
            chosen = [variant for variant in chosen if applicable(variant, marker)]
        metafunc.parametrize("project_variant", chosen, ids=lambda v: v.name, scope="session")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --full, leave out the tests marked `full` (pytest lists them as deselected).

    Keep tests that share a costly fixture on one pytest-xdist worker (`--dist loadgroup`,
    as `nox -s tests` runs them), so that no two workers set up the same project: those of
    one set-up project variant, and those of a module sharing a module-scoped fixture
    (one group per parameter of such a fixture). A test marked `xdist_group` keeps its own."""
    if not config.getoption("--full"):
        stories = [item for item in items if item.get_closest_marker("full")]
        if stories:
            config.hook.pytest_deselected(items=stories)
            items[:] = [item for item in items if not item.get_closest_marker("full")]
    items.sort(key=run_order)
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue  # the test chose its group
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec else {}
        if "project_variant" in params:
            item.add_marker(pytest.mark.xdist_group(f"project-{params['project_variant'].name}"))
            continue
        if not isinstance(item, pytest.Function):
            continue
        definitions = item._fixtureinfo.name2fixturedefs  # pytest has no public view of it
        scoped = [name for name, defs in definitions.items() if defs[-1].scope == "module"]
        if scoped:
            ids = [str(params[name]) for name in sorted(scoped) if name in params]
            item.add_marker(pytest.mark.xdist_group("-".join([item.module.__name__, *ids])))


# Variables the tests' processes must not inherit: another environment's, and
# PYTHONDONTWRITEBYTECODE. Generated projects import their libraries in many short processes
# (stages, DVC, nox, pytest): without cached bytecode each process compiles them again (4 s
# for scikit-learn and pandas).
NOT_INHERITED = (
    "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "UV_PYTHON", "PYTHONDONTWRITEBYTECODE"
)  # fmt: skip


def hermetic_settings(home: Path) -> dict[str, str]:
    """The environment that isolates git and DVC from the developer's configuration, with
    its files in ``home``."""
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Template Tests\n\temail = tests@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    return {
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
        # One mypy cache for every generated project: the libraries' types are read once
        # per Python version instead of once per project (about 30 s each).
        "MYPY_CACHE_DIR": str(home / "mypy-cache"),
        # One server process where a test starts the service (its default is one per CPU):
        # the tests share the machine's cores, and those about worker processes set their own.
        "SERVE_WORKERS": "1",
    }


@pytest.fixture(scope="session", autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Isolate git and DVC from the developer's configuration for the whole session."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in hermetic_settings(tmp_path_factory.mktemp("home")).items():
            patch.setenv(name, value)
        for name in NOT_INHERITED:
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
    return copy_template(tmp_path_factory.mktemp("template"))


def copy_template(copy: Path) -> Path:
    """Copy this repository's files (tracked and new, not ignored) into ``copy``, a new
    directory, and commit them there."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
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
    answers: dict[str, Any] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return answers


@pytest.fixture(scope="session")
def rendered(
    variant: Variant, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The project rendered for ``variant`` (render only, nothing installed)."""
    return render(template_repo, tmp_path_factory.mktemp(variant.name) / "project", variant.answers)


# The shared trained project's answers: the defaults, but for the Python version, which is
# the one the local container base image has (Debian bookworm's python3), so that the same
# project is built into an image too.
TRAINED_ANSWERS = {"python_version": "3.11"}
# What a copy of a project leaves out: the environment (its scripts name their folder) and
# tools' caches, which the copy makes again.
NOT_COPIED = (".venv", ".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache")


@contextlib.contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` (made if missing) across processes."""
    with lock.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every process of the run sees: with pytest-xdist, the workers' common
    parent; alone, the session's temporary directory."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def trained_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project set up as its README says whose pipeline has run, committed as "Train the
    model" on top of "Generated project". Made once per run, whatever the number of worker
    processes (usually beforehand, by `prebuild_trained_project`), and shared: tests never
    change it, they take a `copy_project` of it."""
    return build_trained_project(shared_directory(tmp_path_factory) / TRAINED, template_repo)


TRAINED = "trained"  # the shared directory's folder for the trained project


def build_trained_project(home: Path, template: Path) -> Path:
    """The trained project in ``home``/project, made from ``template`` unless another
    process made it already (or is making it: this waits)."""
    home.mkdir(exist_ok=True)
    project, done = home / "project", home / "done"
    with exclusive(home / "lock"):
        if not done.exists():
            shutil.rmtree(project, ignore_errors=True)  # a process that failed half-way
            setup_project(render(template, project, TRAINED_ANSWERS))
            run(["uv", "run", "--locked", "dvc", "repro"], project)
            run(["git", "add", "--all"], project)
            run(["git", "commit", "--quiet", "-m", "Train the model"], project)
            done.touch()
    return project


def run_order(item: pytest.Item) -> int:
    """The longest tests first, so that the many short ones fill the workers' ends: the
    projects set up per variant, then the stories of the shared trained project (made
    meanwhile: see PREBUILD), then the rest."""
    callspec = getattr(item, "callspec", None)
    if callspec and "project_variant" in callspec.params:
        return 0
    return 1 if "trained_project" in getattr(item, "fixturenames", ()) else 2


# With pytest-xdist, the controlling process only hands tests out: it makes the trained
# project meanwhile, so that a worker waiting for it leaves no core idle (without it, one
# worker made it while the other waited, about 35 s on 2 cores).
PREBUILD = pytest.StashKey[subprocess.Popen[bytes]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    controller = config.getoption("dist", "no") != "no" and not hasattr(config, "workerinput")
    # Not when a path, `-k` or `-m` picks some tests: they may not need the project at all.
    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS and not (
        config.option.keyword or config.option.markexpr
    )
    if not (controller and whole_suite):
        return
    # pytest's own factory, as pytest-xdist reads it to give each worker a folder in it.
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
    home = factory.getbasetemp() / TRAINED
    home.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    with (home / "prebuild.log").open("wb") as log:
        config.stash[PREBUILD] = subprocess.Popen(  # this interpreter, this file
            [sys.executable, "-m", "tests.conftest", str(home)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    builder = session.config.stash.get(PREBUILD, None)
    if builder is not None and builder.poll() is None:  # the run ended early
        builder.terminate()
        builder.wait(timeout=60)


def prebuild(home: Path) -> None:
    """Make the trained project in ``home`` in a process of its own, with the tests'
    isolated settings; a worker makes it itself if this fails (and reports why)."""
    settings = home / "settings"
    settings.mkdir(exist_ok=True)
    os.environ.update(hermetic_settings(settings))
    build_trained_project(home, copy_template(Path(tempfile.mkdtemp(dir=home))))


def copy_project(project: Path, destination: Path) -> Path:
    """A copy of a set-up project that a test may change: its files, git history and DVC
    cache, with an environment of its own made from its uv.lock (from uv's cache)."""
    shutil.copytree(project, destination, symlinks=True, ignore=shutil.ignore_patterns(*NOT_COPIED))
    run(["uv", "sync", "--locked", "--quiet"], destination)
    return destination


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


def point_params_at(
    project: Path, source: str, target: str, positive_class: str | None, slices: tuple[str, ...]
) -> None:
    """Edit params.yaml as a user would after bringing their own data: the data source, the
    target column, the columns to measure slices of and, for a classifier of two classes,
    the class that binary metrics describe (a regression project's params.yaml has no such
    line)."""
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    edits = {
        r"(?m)^(  source: )\S+": source,
        r"(?m)^(  target: )\S+": target,
        r"(?m)^(    columns: ).+$": "[" + ", ".join(slices) + "]",
    }
    chosen = r"(?m)^(  positive_class: )\S+"
    if positive_class is not None or re.search(chosen, text):
        edits[chosen] = positive_class or "null"
    for pattern, value in edits.items():
        text, count = re.subn(pattern, lambda match: match.group(1) + value, text)  # noqa: B023
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

    affected: list[str] = []
    written: set[str] = set()
    for name, stage in yaml.safe_load((project / "dvc.yaml").read_text())["stages"].items():
        declared = names(stage.get("params", []))
        reads = names(stage.get("deps", []))
        if any(param == key or param.startswith(key + ".") for key in declared) or reads & written:
            affected.append(name)
            for kind in ("outs", "metrics", "plots"):
                written |= names(stage.get(kind, []))
    return affected


def fresh_virtual_environment(where: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new virtual environment first on PATH: a machine with Python, pip and git only."""
    venv = where / "venv"
    run([sys.executable, "-m", "venv", str(venv)], where)
    monkeypatch.setenv("PATH", f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return venv


def assert_gate_passed_on_the_metrics(output: str, project: Path) -> None:
    """The run printed the gate's verdict on the score its metrics.json holds, against the
    threshold its params.yaml sets."""
    found = re.search(
        r"quality gate passed: (\w+) = ([\d.]+) against a (minimum|maximum) of ([\d.]+)", output
    )
    assert found, f"no passing gate in the output:\n{output[-3000:]}"
    metric, value, bound, threshold = found.groups()
    scores = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    gate = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["gate"]
    assert (scores[metric], gate["metric"]) == (float(value), metric)
    assert gate["threshold"] == float(threshold)
    if bound == "minimum":
        assert float(threshold) <= scores[metric]
    else:
        assert scores[metric] <= float(threshold)


if __name__ == "__main__":
    prebuild(Path(sys.argv[1]))
