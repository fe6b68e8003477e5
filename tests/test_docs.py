"""The documentation site: it builds strictly, documents every question, and its commands work."""

from __future__ import annotations

import importlib.util
import re
import sys
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from mkdocs.exceptions import PluginError

from .conftest import (
    REPO_ROOT,
    assert_gate_passed_on_the_metrics,
    fresh_virtual_environment,
    read_answers,
    render,
    run,
)
from .docs_blocks import (
    DOCS,
    SHELL,
    TEMPLATE_PLACEHOLDER,
    as_script,
    blocks,
    executed_blocks,
    page_text,
    pages,
    run_at_a_terminal,
    shell_block,
)
from .matrix import COPIER_YML, choice_values, load_options_hook, questions
from .test_ci import noxfile_sessions

# Command blocks the docs show that no test runs, each with the reason.
NOT_RUN_HERE = {
    ("README.md", "Run the tests", 0): "the template's own suite: `.ci/run` runs it each time",
    ("benchmarks.md", "Reproduce", 0): (
        "benchmark runs of 5 to 60 minutes, each filling a cold uv cache from PyPI; their "
        "flags are checked against the bench's parser"
    ),
}
# Languages a fenced block may have; commands are `bash`, output and file contents the rest.
LANGUAGES = {SHELL, "text", "yaml", "json", "mermaid"}


def other_block(page: str, heading: str, language: str) -> str:
    """The first block in ``language`` under ``heading`` on ``page``."""
    for block in blocks(page):
        if (block.heading, block.language) == (heading, language):
            return block.text
    raise AssertionError(f"{page} has no {language} block under {heading!r}")


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
    for page in ("index", "project", "options", "development"):
        assert (site / f"{page}.html").is_file(), page
    assert not (site / "_hooks").exists(), "the hook module must not be published"


