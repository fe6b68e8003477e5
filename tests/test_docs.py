"""The documentation site: it builds strictly, documents every question, and its commands work."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import yaml
from mkdocs.exceptions import PluginError

from .conftest import REPO_ROOT, read_answers, render, run
from .matrix import COPIER_YML, choice_values, questions
from .test_ci import noxfile_sessions

DOCS = REPO_ROOT / "docs"
TEMPLATE_PLACEHOLDER = "/path/to/this/template"


def load_hook() -> ModuleType:
    """The options hook, imported from its file as MkDocs imports it."""
    spec = importlib.util.spec_from_file_location("options_hook", DOCS / "_hooks/options.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fenced_block(page: Path, heading: str, language: str = "bash") -> str:
    """The first ``language`` code block under ``heading`` on a docs page."""
    text = "\n" + page.read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    match = re.search(rf"^```{language}\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert match, f"no {language} block under {heading!r} in {page.name}"
    return match.group(1)


def as_user_script(commands: str, template: Path) -> str:
    """Docs commands as a script that stops at the first failing line, as a user would."""
    assert TEMPLATE_PLACEHOLDER in commands
    lines = commands.replace(TEMPLATE_PLACEHOLDER, str(template)).splitlines()
    checked = [f'{line}\nstatus=$?; [ "$status" -eq 0 ] || exit "$status"' for line in lines]
    return "set -x\n" + "\n".join(checked) + "\n"


def dvc_stages() -> list[str]:
    """Stage names declared in the template's dvc.yaml (top-level keys under `stages:`)."""
    text = (REPO_ROOT / "template/dvc.yaml.jinja").read_text(encoding="utf-8")
    section = re.split(r"^stages:\n", text, maxsplit=1, flags=re.MULTILINE)[1]
    section = re.split(r"^[A-Za-z_]\w*:", section, maxsplit=1, flags=re.MULTILINE)[0]
    return re.findall(r"^  ([A-Za-z_][\w-]*):\s*$", section, re.MULTILINE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with --strict, so any warning or broken link fails the build."""
    site_dir = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    run(command, REPO_ROOT)
    return site_dir


def test_site_builds_strictly(site: Path) -> None:
    for page in ("index", "project/index", "options/index", "development/index"):
        assert (site / f"{page}.html").is_file(), page
    assert not (site / "_hooks").exists(), "the hook module must not be published"


def test_options_page_documents_every_question(site: Path) -> None:
    page = (site / "options/index.html").read_text(encoding="utf-8")
    assert "<!-- options:" not in page, "the placeholder was not replaced"
    for name, body in questions().items():
        assert f'<h2 id="{name}"><code>{name}</code>' in page, name
        if "choices" not in body:
            continue  # a yes/no question lists no choices, only its default
        for value in choice_values(body):
            assert f"<code>{value}</code>" in page, f"{name}: choice {value!r}"


def test_hook_fails_when_a_question_is_missing() -> None:
    hook = load_hook()
    spec = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    complete = hook.options_markdown(spec)
    hook.check_complete(spec, complete)
    sections = ("\n" + complete).split("\n## ")[1:]
    for name in questions():
        lacking = "".join(f"\n## {s}" for s in sections if not s.startswith(f"`{name}`"))
        with pytest.raises(PluginError, match=re.escape(name)):
            hook.check_complete(spec, lacking)


def test_hook_fails_without_its_placeholder() -> None:
    hook = load_hook()
    config = SimpleNamespace(config_file_path=str(REPO_ROOT / "mkdocs.yml"))
    options = SimpleNamespace(file=SimpleNamespace(src_uri="options.md"))
    other = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    assert hook.on_page_markdown("# Home", page=other, config=config, files=None) == "# Home"
    with pytest.raises(PluginError, match="placeholder"):
        hook.on_page_markdown("# Options, hand-written", page=options, config=config, files=None)


def test_validator_messages_leave_the_jinja_out() -> None:
    hook = load_hook()
    validator = (
        "{% set p = {'a': '/'}[kind] %} {% if not url.startswith(p) %} A {{ kind }} URL must"
        " start with {{ p }}{% if kind == 'a' %} (a path){% endif %}. {% elif '@' in url %}"
        " No credentials, no <, no `. {% endif %}"
    )
    assert hook.validator_messages(validator) == [
        "A `{{ kind }}` URL must start with `{{ p }}` (a path).",
        "No credentials, no &lt;, no \\`.",
    ]


def test_pipeline_pages_show_every_stage() -> None:
    stages = dvc_stages()
    assert stages, "no stages found in template/dvc.yaml.jinja"
    diagram = fenced_block(DOCS / "index.md", "## The pipeline", "mermaid")
    for stage in stages:
        assert re.search(rf"\b{stage}\b", diagram), f"stage {stage} is not in the diagram"
        for page in ("index.md", "project.md"):
            text = (DOCS / page).read_text(encoding="utf-8")
            assert f"\n| {stage} |" in text, f"stage {stage} is not in the table of {page}"


def test_options_example_renders(template_repo: Path, tmp_path: Path) -> None:
    commands = fenced_block(DOCS / "options.md", "# Options")
    run(["bash", "-c", as_user_script(commands, template_repo)], tmp_path)
    answers = read_answers(tmp_path / "my-project")
    for name, value in re.findall(r"--data (\w+)=(\S+)", commands):
        assert answers[name] == value


@pytest.mark.project
def test_quick_start_runs_as_written(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The home page's commands, typed as written, in a fresh virtual environment."""
    commands = fenced_block(DOCS / "index.md", "## Quick start")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    monkeypatch.setenv("PATH", f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    result = run(["bash", "-c", as_user_script(commands, template_repo)], tmp_path)
    assert "quality gate passed" in result.stdout
    assert (tmp_path / "my-project/metrics.json").is_file()


def test_every_task_of_the_generated_project_is_documented(
    template_repo: Path, tmp_path: Path
) -> None:
    """docs/project.md lists every nox session of a project with every option on."""
    project = render(template_repo, tmp_path / "project", {"serve_api": True, "binder": True})
    documented = set(re.findall(r"nox -s ([\w-]+)", (DOCS / "project.md").read_text()))
    assert noxfile_sessions(project) - documented == set()
