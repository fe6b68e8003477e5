"""Render every variant and check the output without installing anything."""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import read_answers, render
from .matrix import COPIER_YML, Variant, choice_questions, covered_values, questions
from .test_hostile import parse_every_file

MODULES = (
    *("__init__", "config", "evaluate", "figures", "gate", "model_io", "prepare", "revision"),
    *(
        "monitor",
        "report",
        "train",
        "validate",
        "contract",
        "task",
        "schema",
        "slices",
        "card",
        "contract_diff",
    ),
)
TESTS = (
    *("__init__", "conftest", "fake_api", "test_evaluate", "test_gate", "test_model_io"),
    *("test_pipeline", "test_prepare", "test_publish", "test_train", "test_validate"),
    *(
        "test_monitor",
        "rows",
        "test_schema",
        "test_task",
        "test_slices",
        "test_card",
        "test_reproduce",
        "test_contract_diff",
    ),
)
COMMON_FILES = {
    ".copier-answers.yml",
    ".pre-commit-config.yaml",
    ".secrets.baseline",
    "CODEOWNERS",
    "SECURITY.md",
    ".dvc/.gitignore",
    ".dvc/config",
    ".dvcignore",
    ".gitattributes",
    ".gitignore",
    ".python-version",
    "README.md",
    "data/external/README.md",
    "dvc.yaml",
    "noxfile.py",
    "params.yaml",
    "model_card.yaml",
    "pyproject.toml",
    "schema.yaml",
    "ci/__init__.py",
    "ci/publish.py",
    "ci/reproduce.py",
    "ci/push_metrics.py",
    "ci/template_update.py",
}
DEPLOY_FILES = {
    "deploy/alerts.yaml",
    "deploy/alerts-test.yaml",
    "deploy/base/autoscaler.yaml",
    "deploy/base/deployment.yaml",
    "deploy/base/disruption-budget.yaml",
    "deploy/base/kustomization.yaml",
    "deploy/base/service.yaml",
    "deploy/overlays/production/kustomization.yaml",
    "deploy/overlays/staging/kustomization.yaml",
}
# Jinja left in output; GitHub's own `${{ ... }}` expressions are allowed.
LEFTOVER_JINJA = re.compile(r"\{%|%\}|\{#|#\}|(?<!\$)\{\{")


def expected_files(answers: dict[str, Any]) -> set[str]:
    """The exact file tree a project with these answers must have."""
    package = answers["package_name"]
    files = set(COMMON_FILES)
    files |= {f"src/{package}/{module}.py" for module in MODULES}
    files |= {f"tests/{name}.py" for name in TESTS}
    if answers["ml_task"] == "classification":
        files.add(".dvc/plots/class_curve.json")
    if answers["license"] != "Proprietary":
        files.add("LICENSE")
    if answers["ci_provider"] in ("github", "both"):
        files |= {".github/dependabot.yml", ".github/workflows/ci.yml"}
        files.add(".github/workflows/codeql.yml")
        files.add(".github/workflows/report.yml")
        files.add(".github/workflows/monitor.yml")
        files.add(".github/workflows/template-update.yml")
        if answers["serve_api"]:
            files.add(".github/workflows/deploy.yml")
    if answers["ci_provider"] in ("gitlab", "both"):
        files |= {".gitlab-ci.yml", "renovate.json"}
    if answers["serve_api"]:
        files |= DEPLOY_FILES
        files |= {"Dockerfile", ".dockerignore", f"src/{package}/serve.py", "tests/test_serve.py"}
        files |= {
            f"src/{package}/{name}.py" for name in ("export", "inference", "outputs", "signature")
        }
        files.add("tests/test_export.py")
        files |= {"ci/image.py", "ci/deploy.py"}
    if answers["devcontainer"]:
        files |= {".devcontainer/devcontainer.json", ".devcontainer/Dockerfile"}
    if answers["binder"]:
        files |= {"binder/postBuild", "binder/requirements.txt", "binder/runtime.txt"}
        files |= {"notebooks/explore.ipynb"}
    return files


def tree(project: Path) -> set[str]:
    return {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}


def test_every_choice_value_is_rendered() -> None:
    covered = covered_values()
    for name, values in choice_questions().items():
        assert covered[name] == set(values), f"{name}: some choices are never rendered"