def test_every_link_opens_a_file_when_the_site_is_read_from_disk(site: Path) -> None:
    """README.md says to open build/site/index.html: from the file system, every link and
    asset a page names must be a file (a folder would open as a bare listing)."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":  # served by a web server only, with absolute links
            continue
        for link in re.findall(r'(?:href|src)="([^"]+)"', page.read_text(encoding="utf-8")):
            path = urllib.parse.unquote(link.split("#")[0].split("?")[0])
            if not path or re.match(r"[a-z][a-z0-9+.-]*:|//", path):
                continue  # an anchor on the page, or another site
            if not (page.parent / path).resolve().is_file():
                broken.append(f"{page.relative_to(site)}: {link}")
    assert not broken, "\n".join(broken[:20])
    links = re.findall(r'href="([^"#]+\.html)', (site / "index.html").read_text(encoding="utf-8"))
    assert "project.html" in links, "the navigation links pages as files"


def test_options_page_documents_every_question(site: Path) -> None:
    page = (site / "options.html").read_text(encoding="utf-8")
    assert "<!-- options:" not in page, "the placeholder was not replaced"
    for name, body in questions().items():
        assert f'<h2 id="{name}"><code>{name}</code>' in page, name
        if "choices" not in body:
            continue  # a yes/no question lists no choices, only its default
        for value in choice_values(body):
            assert f"<code>{value}</code>" in page, f"{name}: choice {value!r}"


def test_hook_fails_when_a_question_is_missing() -> None:
    hook = load_options_hook()
    spec = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    complete = hook.options_markdown(spec)
    hook.check_complete(spec, complete)
    sections = ("\n" + complete).split("\n## ")[1:]
    for name in questions():
        lacking = "".join(f"\n## {s}" for s in sections if not s.startswith(f"`{name}`"))
        with pytest.raises(PluginError, match=re.escape(name)):
            hook.check_complete(spec, lacking)


def test_hook_fails_without_its_placeholder() -> None:
    hook = load_options_hook()
    config = SimpleNamespace(config_file_path=str(REPO_ROOT / "mkdocs.yml"))
    options = SimpleNamespace(file=SimpleNamespace(src_uri="options.md"))
    other = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    assert hook.on_page_markdown("# Home", page=other, config=config, files=None) == "# Home"
    with pytest.raises(PluginError, match="placeholder"):
        hook.on_page_markdown("# Options, hand-written", page=options, config=config, files=None)


def test_report_example_is_a_report_the_site_build_wrote(site: Path) -> None:
    """docs/report-example.md shows what `nox -s report` wrote at build time (see
    docs/_hooks/report_example.py): the gate's verdict, the changed parameters and every
    image, each a PNG in the site."""
    page = (site / "report-example.html").read_text(encoding="utf-8")
    assert "<!-- report:" not in page, "the placeholder was not replaced"
    assert re.search(r"Model report: (passed|FAILED)", page)
    assert re.search(r"Threshold: <code>roc_auc</code> = [\d.]+ against a minimum of", page)
    for name, old, new in (("n_estimators", 200, 10), ("max_depth", 8, 4)):
        assert re.search(rf"train\.random_forest\.{name}</td>\s*<td>{old}</td>\s*<td>{new}<", page)
    images = re.findall(r'<img alt="[^"]*" src="(report-example/[^"]+\.png)"', page)
    assert len(images) >= 3, "ROC, precision-recall and confusion matrices"
    for image in images:
        assert (site / image).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), image


def test_report_example_hook_fails_without_its_placeholder() -> None:
    spec = importlib.util.spec_from_file_location("report_hook", DOCS / "_hooks/report_example.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = SimpleNamespace(file=SimpleNamespace(src_uri="report-example.md"))
    other = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    config = SimpleNamespace(config_file_path=str(REPO_ROOT / "mkdocs.yml"))
    assert hook.on_page_markdown("# Home", page=other, config=config, files=None) == "# Home"
    with pytest.raises(PluginError, match="placeholder"):
        hook.on_page_markdown("# Hand-written", page=page, config=config, files=None)
    report = "<!-- ml-report -->\n## Model report\n\n![roc](roc.png)\n"
    assert hook.page_text(report) == "### Model report\n\n![roc](report-example/roc.png)"


def test_validator_messages_leave_the_jinja_out() -> None:
    hook = load_options_hook()
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
    diagram = other_block("index.md", "The pipeline", "mermaid")
    for stage in stages:
        assert re.search(rf"\b{stage}\b", diagram), f"stage {stage} is not in the diagram"
        for page in ("index.md", "project.md"):
            text = (DOCS / page).read_text(encoding="utf-8")
            assert f"\n| {stage} |" in text, f"stage {stage} is not in the table of {page}"


def test_options_example_renders(template_repo: Path, tmp_path: Path) -> None:
    commands = shell_block("options.md", "Options")
    run(["bash", "-c", as_script(commands, {TEMPLATE_PLACEHOLDER: str(template_repo)})], tmp_path)
    answers = read_answers(tmp_path / "my-project")
    for name, value in re.findall(r"--data (\w+)=(\S+)", commands):
        assert answers[name] == value


def test_every_command_block_is_run_by_a_test() -> None:
    shown = {block.key for page in pages() for block in blocks(page) if block.language == SHELL}
    executed = executed_blocks()
    unaccounted = shown - executed.keys() - NOT_RUN_HERE.keys()
    assert not unaccounted, (
        "command blocks no test runs: run each with shell_block(page, heading, index) "
        f"in a test, or list it in NOT_RUN_HERE with the reason: {sorted(unaccounted)}"
    )
    stale = (executed.keys() | NOT_RUN_HERE.keys()) - shown
    assert not stale, f"no such command block in the docs (moved or renamed?): {sorted(stale)}"
    assert not executed.keys() & NOT_RUN_HERE.keys()


def test_every_block_names_a_known_language() -> None:
    """An unlabelled or `sh`/`console` block would be a command no test accounts for."""
    for page in pages():
        for block in blocks(page):
            assert block.language in LANGUAGES, f"{page}, under {block.heading!r}: {block.text}"


def test_docs_name_only_sessions_that_exist_and_list_every_one(
    template_repo: Path, tmp_path: Path
) -> None:
    """`uv run nox -s X` names a session of the generated project (every option is on by
    default); plain `nox -s X` one of it or of this repository. docs/project.md lists every
    session of the generated project."""
    project = noxfile_sessions(render(template_repo, tmp_path / "project", {}))
    template = noxfile_sessions(REPO_ROOT)
    for page in pages():
        text = page_text(page)
        for prefix, session in re.findall(r"(uv run (?:--locked )?)?nox -s ([\w-]+)", text):
            known = project if prefix else project | template
            assert session in known, f"{page}: `nox -s {session}` is not a session"
    assert project - set(re.findall(r"nox -s ([\w-]+)", page_text("project.md"))) == set()


def test_benchmark_commands_are_the_bench_options() -> None:
    """The benchmark lines are not run (see NOT_RUN_HERE); their options must still exist."""
    from bench.__main__ import parse_args

    commands = other_block("benchmarks.md", "Reproduce", SHELL)
    lines = [line.split("#")[0].split() for line in commands.splitlines()]
    assert lines
    for line in lines:
        assert " ".join(line[:3]) == "nox -s bench", line
        parse_args(line[4:] if line[3:4] == ["--"] else line[3:])  # exits 2 on an unknown one


@pytest.mark.project
def test_development_tools_install_and_list_the_tasks(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_virtual_environment(tmp_path, monkeypatch)
    run(["bash", "-c", as_script(shell_block("development.md", "Developing the template"))],
        tmp_path)  # fmt: skip
    listed = run(["nox", "--list"], template_repo).stdout
    table = set(re.findall(r"^\| `nox -s ([\w-]+)`", page_text("development.md"), re.MULTILINE))
    assert table == noxfile_sessions(REPO_ROOT)
    for session in table:
        assert re.search(rf"^[*-] {re.escape(session)}\b", listed, re.MULTILINE), session


def demo(template: Path, destination: Path) -> tuple[int, str]:
    """Run `nox -s demo -- DEST` in the template repository ``template``."""
    result = run(["nox", "-s", "demo", "--", str(destination)], template, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.project
def test_readme_demo_runs_as_written_and_replaces_only_what_it_made(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newcomer's first command, on a fresh clone of the template. `nox -s demo` commits
    what it makes, and refuses, leaving it as it was, a destination holding a user's commit,
    uncommitted work, an ignored data file or anything that is not a demo (that it replaces
    an untouched demo is test_demo_replaces_an_untouched_demo's)."""
    clone = tmp_path / "template"
    run(["git", "clone", "--quiet", str(template_repo), str(clone)], tmp_path)
    fresh_virtual_environment(tmp_path, monkeypatch)
    result = run(["bash", "-c", as_script(shell_block("README.md", "Quick start"))], clone)
    destination = clone / "build/demo"
    assert_gate_passed_on_the_metrics(result.stdout + result.stderr, destination)
    assert run(["git", "status", "--porcelain"], destination).stdout == ""
    assert (destination / ".git/hooks/pre-commit").is_file(), "set up as the README says"

    params = destination / "params.yaml"
    params.write_text(params.read_text() + "# ours\n")
    status, output = demo(clone, destination)
    assert status != 0
    assert "uncommitted:  M params.yaml" in output
    assert params.read_text().endswith("# ours\n")

    run(["git", "commit", "--quiet", "--all", "--no-verify", "-m", "Our parameters"], destination)
    status, output = demo(clone, destination)
    assert (status, "Our parameters" in output) == (1, True), output[-3000:]
    assert run(["git", "log", "-1", "--format=%s"], destination).stdout.strip() == "Our parameters"

    run(["git", "reset", "--quiet", "--hard", "HEAD~1"], destination)
    run(["git", "reflog", "expire", "--expire=now", "--all"], destination)
    ours = destination / "data/external/ours.csv"  # ignored by git (`*.csv`)
    ours.write_text("a,b\n1,2\n")
    status, output = demo(clone, destination)
    assert status != 0
    assert "not made by the demo: data/external/ours.csv" in output
    assert ours.is_file()

    elsewhere = tmp_path / "notes"
    elsewhere.mkdir()
    (elsewhere / "keep.md").write_text("Mine.\n")
    status, output = demo(clone, elsewhere)
    assert status != 0
    assert "is not a git repository made by the demo" in output
    assert (elsewhere / "keep.md").read_text() == "Mine.\n"


