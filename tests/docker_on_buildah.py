"""A `docker` command for machines without a Docker engine: the two commands the docs show,
carried out with buildah (chroot isolation).

    docker build [OPTIONS] CONTEXT
        buildah bud --isolation=chroot --format=docker, then this machine's settings, then
        OPTIONS unchanged, then CONTEXT. This machine's settings are the base image named by
        $DOCKER_ON_BUILDAH_BASE_IMAGE, passed as `--build-arg=BASE_IMAGE=...` (before OPTIONS,
        so a BASE_IMAGE the user passes wins), and, when /etc/ssl/certs/ca-certificates.crt
        exists, the machine's certificates: /etc/ssl/certs mounted read-only into every RUN step
        and the bundle given as the `ca_bundle` secret (unless OPTIONS give one), so pip and uv
        reach PyPI from inside the build. OPTIONS may be --build-arg, -t/--tag, -f/--file,
        --secret, --target, --label, --no-cache and -q/--quiet.

    docker run --rm -p HOST:CONTAINER [-e NAME=VALUE]... [-v HOST_PATH:PATH[:ro]]... IMAGE
        buildah from IMAGE, then buildah run --isolation chroot on the image's command
        (Entrypoint + Cmd, read with `buildah inspect`), with each -e as --env and each -v
        (an absolute host path) as --volume. When the command stops, or this
        program is sent SIGTERM, SIGINT or SIGHUP (which it passes on to the command), the
        container is removed with `buildah rm`; the exit status is the command's.

        `buildah run` shares the host's network, so a port cannot be remapped the way Docker
        does. Instead, when HOST differs from CONTAINER, the command's `--port CONTAINER` (or
        `--port=CONTAINER`) is rewritten to HOST, so the service listens on HOST as
        `-p HOST:CONTAINER` asks. A command without that option can only be run with
        HOST == CONTAINER.

Anything else (another subcommand, another option, a command after IMAGE) exits with status 2
and says why, rather than doing something Docker would not.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROGRAM = "docker (docker_on_buildah)"
BASE_IMAGE_VARIABLE = "DOCKER_ON_BUILDAH_BASE_IMAGE"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_OPTIONS_WITH_VALUE = {
    "--build-arg",
    "-t",
    "--tag",
    "-f",
    "--file",
    "--secret",
    "--target",
    "--label",
}
BUILD_FLAGS = {"--no-cache", "-q", "--quiet"}
PUBLISH = re.compile(r"(\d{1,5}):(\d{1,5})")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STOP_GRACE_SECONDS = 20


class Unsupported(Exception):
    """A request this program does not translate (exit status 2)."""


def say(message: str) -> None:
    print(f"{PROGRAM}: {message}", file=sys.stderr, flush=True)


def split_option(argument: str) -> tuple[str, str | None]:
    """``--name=value`` as (``--name``, ``value``); any other argument with no value."""
    if argument.startswith("--") and "=" in argument:
        name, value = argument.split("=", 1)
        return name, value
    return argument, None


def build_command(arguments: Sequence[str]) -> list[str]:
    """The buildah command for ``docker build ARGUMENTS``."""
    options: list[str] = []
    contexts: list[str] = []
    secrets: list[str] = []
    position = 0
    while position < len(arguments):
        argument = arguments[position]
        position += 1
        name, value = split_option(argument)
        if name in BUILD_FLAGS and value is None:
            options.append(argument)
        elif name in BUILD_OPTIONS_WITH_VALUE:
            if value is None:
                if position == len(arguments):
                    raise Unsupported(f"`docker build {name}` needs a value")
                value = arguments[position]
                options += [argument, value]
                position += 1
            else:
                options.append(argument)
            if name == "--secret":
                secrets.append(value)
        elif argument.startswith("-") and argument != "-":
            raise Unsupported(f"`docker build {name}` is not supported")
        else:
            contexts.append(argument)
    if len(contexts) != 1 or contexts[0] == "-":
        raise Unsupported(f"`docker build` needs one build context directory, got {contexts}")
    machine: list[str] = []
    base_image = os.environ.get(BASE_IMAGE_VARIABLE)
    if base_image:
        machine.append(f"--build-arg=BASE_IMAGE={base_image}")
    if CA_BUNDLE.is_file():
        machine.append(f"--volume={CA_BUNDLE.parent}:{CA_BUNDLE.parent}:ro")
        if not any(re.search(r"(^|,)id=ca_bundle(,|$)", secret) for secret in secrets):
            machine.append(f"--secret=id=ca_bundle,src={CA_BUNDLE}")
    return [
        "buildah",
        "bud",
        "--isolation=chroot",
        "--format=docker",
        *machine,
        *options,
        contexts[0],
    ]


@dataclass
class RunOptions:
    """What ``docker run`` was asked for: the image, the ports, and buildah run's options."""

    image: str = ""
    ports: list[tuple[int, int]] = field(default_factory=list)
    options: list[str] = field(default_factory=list)  # --env and --volume, for buildah run


