"""Data storage: the DVC remote of each answer, how CI uses it, and no credential in git.

The slow tests (marked `project`) push from one clone of a generated project and reuse what
it pushed from another, with a local directory remote and with S3 served by moto on
127.0.0.1. They follow docs/data.md by running its command blocks: the S3-compatible store's
endpoint is committed with the project, the keys reach DVC through
`dvc remote modify --local` or the environment and are never committed, and the project's
own data comes in as "Bring your own data" says. The drift check reads prediction logs from
S3 as docs/monitoring.md shows.
"""

from __future__ import annotations

import configparser
import csv
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    copy_project,
    point_params_at,
    read_answers,
    render,
    run,
    setup_project,
    stages_affected_by,
)
from .docs_blocks import run_block, shell_block
from .matrix import Variant, choice_values, questions
from .test_ci import check, github_workflows, gitlab_jobs, tool
from .test_project import stages_run

CLOUD_LOGIN_ACTIONS = {
    "s3": "aws-actions/configure-aws-credentials@",
    "gcs": "google-github-actions/auth@",
    "azure": "Azure/login@",
}
GITLAB_AUDIENCES = {
    "s3": "sts.amazonaws.com",
    "gcs": "https://iam.googleapis.com/$GCP_WORKLOAD_IDENTITY_PROVIDER",
    "azure": "api://AzureADTokenExchange",
}
# Things that must never be committed; each is checked against a planted example below.
CREDENTIAL_PATTERNS = {
    "AWS access key id": r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    "AWS secret access key": r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}",
    "private key": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY",
    "password assignment": r"(?i)\bpass(?:word|wd)\s*=",
    "GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{36}",
    "GitLab token": r"\bglpat-[A-Za-z0-9_-]{20}",
    "Slack token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "Google API key": r"\bAIza[0-9A-Za-z_-]{35}",
    "Azure account key": r"(?i)AccountKey=[A-Za-z0-9/+]{20,}",
    "SAS signature": r"[?&]sig=[A-Za-z0-9%/+]{20,}",
    "quoted secret literal": (
        r"(?i)(?:secret|token|api_?key|access_key)\w*['\"]?\s*[:=]\s*['\"][A-Za-z0-9/+_-]{16,}['\"]"
    ),
    "URL with user:password": r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]+@",
}
PLANTED = {
    "AWS access key id": "key = " + "AKIA" + "Q" * 16,
    "AWS secret access key": "aws_secret_access_key = " + "a1/B" * 10,
    "private key": "-----BEGIN OPENSSH " + "PRIVATE KEY-----",
    "password assignment": "    password" + " = hunter2",
    "GitHub token": "ghp" + "_" + "x1" * 18,
    "GitLab token": "glpat" + "-" + "y2" * 10,
    "Slack token": "xoxb" + "-1234567890-abc",
    "Google API key": "AIza" + "z" * 35,
    "Azure account key": "AccountKey" + "=" + "k" * 30,
    "SAS signature": "https://a.blob.core.windows.net/c?sv=2024&sig" + "=" + "s" * 24,
    "quoted secret literal": 'client_secret: "' + "q" * 20 + '"',
    "URL with user:password": "s3://user" + ":pass" + "@bucket/path",
}


def test_remote_config_holds_the_url_and_nothing_else(variant: Variant, rendered: Path) -> None:
    answers = read_answers(rendered)
    config = configparser.ConfigParser()
    config.read_string((rendered / ".dvc/config").read_text())
    remotes = [section for section in config.sections() if section.startswith("'remote")]
    assert remotes == ["'remote \"storage\"'"]
    assert dict(config[remotes[0]]) == {"url": answers["dvc_remote_url"]}
    assert "@" not in answers["dvc_remote_url"], "a user name belongs in .dvc/config.local"


def test_credential_patterns_catch_planted_examples() -> None:
    for name, pattern in CREDENTIAL_PATTERNS.items():
        assert re.search(pattern, PLANTED[name]), f"{name} does not catch its example"