@pytest.mark.project
@pytest.mark.full
def test_demo_replaces_an_untouched_demo(template_repo: Path, tmp_path: Path) -> None:
    """Run again on a demo nobody changed, `nox -s demo` makes it anew: one commit."""
    clone = tmp_path / "template"
    run(["git", "clone", "--quiet", str(template_repo), str(clone)], tmp_path)
    destination = tmp_path / "demo"
    for attempt in ("first", "again"):
        status, output = demo(clone, destination)
        assert status == 0, f"{attempt}:\n{output[-3000:]}"
    assert run(["git", "rev-list", "--all", "--count"], destination).stdout.strip() == "1"
    assert run(["git", "status", "--porcelain"], destination).stdout == ""


@pytest.mark.project
@pytest.mark.full
def test_readme_copy_asks_every_question(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`copier copy` without --defaults asks each question; Enter keeps its default."""
    fresh_virtual_environment(tmp_path, monkeypatch)
    commands = shell_block("README.md", "Quick start", 1)
    session = run_at_a_terminal(as_script(commands, {TEMPLATE_PLACEHOLDER: str(template_repo)}),
                                tmp_path)  # fmt: skip
    assert session.status == 0, session.output[-3000:]
    assert session.questions == len(questions())
    answers = read_answers(tmp_path / "my-project")
    defaults = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    for name in ("ci_provider", "dvc_remote", "license", "python_version", "serve_api"):
        assert answers[name] == defaults[name]["default"], name


def test_tool_versions_the_docs_pin_are_the_projects(template_repo: Path, tmp_path: Path) -> None:
    """A `tool==X` the docs tell users to run is the version the generated project pins."""
    project = render(template_repo, tmp_path / "project", {})
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    pinned = {
        repo["repo"].rstrip("/").rsplit("/", 1)[-1]: repo["rev"].removeprefix("v")
        for repo in config["repos"]
        if "rev" in repo
    }
    for name in ("pyproject.toml", "noxfile.py"):
        text = (project / name).read_text(encoding="utf-8")
        pinned |= dict(re.findall(r"([A-Za-z][\w.-]*)==([\w.]+)", text))
    shown = [(page, *pin) for page in pages() for pin in re.findall(
        r"\b([A-Za-z][\w.-]*)==(\d[\w.]*)", page_text(page))]  # fmt: skip
    assert shown, "no pinned tool in the docs: drop this test"
    for page, tool, version in shown:
        assert pinned.get(tool) == version, f"{page}: {tool}=={version}, not {pinned.get(tool)}"
