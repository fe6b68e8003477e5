"""MkDocs hook: build the options reference (docs/options.md) from copier.yml.

The page holds a placeholder marker; this hook replaces it with one section per question
asked by `copier copy`, so the reference cannot drift from the questions themselves. The
build fails when a question is missing from the page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

OPTIONS_PAGE = "options.md"
PLACEHOLDER = "<!-- options: generated from copier.yml -->"
# A Jinja statement tag such as `{% if ... %}` or `{%- endif -%}`.
STATEMENT = re.compile(r"\{%-?.*?-?%\}", re.DOTALL)
# A Jinja expression such as `{{ name }}`; the group keeps it when a message is split on it.
EXPRESSION = re.compile(r"(\{\{.*?\}\})", re.DOTALL)


def load_spec(config: MkDocsConfig) -> dict[str, Any]:
    """copier.yml, found next to mkdocs.yml."""
    path = Path(config.config_file_path).parent / "copier.yml"
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return spec


def asked_questions(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The questions a user is asked: settings (`_...`) and computed values left out."""
    return {
        name: body
        for name, body in spec.items()
        if not name.startswith("_") and isinstance(body, dict) and body.get("when") is not False
    }


def is_jinja(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def escape(text: str) -> str:
    """Plain text made safe for Markdown (help texts quote characters like ` \\ < > _ *)."""
    text = html.escape(text, quote=False)
    return re.sub(r"([\\`*_\[\]|#])", r"\\\1", text)


def code(value: object) -> str:
    """Inline code for any value, with a fence long enough for backticks inside it."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def validator_messages(validator: str) -> list[str]:
    """The messages a validator can show: its text with the Jinja statements taken out.

    copier.yml folds each validator onto one line, so statements standing alone between
    spaces separate messages, while a statement touching text (`...{% if x %} more`) sits
    inside a message and is dropped in place. `{{ ... }}` expressions are kept as code.
    """
    pieces: list[str] = []
    position = 0
    for match in STATEMENT.finditer(validator):
        before = validator[match.start() - 1] if match.start() > 0 else " "
        after = validator[match.end()] if match.end() < len(validator) else " "
        standalone = before.isspace() and after.isspace()
        pieces.append(validator[position : match.start()] + ("\n" if standalone else ""))
        position = match.end()
    pieces.append(validator[position:])
    lines = (" ".join(line.split()) for line in "".join(pieces).splitlines())
    return [message_markdown(line) for line in lines if line]


def message_markdown(message: str) -> str:
    """A validator message as Markdown: plain text escaped, `{{ ... }}` shown as code."""
    parts = EXPRESSION.split(message)
    return "".join(code(p) if EXPRESSION.fullmatch(p) else escape(p) for p in parts)


def jinja_block(template: str) -> str:
    """A Jinja default as a code block; a break goes before each `{%-`, where it is inert."""
    text = re.sub(r"\s*(\{%-)", r"\n\1", template).strip()
    return f"```jinja\n{text}\n```"


def question_section(name: str, body: dict[str, Any]) -> str:
    """The Markdown section for one question: blocks separated by blank lines."""
    blocks = [f"## `{name}`", escape(str(body.get("help", "")))]
    facts = [f"**Type:** {code(body.get('type', 'str'))}"]
    if is_jinja(body.get("when")):
        facts.append(f"**Asked only when:** {code(body['when'])}")
    default = body.get("default")
    if "default" in body and not is_jinja(default):
        facts.append(f"**Default:** {code(default)}")
    blocks.append("<br>\n".join(facts))
    if is_jinja(default):
        blocks += ["**Default**, computed from earlier answers:", jinja_block(str(default))]
    choices = body.get("choices")
    if choices:
        labelled = choices if isinstance(choices, dict) else {str(v): v for v in choices}
        rows = ["| value | meaning |", "|---|---|"]
        for label, value in labelled.items():
            meaning = escape(str(label)) if str(label) != str(value) else ""
            if value == default:
                meaning = f"{meaning} *(default)*".strip()
            rows.append(f"| {code(value)} | {meaning} |")
        blocks += ["**Choices:**", "\n".join(rows)]
    if body.get("validator"):
        messages = validator_messages(str(body["validator"]))
        blocks.append("**Validation:** a wrong answer is refused with one of these messages:")
        blocks.append("\n".join(f"- {message}" for message in messages))
    return "\n\n".join(blocks) + "\n"


def options_markdown(spec: dict[str, Any]) -> str:
    """Every asked question of copier.yml, in the order `copier copy` asks them."""
    return "\n".join(question_section(n, b) for n, b in asked_questions(spec).items())


def check_complete(spec: dict[str, Any], markdown: str) -> None:
    """Fail the build when an asked question has no section on the page."""
    missing = [
        name
        for name in asked_questions(spec)
        if not re.search(rf"^## `{re.escape(name)}`$", markdown, re.MULTILINE)
    ]
    if missing:
        raise PluginError(f"{OPTIONS_PAGE} does not document: {', '.join(missing)}")


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace the placeholder on the options page with the generated reference."""
    if page.file.src_uri != OPTIONS_PAGE:
        return markdown
    if PLACEHOLDER not in markdown:
        raise PluginError(f"{OPTIONS_PAGE} lost its placeholder {PLACEHOLDER!r}")
    spec = load_spec(config)
    markdown = markdown.replace(PLACEHOLDER, options_markdown(spec))
    check_complete(spec, markdown)
    return markdown
