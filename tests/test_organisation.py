"""An organisation's defaults, kept in one data file, shape every project rendered with it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import REPO_ROOT, read_answers
from .docs_blocks import TEMPLATE_PLACEHOLDER, as_script, run_at_a_terminal, shell_block
from .matrix import questions

DATA_FILE = REPO_ROOT / "docs/org-defaults.yml"


def test_data_file_sets_the_organisations_answers(template_repo: Path, tmp_path: Path) -> None:
    copier = Path(sys.executable).parent / "copier"
    destination = tmp_path / "project"
    result = subprocess.run(
        [str(copier), "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD",
         "--data-file", str(DATA_FILE), "--data", "project_name=Churn Model",
         str(template_repo), str(destination)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    organisation = yaml.safe_load(DATA_FILE.read_text())
    answers = read_answers(destination)
    for name, value in organisation.items():
        assert answers[name] == value, name
    assert answers["package_name"] == "churn_model"
    assert not (destination / "LICENSE").exists()
    assert (destination / ".gitlab-ci.yml").is_file()
    assert not (destination / ".github").exists()
    assert "url = s3://acme-ml-data/projects" in (destination / ".dvc/config").read_text()
    assert (
        (destination / "CODEOWNERS").read_text().endswith("@acme-ml/platform @acme-ml/reviewers\n")
    )


def test_organisation_copy_as_documented(template_repo: Path, tmp_path: Path) -> None:
    """docs/updating.md's command at a terminal: the data file's answers are not asked
    again; Enter takes the default of each question left."""
    shutil.copy(DATA_FILE, tmp_path / "org-defaults.yml")
    commands = shell_block("updating.md", "An organisation's defaults")
    script = as_script(commands, {TEMPLATE_PLACEHOLDER: str(template_repo)})
    session = run_at_a_terminal(script, tmp_path)
    assert session.status == 0, session.output[-3000:]
    organisation = yaml.safe_load(DATA_FILE.read_text())
    assert session.questions == len(questions()) - len(organisation)
    answers = read_answers(tmp_path / "my-project")
    assert {name: answers[name] for name in organisation} == organisation