def test_every_question_helps_the_user() -> None:
    for name, body in questions().items():
        assert body.get("help"), f"{name} has no help text"
        assert "default" in body, f"{name} has no default, so --defaults would fail"
        if body.get("type", "str") == "str" and "choices" not in body:
            assert "validator" in body, f"free-text question {name} has no validator"


def test_file_tree_is_exact(variant: Variant, rendered: Path) -> None:
    assert tree(rendered) == expected_files(read_answers(rendered))


def test_answers_are_recorded(variant: Variant, rendered: Path) -> None:
    answers = read_answers(rendered)
    for name, value in variant.answers.items():
        assert answers[name] == value
    assert answers["_src_path"].startswith("/"), "an update needs an absolute template path"
    assert answers["_commit"]


def test_no_leftover_jinja(variant: Variant, rendered: Path) -> None:
    leftovers = []
    for path in sorted(rendered.rglob("*")):
        if path.is_file():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if LEFTOVER_JINJA.search(line):
                    leftovers.append(f"{path.relative_to(rendered)}:{number}: {line.strip()}")
    assert leftovers == []


def test_every_file_parses(variant: Variant, rendered: Path) -> None:
    """Each file, read by its format's own parser (TOML, YAML, JSON, notebooks, Python, shell,
    Dockerfile, Markdown, INI, CODEOWNERS); a file of no known format fails."""
    parse_every_file(rendered)


