"""Hostile and careless answers: each is refused by its validator's own message, or renders a
project whose every file parses and carries the value only as literal text.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import read_answers, render

REFUSED = "refused"
LITERAL = "literal"

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
    ("package_name", "con", LITERAL, ""),
    ("package_name", "/abs/path", REFUSED, "lowercase letters, digits and '_'"),
    ("package_name", "-rf", REFUSED, "lowercase letters, digits and '_'"),
    ("package_name", "pkg\x00name", REFUSED, "lowercase letters, digits and '_'"),
    ("package_name", "import", REFUSED, "is a Python keyword"),
    ("package_name", "json", REFUSED, "clashes with a folder or library"),
    ("package_name", "src", REFUSED, "clashes with a folder or library"),
    ("description", 'Say "hi" = true', REFUSED, "without surrounding spaces"),
    ("description", "first line\nsecond = line", REFUSED, "one line of 1 to 200"),
    ("description", "tab\there", REFUSED, "one line of 1 to 200"),
    ("description", "back\\slash", REFUSED, "one line of 1 to 200"),
    ("description", "shell $(id) `id`", REFUSED, "one line of 1 to 200"),
    ("description", "expression ${{ secrets.X }}", REFUSED, "one line of 1 to 200"),
    ("description", "jinja {% raw %}", REFUSED, "one line of 1 to 200"),
    ("description", "bidi \u202e reversed", LITERAL, ""),
    ("description", "   ", REFUSED, "without surrounding spaces"),
    ("description", "It's a model: [x] # not a comment, 'quoted' & <b>", REFUSED, "< >"),
    ("description", "It's a model: [x] # not a comment, 'quoted' & more", LITERAL, ""),
    ("description", "Modèle de prédiction, 予測モデル", LITERAL, ""),
    ("description", "--- !!binary", LITERAL, ""),
    ("author_name", "Zoë O'Brien-Smith", LITERAL, ""),
    ("author_name", "name <evil@example.com>", REFUSED, "The author name must be"),
    ("author_name", 'x", email = "y', REFUSED, "The author name must be"),
    ("author_name", "\u00a0", REFUSED, "without surrounding spaces"),
    ("author_email", "a@b.c\nX-Injected: 1", REFUSED, "must look like name@example.com"),
    ("author_email", "user@example.com'; DROP TABLE", REFUSED, "must look like name@example.com"),
    ("organization", "org/../../escape", REFUSED, "The organisation must be letters"),
    ("organization", "/absolute", REFUSED, "The organisation must be letters"),
    ("organization", "-leading-dash", REFUSED, "The organisation must be letters"),
    ("organization", "ml/vision/sub", LITERAL, ""),
    ("code_owners", "@team\n* @evil", REFUSED, "Code owners must be"),
    ("code_owners", "team-without-at", REFUSED, "Code owners must be"),
    ("code_owners", "@ml/reviewers @lead.person", LITERAL, ""),
    ("dvc_remote_url", "/tmp/store\n[core]\nremote = evil", REFUSED, "may use only letters"),
    ("dvc_remote_url", "/tmp/store; rm -rf ~", REFUSED, "may use only letters"),
    ("dvc_remote_url", "relative/path", REFUSED, "must start with /"),
]


def case_id(case: tuple[str, str, str, str]) -> str:
    question, answer, outcome, _ = case
    return f"{question}-{outcome}-{answer[:20].encode('unicode_escape').decode()}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_hostile_answer(
    case: tuple[str, str, str, str], template_repo: Path, tmp_path: Path
) -> None:
    question, answer, outcome, message = case
    destination = tmp_path / "project"
    if outcome == REFUSED:
        with pytest.raises(ValueError, match=None) as refused:
            render(template_repo, destination, {question: answer})
        assert message in str(refused.value)
        assert not destination.exists() or not any(destination.iterdir())
        assert {path.name for path in tmp_path.iterdir()} <= {"project"}
        return
    project = render(template_repo, destination, {question: answer})
    assert read_answers(project)[question] == answer
    for path in project.rglob("*"):
        if path.suffix in (".yml", ".yaml"):
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in (".json", ".ipynb"):
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".py":
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    if question == "description":
        assert pyproject["project"]["description"] == answer
    if question == "author_name":
        assert pyproject["project"]["authors"][0]["name"] == answer


def test_every_free_text_question_is_attacked() -> None:
    from .matrix import questions

    free_text = {
        name
        for name, body in questions().items()
        if body.get("type", "str") == "str" and "choices" not in body
    }
    assert free_text <= {question for question, *_ in CASES}
    assert len(CASES) >= 30


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
