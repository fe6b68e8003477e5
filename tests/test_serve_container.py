"""The model service, the notebooks and the dev container as users get them: API tests, a
container image built and run for real, the Binder configuration, the exploration notebook,
and the dev container built and set up as an editor does it.

The image is built and run by the docs' own commands (docs/serving.md, "The container image"),
with `docker` carried out by buildah (`docker_on_buildah.py`) on a Debian base made here by
debootstrap, as no Docker engine or image registry is reachable. Without buildah and
debootstrap those tests skip on a laptop and fail in CI (`CI` set); `.ci/run` installs both.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import (
    COMMAND_TIMEOUT,
    TRAINED_ANSWERS,
    copy_project,
    read_answers,
    render,
    run,
    system_tool,
)
from .docs_blocks import as_script, shell_block

# The image tests count buildah's containers before and after: one worker runs them all.
pytestmark = pytest.mark.xdist_group("buildah")
BASE_IMAGE = "localhost/mlops-template-base:bookworm-python3"
# The dev container's base (python:X-bookworm) has git: the local stand-in adds it.
DEV_BASE_IMAGE = "localhost/mlops-template-base:bookworm-python3-git"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# The docs block tags the image my-org/my-project, which buildah names in full as below.
DOCS_TAG = "my-org/my-project"
DOCS_IMAGE = f"localhost/{DOCS_TAG}:latest"
DOCKER_SHIM = Path(__file__).with_name("docker_on_buildah.py")
DEBIAN_MIRROR = "http://deb.debian.org/debian"
SERVER_START_SECONDS = 90
STOP_SECONDS = 60
LOG_TAIL_CHARS = 6000


def tool(name: str) -> str:
    """A console script of this test environment, found beside its Python or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the repository's `test` dependency group")
    return found