def parse_run(arguments: Sequence[str]) -> RunOptions:
    """``docker run --rm -p H:C [-e NAME=VALUE]... [-v HOST:PATH[:ro]]... IMAGE``."""
    remove = False
    found = RunOptions()
    position = 0
    while position < len(arguments) and arguments[position].startswith("-"):
        name, value = split_option(arguments[position])
        position += 1
        if name == "--rm" and value is None:
            remove = True
            continue
        if name not in ("-p", "--publish", "-e", "--env", "-v", "--volume"):
            raise Unsupported(f"`docker run {name}` is not supported")
        if value is None:
            if position == len(arguments):
                raise Unsupported(f"`docker run {name}` needs a value")
            value = arguments[position]
            position += 1
        if name in ("-e", "--env"):
            if "=" not in value:
                raise Unsupported(f"`-e {value}`: only NAME=VALUE is supported")
            found.options.append(f"--env={value}")
        elif name in ("-v", "--volume"):
            if not value.startswith("/") or value.count(":") not in (1, 2):
                raise Unsupported(f"`-v {value}`: only /HOST/PATH:PATH[:ro] is supported")
            found.options.append(f"--volume={value}")
        else:
            match = PUBLISH.fullmatch(value)
            if match is None:
                raise Unsupported(f"`-p {value}`: only HOST:CONTAINER port numbers are supported")
            found.ports.append((int(match.group(1)), int(match.group(2))))
    rest = arguments[position:]
    if not remove:
        raise Unsupported("`docker run` without --rm is not supported: the container is removed")
    if len(found.ports) != 1:
        raise Unsupported("`docker run` needs exactly one `-p HOST:CONTAINER`")
    if len(rest) != 1:
        raise Unsupported(f"`docker run` takes an image and no command, got {list(rest)}")
    found.image = rest[0]
    return found


def buildah_output(*arguments: str) -> str:
    result = subprocess.run(["buildah", *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise subprocess.CalledProcessError(result.returncode, ["buildah", *arguments])
    return result.stdout


def image_command(image: str, host_port: int, container_port: int) -> list[str]:
    """The image's Entrypoint + Cmd, its ``--port CONTAINER`` rewritten to HOST if they differ."""
    inspected = json.loads(buildah_output("inspect", "--type", "image", image))
    config = inspected.get("Docker", {}).get("config") or inspected["OCIv1"]["config"]
    command = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    if not command:
        raise Unsupported(f"the image {image} has no command to run")
    if host_port == container_port:
        return command
    old, new = str(container_port), str(host_port)
    rewritten, found = [], False
    for position, part in enumerate(command):
        after_port = position > 0 and command[position - 1] == "--port"
        if after_port and part == old:
            rewritten.append(new)
            found = True
        elif part == f"--port={old}":
            rewritten.append(f"--port={new}")
            found = True
        else:
            rewritten.append(part)
    if not found:
        raise Unsupported(
            f"`-p {host_port}:{container_port}`: buildah run shares the host's network and the "
            f"image's command ({shlex.join(command)}) has no `--port {container_port}` to "
            f"rewrite; use -p {container_port}:{container_port}"
        )
    return rewritten


def run_container(arguments: Sequence[str]) -> int:
    """``docker run --rm -p H:C IMAGE``: run the image's command until it stops or is stopped."""
    asked = parse_run(arguments)
    image = asked.image
    command = image_command(image, *asked.ports[0])
    stop: list[int] = []
    server: list[subprocess.Popen[bytes]] = []

    def pass_on(signum: int, _frame: object) -> None:
        stop.append(signum)
        if server and server[0].poll() is None:
            server[0].send_signal(signal.SIGTERM)

    for signum in STOP_SIGNALS:
        signal.signal(signum, pass_on)
    container = buildah_output("from", "--quiet", "--pull=never", image).strip().splitlines()[-1]
    try:
        if stop:
            return 128 + stop[0]
        run = ["buildah", "run", "--isolation", "chroot", *asked.options, container, *command]
        say(shlex.join(run))
        server.append(subprocess.Popen(run))
        deadline = None
        while True:
            try:
                returncode = server[0].wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop and deadline is None:
                    deadline = time.monotonic() + STOP_GRACE_SECONDS
                if deadline is not None and time.monotonic() > deadline:
                    server[0].kill()
        return returncode if returncode >= 0 else 128 - returncode
    finally:
        say(f"buildah rm {container}")
        subprocess.run(["buildah", "rm", container], stdout=subprocess.DEVNULL, check=False)


def main(arguments: Sequence[str]) -> int:
    try:
        if arguments[:1] == ["build"]:
            command = build_command(arguments[1:])
            say(shlex.join(command))
            sys.stdout.flush()
            os.execvp(command[0], command)
        if arguments[:1] == ["run"]:
            return run_container(arguments[1:])
        raise Unsupported(
            f"`docker {shlex.join(arguments)}` is not supported: only `docker build` and "
            "`docker run --rm -p HOST:CONTAINER IMAGE` are"
        )
    except Unsupported as error:
        say(str(error))
        return 2
    except subprocess.CalledProcessError as error:
        say(f"`{shlex.join(error.cmd)}` exited {error.returncode}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
