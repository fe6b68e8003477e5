"""MkDocs hook: the example report page, written by a real project at build time.

docs/report-example.md holds a placeholder. This hook renders the template with the default
answers, sets the project up as its README says, runs the pipeline and commits it on
`main`; then, on a branch, trains a smaller forest and runs `uv run nox -s report -- main`,
the command CI runs on a pull request. The report and its images replace the placeholder,
so the example cannot drift from what projects publish.

That takes a minute or so (more on a machine whose package cache is empty), so the result
is kept in build/report-example/, under a digest of the template's files: a build with an
unchanged template reuses it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from copier import run_copy
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

EXAMPLE_PAGE = "report-example.md"
PLACEHOLDER = "<!-- report: generated from a default render -->"
IMAGE_DIR = "report-example"
# What the pull request changes in params.yaml: a smaller forest.
CHANGES = {"n_estimators: 200": "n_estimators: 10", "max_depth: 8": "max_depth: 4"}
# Set by the nox session building the site; the project must use its own environment.
FOREIGN_VARIABLES = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "PYTHONPATH")
AUTHOR = ("-c", "user.name=Example", "-c", "user.email=example@example.com")
COMMAND_TIMEOUT = 1800


def template_digest(root: Path) -> str:
    """A digest of the files a render reads: copier.yml and everything under template/."""
    digest = hashlib.sha256()
    files = [root / "copier.yml", *sorted((root / "template").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def run(command: list[str], cwd: Path, check: bool = True) -> int:
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_VARIABLES}
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        msg = f"report example: `{' '.join(command)}` exited {result.returncode}:\n{output}"
        raise PluginError(msg)
    return result.returncode


def write_example(root: Path, destination: Path) -> None:
    """Run the story in a scratch project; copy its report and images to ``destination``."""
    with tempfile.TemporaryDirectory(prefix="report-example-") as scratch:
        project = Path(scratch) / "my-project"
        run_copy(str(root), str(project), defaults=True, quiet=True, vcs_ref="HEAD")
        for command in (
            ["git", "init", "--quiet", "-b", "main"],
            ["uv", "lock", "--quiet"],
            ["uv", "sync", "--locked", "--quiet"],
            ["uv", "run", "--locked", "dvc", "repro", "--quiet"],
            ["git", "add", "--all"],
            ["git", *AUTHOR, "commit", "--quiet", "--no-verify", "-m", "Train the model"],
            ["git", "checkout", "--quiet", "-b", "smaller-forest"],
        ):
            run(command, project)
        params = project / "params.yaml"
        text = params.read_text(encoding="utf-8")
        for old, new in CHANGES.items():
            if old not in text:
                raise PluginError(f"report example: params.yaml has no {old!r}")
            text = text.replace(old, new)
        params.write_text(text, encoding="utf-8")
        run(
            ["git", *AUTHOR, "commit", "--quiet", "--no-verify", "-am", "A smaller forest"], project
        )
        run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], project)
        # Exits 1 when the gate fails against main, after writing the report: shown either way.
        run(["uv", "run", "--locked", "nox", "-s", "report", "--", "main"], project, check=False)
        written = project / "reports/pr"
        if not (written / "report.md").is_file():
            raise PluginError("report example: `nox -s report` wrote no report.md")
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(written, destination)


def example(root: Path) -> Path:
    """The folder holding report.md and its images for the current template."""
    destination = root / "build" / "report-example" / template_digest(root)
    if not (destination / "report.md").is_file():
        write_example(root, destination)
    return destination


def page_text(report: str) -> str:
    """The report as the page shows it: its hidden marker left out, headings one level
    lower than the page's title, images in the page's image folder."""
    lines = report.splitlines()
    if lines and lines[0].startswith("<!--"):
        lines = lines[1:]
    shown = []
    for line in lines:
        if line.startswith("#"):
            line = "#" + line
        elif line.startswith("![") and "](" in line:
            alt, target = line[2:].rstrip(")").split("](", 1)
            line = f"![{alt}]({IMAGE_DIR}/{target})"
        shown.append(line)
    return "\n".join(shown).strip()


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    for image in sorted(example(root).glob("*.png")):
        files.append(File.generated(config, f"{IMAGE_DIR}/{image.name}", abs_src_path=str(image)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != EXAMPLE_PAGE:
        return markdown
    if PLACEHOLDER not in markdown:
        raise PluginError(f"{EXAMPLE_PAGE} lost its placeholder {PLACEHOLDER!r}")
    root = Path(config.config_file_path).parent
    report = (example(root) / "report.md").read_text(encoding="utf-8")
    return markdown.replace(PLACEHOLDER, page_text(report))