@pytest.fixture(scope="module")
def served_project(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the trained project: its tests rewrite files in it (Binder's
    pins, a model taken out of the cache) and build it into an image."""
    return copy_project(trained_project, tmp_path_factory.mktemp("served") / "project")


def test_dockerfile_is_hadolint_clean(template_repo: Path, tmp_path: Path) -> None:
    other = {"python_version": "3.13", "license": "Proprietary"}
    for name, answers in {"defaults": {}, "other": other}.items():
        project = render(template_repo, tmp_path / name, answers)
        run([tool("hadolint"), "--failure-threshold", "style", "Dockerfile"], project)


def test_fresh_project_binder_config_installs_the_project(
    template_repo: Path, tmp_path: Path
) -> None:
    """Before the first `uv lock`, Binder installs the project with its declared dependencies."""
    project = render(template_repo, tmp_path / "project", {})
    result = run([tool("jupyter-repo2docker"), "--no-build", "--debug", str(project)], tmp_path)
    dockerfile = result.stdout
    copy_repository = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    install = dockerfile.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    assert copy_repository < install, "requirements.txt installs `.`: the repository comes first"
    assert "./binder/postBuild" in dockerfile


@pytest.mark.project
@pytest.mark.full
def test_binder_requirements_are_pinned_to_the_lock(served_project: Path, tmp_path: Path) -> None:
    run(["uv", "run", "--locked", "nox", "-s", "binder"], served_project)
    requirements = (served_project / "binder/requirements.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements, re.MULTILINE))
    lock = tomllib.loads((served_project / "uv.lock").read_text())
    locked = {package["name"]: package.get("version") for package in lock["package"]}
    assert {"pandas", "scikit-learn", "skops", "matplotlib"} <= set(pins), "the notebook draws"
    assert not {"pytest", "dvc", "fastapi", "ruff"} & set(pins), "dev and serve groups stay out"
    assert all(locked[name] == version for name, version in pins.items())
    assert requirements.count("--hash=sha256:") >= len(pins)

    result = run(
        [tool("jupyter-repo2docker"), "--no-build", "--debug", str(served_project)], tmp_path
    )
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in result.stdout
    assert "./binder/postBuild" in result.stdout
    version = f"python={TRAINED_ANSWERS['python_version']}"
    assert version in result.stdout + result.stderr, "runtime.txt sets the Python version"


@pytest.mark.project
@pytest.mark.full
def test_notebook_runs_top_to_bottom_on_the_served_project(
    served_project: Path, tmp_path: Path
) -> None:
    executed = tmp_path / "explore-executed"
    session = ["uv", "run", "--locked", "nox", "-s", "notebooks", "--", f"--output={executed}"]
    run(session, served_project)
    cells = json.loads(executed.with_suffix(".ipynb").read_text())["cells"]
    text = "".join(
        "".join(output.get("text", ""))
        for cell in cells
        for output in cell.get("outputs", [])
        if output["output_type"] == "stream"
    )
    with (served_project / "data/raw/dataset.csv").open(newline="") as raw:
        header, *rows = list(csv.reader(raw))
    assert f"{len(rows)} rows, {len(header)} columns" in text
    assert "RandomForestClassifier(" in text, "the trained model was loaded"
    assert re.search(r"on the test split: accuracy=0\.9\d+, .*roc_auc=0\.9\d+", text)
    assert not any(
        output["output_type"] == "error" for cell in cells for output in cell.get("outputs", [])
    )
    status = run(["git", "status", "--porcelain", "--", "notebooks"], served_project).stdout
    assert status == "", "running the notebooks leaves them without outputs in git"


@pytest.mark.project
@pytest.mark.full
def test_jupyter_lab_opens_the_notebooks(served_project: Path) -> None:
    """`uv run jupyter lab`, as the README says: the server starts and lists the notebooks."""
    port, token = free_port(), "test-token"
    log = served_project.parent / "jupyter-lab.log"
    command = ["uv", "run", "--locked", "jupyter", "lab", "--no-browser", f"--port={port}"]
    command.append(f"--IdentityProvider.token={token}")
    if os.geteuid() == 0:  # CI machines run tests as root, which Jupyter refuses by default
        command.append("--allow-root")
    server = start_server(command, served_project, log)
    try:
        url = f"http://127.0.0.1:{port}/api/contents/notebooks?token={token}"
        wait_until_ready(url, server, log)
        names = {item["name"] for item in call(url)[1]["content"]}
        assert "explore.ipynb" in names
    finally:
        assert stop_session(server), "jupyter lab did not stop on SIGTERM"


def buildah(*arguments: str, cwd: Path) -> str:
    return run(["buildah", *arguments], cwd).stdout.strip()


@pytest.fixture(scope="session")
def base_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Debian bookworm image with python3, made once and kept for later runs."""
    system_tool("buildah", "apt-get install buildah")
    system_tool("debootstrap", "apt-get install debootstrap")
    workdir = tmp_path_factory.mktemp("base-image")
    exists = run(["buildah", "inspect", "--type", "image", BASE_IMAGE], workdir, check=False)
    if exists.returncode == 0:
        return BASE_IMAGE
    rootfs = workdir / "rootfs"
    packages = "--include=python3,python3-venv,ca-certificates"
    run(
        ["debootstrap", "--variant=minbase", packages, "bookworm", str(rootfs), DEBIAN_MIRROR],
        workdir,
    )
    tarball = workdir / "rootfs.tar"
    unused = "--exclude=./var/cache/apt/archives/*.deb"
    run(["tar", "-C", str(rootfs), unused, "-cf", str(tarball), "."], workdir)
    container = buildah("from", "scratch", cwd=workdir)
    buildah("add", container, str(tarball), "/", cwd=workdir)
    buildah("commit", "--rm", container, BASE_IMAGE, cwd=workdir)
    shutil.rmtree(rootfs)
    tarball.unlink()
    return BASE_IMAGE


@dataclass(frozen=True)
class ServedImage:
    """The image the docs block built, and the server it runs from it."""

    config: dict[str, Any]
    base_url: str
    port: int
    log: Path
    build_seconds: float


def docker_shim(bin_dir: Path, base_image: str) -> Path:
    """``bin_dir`` with a `docker` executable that runs `docker_on_buildah.py` on ``base_image``."""
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        f"export DOCKER_ON_BUILDAH_BASE_IMAGE={shlex.quote(base_image)}\n"
        f'exec {shlex.quote(sys.executable)} {shlex.quote(str(DOCKER_SHIM))} "$@"\n',
        encoding="utf-8",
    )
    docker.chmod(0o755)
    return bin_dir


def log_tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]


def buildah_containers(cwd: Path) -> set[str]:
    return set(buildah("containers", "--quiet", "--notruncate", cwd=cwd).split())