def test_no_variant_commits_a_credential(variant: Variant, rendered: Path) -> None:
    found = []
    for path in sorted(rendered.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for name, pattern in CREDENTIAL_PATTERNS.items():
            for match in re.finditer(pattern, text):
                found.append(f"{path.relative_to(rendered)}: {name}: {match.group(0)[:40]}")
    assert found == []


@pytest.fixture(params=choice_values(questions()["dvc_remote"]))
def ci_project(request: pytest.FixtureRequest, ci_projects: dict[str, Path]) -> Path:
    """The project with both CI providers for each remote."""
    return ci_projects[request.param]


def test_ci_files_of_every_remote_pass_their_checks(ci_project: Path) -> None:
    workflows = [str(path) for path in sorted((ci_project / ".github/workflows").glob("*.yml"))]
    check([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
          ci_project)  # fmt: skip
    check([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"],
          ci_project)  # fmt: skip
    output = check([tool("zizmor"), "--offline", "--no-progress", ".github/"], ci_project)
    assert "No findings to report" in output, output


def test_github_uses_the_remote_only_when_ready_and_trusted(ci_project: Path) -> None:
    answers = read_answers(ci_project)
    workflow = github_workflows(ci_project)["ci.yml"]
    job = workflow["jobs"]["pipeline"]
    gate = job["env"]["USE_DVC_REMOTE"]
    assert "vars.DVC_REMOTE_READY == 'true'" in gate
    assert "github.event.pull_request.head.repo.full_name == github.repository" in gate
    assert "github.event_name == 'push'" in gate

    steps = job["steps"]
    runs = [str(step.get("run", "")) for step in steps]
    # The session decides from USE_DVC_REMOTE: the same call with and without the remote.
    pipeline = [index for index, text in enumerate(runs) if "nox -s pipeline" in text]
    assert pipeline, "the job runs the pipeline session"
    words = {word for text in runs for word in text.split()}
    assert not {"--pull", "--remote", "data-push"} & words, "the session decides, not the YAML"
    login_actions = tuple(CLOUD_LOGIN_ACTIONS.values())
    logins = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith(login_actions)]
    with_secrets = [i for i, step in enumerate(steps) if "secrets." in str(step)]
    for index in sorted({*logins, *with_secrets}):
        assert str(steps[index].get("if", "")).startswith("env.USE_DVC_REMOTE == 'true'"), (
            f"step {index} signs in to the remote without the gate"
        )
    assert all(index < min(pipeline) for index in [*logins, *with_secrets])
    kind = answers["dvc_remote"]
    if kind in CLOUD_LOGIN_ACTIONS:
        assert [steps[i]["uses"].split("@")[0] + "@" for i in logins] == [CLOUD_LOGIN_ACTIONS[kind]]
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
    else:
        assert logins == []
        assert job["permissions"] == {"contents": "read"}
    # Besides the pipeline, only the deploy path signs (the image) or reaches the cluster.
    for name, other in workflow["jobs"].items():
        if name not in ("pipeline", "image", "staging", "production"):
            assert "id-token" not in other["permissions"], f"{name} asks for an OIDC token"
    secrets = set(re.findall(r"secrets\.(\w+)", str(job)))
    expected = {"s3": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, "ssh": {"DVC_SSH_KEY"}}
    assert secrets == expected.get(kind, set())


def gitlab_pipeline_calls(
    project: Path, tmp_path: Path, context: dict[str, str]
) -> list[dict[str, Any]]:
    """Run the GitLab pipeline job's DVC script with a `uv` that records its calls.

    Each record holds the arguments and the content of any credential file DVC would read.
    """
    script = next(s for s in gitlab_jobs(project)["pipeline"]["script"] if "DVC_REMOTE" in s)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    names = ["AWS_WEB_IDENTITY_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE"]
    names.append("GOOGLE_APPLICATION_CREDENTIALS")
    fake_uv = bin_dir / "uv"
    fake_uv.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "from pathlib import Path\n"
        f"files = {{n: Path(os.environ[n]).read_text() for n in {names!r} if os.environ.get(n)}}\n"
        "remote = os.environ.get('USE_DVC_REMOTE')\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    call = {'args': sys.argv[1:], 'files': files, 'remote': remote}\n"
        "    log.write(json.dumps(call) + '\\n')\n"
    )
    fake_uv.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "TMPDIR": str(tmp_path),
        "CI_PROJECT_ID": "100",
        **context,
    }
    subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, check=True)
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize(
    ("context", "uses_remote"),
    [
        ({}, False),
        ({"DVC_REMOTE_READY": "false"}, False),
        ({"DVC_REMOTE_READY": "true"}, True),
        ({"DVC_REMOTE_READY": "true", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "100"}, True),
        ({"DVC_REMOTE_READY": "true", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "555"}, False),
        (
            {"DVC_REMOTE_READY": "true", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"},
            True,
        ),
    ],
    ids=["not-set-up", "not-ready", "branch", "same-project-mr", "fork-mr", "main"],
)
def test_gitlab_uses_the_remote_only_when_ready_and_trusted(
    ci_project: Path, tmp_path: Path, context: dict[str, str], uses_remote: bool
) -> None:
    kind = read_answers(ci_project)["dvc_remote"]
    key = tmp_path / "ssh-key"
    key.write_text("not a real key\n")
    credentials = {
        "DVC_OIDC_TOKEN": "header.payload.signature",
        "GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/1/locations/global/workloadIdentityPools/p",
        "GCP_SERVICE_ACCOUNT": "dvc@project.iam.gserviceaccount.com",
        "DVC_SSH_KEY": str(key),  # a GitLab variable of type File holds a path
        "DVC_SSH_KNOWN_HOSTS": "storage.example.com ssh-ed25519 AAAAC3Nza",
    }
    calls = gitlab_pipeline_calls(ci_project, tmp_path, {**credentials, **context})
    args = [call["args"] for call in calls]
    pipeline = ["run", "--locked", "nox", "-s", "pipeline"]
    ssh_dir = tmp_path / "home/.ssh"
    # One call (the session reads USE_DVC_REMOTE); on main, then the reproducibility check.
    on_main = context.get("CI_COMMIT_BRANCH") == "main"
    reproduce = ["run", "--locked", "nox", "-s", "reproduce"]
    assert args == [pipeline, *([reproduce] if on_main else [])]
    if not uses_remote:
        assert calls[0]["remote"] != "true"
        assert calls[0]["files"] == {}
        assert not ssh_dir.exists()
        return
    assert calls[0]["remote"] == "true"
    files = calls[0]["files"]
    token = credentials["DVC_OIDC_TOKEN"]
    if kind == "s3":
        assert files == {"AWS_WEB_IDENTITY_TOKEN_FILE": token}
    elif kind == "azure":
        assert files == {"AZURE_FEDERATED_TOKEN_FILE": token}
    elif kind == "gcs":
        config = json.loads(files["GOOGLE_APPLICATION_CREDENTIALS"])
        assert config["type"] == "external_account"
        provider = credentials["GCP_WORKLOAD_IDENTITY_PROVIDER"]
        assert config["audience"] == f"//iam.googleapis.com/{provider}"
        assert Path(config["credential_source"]["file"]).read_text() == token
        assert credentials["GCP_SERVICE_ACCOUNT"] in config["service_account_impersonation_url"]
    else:
        assert files == {}
    if kind == "ssh":
        assert (ssh_dir / "id_ed25519").read_text() == key.read_text()
        assert (ssh_dir / "id_ed25519").stat().st_mode & 0o777 == 0o600
        assert credentials["DVC_SSH_KNOWN_HOSTS"] in (ssh_dir / "known_hosts").read_text()
    else:
        assert not ssh_dir.exists()


def test_gitlab_asks_for_an_oidc_token_only_for_clouds(ci_project: Path) -> None:
    jobs = gitlab_jobs(ci_project)
    tokens = jobs["pipeline"].get("id_tokens")
    kind = read_answers(ci_project)["dvc_remote"]
    if kind in GITLAB_AUDIENCES:
        assert tokens == {"DVC_OIDC_TOKEN": {"aud": GITLAB_AUDIENCES[kind]}}
    else:
        assert tokens is None
    for name, job in jobs.items():
        if name != "pipeline":
            assert "DVC_OIDC_TOKEN" not in str(job.get("id_tokens", {})), name


# --- End to end: push from one clone, reuse from another -----------------------------------

S3_KEYS = {"access_key_id": "storage-test-key-id", "secret_access_key": "storage-test-secret"}
S3_ENV = {"access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY"}
BUCKET = "dvc-storage-tests"
REMOTE_SECTION = "'remote \"storage\"'"
# The project's own data, as docs/data.md brings it in: a customer table with its own label.
OWN_DATA = "data/external/customers.csv"
LABEL = "churned"
CUSTOMER_FEATURES = ["tenure_months", "monthly_charges", "support_calls"]


@dataclass(frozen=True)
class Remote:
    """A DVC remote for the tests: its answers, what the project commits about it beyond the
    URL, and the credentials each machine keeps to itself."""

    kind: str
    url: str
    empty_url: str  # a location with nothing in it, as before anyone has pushed
    endpoint: str = ""  # an S3-compatible store's address: not secret, committed
    credentials: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["access_key_id"],
        aws_secret_access_key=S3_KEYS["secret_access_key"],
    )


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An S3 API on 127.0.0.1 (moto's server), with the test bucket created."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    server = subprocess.Popen(
        [tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.2)
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.full)])
def remote(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Remote]:
    with pytest.MonkeyPatch.context() as patch:
        # No AWS configuration of the machine running the tests may leak in.
        aws_home = tmp_path_factory.mktemp("aws")
        patch.setenv("AWS_CONFIG_FILE", str(aws_home / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_home / "credentials"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in [*S3_ENV.values(), "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]:
            patch.delenv(name, raising=False)
        if request.param == "local":
            storage = tmp_path_factory.mktemp("dvc-storage")
            yield Remote("local", str(storage / "shared"), str(storage / "empty"))
        else:
            endpoint = request.getfixturevalue("moto_endpoint")
            yield Remote(
                "s3",
                f"s3://{BUCKET}/project",
                f"s3://{BUCKET}/empty",
                endpoint=endpoint,
                credentials=S3_KEYS,
            )


def nox(project: Path, *session: str) -> subprocess.CompletedProcess[str]:
    return run(["uv", "run", "--locked", "nox", "-s", *session], project)


def s3_commands(remote: Remote, keys_only: bool = False) -> tuple[str, dict[str, str]]:
    """docs/data.md's commands for an S3-compatible store, with this remote's values: all of
    them (the endpoint, committed, then the keys), or only the `--local` ones (the keys)."""
    block = shell_block("data.md", "Amazon S3 and S3-compatible stores (`s3`)")
    keys = {
        "<key-id>": remote.credentials["access_key_id"],
        "<secret>": remote.credentials["secret_access_key"],
    }
    if keys_only:
        return "\n".join(line for line in block.splitlines() if " --local " in line), keys
    return block, {"https://minio.example.com": remote.endpoint, **keys}


def configure_remote(project: Path, remote: Remote) -> None:
    """The first machine sets the remote up as docs/data.md says and commits the endpoint;
    the keys stay in its git-ignored .dvc/config.local."""
    if remote.kind != "s3":
        return  # a local directory needs nothing beyond the URL the answers wrote
    run_block(project, *s3_commands(remote))
    run(["git", "add", ".dvc/config"], project)
    run(["git", "commit", "--quiet", "-m", "Use the S3-compatible store"], project)


def configure_machine(project: Path, remote: Remote, credentials: bool = True) -> None:
    """What every other machine sets for itself: the keys, with the docs' `--local` commands.
    The URL and the endpoint come with the clone."""
    if credentials and remote.credentials:
        run_block(project, *s3_commands(remote, keys_only=True))


def clone(origin: Path, destination: Path, remote: Remote, credentials: bool = True) -> Path:
    """A new machine: clone the repository, install the locked environment, set the keys."""
    run(["git", "clone", "--quiet", str(origin), str(destination)], origin.parent)
    run(["uv", "sync", "--locked", "--quiet"], destination)
    configure_machine(destination, remote, credentials)
    return destination


def digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def write_customers(path: Path, rows: int = 600) -> Path:
    """A customer table whose label follows from the features closely enough for the gate."""
    rng = random.Random(2024)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow([*CUSTOMER_FEATURES, LABEL])
        for _ in range(rows):
            tenure = rng.randint(1, 72)
            charges = round(rng.uniform(20, 120), 2)
            calls = rng.randint(0, 9)
            risk = -0.09 * tenure + 0.03 * charges + 0.5 * calls - 1.0 + rng.gauss(0, 0.3)
            writer.writerow([tenure, charges, calls, int(risk > 0)])
    return path


def bring_own_data(project: Path, customers: Path) -> None:
    """docs/data.md, "Bring your own data": its two command blocks, and the steps its prose
    gives between them."""
    run_block(
        project,
        shell_block("data.md", "Bring your own data", 0),
        {"/path/to/customers.csv": str(customers)},
    )
    staged = run(["git", "diff", "--cached", "--name-only"], project).stdout.split()
    assert staged == [f"{OWN_DATA}.dvc"], "git gets the pointer, never the data itself"
    point_params_at(project, OWN_DATA, LABEL, positive_class="1", slices=("support_calls",))
    # Lint and the project's tests on a user's data are test_own_data.py's; here what
    # matters is the data's round trip through the remote, so only the pipeline runs.
    checks = shell_block("data.md", "Bring your own data", 1)
    assert "nox -s lint tests pipeline" in checks
    output = run_block(project, checks.replace("nox -s lint tests pipeline", "nox -s pipeline"))
    rows = len(customers.read_text(encoding="utf-8").splitlines()) - 1
    assert f"validate: {rows} rows, {len(CUSTOMER_FEATURES) + 1} columns match" in output
    assert "quality gate passed" in output
    run_block(project, shell_block("data.md", "Bring your own data", 2))


@pytest.fixture(scope="module")
def origin(
    remote: Remote, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Clone A, with two pipeline runs committed: one on the sample data, not pushed; then one
    on a customers.csv of its own, brought in and pushed (with the run cache) as the docs say."""
    home = tmp_path_factory.mktemp(f"origin-{remote.kind}")
    if remote.kind == "local":
        # The default answers' remote: the shared trained project, its storage directory
        # moved to this test's, as a team moves it (`dvc remote modify`, committed).
        project = copy_project(request.getfixturevalue("trained_project"), home / "a")
        dvc = ["uv", "run", "--locked", "dvc"]
        run([*dvc, "remote", "modify", "storage", "url", remote.url], project)
        run(["git", "commit", "--quiet", "-am", "Keep the data in the team's directory"], project)
    else:
        answers = {"dvc_remote": remote.kind, "dvc_remote_url": remote.url}
        project = setup_project(
            render(request.getfixturevalue("template_repo"), home / "a", answers)
        )
        configure_remote(project, remote)
        nox(project, "pipeline")
        run(["git", "add", "--all"], project)
        run(["git", "commit", "--quiet", "-m", "First pipeline run"], project)
    bring_own_data(project, write_customers(home / "downloads/customers.csv"))
    left = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout
    assert left == "", f"the docs' commands leave files out of the commit:\n{left}"
    return project


@pytest.mark.project
def test_only_the_chosen_remote_is_installed(origin: Path, remote: Remote) -> None:
    version = run(["uv", "run", "--locked", "dvc", "version"], origin).stdout
    supports = set(re.findall(r"^\s+(\w+) \(", version.split("Supports:")[1], re.MULTILINE))
    assert supports & {"s3", "gs", "azure", "ssh"} == ({"s3"} if remote.kind == "s3" else set())


@pytest.mark.project
def test_credentials_stay_local_and_the_endpoint_is_committed(origin: Path, remote: Remote) -> None:
    tracked = run(["git", "ls-files"], origin).stdout.splitlines()
    assert ".dvc/config.local" not in tracked
    run(["git", "check-ignore", "--quiet", ".dvc/config.local"], origin)
    committed = configparser.ConfigParser()
    committed.read_string(run(["git", "show", "HEAD:.dvc/config"], origin).stdout)
    expected = {"url": remote.url} | ({"endpointurl": remote.endpoint} if remote.endpoint else {})
    assert dict(committed[REMOTE_SECTION]) == expected
    local = configparser.ConfigParser()
    local.read(origin / ".dvc/config.local")
    if remote.credentials:
        assert dict(local[REMOTE_SECTION]) == remote.credentials
    else:
        assert not (origin / ".dvc/config.local").exists()
    # The keys are in no file of any commit, and no commit ever set them in .dvc/config.
    revisions = run(["git", "rev-list", "--all"], origin).stdout.split()
    for value in remote.credentials.values():
        found = run(["git", "grep", "--fixed-strings", "--files-with-matches", value, *revisions],
                    origin, check=False)  # fmt: skip
        assert found.stdout == "", f"{value!r} is committed in {found.stdout}"
    messages = run(["git", "log", "--all", "--format=%B"], origin).stdout
    assert not any(value in messages for value in remote.credentials.values())
    history = run(["git", "log", "--all", "--format=", "--patch", "--", ".dvc/config"], origin)
    assert not any(option in history.stdout for option in remote.credentials)


@pytest.mark.project
def test_another_clone_pulls_and_reproduces_nothing(
    origin: Path, remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This machine takes its keys from the environment, as CI does after an OIDC login, and
    # the endpoint from git.
    for option, value in remote.credentials.items():
        monkeypatch.setenv(S3_ENV[option], value)
    project = clone(origin, tmp_path / "b", remote, credentials=False)
    assert not (project / ".dvc/config.local").exists()
    nox(project, "data-pull")
    result = run(["uv", "run", "--locked", "dvc", "repro"], project)
    assert stages_run(result.stdout) == []
    assert "Data and pipelines are up to date" in result.stdout
    for output in (OWN_DATA, "models/model.skops", "models/model.onnx", "plots/images/roc.png"):
        assert digest(project / output) == digest(origin / output), output


@pytest.mark.project
def test_run_cache_spares_training_on_another_clone(
    origin: Path, remote: Remote, tmp_path: Path
) -> None:
    """Clone A trains with new parameters and pushes without committing; clone B, given the
    same parameters, restores the model from the run cache instead of training it again."""
    change = ("n_estimators: 200", "n_estimators: 40")
    try:
        params = origin / "params.yaml"
        params.write_text(params.read_text().replace(*change))
        expected = stages_affected_by(origin, "train.random_forest.n_estimators")
        assert stages_run(nox(origin, "pipeline").stdout) == expected
        nox(origin, "data-push")

        project = clone(origin, tmp_path / "b", remote)
        params = project / "params.yaml"
        params.write_text(params.read_text().replace(*change))
        result = nox(project, "pipeline", "--", "--remote")  # what CI runs, remote ready
        assert "train" not in stages_run(result.stdout)
        assert "Stage 'train' is cached - skipping run" in result.stdout
        assert digest(project / "models/model.skops") == digest(origin / "models/model.skops")
        assert "quality gate passed" in result.stdout
    finally:
        run(["git", "reset", "--hard", "--quiet"], origin)
        run(["uv", "run", "--locked", "dvc", "checkout", "--force", "--quiet"], origin)


@pytest.mark.project
@pytest.mark.full
def test_pull_with_an_empty_remote_trains_from_scratch(
    origin: Path, remote: Remote, tmp_path: Path
) -> None:
    """CI set up before anything was pushed: `--pull` finds nothing and the stages run."""
    project = clone(origin, tmp_path / "b", remote)
    run(["git", "checkout", "--quiet", "HEAD~1"], project)  # the run that was never pushed
    run(["uv", "run", "--locked", "dvc", "remote", "modify", "--local", "storage", "url",
         remote.empty_url], project)  # fmt: skip
    result = nox(project, "pipeline", "--", "--pull")
    assert {"prepare", "train", "evaluate"} <= set(stages_run(result.stdout))
    assert "quality gate passed" in result.stdout


@pytest.mark.project
@pytest.mark.parametrize("remote", [pytest.param("s3", marks=pytest.mark.full)], indirect=True)
def test_drift_check_reads_the_logs_from_s3(
    origin: Path, remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/monitoring.md's command as written (its logs' URL is on S3), with the logs in a
    bucket of their own and the store's endpoint and keys in the environment only: rows like
    the training data pass."""
    block = shell_block("monitoring.md", "Connecting it to real logs")
    location = re.search(r"PREDICTION_LOGS_URL=s3://([^/\s]+)/(\S*)", block)
    assert location, f"the block no longer fetches the logs from S3:\n{block}"
    bucket, prefix = location.groups()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", remote.endpoint)  # as the page says
    for option, value in remote.credentials.items():
        monkeypatch.setenv(S3_ENV[option], value)
    project = clone(origin, tmp_path / "b", remote, credentials=False)
    nox(project, "data-pull")  # the training split the logs are compared with

    # What two replicas of the service logged: the training rows' features, as JSON lines.
    with (project / "data/prepared/train.csv").open(newline="", encoding="utf-8") as stream:
        rows = [{name: json.loads(value) for name, value in row.items() if name != LABEL}
                for row in csv.DictReader(stream)]  # fmt: skip
    client = s3_client(remote.endpoint)
    client.create_bucket(Bucket=bucket)
    logs = {"replica-1.jsonl": rows[::2], "replica-2.jsonl": rows[1::2]}
    for name, part in logs.items():
        body = "".join(json.dumps(row) + "\n" for row in part).encode()
        client.put_object(Bucket=bucket, Key=prefix + name, Body=body)

    output = run_block(project, block)
    assert "dvc get-url --force" in output, "the logs are fetched from PREDICTION_LOGS_URL"
    fetched = sorted(path.name for path in (project / "data/monitoring/latest").iterdir())
    assert fetched == sorted(logs)
    # The features, and what the model (pulled with the data, or trained again) predicts.
    assert f"monitor: no drift in {len(CUSTOMER_FEATURES) + 1} features" in output, output
    report = (project / "reports/monitor/drift.md").read_text(encoding="utf-8")
    assert f"| predicted {LABEL} |" in report


@pytest.mark.project
@pytest.mark.full
def test_dvc_reads_the_ssh_remote(template_repo: Path, tmp_path: Path) -> None:
    """The ssh answer installs DVC's ssh support, and DVC lists the remote as the default.
    (Every variant's .dvc/config is parsed by test_remote_config_holds_the_url_and_nothing_else,
    and each remote's DVC extra by test_render's test_pyproject_follows_the_answers.)"""
    project = setup_project(render(template_repo, tmp_path / "project", {"dvc_remote": "ssh"}))
    dvc = ["uv", "run", "--locked", "dvc"]
    version = run([*dvc, "version"], project).stdout
    assert re.search(r"^\s+ssh \(", version, re.MULTILINE), version
    listed = run([*dvc, "remote", "list"], project).stdout.split()
    assert listed == ["storage", read_answers(project)["dvc_remote_url"], "(default)"]
