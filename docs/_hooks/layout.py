"""MkDocs hook: draw the generated project's file tree from a real render.

docs/index.md holds a placeholder marker; this hook renders the template with the default
answers into a temporary directory and replaces the marker with the tree, so the picture
of what users get cannot drift from the template.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from copier import run_copy
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

LAYOUT_PAGE = "index.md"
PLACEHOLDER = "<!-- layout: generated from a default render -->"
_cache: dict[str, str] = {}


def tree(root: Path, prefix: str = "") -> list[str]:
    """Lines of an indented tree of ``root``, folders first."""
    entries = sorted(root.iterdir(), key=lambda path: (path.is_file(), path.name))
    lines = []
    for entry in entries:
        if entry.is_dir():
            lines.append(f"{prefix}{entry.name}/")
            lines.extend(tree(entry, prefix + "    "))
        else:
            lines.append(f"{prefix}{entry.name}")
    return lines


def default_layout(template: Path) -> str:
    if "layout" not in _cache:
        with tempfile.TemporaryDirectory() as scratch:
            project = Path(scratch) / "my-project"
            run_copy(str(template), str(project), defaults=True, quiet=True, vcs_ref="HEAD")
            _cache["layout"] = "\n".join(["my-project/", *tree(project, "    ")])
    return _cache["layout"]


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != LAYOUT_PAGE:
        return markdown
    if PLACEHOLDER not in markdown:
        msg = f"{LAYOUT_PAGE} lost its placeholder {PLACEHOLDER!r}"
        raise PluginError(msg)
    template = Path(config.config_file_path).parent
    return markdown.replace(PLACEHOLDER, f"```\n{default_layout(template)}\n```")
