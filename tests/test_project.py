"""Set generated projects up as their README says and run their own checks.

By default only the project with the default answers is checked end to end; `--full`
checks every variant of the matrix.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from .conftest import (
    assert_gate_passed_on_the_metrics,
    copy_project,
    fresh_virtual_environment,
    pipeline_stages,
    render,
    run,
    setup_project,
    stages_affected_by,
)
from .docs_blocks import TEMPLATE_PLACEHOLDER, as_script, shell_block
from .matrix import Variant

pytestmark = pytest.mark.project


def stages_run(output: str) -> list[str]:
    """Names of the stages `dvc repro` ran (not skipped), in order."""
    return re.findall(r"Running stage '([^']+)'", output)


# The images the evaluate stage draws, by task.
IMAGES = {
    "classification": ("roc", "precision_recall", "confusion_matrix", "importance"),
    "regression": ("predicted_vs_actual", "residuals", "importance"),
}
# The command a user runs to check a project: the last line of docs/index.md's quick start.
CHECKS = "uv run nox -s lint tests pipeline"


@dataclass(frozen=True)
class Checked:
    """A project after its own checks ran once, as its user runs them: what they printed,
    and the report of its tests (pytest's JUnit XML, asked for through PYTEST_ADDOPTS)."""

    project: Path
    output: str
    junit: Path


@pytest.fixture(scope="session")
def checked(
    project_variant: Variant, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Checked:
    """The default answers through docs/index.md's quick start, typed as written; any other
    variant rendered and set up as its README says, then checked with the same command. Both
    in a fresh virtual environment, active, as after `pip install copier uv`."""
    home = tmp_path_factory.mktemp(f"checked-{project_variant.name}")
    junit = home / "junit.xml"
    with pytest.MonkeyPatch.context() as patch:
        venv = fresh_virtual_environment(home, patch)
        patch.setenv("VIRTUAL_ENV", str(venv))
        patch.setenv("PYTEST_ADDOPTS", f"--junitxml={junit}")
        if project_variant.answers:
            project = home / "my-project"
            setup_project(render(template_repo, project, project_variant.answers))
            result = run(["bash", "-c", as_script(CHECKS)], project)
        else:
            commands = shell_block("index.md", "Quick start")
            assert commands.splitlines()[-1] == CHECKS
            script = as_script(commands, {TEMPLATE_PLACEHOLDER: str(template_repo)})
            result = run(["bash", "-c", script], home)
            project = home / "my-project"
    return Checked(project, result.stdout + result.stderr, junit)


def test_lint_is_clean(checked: Checked) -> None:
    """Lint passes, and the `uv run` calls of the sessions stay quiet while another
    environment is active (uv may say so for each command typed, before nox starts)."""
    assert "Session lint was successful" in checked.output
    sessions = checked.output.split("nox > Running session lint", 1)[1]
    assert "does not match the project environment" not in sessions


def test_own_tests_pass(checked: Checked) -> None:
    """Every test file of the project runs, and every test in it passes: none is skipped."""
    suite = ElementTree.parse(checked.junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "0")
    ran = {case.get("classname", "").split(".")[1] for case in suite.iter("testcase")}
    files = {path.stem for path in (checked.project / "tests").glob("test_*.py")}
    assert ran == files, f"test files that ran no test: {sorted(files - ran)}"
    assert int(suite.get("tests", "0")) >= 5 * len(files)


def test_pipeline_reproduces_and_passes_the_gate(checked: Checked) -> None:
    project = checked.project
    assert stages_run(checked.output) == pipeline_stages(project)
    assert_gate_passed_on_the_metrics(checked.output, project)
    task = yaml.safe_load((project / ".copier-answers.yml").read_text())["ml_task"]
    for image in IMAGES[task]:
        assert (project / "plots/images" / f"{image}.png").stat().st_size > 5_000

    again = run(["uv", "run", "--locked", "dvc", "repro"], project)
    assert stages_run(again.stdout) == []
    assert "Data and pipelines are up to date" in again.stdout

    run(["uv", "run", "--locked", "dvc", "plots", "show"], project)
    assert (project / "dvc_plots/index.html").is_file()
    untracked = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout
    assert "dvc_plots" not in untracked, "the HTML page of `dvc plots show` is not for git"


def test_formatter_leaves_the_project_unchanged(checked: Checked) -> None:
    project = checked.project
    run(["git", "add", "--all"], project)  # the quick start commits nothing
    run(["uv", "run", "--locked", "ruff", "format", "."], project)
    run(["uv", "run", "--locked", "ruff", "check", "--fix", "."], project)
    assert run(["git", "diff", "--name-only"], project).stdout == ""


@pytest.fixture(scope="module")
def story_project(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project whose pipeline has run once and been committed (this module's copy:
    each test changes it, then puts it back)."""
    return copy_project(trained_project, tmp_path_factory.mktemp("story") / "project")


def edit_params(project: Path, old: str, new: str) -> None:
    params = project / "params.yaml"
    text = params.read_text()
    assert old in text
    params.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("breakage", "column", "rule"),
    [
        ("drop", "mean_area", "required"),
        ("out_of_range", "worst_radius", "max 73"),
    ],
)
def test_broken_raw_data_stops_at_validation(
    story_project: Path, breakage: str, column: str, rule: str
) -> None:
    raw = story_project / "data/raw/dataset.csv"
    lines = raw.read_text().splitlines()
    header = lines[0].split(",")
    index = header.index(column)
    rows = [line.split(",") for line in lines[1:]]
    if breakage == "drop":
        rows = [row[:index] + row[index + 1 :] for row in rows]
        del header[index]
    else:
        rows[10][index] = "9999"
    source = story_project / "data/external/broken.csv"
    source.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n")
    edit_params(story_project, "source: sklearn:breast_cancer", "source: data/external/broken.csv")
    try:
        result = run(["uv", "run", "--locked", "nox", "-s", "pipeline"], story_project, False)
        assert result.returncode != 0
        assert "`uv run dvc checkout` brings back the last good" in result.stdout + result.stderr
        stages = pipeline_stages(story_project)
        assert stages_run(result.stdout) == stages[: stages.index("validate") + 1]
        assert f"column '{column}' breaks rule '{rule}'" in result.stdout + result.stderr
        assert "failed to reproduce 'validate'" in result.stdout + result.stderr
    finally:
        source.unlink()
        run(["git", "checkout", "--", "."], story_project)
        run(["uv", "run", "--locked", "dvc", "checkout", "--quiet", "--force"], story_project)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG header, checking the signature on the way."""
    content = path.read_bytes()
    assert content.startswith(PNG_SIGNATURE), f"{path.name} is not a PNG file"
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def test_report_compares_a_parameter_change_with_the_base(story_project: Path) -> None:
    """A changed training parameter re-runs only the stages that depend on it, and the
    report compares the result with the base branch."""
    run(["git", "checkout", "--quiet", "-b", "fewer-trees"], story_project)
    try:
        edit_params(story_project, "n_estimators: 200", "n_estimators: 5")
        result = run(["uv", "run", "--locked", "dvc", "repro"], story_project)
        changed = "train.random_forest.n_estimators"
        assert stages_run(result.stdout) == stages_affected_by(story_project, changed)
        assert "prepare" not in stages_run(result.stdout)
        result = run(
            ["uv", "run", "--locked", "nox", "-s", "report", "--", "main"],
            story_project,
            check=False,
        )
        report_dir = story_project / "reports/pr"
        report = (report_dir / "report.md").read_text()
        # Fewer trees may lower the metric beyond the tolerance: the session fails then.
        assert result.returncode == (0 if "## Model report: passed" in report else 1)

        assert report.startswith("<!-- ml-report: pipeline metrics -->")
        assert "### Quality gate" in report
        assert re.search(r"Threshold: `roc_auc` = [\d.]+ against a minimum of 0\.95", report)
        assert re.search(r"Against the base: `roc_auc` changed by [-+][\d.]+", report)
        header = re.search(r"\| Path +\| Metric +\| main +\| head +\| Change +\|", report)
        assert header, "the metrics table has base, head and change columns"
        assert re.search(r"\| Path +\| Param +\| main +\| head +\|", report)
        assert "workspace" not in report, "head is called head, as in the plots"
        deltas = re.findall(
            r"\| metrics\.json \| (\w+) +\| ([\d.]+) +\| ([\d.]+) +\| (\S+) ", report
        )
        assert {name for name, *_ in deltas} >= {"accuracy", "roc_auc", "f1"}
        assert any(float(change) != 0 for *_, change in deltas), "a change shows a delta"
        assert re.search(
            r"\| params\.yaml \| train\.random_forest\.n_estimators +\| 200 +\| 5 ", report
        )
        # The demo's slices (evaluate.slices): three ranges of one column, base beside head.
        test_rows = len((story_project / "data/prepared/test.csv").read_text().splitlines()) - 1
        worst = r"`([^`]+)` \(\d+ rows\)"
        gated = rf"- Worst slice: {worst}: `roc_auc` = [\d.]+ against a minimum of 0\.9: \*\*"
        assert re.search(gated, report)
        base, head = (
            re.search(rf"- Worst slice at {side}: {worst}, [\d.]+", report)
            for side in ("base", "head")
        )
        assert base and head, "the worst slice of base and of head"
        slice_rows = re.findall(r"(?m)^\| ([^|]+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \|$", report)
        assert len(slice_rows) == 3 and {head.group(1), base.group(1)} <= {r[0] for r in slice_rows}
        assert sum(int(rows) for _, rows, *_ in slice_rows) == test_rows, "every test row, once"
        contract = report.split("### Data contract", 1)[1].split("###", 1)[0]
        assert "`schema.yaml` and the data's profile are as at the base." in contract

        images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report)
        assert len(images) >= 2
        for image in images:
            width, height = png_size(report_dir / image)
            assert width >= 300 and height >= 300
            assert (report_dir / image).stat().st_size > 5_000
        for row in ("| Python |", "| OS |", "| CPU |", "| GPU |", "| Packages |", "| Commit |"):
            assert row in report
        assert re.search(r"\| Commit \| `[0-9a-f]{7,}-dirty` \|", report), "params.yaml is edited"
        assert re.search(r"\| Data \| `data/raw/dataset\.csv` md5 `[0-9a-f]{32}`", report)
    finally:
        run(["git", "checkout", "--quiet", "--force", "main"], story_project)
        run(["uv", "run", "--locked", "dvc", "checkout", "--quiet", "--force"], story_project)


@pytest.mark.full
def test_the_committed_results_reproduce_and_a_stale_lock_is_refused(story_project: Path) -> None:
    """`nox -s reproduce`, as CI runs it on main: every stage again from its inputs and seeds,
    the metrics as committed, the tree left as it was. A parameter changed without `dvc repro`
    makes dvc.lock stale, which fails the check."""
    reproduce = ["uv", "run", "--locked", "nox", "-s", "reproduce"]
    output = run(reproduce, story_project).stdout
    assert "reproduce: dvc.lock is current (dvc status)" in output
    assert re.search(r"reproduce: \d+ values of metrics\.json within 0\.001", output)
    same = re.search(r"reproduce: the same bytes again: (.*)", output)
    assert same and "models/model.skops" in same.group(1).split(", "), output
    status = ["git", "status", "--porcelain", "--untracked-files=no"]
    assert run(status, story_project).stdout == "", "the committed files are back"
    # Committed without `dvc repro`: the tree is clean, and dvc.lock no longer matches it.
    edit_params(story_project, "n_estimators: 200", "n_estimators: 150")
    run(["git", "commit", "--quiet", "--all", "-m", "More trees, lock not updated"], story_project)
    try:
        result = run(reproduce, story_project, check=False)
        said = result.stdout + result.stderr  # nox passes the script's stderr on as stdout
        assert result.returncode == 1, said
        assert "not reproduced: dvc.lock is stale: train: changed deps params.yaml" in said
    finally:
        run(["git", "reset", "--quiet", "--hard", "HEAD~1"], story_project)


@pytest.mark.full
@pytest.mark.applies_to(ml_task=("regression",))
def test_a_regression_report_gates_on_an_error_metric(checked: Checked, tmp_path: Path) -> None:
    """A regressor's report: `rmse` against a maximum, a rise within the tolerance, its error
    metrics against the base, and predicted-against-actual and residual plots of both."""
    project = copy_project(checked.project, tmp_path / "project")
    run(["git", "add", "--all"], project)
    run(["git", "commit", "--quiet", "-m", "The sample's pipeline"], project)
    run(["git", "checkout", "--quiet", "-b", "ridge"], project)
    edit_params(project, "model: random_forest", "model: ridge")
    result = run(["uv", "run", "--locked", "dvc", "repro"], project)
    assert "prepare" not in stages_run(result.stdout)
    result = run(["uv", "run", "--locked", "nox", "-s", "report", "--", "main"], project, False)
    report = (project / "reports/pr/report.md").read_text()
    assert result.returncode == (0 if "## Model report: passed" in report else 1)
    assert re.search(r"Threshold: `rmse` = [\d.]+ against a maximum of 60", report)
    assert re.search(r"`rmse` changed by [-+][\d.]+ \(base [\d.]+, allowed rise 2", report)
    deltas = re.findall(r"\| metrics\.json \| (\w+) +\|", report)
    assert set(deltas) == {"rmse", "mae", "r2"}
    assert re.search(r"\| params\.yaml \| train\.model +\| random_forest +\| ridge ", report)
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report)
    assert images == ["predicted_vs_actual.png", "residuals.png", "importance.png"]
    for image in images:
        width, height = png_size(project / "reports/pr" / image)
        assert width >= 300 and height >= 300


def ci_commands(template_repo: Path, destination: Path) -> dict[str, list[str]]:
    """The pull/merge-request commands of the pipeline job, as each platform's file has them."""
    project = render(template_repo, destination, {"ci_provider": "both"})
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    steps = workflow["jobs"]["pipeline"]["steps"]
    github = [step["run"] for step in steps if "--report" in step.get("run", "")]
    gitlab = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["pipeline"]["script"]
    return {"github": github, "gitlab": gitlab}


def test_ci_fails_a_pull_request_whose_metric_drops_beyond_the_tolerance(
    story_project: Path, template_repo: Path, tmp_path: Path
) -> None:
    """A request that lowers roc_auc by more than gate.tolerance, while still above the
    threshold, fails the command each platform's CI runs, after writing the report."""
    commands = ci_commands(template_repo, tmp_path / "both")
    assert len(commands["github"]) == 1
    run(["git", "checkout", "--quiet", "-b", "worse-model"], story_project)
    run(["git", "remote", "add", "origin", str(story_project)], story_project)
    env = {
        "BASE_REF": "main", "PR_NUMBER": "7", "HEAD_SHA": "0" * 40,  # GitHub's step env
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_PROJECT_ID": "1",  # GitLab's
    }  # fmt: skip
    try:
        edit_params(story_project, "threshold: 0.95", "threshold: 0.5")
        edit_params(story_project, "max_depth: 8", "max_depth: 1")
        edit_params(story_project, "n_estimators: 200", "n_estimators: 2")
        run(["git", "commit", "--quiet", "-am", "A weaker model"], story_project)
        for platform, lines in commands.items():
            report = story_project / "reports/pr/report.md"
            report.unlink(missing_ok=True)
            for line in lines:
                result = subprocess.run(
                    ["bash", "-eo", "pipefail", "-c", line],
                    cwd=story_project, env={**os.environ, **env},
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if result.returncode:
                    break
            output = result.stdout + result.stderr
            assert result.returncode != 0, f"{platform}: the gate's failure failed nothing"
            assert "against the base: roc_auc changed by -" in output, output[-3000:]
            assert "beyond the tolerance" in output
            text = report.read_text()
            assert text.splitlines()[1] == "## Model report: FAILED", platform
            assert re.search(
                r"Threshold: `roc_auc` = [\d.]+ against a minimum of 0\.5: \*\*pass", text
            )
            assert re.search(r"Against the base: `roc_auc` changed by -[\d.]+ .*\*\*FAIL\*\*", text)
        recorded = json.loads((story_project / "reports/pr/pull-request.json").read_text())
        assert recorded == {"number": 7, "head_sha": "0" * 40}
        # Pushed to the branch (no report), the same model passes: its threshold is met.
        run(["uv", "run", "--locked", "nox", "-s", "pipeline"], story_project)
    finally:
        run(["git", "remote", "remove", "origin"], story_project)
        run(["git", "checkout", "--quiet", "--force", "main"], story_project)
        run(["uv", "run", "--locked", "dvc", "checkout", "--quiet", "--force"], story_project)


def test_report_on_a_base_without_metrics_says_so(story_project: Path) -> None:
    first_commit = run(["git", "rev-list", "--max-parents=0", "HEAD"], story_project).stdout
    result = run(
        ["uv", "run", "--locked", "nox", "-s", "report", "--", first_commit.strip()],
        story_project,
    )
    assert result.returncode == 0
    report = (story_project / "reports/pr/report.md").read_text()
    assert "No parameter changed." in report
    assert "| Param " not in report, "no table without a row"
    assert "has no metrics yet" in report
    assert "Against the base: not compared" in report
