"""The shell commands the documentation shows, as the tests fetch and run them.

A command block is a fenced ```bash block in `docs/*.md` or `README.md`. Tests take a block with
`shell_block(page, heading)` (literal arguments, so `tests/test_docs.py` can find every call
without running anything), replace its placeholders with real values, and run it with
`as_script`, which stops at the first failing command, as a user at a terminal would.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
TEMPLATE_PLACEHOLDER = "/path/to/this/template"
SHELL = "bash"

FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """A fenced block: the page, the nearest heading above it, its rank under that heading
    among blocks of its language, the language and the text."""

    page: str
    heading: str
    index: int
    language: str
    text: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.page, self.heading, self.index)


def page_path(page: str) -> Path:
    """``README.md`` is the repository's; any other name is a page of the docs site."""
    return REPO_ROOT / page if page == "README.md" else DOCS / page


def page_text(page: str) -> str:
    return page_path(page).read_text(encoding="utf-8")


def blocks(page: str) -> list[Block]:
    """Every fenced block of ``page``, each with the heading it sits under."""
    text = page_text(page)
    found: list[Block] = []
    heading, position = "", 0
    counts: dict[tuple[str, str], int] = {}
    for fence in FENCE.finditer(text):
        # Headings are looked for between blocks only: a `# comment` inside one is not one.
        for match in HEADING.finditer(text, position, fence.start()):
            heading = match.group(1)
        position = fence.end()
        language = fence.group(1)
        index = counts.get((heading, language), 0)
        counts[(heading, language)] = index + 1
        found.append(Block(page, heading, index, language, fence.group(2)))
    return found


def pages() -> list[str]:
    """The pages whose commands the tests answer for: the README and every docs page."""
    return ["README.md", *sorted(path.name for path in DOCS.glob("*.md"))]


def shell_block(page: str, heading: str, index: int = 0) -> str:
    """The ``index``-th bash block under ``heading`` (its text, without the #'s) on ``page``."""
    for block in blocks(page):
        if block.language == SHELL and block.key == (page, heading, index):
            return block.text
    raise AssertionError(f"{page} has no bash block {index} under the heading {heading!r}")


def test_modules() -> list[Path]:
    return sorted(Path(__file__).parent.glob("test_*.py"))


def executed_blocks() -> dict[tuple[str, str, int], list[str]]:
    """The blocks the test modules fetch with literal `shell_block(page, heading[, index])`
    calls, and the modules that fetch each."""
    found: dict[tuple[str, str, int], list[str]] = {}
    for module in test_modules():
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "shell_block"):
                continue
            arguments = [ast.literal_eval(argument) for argument in node.args]
            key = (arguments[0], arguments[1], arguments[2] if len(arguments) > 2 else 0)
            found.setdefault(key, []).append(module.name)
    return found


def sessions_after_dash_s(words: list[object]) -> set[str]:
    """The session names that follow `"nox", "-s"` in a literal argument list."""
    found: set[str] = set()
    for start in range(len(words) - 2):
        if words[start : start + 2] == ["nox", "-s"]:
            for word in words[start + 2 :]:
                if not isinstance(word, str) or word.startswith("-"):
                    break
                found.add(word)
    return found


def sessions_the_tests_run() -> set[str]:
    """Generated-project nox sessions the tests start: `"nox", "-s", NAME...` in an argument
    list, `nox(project, NAME)` (a helper of test_storage), or `uv run nox -s NAME` in a docs
    block that a test runs."""
    found: set[str] = set()
    for module in test_modules():
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.List | ast.Tuple):
                found |= sessions_after_dash_s([getattr(item, "value", None) for item in node.elts])
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "nox"
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
            ):
                found.add(str(node.args[1].value))
    for key in executed_blocks():
        found |= set(re.findall(r"uv run (?:--locked )?nox -s ([\w-]+)", shell_block(*key)))
    return found


def as_script(commands: str, substitutions: Mapping[str, str] | None = None) -> str:
    """``commands`` as a bash script that echoes each command and stops at the first failure,
    also inside a ``a && b`` line (where ``set -e`` alone would carry on).

    Each key of ``substitutions`` (a placeholder such as ``/path/to/this/template``) must occur
    in the block, so that a test notices when the docs stop showing it.
    """
    for placeholder, value in (substitutions or {}).items():
        assert placeholder in commands, f"the block no longer shows {placeholder!r}:\n{commands}"
        commands = commands.replace(placeholder, value)
    lines = commands.replace("\\\n", " ").splitlines()
    checked = [f'{line}\nstatus=$?; [ "$status" -eq 0 ] || exit "$status"' for line in lines]
    return "set -x\n" + "\n".join(checked) + "\n"


def run_block(project: Path, block: str, substitutions: Mapping[str, str] | None = None) -> str:
    """Run a command block of the docs in ``project`` as a script; return what it printed, or
    fail the test with the output when a command fails."""
    result = subprocess.run(
        ["bash", "-c", as_script(block, substitutions)],
        cwd=project, capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"block exited {result.returncode}:\n{(result.stdout + result.stderr)[-6000:]}")
    return result.stdout + result.stderr


# prompt_toolkit switches bracketed paste on each time it starts a prompt: one per question.
PROMPT_STARTS = re.compile(r"\x1b\[\?2004h")


@dataclass(frozen=True)
class Session:
    """What a terminal showed while a block ran: the questions asked and the whole output."""

    questions: int
    output: str
    status: int

    @property
    def text(self) -> str:
        """The output without colours and cursor movements, lines ending in a newline."""
        plain = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[>=])", "", self.output)
        return plain.replace("\r\n", "\n")


def run_at_a_terminal(
    script: str, cwd: Path, replies: Mapping[str, str] | None = None, timeout: float = 600
) -> Session:
    """Run ``script`` in a pseudo-terminal, pressing Enter at every question (so copier takes
    each question's default), as a user who accepts what is offered would, and typing
    ``replies[pattern]`` (followed by Enter) whenever the output matches ``pattern``. Pagers
    print straight through (`git diff` would otherwise wait for a key)."""
    import pexpect

    environment = os.environ | {"PAGER": "cat", "GIT_PAGER": "cat"}
    child = pexpect.spawn(
        "bash", ["-c", script], cwd=str(cwd), env=environment, encoding="utf-8",
        timeout=timeout, dimensions=(50, 200), codec_errors="replace",
    )  # fmt: skip
    answers = list((replies or {}).items())
    patterns = [PROMPT_STARTS, *(re.compile(pattern) for pattern, _ in answers), pexpect.EOF]
    questions, output = 0, []
    while (matched := child.expect(patterns)) != len(patterns) - 1:
        output.append(child.before + child.after)
        questions += 1
        child.send(answers[matched - 1][1] + "\r" if matched else "\r")
    output.append(child.before)
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + child.signalstatus
    return Session(questions, "".join(output), status)
