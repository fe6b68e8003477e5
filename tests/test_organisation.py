"""An organisation's defaults, kept in one data file, shape every project rendered with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT, read_answers
from .docs_blocks import TEMPLATE_PLACEHOLDER, as_script, run_at_a_terminal, shell_block
from .matrix import questions

DATA_FILE = REPO_ROOT / "docs/org-defaults.yml"


@pytest.mark.full
def test_data_file_answers_for_the_organisation(template_repo: Path, tmp_path: Path) -> None:
    """docs/updating.md's command at a terminal: the data file's answers are not asked and
    are the project's; Enter takes the default of each question left. (What each answer
    makes of the project is checked for every variant by test_render.)"""
    shutil.copy(DATA_FILE, tmp_path / "org-defaults.yml")
    commands = shell_block("updating.md", "An organisation's defaults")
    session = run_at_a_terminal(as_script(commands, {TEMPLATE_PLACEHOLDER: str(template_repo)}),
                                tmp_path)  # fmt: skip
    assert session.status == 0, session.text[-3000:]
    organisation = yaml.safe_load(DATA_FILE.read_text())
    assert session.questions == len(questions()) - len(organisation)
    answers = read_answers(tmp_path / "my-project")
    assert {name: answers[name] for name in organisation} == organisation