def wait_for_build(log: Path, block: subprocess.Popen[bytes], started: float) -> float:
    """Wait until the block reaches `docker run`; return how long `docker build` took."""
    build_started = None
    while time.monotonic() < started + COMMAND_TIMEOUT:
        text = log.read_text(encoding="utf-8", errors="replace")
        building = re.search(r"^\+ (docker build|uv run nox -s image) ", text, re.MULTILINE)
        if build_started is None and building:
            build_started = time.monotonic()
        if re.search(r"^\+ docker run ", text, re.MULTILINE):
            return time.monotonic() - (build_started or started)
        if block.poll() is not None:
            pytest.fail(
                f"the docs block exited {block.returncode} before `docker run`:\n{log_tail(log)}"
            )
        time.sleep(0.5)
    pytest.fail(f"the docs block took over {COMMAND_TIMEOUT} s to build:\n{log_tail(log)}")


def group_members(group: int) -> list[int]:
    """Processes of the process group ``group`` that still run (zombies left out)."""
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        state, _parent, process_group = stat[stat.rindex(")") + 2 :].split()[:3]
        if state != "Z" and int(process_group) == group:
            members.append(int(proc.name))
    return members


def stop_session(block: subprocess.Popen[bytes]) -> bool:
    """SIGTERM the block's process group (the shell, the docker shim, buildah, the server) and
    wait until all of it has exited, the shim's clean-up included; SIGKILL it after
    STOP_SECONDS. True when SIGTERM was enough."""
    for number in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(block.pid, number)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            block.poll()
            if not group_members(block.pid):
                block.wait()
                return number == signal.SIGTERM
            time.sleep(0.2)
    block.wait(timeout=STOP_SECONDS)
    return False


