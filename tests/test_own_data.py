"""A user's own data, end to end: a generated project takes a CSV file with text categories,
gaps and text labels, drafts its schema, and passes its own lint, tests, pipeline, report and
served API without a line of its code or tests edited.

The commands are the ones docs/data.md shows under "Bring your own data".
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import (
    copy_project,
    point_params_at,
    project_variants,
    render,
    run,
    setup_project,
)
from .docs_blocks import run_block, shell_block
from .matrix import Variant, variants

pytestmark = [pytest.mark.project, pytest.mark.full]

PLANS = ("basic", "plus", "premium")
REGIONS = ("north", "south", "east", "west", "centre")


def write_members(path: Path, classes: tuple[str, ...], rows: int = 600, seed: int = 1) -> Path:
    """A membership table: a whole number, a number with gaps, yes/no, a short list of plans,
    free-text regions with empty cells, and a text label that follows tenure and plan."""
    rng = random.Random(seed)
    lines = ["Tenure Months,Monthly Charges,Auto Pay,Plan,Region,Tier"]
    for _ in range(rows):
        tenure = rng.randint(1, 72)
        plan = rng.choice(PLANS)
        score = tenure / 72 + 0.25 * PLANS.index(plan) + rng.gauss(0, 0.04)
        band = min(int(score / 1.5 * len(classes)), len(classes) - 1)
        charges = "" if rng.random() < 0.1 else f"{20 + 3 * PLANS.index(plan) + rng.random():.2f}"
        region = "" if rng.random() < 0.05 else rng.choice(REGIONS)
        auto_pay = rng.choice(("yes", "no"))
        lines.append(f"{tenure},{charges},{auto_pay},{plan},{region},{classes[band]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_spending(path: Path, rows: int = 500, seed: int = 3) -> Path:
    """The membership table with a number to predict: monthly spend, which follows tenure
    and plan, with noise."""
    rng = random.Random(seed)
    lines = ["Tenure Months,Auto Pay,Plan,Region,Monthly Spend"]
    for _ in range(rows):
        tenure = rng.randint(1, 72)
        plan = rng.choice(PLANS)
        spend = 20 + 0.5 * tenure + 15 * PLANS.index(plan) + rng.gauss(0, 2)
        region = "" if rng.random() < 0.05 else rng.choice(REGIONS)
        lines.append(f"{tenure},{rng.choice(('yes', 'no'))},{plan},{region},{spend:.2f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def served_answers(project: Path, row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start `nox -s serve` on a free port; return /model and /predict's answer for ``row``."""
    port = free_port()
    command = ["uv", "run", "--locked", "nox", "-s", "serve", "--", "--port", str(port)]
    log = project.parent / "serve.log"
    # A session of its own, so that stopping it stops nox, uv and uvicorn together.
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=project, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                call(f"{base}/ready")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    text = log.read_text(encoding="utf-8", errors="replace")
                    pytest.fail(f"the service did not become ready:\n{text[-3000:]}")
                time.sleep(0.5)
        return call(f"{base}/model"), call(f"{base}/predict", {"rows": [row]})
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def first_row(csv_file: Path, schema: dict[str, Any], target: str) -> dict[str, Any]:
    """The first data row of the CSV as a client sends it: snake_case names, JSON values."""
    header, values = csv_file.read_text(encoding="utf-8").splitlines()[:2]
    names = [
        re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_").lower() for name in header.split(",")
    ]
    row: dict[str, Any] = {}
    for name, text in zip(names, values.split(","), strict=True):
        if name == target:
            continue
        kind = schema["columns"][name].get("type", "float")
        if text == "":
            row[name] = None
        elif kind in ("float", "int"):
            row[name] = float(text) if kind == "float" else int(text)
        elif kind == "bool":
            row[name] = text == "yes"
        else:
            row[name] = text
    return row


def bring(
    project: Path,
    csv_file: Path,
    positive_class: str | None,
    lint: bool = True,
    target: str = "tier",
) -> dict[str, Any]:
    """docs/data.md's commands for bringing a CSV; return the drafted schema. Without
    ``lint``, its checks leave lint out (the code has not changed since it last passed)."""
    name = csv_file.name
    first = shell_block("data.md", "Bring your own data", 0).replace("customers.csv", name)
    run_block(project, first, {"/path/to/" + name: str(csv_file)})
    point_params_at(project, f"data/external/{name}", target, positive_class, slices=("plan",))
    checks = shell_block("data.md", "Bring your own data", 1).replace("customers.csv", name)
    assert "nox -s lint tests pipeline" in checks
    if not lint:
        checks = checks.replace("nox -s lint tests pipeline", "nox -s tests pipeline")
    output = run_block(project, checks)
    header = csv_file.read_text(encoding="utf-8").splitlines()[0]
    for column in (re.sub(r"\W+", "_", name).lower() for name in header.split(",")):
        assert column in output, f"the schema command says nothing about {column}"
    assert "quality gate passed" in output
    schema: dict[str, Any] = yaml.safe_load((project / "schema.yaml").read_text(encoding="utf-8"))
    return schema


