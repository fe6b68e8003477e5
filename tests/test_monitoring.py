"""Monitoring in production: alert rules, service metrics, prediction logs and the drift check.

The alert rules are checked and unit-tested with Prometheus' own `promtool` (Debian's
`prometheus` package; `.ci/run` installs it). Marked `project`: a default project trains its
model, its service scores rows with prediction logging on, and `nox -s monitor` passes on
inputs like the training data and fails, naming the feature, on inputs with one shifted.
"""

from __future__ import annotations

import copy
import http.server
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import copy_project, read_answers, render, run, system_tool
from .docs_blocks import as_script, shell_block
from .matrix import Variant
from .test_ci import github_workflows, gitlab_jobs, triggers

SHIFTED = "mean_radius"
# Scores the rows of a CSV file with the project's own service, logging them, and prints
# /metrics; run with the project's interpreter. PACKAGE is replaced by the package name.
SCORE_ROWS = """
import sys
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from PACKAGE import serve

source, target, feature, shift = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
rows = pd.read_csv(source).drop(columns=[target])
rows[feature] += shift
with TestClient(serve.create_app(Path.cwd())) as client:
    for start in range(0, len(rows), 100):
        batch = rows.iloc[start : start + 100].to_dict("records")
        assert client.post("/predict", json={"rows": batch}).status_code == 200
    assert client.post("/predict", json={"rows": [{"unknown": 1}]}).status_code == 422
    print(client.get("/metrics").text)
"""


def promtool() -> str:
    return system_tool("promtool", "apt-get install prometheus")


