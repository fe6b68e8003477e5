"""The model service and the notebooks as users get them: API tests, a container image built
and run for real, the Binder configuration and the exploration notebook.

The image is built with buildah from a Debian base made here by debootstrap (no image registry
is reachable), then the server is run from it with `buildah run`. Those tests skip only where
buildah is not installed; `.ci/run` installs it.
"""

from __future__ import annotations

import json
import os
import re
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

from .conftest import read_answers, render, run, setup_project

# Debian bookworm's python3 is 3.11: the project under test targets it to match the base image.
ANSWERS = {"python_version": "3.11"}
BASE_IMAGE = "localhost/mlops-template-base:bookworm-python3"
IMAGE = "localhost/mlops-template-serve:test"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SERVER_START_SECONDS = 90


def tool(name: str) -> str:
    """A console script of this test environment, found beside its Python or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the repository's `test` dependency group")
    return found


@pytest.fixture(scope="module")
def trained_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project set up as its README says, whose pipeline has run and been committed."""
    project = render(template_repo, tmp_path_factory.mktemp("served") / "project", ANSWERS)
    setup_project(project)
    run(["uv", "run", "--locked", "dvc", "repro"], project)
    run(["git", "add", "--all"], project)
    run(["git", "commit", "--quiet", "-m", "Train the model"], project)
    return project


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
def test_binder_requirements_are_pinned_to_the_lock(trained_project: Path, tmp_path: Path) -> None:
    run(["uv", "run", "--locked", "nox", "-s", "binder"], trained_project)
    requirements = (trained_project / "binder/requirements.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements, re.MULTILINE))
    lock = tomllib.loads((trained_project / "uv.lock").read_text())
    locked = {package["name"]: package.get("version") for package in lock["package"]}
    assert {"pandas", "scikit-learn", "skops"} <= set(pins)
    assert not {"pytest", "dvc", "fastapi", "ruff"} & set(pins), "dev and serve groups stay out"
    assert all(locked[name] == version for name, version in pins.items())
    assert requirements.count("--hash=sha256:") >= len(pins)

    result = run(
        [tool("jupyter-repo2docker"), "--no-build", "--debug", str(trained_project)], tmp_path
    )
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in result.stdout
    assert "./binder/postBuild" in result.stdout
    assert "python=3.11" in result.stdout + result.stderr, "runtime.txt sets the Python version"


@pytest.mark.project
def test_notebook_runs_top_to_bottom_on_the_trained_project(
    trained_project: Path, tmp_path: Path
) -> None:
    executed = tmp_path / "explore-executed"
    session = ["uv", "run", "--locked", "nox", "-s", "notebooks", "--", f"--output={executed}"]
    run(session, trained_project)
    cells = json.loads(executed.with_suffix(".ipynb").read_text())["cells"]
    text = "".join(
        "".join(output.get("text", ""))
        for cell in cells
        for output in cell.get("outputs", [])
        if output["output_type"] == "stream"
    )
    assert "569 rows, 31 columns" in text
    assert "RandomForestClassifier(" in text, "the trained model was loaded"
    assert re.search(r"accuracy on the test split: 0\.9\d\d", text)
    assert not any(
        output["output_type"] == "error" for cell in cells for output in cell.get("outputs", [])
    )
    status = run(["git", "status", "--porcelain", "--", "notebooks"], trained_project).stdout
    assert status == "", "running the notebooks leaves them without outputs in git"


def buildah(*arguments: str, cwd: Path) -> str:
    return run(["buildah", *arguments], cwd).stdout.strip()


@pytest.fixture(scope="session")
def base_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Debian bookworm image with python3, made once and kept for later runs."""
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (apt-get install buildah debootstrap)")
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
class BuiltImage:
    name: str
    config: dict[str, Any]
    build_seconds: float


@pytest.fixture(scope="module")
def image(trained_project: Path, base_image: str) -> Iterator[BuiltImage]:
    """The project's Dockerfile built as is, with the local base swapped in for python:*-slim."""
    secret = [f"--secret=id=ca_bundle,src={CA_BUNDLE}"] if CA_BUNDLE.is_file() else []
    commit = run(["git", "rev-parse", "HEAD"], trained_project).stdout.strip()
    arguments = [f"--build-arg=BASE_IMAGE={base_image}", f"--build-arg=GIT_SHA={commit}", *secret]
    # The machine's certificates let pip and uv reach PyPI from inside the build.
    arguments += ["--volume=/etc/ssl/certs:/etc/ssl/certs:ro", "--format=docker", f"--tag={IMAGE}"]
    start = time.monotonic()
    buildah("bud", "--isolation=chroot", *arguments, ".", cwd=trained_project)
    elapsed = time.monotonic() - start
    inspected = json.loads(buildah("inspect", "--type", "image", IMAGE, cwd=trained_project))
    try:
        yield BuiltImage(IMAGE, inspected["Docker"]["config"], elapsed)
    finally:
        run(["buildah", "rmi", "--force", IMAGE], trained_project, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """GET (or POST ``body`` as JSON) and return the status and the decoded JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with status {server.returncode}")
        try:
            if call(url)[0] == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer 200 within {SERVER_START_SECONDS} s")


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
            uids.add(int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1)))
    return uids


@pytest.mark.project
def test_image_is_configured_for_production(
    image: BuiltImage, trained_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print(f"\n[image built in {image.build_seconds:.0f} s]", end=" ")
    config = image.config
    assert config["User"] == "10001:10001"
    package = read_answers(trained_project)["package_name"]
    assert config["Cmd"][:2] == ["uvicorn", f"{package}.serve:app"]
    assert config["Cmd"][2:6] == ["--host", "0.0.0.0", "--port", "8000"]
    assert config["Healthcheck"]["Test"][:2] == ["CMD", "python"]
    assert "8000/tcp" in config["ExposedPorts"]


@pytest.mark.project
def test_image_serves_predictions_as_a_non_root_user(
    image: BuiltImage, trained_project: Path
) -> None:
    container = buildah("from", image.name, cwd=trained_project)
    port = free_port()
    command = [str(port) if part == "8000" else part for part in image.config["Cmd"]]
    assert (
        buildah("run", "--isolation", "chroot", container, "id", "-u", cwd=trained_project)
        == "10001"
    )
    log = trained_project.parent / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            ["buildah", "run", "--isolation", "chroot", container, *command],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/ready", server)
        assert call(f"{base}/health") == (200, {"status": "ok"})
        test_split = (trained_project / "data/prepared/test.csv").read_text().splitlines()
        header = test_split[0].split(",")
        rows = [
            dict(zip(header, map(float, line.split(",")), strict=True)) for line in test_split[1:4]
        ]
        for row in rows:
            del row["target"]
        status, answer = call(f"{base}/predict", {"rows": rows})
        assert status == 200, answer
        assert [prediction["label"] in (0, 1) for prediction in answer["predictions"]] == [True] * 3

        lock = yaml.safe_load((trained_project / "dvc.lock").read_text())
        md5 = next(
            out["md5"]
            for out in lock["stages"]["train"]["outs"]
            if out["path"] == "models/model.skops"
        )
        commit = run(["git", "rev-parse", "HEAD"], trained_project).stdout.strip()
        status, model = call(f"{base}/model")
        assert (model["md5"], model["git_sha"]) == (md5, commit)

        uids = server_uids(port)
        assert uids, "the server process was not found"
        assert 0 not in uids, f"the server runs as root (uids {uids})"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        run(["buildah", "rm", container], trained_project, check=False)
    assert '"path": "/predict", "status": 200' in log.read_text(), "requests are logged as JSON"