@pytest.fixture(scope="module")
def served_image(
    served_project: Path, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedImage]:
    """The docs' "The container image" commands run as written, on a free port, with a `docker`
    that carries them out with buildah and builds on the local base: the project's Dockerfile
    is built and the model served from the image until the module's tests are done."""
    commands = shell_block("serving.md", "The container image")
    assert f"--tag {DOCS_TAG}\n" in commands, f"the block no longer tags {DOCS_TAG}:\n{commands}"
    port = free_port()
    script = as_script(commands, {"8000:8000": f"{port}:8000"})
    bin_dir = docker_shim(tmp_path_factory.mktemp("docker-shim"), base_image)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    log = served_project.parent / "container-image-block.log"
    before = buildah_containers(served_project)
    started = time.monotonic()
    with log.open("wb") as output:
        block = subprocess.Popen(
            ["bash", "-c", script],
            cwd=served_project,
            env=env,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    problems = []
    try:
        build_seconds = wait_for_build(log, block, started)
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{base_url}/ready", block, log)
        inspected = json.loads(
            buildah("inspect", "--type", "image", DOCS_IMAGE, cwd=served_project)
        )
        yield ServedImage(inspected["Docker"]["config"], base_url, port, log, build_seconds)
    finally:
        if not stop_session(block):
            problems.append("the docs block did not stop on SIGTERM and was killed")
        leftovers = buildah_containers(served_project) - before
        for container in leftovers:
            run(["buildah", "rm", container], served_project, check=False)
        run(["buildah", "rmi", "--force", DOCS_IMAGE], served_project, check=False)
    if leftovers:
        problems.append(f"`docker run --rm` left buildah containers behind: {sorted(leftovers)}")
    if problems:
        pytest.fail("; ".join(problems) + f"\n{log_tail(log)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """GET (or POST ``body`` as JSON) and return the status and the decoded JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def start_server(command: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own process group (for `stop_session`), its output in ``log``."""
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_until_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with status {server.returncode}:\n{log_tail(log)}")
        try:
            if call(url)[0] == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer 200 within {SERVER_START_SECONDS} s:\n{log_tail(log)}")


def server_uids(port: int) -> set[int]:
    """Real user ids of the Python processes serving on ``port``, read from /proc."""
    uids = set()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            status = (proc / "status").read_text()
        except OSError:
            continue
        program = Path(argv[0].decode(errors="replace")).name
        if program.startswith("python") and str(port).encode() in argv:
            uid = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
            assert uid, status
            uids.add(int(uid.group(1)))
    return uids


@pytest.mark.project
@pytest.mark.full
def test_image_is_configured_for_production(
    served_image: ServedImage, served_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print(f"\n[image built in {served_image.build_seconds:.0f} s]", end=" ")
    config = served_image.config
    assert config["User"] == "10001:10001"
    package = read_answers(served_project)["package_name"]
    assert config["Cmd"][:3] == ["python", "-m", f"{package}.serve"]
    assert config["Cmd"][3:7] == ["--host", "0.0.0.0", "--port", "8000"]
    assert config["Healthcheck"]["Test"][:2] == ["CMD", "python"]
    assert "8000/tcp" in config["ExposedPorts"]
    lock = yaml.safe_load((served_project / "dvc.lock").read_text())
    recorded = {
        out["path"]: out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
    }
    labels = config["Labels"]
    assert labels["ml.model.md5"] == recorded["models/model.onnx"]
    assert labels["ml.data.md5"] == recorded["data/raw/dataset.csv"]
    head = run(["git", "rev-parse", "HEAD"], served_project).stdout.strip()
    assert labels["org.opencontainers.image.revision"].removesuffix("-dirty") == head
    status, card = call(f"{served_image.base_url}/model")
    assert (status, card["md5"], card["data_md5"]) == (
        200,
        labels["ml.model.md5"],
        labels["ml.data.md5"],
    )
    assert card["git_sha"] == labels["org.opencontainers.image.revision"]
    written = json.loads((served_project / "reports/model_card.json").read_text())
    assert json.loads(labels["ml.model.card"]) == written, "the model card travels with it"
    assert card["card"] == written, "and the service shows the same card"


@pytest.mark.project
@pytest.mark.full
def test_image_holds_only_what_serving_needs(
    served_image: ServedImage, served_project: Path
) -> None:
    """ONNX Runtime and the web service: no training stack (scikit-learn, pandas, SciPy,
    skops), no plotting, no DVC, no CI or test tools in the serving image."""
    container = buildah("from", "--pull=never", DOCS_IMAGE, cwd=served_project)
    try:
        listing = buildah(
            "run", "--isolation=chroot", container, "--",
            "sh", "-c", "ls /opt/venv/lib/python3*/site-packages", cwd=served_project,
        )  # fmt: skip
    finally:
        run(["buildah", "rm", container], served_project, check=False)
    installed = {
        re.split(r"-\d", name)[0].lower() for name in listing.split() if name.endswith(".dist-info")
    }
    assert {"fastapi", "uvicorn", "onnxruntime", "numpy"} <= installed, sorted(installed)
    unwanted = {"scikit_learn", "pandas", "scipy", "skops", "skl2onnx", "matplotlib", "dvc"}
    unwanted |= {"nox", "pytest", "ruff", "pre_commit", "schemathesis"}
    assert not unwanted & installed, sorted(unwanted & installed)


@pytest.mark.project
@pytest.mark.full
def test_image_session_refuses_a_model_dvc_lock_does_not_record(
    served_project: Path, tmp_path: Path
) -> None:
    """A retrained or edited model, or none at all, is never built into an image."""
    model = served_project / "models/model.onnx"
    original = model.read_bytes()
    aside = tmp_path / "cached-model"
    cached = aside
    session = ["uv", "run", "--locked", "nox", "-s", "image", "--", "--tag", "refused/image"]
    try:
        model.write_bytes(original + b"\0")
        result = run(session, served_project, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "image: refused: models/model.onnx has md5 " in output, output[-2000:]
        assert "this is not the model the commit validated" in output
        # Neither here nor in DVC's cache, and no remote to pull it from.
        md5 = hashlib.md5(original, usedforsecurity=False).hexdigest()
        cached = served_project / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
        cached.rename(aside)
        model.unlink()
        result = run(session, served_project, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "is not here, and the DVC remote does not have it" in output, output[-2000:]
    finally:
        model.write_bytes(original)
        if aside.exists():
            aside.rename(cached)


@pytest.mark.project
@pytest.mark.full
def test_image_serves_predictions_as_a_non_root_user(
    served_image: ServedImage, served_project: Path
) -> None:
    base = served_image.base_url
    assert call(f"{base}/health") == (200, {"status": "ok"})
    target = yaml.safe_load((served_project / "params.yaml").read_text())["data"]["target"]
    classes = yaml.safe_load((served_project / "schema.yaml").read_text())["columns"][target]
    test_split = (served_project / "data/prepared/test.csv").read_text().splitlines()
    header = test_split[0].split(",")
    texts = [dict(zip(header, line.split(","), strict=True)) for line in test_split[1:4]]
    rows = [{name: float(value) for name, value in row.items() if name != target} for row in texts]
    status, answer = call(f"{base}/predict", {"rows": rows})
    assert status == 200, answer
    labels = [prediction["label"] for prediction in answer["predictions"]]
    assert len(labels) == 3
    assert set(labels) <= set(classes["allowed"])

    lock = yaml.safe_load((served_project / "dvc.lock").read_text())
    md5 = next(
        out["md5"] for out in lock["stages"]["export"]["outs"] if out["path"] == "models/model.onnx"
    )
    commit = run(["git", "rev-parse", "HEAD"], served_project).stdout.strip()
    status, model = call(f"{base}/model")
    # `nox -s image` labels a tree that earlier tests edited (binder/requirements.txt) -dirty.
    assert (model["md5"], model["git_sha"].removesuffix("-dirty")) == (md5, commit)
    # The docs block signs the model with a new key and gives the container its public half.
    assert model["signature"] == "verified: signed by the key /keys/model.pub", model

    uids = server_uids(served_image.port)
    assert uids, "the server process was not found"
    assert 0 not in uids, f"the server runs as root (uids {uids})"

    logged = '"path": "/predict", "status": 200'
    deadline = time.monotonic() + 5
    while logged not in served_image.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert logged in served_image.log.read_text(), "requests are logged as JSON"


@pytest.mark.project
@pytest.mark.full
def test_bench_measures_predict_on_a_project(
    served_project: Path, template_repo: Path, tmp_path: Path
) -> None:
    """docs/serving.md's benchmark command, from a clone of the template repository."""
    clone = tmp_path / "template"
    run(["git", "clone", "--quiet", str(template_repo), str(clone)], tmp_path)
    commands = shell_block("serving.md", "Benchmark")
    # --quick bounds the run at 300 requests or 15 s, as CI's benchmark does.
    script = as_script(commands, {"/path/to/my-project": f"{served_project} --quick"})
    output = run(["bash", "-c", script], clone).stdout
    figures = re.search(r"^(\d+) requests at concurrency 8 in [\d.]+ s, (\d+) errors$", output,
                        re.MULTILINE)  # fmt: skip
    assert figures, output
    assert int(figures.group(1)) > 0
    assert figures.group(2) == "0"
    assert re.search(r"^/predict latency: p50 [\d.]+ ms, p99 [\d.]+ ms$", output, re.MULTILINE)


@pytest.mark.project
@pytest.mark.full
def test_serve_session_names_the_checked_out_commit(served_project: Path) -> None:
    """`nox -s serve`, as a developer runs it: /model names the commit, not `unknown`, and
    the README's example request gets a prediction."""
    port = free_port()
    log = served_project.parent / "serve-session.log"
    session = ["uv", "run", "--locked", "nox", "-s", "serve", "--", "--port", str(port)]
    server = start_server(session, served_project, log)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/ready", server, log)
        commit = run(["git", "rev-parse", "HEAD"], served_project).stdout.strip()
        # Earlier tests may have rewritten tracked files (binder/requirements.txt).
        edited = run(["git", "status", "--porcelain", "--untracked-files=no"], served_project)
        expected = commit + ("-dirty" if edited.stdout else "")
        assert call(f"http://127.0.0.1:{port}/model")[1]["git_sha"] == expected
        # The README's request, as written: the example schema.yaml accepts, sent with curl.
        readme = (served_project / "README.md").read_text()
        block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "--example" in b)
        script = as_script(block, {"127.0.0.1:8000": f"127.0.0.1:{port}"})
        answer = run(["bash", "-c", script], served_project).stdout
        predictions = json.loads(answer.strip().splitlines()[-1])["predictions"]
        assert len(predictions) == 1 and "label" in predictions[0], answer
    finally:
        assert stop_session(server), "the server did not stop on SIGTERM"


STUB_KUBECTL = """#!/bin/sh
# kubectl for the deploy session's test: records each call; the port-forward serves the
# project's model on this machine instead of the cluster's.
printf '%s\\n' "$*" >> "$KUBECTL_LOG"
case "$1" in
  kustomize) cat deploy/base/deployment.yaml ;;
  set) sed -n '1,$p' "$(printf '%s\\n' "$@" | sed -n 's/^--filename=//p')" ;;
  port-forward)
    port=$(printf '%s\\n' "$@" | sed -n 's/^\\([0-9]*\\):80$/\\1/p')
    exec .venv/bin/python -m PACKAGE.serve --host 127.0.0.1 --port "$port" ;;
esac
"""


# gh and cosign for the deploy session's test: record each call, then answer as the
# verification went (STUB_VERIFIED=yes or no).
STUB_VERIFIER = """#!/bin/sh
printf '%s %s\\n' "$(basename "$0")" "$*" >> "$VERIFIER_LOG"
[ "$STUB_VERIFIED" = yes ] && exit 0
echo "no matching attestation or signature found" >&2
exit 1
"""


@pytest.mark.project
@pytest.mark.full
def test_deploy_session_applies_the_digest_then_smoke_tests_the_service(
    served_project: Path, tmp_path: Path
) -> None:
    """`nox -s deploy`, as CI calls it, against a stand-in kubectl whose port-forward serves
    the trained model here. The image's provenance is checked first: a digest that does not
    verify (gh on GitHub, cosign on GitLab) is refused with nothing applied. One that does
    gets its manifests applied with the image pinned, the rollout awaited, and the smoke
    test's prediction (the example /openapi.json publishes) goes through."""
    package = read_answers(served_project)["package_name"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(STUB_KUBECTL.replace("PACKAGE", package))
    kubectl.chmod(0o755)
    for verifier in ("gh", "cosign"):
        (bin_dir / verifier).write_text(STUB_VERIFIER)
        (bin_dir / verifier).chmod(0o755)
    log, verified = tmp_path / "kubectl.log", tmp_path / "verifier.log"
    image = "registry.example/model@sha256:" + "a" * 64
    env = [f"PATH={bin_dir}{os.pathsep}{os.environ['PATH']}", f"KUBECTL_LOG={log}"]
    env += [f"SMOKE_PORT={free_port()}", "KUBE_SERVER=", f"VERIFIER_LOG={verified}"]
    session = ["uv", "run", "--locked", "--only-group", "ci", "nox", "-s", "deploy", "--"]
    # This machine's own CI platform, if any, is not the one each case plays.
    clean = ["env", "-u", "GITHUB_ACTIONS", "-u", "GITLAB_CI", "-u", "PROVENANCE_CHECK"]
    github = ["GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=org/project"]
    gitlab = ["GITLAB_CI=true", "CI_PROJECT_URL=https://gitlab.example/org/project"]
    gitlab += ["CI_DEFAULT_BRANCH=main", "CI_SERVER_URL=https://gitlab.example"]
    for platform in (github, gitlab):
        refused = run([*clean, *env, *platform, "STUB_VERIFIED=no", *session, "staging", image],
                      served_project, check=False)  # fmt: skip
        said = refused.stdout + refused.stderr  # nox passes the script's stderr on as stdout
        assert refused.returncode == 1, said
        assert f"provenance: {image} is refused" in said
        assert "no matching attestation or signature found" in said
    assert not log.exists(), "nothing is applied before the image's provenance verifies"
    gh_call, cosign_call = verified.read_text().splitlines()
    assert gh_call == (
        f"gh attestation verify oci://{image} --repo org/project"
        " --signer-workflow org/project/.github/workflows/ci.yml"
    )
    assert cosign_call == (
        f"cosign verify {image} --certificate-identity"
        " https://gitlab.example/org/project//.gitlab-ci.yml@refs/heads/main"
        " --certificate-oidc-issuer https://gitlab.example"
    )
    unchosen = run([*clean, *env, *session, "staging", image], served_project, check=False)
    said = unchosen.stdout + unchosen.stderr
    assert unchosen.returncode != 0 and "set PROVENANCE_CHECK to one of" in said

    ok = [*github, "STUB_VERIFIED=yes"]
    result = run([*clean, *env, *ok, *session, "staging", image], served_project)
    output = result.stdout + result.stderr
    assert f"provenance: {image} verified by `gh attestation verify`" in output
    assert f"deployed {image} to staging" in output
    assert re.search(r"smoke: model [0-9a-f]{12} answered \{", output), output[-2000:]
    calls = log.read_text().splitlines()
    namespace = package.replace("_", "-") + "-staging"  # the distribution name
    assert any(
        call.startswith("set image --local") and f"model-server={image}" in call for call in calls
    )
    assert f"apply --namespace={namespace} --filename=" in "\n".join(calls)
    assert any(call.startswith(f"rollout status --namespace={namespace}") for call in calls)

    refused = run([*clean, *env, *ok, *session, "staging", "registry.example/model:latest"],
                  served_project, check=False)  # fmt: skip
    assert refused.returncode != 0
    assert "the image must be pinned by digest" in refused.stdout + refused.stderr


@pytest.fixture(scope="session")
def dev_base_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The local base with git added, made once and kept for later runs."""
    workdir = tmp_path_factory.mktemp("dev-base-image")
    exists = run(["buildah", "inspect", "--type", "image", DEV_BASE_IMAGE], workdir, check=False)
    if exists.returncode == 0:
        return DEV_BASE_IMAGE
    container = buildah("from", base_image, cwd=workdir)
    try:
        install = (
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends git"
            " && rm -rf /var/lib/apt/lists/*"
        )
        buildah("run", "--isolation", "chroot", container, "--", "sh", "-c", install, cwd=workdir)
        buildah("commit", container, DEV_BASE_IMAGE, cwd=workdir)
    finally:
        run(["buildah", "rm", container], workdir, check=False)
    return DEV_BASE_IMAGE


@pytest.mark.full
def test_dev_container_sets_the_project_up(
    dev_base_image: str, template_repo: Path, tmp_path: Path
) -> None:
    """The dev container as an editor makes it: the image built from .devcontainer/ (with this
    machine's CA bundle as the `ca_bundle` secret), the workspace mounted and owned by the
    remote user (the editor matches its user id to yours), devcontainer.json's
    postCreateCommand run as that user. Then the lint session passes inside, the hooks are
    installed, and the workspace holds no environment of the container's."""
    project = render(template_repo, tmp_path / "project", TRAINED_ANSWERS)
    run(["git", "init", "--quiet", "-b", "main"], project)
    config = json.loads((project / ".devcontainer/devcontainer.json").read_text(encoding="utf-8"))
    user, workspace = config["remoteUser"], "/workspaces/project"
    image = "localhost/mlops-template-devcontainer-test"
    folder = project / ".devcontainer" / config["build"]["context"]
    build = ["bud", "--isolation", "chroot", "--build-arg", f"BASE_IMAGE={dev_base_image}"]
    if CA_BUNDLE.exists():
        build += ["--secret", f"id=ca_bundle,src={CA_BUNDLE}"]
    build += ["--file", str(project / ".devcontainer" / config["build"]["dockerfile"])]
    buildah(*build, "--tag", image, str(folder), cwd=tmp_path)
    container = buildah("from", image, cwd=tmp_path)
    try:
        uid = int(
            buildah("run", "--isolation", "chroot", container, "--", "id", "-u", user, cwd=tmp_path)
        )
        for path in [project, *project.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
        inside = ["run", "--isolation", "chroot", "--user", user, "--workingdir", workspace]
        inside += ["--volume", f"{project}:{workspace}", container, "--"]
        setup = config["postCreateCommand"].replace("${containerWorkspaceFolder}", workspace)
        buildah(*inside, "sh", "-c", setup, cwd=tmp_path)
        buildah(*inside, "uv", "run", "--locked", "nox", "-s", "lint", cwd=tmp_path)
        interpreter = config["customizations"]["vscode"]["settings"]
        version = buildah(
            *inside, interpreter["python.defaultInterpreterPath"], "--version", cwd=tmp_path
        )
    finally:
        run(["buildah", "rm", container], tmp_path, check=False)
        run(["buildah", "rmi", "--force", image], tmp_path, check=False)
    assert version.startswith(f"Python {TRAINED_ANSWERS['python_version']}."), version
    assert (project / "uv.lock").is_file(), "uv sync locks a project that has no uv.lock yet"
    assert (project / ".git/hooks/pre-commit").is_file(), "pre-commit hooks are installed"
    assert not (project / ".venv").exists(), "the container's environment stays outside"