def alert_rules(project: Path) -> list[dict[str, Any]]:
    groups = yaml.safe_load((project / "deploy/alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def selected_series(expr: str) -> set[str]:
    """Names of the series a PromQL expression reads (labels, ranges and functions dropped)."""
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)
    names = re.findall(r"\b([A-Za-z_:][\w:]*)\b(?!\s*\()", expr)
    return set(names) - {"and", "or", "unless", "bool", "offset"}


def exposed_series(text: str) -> set[str]:
    """Names of the samples in a Prometheus text exposition."""
    return {
        match.group(0)
        for line in text.splitlines()
        if not line.startswith("#") and (match := re.match(r"[A-Za-z_:][\w:]*", line))
    }


@pytest.mark.applies_to(serve_api=(True,))
def test_alert_rules_pass_promtool(variant: Variant, rendered: Path) -> None:
    promtool()
    # Both commands as docs/monitoring.md shows them.
    result = run(["bash", "-c", as_script(shell_block("monitoring.md", "Alert rules"))], rendered)
    assert f"SUCCESS: {len(alert_rules(rendered))} rules found" in result.stdout
    assert re.search(r"^Unit Testing:  deploy/alerts-test.yaml\n  SUCCESS$", result.stdout, re.M)


def test_every_alert_is_unit_tested(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "project", {})
    alerts = {rule["alert"] for rule in alert_rules(project)}
    assert {"ModelServiceDown", "ModelServiceErrors", "ModelServiceSlow"} <= alerts
    assert "DataDriftDetected" in alerts
    tests = yaml.safe_load((project / "deploy/alerts-test.yaml").read_text())["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert firing == alerts, "each alert needs a test in which it fires"


def test_monitor_jobs_run_on_a_schedule_with_least_privilege(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "project", {"ci_provider": "both"})
    workflow = github_workflows(project)["monitor.yml"]
    events = triggers(workflow)
    assert set(events) == {"schedule", "workflow_dispatch"}
    job = workflow["jobs"]["monitor"]
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    assert "nox -s monitor" in str(job["steps"])
    issue = job["steps"][-1]
    assert issue["run"].startswith("python3 -I ci/publish.py --provider github"), issue
    assert "--issue" in issue["run"] and "steps.drift.outcome == 'failure'" in issue["if"]
    assert set(issue["env"]) == {"GITHUB_TOKEN"}
    assert "${{ vars.PREDICTION_LOGS_URL }}" in job["env"]["PREDICTION_LOGS_URL"]

    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    jobs = gitlab_jobs(project)
    assert jobs["monitor"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "schedule" && $SCHEDULED_JOB == "monitor"'}
    ]
    assert jobs["monitor"]["timeout"]
    for name, body in jobs.items():
        merged = copy.deepcopy(config.get(body.get("extends", ""), {})) | body
        conditions = [rule.get("if", "") for rule in merged.get("rules", [{}])]
        if any('$CI_PIPELINE_SOURCE == "schedule"' in condition for condition in conditions):
            continue  # a scheduled job
        for condition in conditions:
            never_scheduled = '$CI_PIPELINE_SOURCE != "schedule"' in condition
            merge_requests = condition.startswith('$CI_PIPELINE_SOURCE == "merge_request_event"')
            assert never_scheduled or merge_requests, f"{name} would also run on schedules"


@dataclass(frozen=True)
class Monitored:
    """A trained project, the metrics its service exposed, and two drift checks' outcomes."""

    project: Path
    metrics: str
    logged_rows: int
    like_training: subprocess.CompletedProcess[str]
    shifted: subprocess.CompletedProcess[str]
    shifted_report: str
    shifted_metrics: str
    pushed: list[tuple[str, bytes]]
    like_metrics: str

    @property
    def features(self) -> int:
        """How many feature columns the project's schema.yaml declares (the target aside)."""
        columns = yaml.safe_load((self.project / "schema.yaml").read_text())["columns"]
        target = yaml.safe_load((self.project / "params.yaml").read_text())["data"]["target"]
        return len(set(columns) - {target})


class Pushgateway(http.server.BaseHTTPRequestHandler):
    """Records what is PUT to it, as a Prometheus Pushgateway would receive it."""

    received: list[tuple[str, bytes]]

    def do_PUT(self) -> None:  # the handler's required name
        length = int(self.headers["Content-Length"])
        self.received.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def score_and_log(project: Path, log: Path, shift: float) -> str:
    """Score every row of the raw data (SHIFTED moved by ``shift``) with logging on."""
    package = read_answers(project)["package_name"]
    script = log.with_suffix(".py")
    script.write_text(SCORE_ROWS.replace("PACKAGE", package))
    logging_on = [f"PREDICTION_LOG_PATH={log}", "PREDICTION_LOG_SAMPLE_RATE=1"]
    command = ["env", *logging_on, "uv", "run", "--locked", "python", str(script)]
    target = yaml.safe_load((project / "params.yaml").read_text())["data"]["target"]
    command += ["data/raw/dataset.csv", target, SHIFTED, str(shift)]
    return run(command, project).stdout


@pytest.fixture(scope="module")
def monitored(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Monitored:
    """A default project after its pipeline ran, checked on logs like and unlike its data."""
    project = copy_project(trained_project, tmp_path_factory.mktemp("monitored") / "project")
    logs = tmp_path_factory.mktemp("prediction-logs")
    metrics = score_and_log(project, logs / "like-training.jsonl", 0.0)
    score_and_log(project, logs / "shifted.jsonl", 4.0)
    # The way CI runs it: the logs' location in PREDICTION_LOGS_URL, a Pushgateway in
    # PUSHGATEWAY_URL, no options, only the task runner installed up front.
    received: list[tuple[str, bytes]] = []
    handler = type("Recorder", (Pushgateway,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environment = ["env", f"PREDICTION_LOGS_URL={logs / 'like-training.jsonl'}"]
    environment.append(f"PUSHGATEWAY_URL=http://127.0.0.1:{server.server_address[1]}/")
    ci_call = ["uv", "run", "--locked", "--only-group", "ci", "nox", "-s", "monitor"]
    try:
        like = run([*environment, *ci_call], project, False)
    finally:
        server.shutdown()
        server.server_close()
    like_metrics = (project / "reports/monitor/drift.prom").read_text()
    # As docs/monitoring.md shows it, on the file the first run fetched, now other logs.
    shutil.copy(logs / "shifted.jsonl", project / "data/monitoring/latest")
    commands = as_script(shell_block("monitoring.md", "The drift check"))
    shifted = run(["bash", "-c", commands], project, check=False)
    reports = project / "reports/monitor"
    return Monitored(
        project=project,
        metrics=metrics,
        logged_rows=len((logs / "like-training.jsonl").read_text().splitlines()),
        like_training=like,
        shifted=shifted,
        shifted_report=(reports / "drift.md").read_text(),
        shifted_metrics=(reports / "drift.prom").read_text(),
        pushed=received,
        like_metrics=like_metrics,
    )


@pytest.mark.project
def test_ci_pushes_the_drift_results_to_the_pushgateway(monitored: Monitored) -> None:
    assert len(monitored.pushed) == 1
    path, body = monitored.pushed[0]
    assert path == "/metrics/job/model-drift"
    assert body.decode().splitlines() == monitored.like_metrics.splitlines()
    assert "model_drift_features 0.0" in body.decode(), "inputs like the training data"


@pytest.mark.project
def test_monitor_without_logs_skips_having_installed_only_the_task_runner(
    monitored: Monitored, tmp_path: Path
) -> None:
    """CI's scheduled job before PREDICTION_LOGS_URL is set: a message, success, and none of
    the pipeline's packages installed."""
    latest = monitored.project / "data/monitoring/latest"
    shutil.move(latest, tmp_path / "latest")
    environment = tmp_path / "environment"
    command = ["env", "-u", "PREDICTION_LOGS_URL", f"UV_PROJECT_ENVIRONMENT={environment}"]
    command += ["uv", "run", "--locked", "--only-group", "ci", "nox", "-s", "monitor"]
    try:
        result = run(command, monitored.project)
    finally:
        shutil.move(tmp_path / "latest", latest)
    assert "Drift check skipped: set PREDICTION_LOGS_URL" in result.stdout + result.stderr
    installed = {
        path.name.split("-")[0].lower()
        for path in environment.glob("lib/python*/site-packages/*.dist-info")
    }
    assert "nox" in installed
    assert not {"pandas", "scikit_learn", "dvc", "matplotlib"} & installed
    assert len(installed) < 25, sorted(installed)


@pytest.mark.project
def test_service_metrics_cover_requests_latency_predictions_and_model(
    monitored: Monitored,
) -> None:
    text = monitored.metrics
    assert 'http_requests_total{method="POST",route="/predict",status="200"} 6.0' in text
    assert 'http_requests_total{method="POST",route="/predict",status="422"} 1.0' in text
    assert 'http_request_duration_seconds_bucket{le="0.5",route="/predict"}' in text
    assert 'http_request_duration_seconds_count{route="/predict"} 7.0' in text
    predicted = re.findall(r'^predictions_total\{label="(\w+)"\} (\d+)\.0$', text, re.MULTILINE)
    assert {label for label, _ in predicted} == {"benign", "malignant"}, "classes by name"
    assert sum(int(count) for _, count in predicted) == monitored.logged_rows
    assert f"prediction_probability_count {monitored.logged_rows}.0" in text
    assert f"prediction_log_rows_total {monitored.logged_rows}.0" in text
    lock = yaml.safe_load((monitored.project / "dvc.lock").read_text())
    model = next(o for o in lock["stages"]["export"]["outs"] if o["path"] == "models/model.onnx")
    assert re.search(rf'^model_info\{{.*version="{model["md5"][:12]}"\}} 1\.0$', text, re.M)


@pytest.mark.project
def test_ci_fetches_the_logs_and_docs_command_reports_drift(monitored: Monitored) -> None:
    """How the drift check is wired: CI fetches the logs from PREDICTION_LOGS_URL and passes
    on inputs like the training data; the docs' command fails on shifted inputs and leaves
    its report, gauge and plot. (Which feature drifts, and why, is the generated project's
    own test_monitor.py's to check.)"""
    like = monitored.like_training
    assert like.returncode == 0, like.stdout + like.stderr
    assert "dvc get-url --force" in like.stderr, "the logs are fetched from PREDICTION_LOGS_URL"
    assert monitored.shifted.returncode != 0
    assert f"{SHIFTED} (PSI" in monitored.shifted.stdout + monitored.shifted.stderr
    # The model's predictions are compared as one more column: they may drift with the input.
    compared = monitored.features + 1
    drifted = re.search(
        rf"\*\*Drift in ([12]) of {compared} features:\*\*", monitored.shifted_report
    )
    assert drifted, monitored.shifted_report
    assert "| predicted diagnosis |" in monitored.shifted_report
    assert f"model_drift_features {drifted.group(1)}.0" in monitored.shifted_metrics
    assert (monitored.project / "reports/monitor/drift.png").stat().st_size > 5_000


@pytest.mark.project
def test_alert_rules_read_only_series_that_exist(monitored: Monitored) -> None:
    exposed = exposed_series(monitored.metrics) | exposed_series(monitored.shifted_metrics)
    exposed.add("up")  # written by Prometheus for every scrape target
    for rule in alert_rules(monitored.project):
        missing = selected_series(rule["expr"]) - exposed
        assert not missing, f"{rule['alert']} reads series nothing exposes: {missing}"