def check_project(
    project: Path, csv_file: Path, classes: tuple[str, ...], positive: str | None, lint: bool
) -> None:
    schema = bring(project, csv_file, positive, lint)
    columns = schema["columns"]
    assert columns["tenure_months"]["type"] == "int"
    assert columns["monthly_charges"] == columns["monthly_charges"] | {
        "type": "float",
        "nullable": True,
    }
    assert columns["auto_pay"]["type"] == "bool"
    assert columns["plan"] == {"type": "category", "allowed": sorted(PLANS)}
    assert columns["region"]["type"] == "category" and columns["region"].get("nullable") is True
    assert sorted(columns["tier"]["allowed"]) == sorted(classes)

    metrics = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["per_class"]) == set(classes)
    if positive:
        assert metrics["precision"] == metrics["per_class"][positive]["precision"]
        assert metrics["recall"] == metrics["per_class"][positive]["recall"]
    curves = (project / "plots/data/roc.csv").read_text(encoding="utf-8")
    assert {line.split(",")[0] for line in curves.splitlines()[1:]} == (
        {positive} if positive else set(classes)
    )

    run(["uv", "run", "--locked", "nox", "-s", "report", "--", "main"], project)
    report = (project / "reports/pr/report.md").read_text(encoding="utf-8")
    if positive:
        assert f"Precision, recall and F1 are those of `{positive}`" in report
    else:
        assert f"macro averages over {len(classes)} classes" in report
    for name in classes:
        assert f"per_class.{name}.f1" in report
    contract = report.split("### Data contract", 1)[1].split("###", 1)[0]
    assert "| column | what | base | head |" in contract, "new data: the contract changed"
    # Slices of a text column: one per plan, each in the report.
    found = json.loads((project / "reports/slices.json").read_text(encoding="utf-8"))["slices"]
    assert [one["slice"] for one in found] == [f"plan = {plan}" for plan in sorted(PLANS)]
    for plan in PLANS:
        assert f"| plan = {plan} |" in report

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    if answers.get("serve_api", True):
        row = first_row(csv_file, schema, "tier")
        model, predicted = served_answers(project, row)
        assert sorted(model["classes"]) == sorted(classes)
        assert model["target"] == "tier"
        (prediction,) = predicted["predictions"]
        assert prediction["label"] in classes
        assert set(prediction["probabilities"]) == set(classes)


def story_variants(config: pytest.Config) -> list[Variant]:
    """The defaults, and with --full one variant far from them that still serves the model."""
    chosen = project_variants(config)[:1]
    if len(project_variants(config)) > 1:
        chosen.append(
            next(
                v
                for v in variants()[1:]
                if v.answers.get("serve_api") and v.answers.get("binder") is False
            )
        )
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "story_variant" in metafunc.fixturenames:
        chosen = story_variants(metafunc.config)
        metafunc.parametrize("story_variant", chosen, ids=lambda v: v.name)


def test_own_data_with_three_text_classes_then_two(
    story_variant: Variant, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """From a project whose pipeline ran on the sample data and was committed."""
    if story_variant.answers:
        template_repo = request.getfixturevalue("template_repo")
        answers = story_variant.answers
        project = setup_project(render(template_repo, tmp_path / "project", answers))
        run(["uv", "run", "--locked", "dvc", "repro"], project)
        run(["git", "add", "--all"], project)
        run(["git", "commit", "--quiet", "-m", "The sample's pipeline"], project)
    else:
        project = copy_project(request.getfixturevalue("trained_project"), tmp_path / "project")

    three = ("bronze", "silver", "gold")
    members = write_members(tmp_path / "downloads/members.csv", three)
    check_project(project, members, three, None, lint=True)

    two = ("churned", "stayed")
    churn = write_members(tmp_path / "downloads/churn.csv", two, seed=2)
    check_project(project, churn, two, "churned", lint=False)


def test_own_data_with_a_number_to_predict(template_repo: Path, tmp_path: Path) -> None:
    """A regression project takes a CSV whose target is a number: the schema bounds it, the
    metrics are errors in its units, and the service answers a value."""
    project = setup_project(render(template_repo, tmp_path / "project", {"ml_task": "regression"}))
    run(["uv", "run", "--locked", "dvc", "repro"], project)
    run(["git", "add", "--all"], project)
    run(["git", "commit", "--quiet", "-m", "The sample's pipeline"], project)

    spending = write_spending(tmp_path / "downloads/spending.csv")
    schema = bring(project, spending, None, lint=True, target="monthly_spend")
    target = schema["columns"]["monthly_spend"]
    assert target["type"] == "float" and "allowed" not in target
    spends = [float(line.rsplit(",", 1)[1]) for line in spending.read_text().splitlines()[1:]]
    assert target["min"] <= min(spends) and target["max"] >= max(spends)
    metrics = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) == {"rmse", "mae", "r2"}
    assert metrics["r2"] > 0.8, "spend follows tenure and plan"
    found = json.loads((project / "reports/slices.json").read_text(encoding="utf-8"))["slices"]
    assert all(one["metrics"]["rmse"] < 10 for one in found), found

    run(["uv", "run", "--locked", "nox", "-s", "report", "--", "main"], project)
    report = (project / "reports/pr/report.md").read_text(encoding="utf-8")
    assert re.search(r"Threshold: `rmse` = [\d.]+ against a maximum of 60", report)
    assert "errors in `monthly_spend`'s units" in report
    assert "![predicted_vs_actual](predicted_vs_actual.png)" in report

    model, predicted = served_answers(project, first_row(spending, schema, "monthly_spend"))
    assert (model["task"], model["target"]) == ("regression", "monthly_spend")
    (prediction,) = predicted["predictions"]
    assert min(spends) <= prediction["value"] <= max(spends)