def test_python_compiles(variant: Variant, rendered: Path) -> None:
    for path in rendered.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_readme_layout_lines_up(variant: Variant, rendered: Path) -> None:
    """Each path of the README's layout table has its description at the same column, also
    for the longest package name (whose description then starts on the next line)."""
    readme = (rendered / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Layout\n\n```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    package = read_answers(rendered)["package_name"]
    assert any(line.startswith(f"src/{package}/") for line in table)
    column = len(table[0]) - len(table[0].removeprefix("params.yaml").lstrip())
    for line, following in zip(table, [*table[1:], ""], strict=True):
        if " " not in line.strip():  # a path too long for the column: described below it
            assert following.startswith(" " * column) and following[column] != " ", line
        elif not line.startswith(" "):
            assert line[column - 1] == " " and line[column] != " ", line


def test_pyproject_follows_the_answers(variant: Variant, rendered: Path) -> None:
    answers = read_answers(rendered)
    pyproject = tomllib.loads((rendered / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["name"] == answers["package_name"].replace("_", "-")
    assert project["description"] == answers["description"]
    author = {"name": answers["author_name"], "email": answers["author_email"]}
    assert project["authors"] == [author]
    assert project["requires-python"] == f">={answers['python_version']}"
    assert pyproject["tool"]["uv"]["build-backend"]["module-name"] == answers["package_name"]
    dvc = next(dep for dep in pyproject["dependency-groups"]["dev"] if str(dep).startswith("dvc"))
    extra = {"local": "", "s3": "[s3]", "gcs": "[gs]", "azure": "[azure]", "ssh": "[ssh]"}
    assert dvc == f"dvc{extra[answers['dvc_remote']]}>=3.60"
    assert (rendered / ".python-version").read_text() == f"{answers['python_version']}\n"
    version = answers["python_version"]
    tool = pyproject["tool"]
    assert tool["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert tool["mypy"]["python_version"] == version


def test_checks_are_strict(variant: Variant, rendered: Path) -> None:
    """The settings that make lint and tests strict, which tests/test_project.py then runs:
    mypy strict on src/ in the lint session and a hook, pytest strict, spelling, nox pinned."""
    tool = tomllib.loads((rendered / "pyproject.toml").read_text())["tool"]
    assert tool["mypy"]["strict"] is True and tool["mypy"]["files"] == ["src"]
    pytest_options = tool["pytest"]["ini_options"]
    assert {"--strict-markers", "--strict-config"} <= set(pytest_options["addopts"])
    assert pytest_options["xfail_strict"] is True
    assert pytest_options["filterwarnings"][0] == "error"
    assert pytest_options["minversion"]
    noxfile = (rendered / "noxfile.py").read_text()
    assert re.search(r'^nox\.needs_version = ">=[\d.]+"$', noxfile, re.M)
    assert re.search(r'^nox\.options\.sessions = \["lint", "tests"\]$', noxfile, re.M)
    lint = noxfile[noxfile.index("def lint(") : noxfile.index("def fmt(")]
    assert '"mypy")' in lint
    config = yaml.safe_load((rendered / ".pre-commit-config.yaml").read_text())
    hook_ids = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"mypy", "codespell", "ruff-check", "ruff-format"} <= hook_ids


def test_dvc_remote_follows_the_answers(variant: Variant, rendered: Path) -> None:
    answers = read_answers(rendered)
    config = configparser.ConfigParser()
    config.read_string((rendered / ".dvc/config").read_text())
    assert config["core"]["remote"] == "storage"
    assert config["'remote \"storage\"'"]["url"] == answers["dvc_remote_url"]


# "Dockerfile" as a name, not Renovate's `dockerfile` manager (the dev container's has one).
SERVICE_WORDS = re.compile(
    r"(?<!devcontainer/)(?-i:Dockerfile)|deploy/|alerts\.yaml|`serve`|serve\.py"
    r"|nox -s (?:serve|image|deploy)\b|/predict\b|uvicorn|fastapi",
    re.IGNORECASE,
)


def test_a_project_without_the_service_never_mentions_it(
    template_repo: Path, tmp_path: Path
) -> None:
    """With serve_api=false, no file points at a Dockerfile, a deploy folder, a `serve`
    group or an endpoint that the project does not have (the dev container's own image is
    not the service's)."""
    project = render(
        template_repo, tmp_path / "project", {"serve_api": False, "ci_provider": "both"}
    )
    mentions = [
        f"{path.relative_to(project)}:{number}: {line.strip()}"
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and not {".git", ".devcontainer"} & set(path.parts)
        and path.name != ".copier-answers.yml"
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if SERVICE_WORDS.search(line)
    ]
    assert not mentions, "\n".join(mentions)


DEVCONTAINER_SCHEMA = Path(__file__).with_name("devcontainer.schema.json")


def dockerfile_base(dockerfile: Path) -> str:
    found = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile.read_text(encoding="utf-8"), re.M)
    assert found, f"{dockerfile} names no BASE_IMAGE"
    return found.group(1)


@pytest.mark.parametrize(
    "answers",
    [{}, {"python_version": "3.13", "serve_api": False, "binder": False}],
    ids=["defaults", "no-service-no-notebooks"],
)
def test_dev_container_is_valid_and_matches_the_project(
    answers: dict[str, Any], template_repo: Path, tmp_path: Path
) -> None:
    """devcontainer.json follows the Dev Container schema; its image is pinned to the patch
    release of the project's Python (the serving image's too) and to the uv the project
    uses, fetches no features, and forwards the ports of what the project runs."""
    project = render(template_repo, tmp_path / "project", answers)
    answers = read_answers(project)
    config = json.loads((project / ".devcontainer/devcontainer.json").read_text("utf-8"))
    schema = json.loads(DEVCONTAINER_SCHEMA.read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(config)
    with pytest.raises(jsonschema.ValidationError):  # the schema refuses a misspelt key
        jsonschema.validate({**config, "postCreateComand": "x"}, schema)

    dockerfile = project / ".devcontainer" / config["build"]["dockerfile"]
    base = re.fullmatch(r"python:(\d+\.\d+)(\.\d+)-bookworm", dockerfile_base(dockerfile))
    assert base, "the dev container's base is pinned to a patch release"
    python = (project / ".python-version").read_text("utf-8").strip()
    assert base.group(1) == answers["python_version"] == python
    if answers["serve_api"]:
        serving = f"python:{base.group(1)}{base.group(2)}-slim-bookworm"
        assert dockerfile_base(project / "Dockerfile") == serving
    uv_version = yaml.safe_load(COPIER_YML.read_text("utf-8"))["uv_version"]["default"]
    text = dockerfile.read_text("utf-8")
    assert f"uv=={uv_version}" in text
    assert "features" not in config, "nothing is fetched beside the base image and uv"
    assert re.search(rf"useradd .*\b{config['remoteUser']}$", text, re.M)
    environment = re.search(r"UV_PROJECT_ENVIRONMENT=(\S+)", text)
    settings = config["customizations"]["vscode"]["settings"]
    assert environment and settings["python.defaultInterpreterPath"] == (
        f"{environment.group(1)}/bin/python"
    )
    assert "uv sync" in config["postCreateCommand"]
    assert "pre-commit install" in config["postCreateCommand"]
    expected = {8000} if answers["serve_api"] else set()
    expected |= {8888} if answers["binder"] else set()
    assert set(config.get("forwardPorts", [])) == expected
