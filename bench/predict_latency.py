"""Measure the generated model service: /predict latency (p50, p99) and requests per second.

Starts one uvicorn process of a generated project on 127.0.0.1, sends single-row /predict
requests from CONCURRENCY threads (each on its own keep-alive connection) until REQUESTS
have been answered or SECONDS have passed, prints the figures, and stops the server.

    nox -s bench                        # every benchmark, this one on the first-green project
    nox -s bench -- --project PATH      # only this one, on a project whose pipeline ran
    python bench/predict_latency.py     # only this one, on a freshly rendered default project
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]
# Set by the nox session that runs this script; the project must use its own environment.
FOREIGN_VARIABLES = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "PYTHONPATH")


def prepare_project(destination: Path) -> Path:
    """Render the default project into ``destination``, install it and run its pipeline."""
    run_copy(str(ROOT), str(destination), defaults=True, quiet=True, vcs_ref="HEAD")
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_VARIABLES}
    for command in (
        ["git", "init", "--quiet", "-b", "main"],
        ["uv", "lock", "--quiet"],
        ["uv", "sync", "--locked", "--quiet"],
        ["uv", "run", "--locked", "dvc", "repro", "--quiet"],
    ):
        subprocess.run(command, cwd=destination, env=env, check=True)
    return destination


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sample_body(project: Path) -> bytes:
    """One row of the test split, without its label, as a /predict request."""
    with (project / "data/prepared/test.csv").open(encoding="utf-8") as stream:
        row = next(csv.DictReader(stream))
    row.pop(yaml.safe_load((project / "params.yaml").read_text())["data"]["target"])
    return json.dumps({"rows": [{name: float(value) for name, value in row.items()}]}).encode()


def wait_until_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ready")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    sys.exit("the server did not become ready")


def measure(
    port: int, body: bytes, requests: int, concurrency: int, seconds: float
) -> tuple[list[float], int, float]:
    """Send the requests; return each latency, the count of non-200 answers and the wall time."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    remaining = iter(range(requests))
    deadline = time.monotonic() + seconds
    headers = {"content-type": "application/json"}

    def worker() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            with lock:
                if next(remaining, None) is None:
                    break
            start = time.perf_counter()
            connection.request("POST", "/predict", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                errors += response.status != 200
        connection.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(worker)
    return latencies, errors, time.perf_counter() - start


def figures(latencies: list[float], errors: int, wall: float, concurrency: int) -> dict[str, Any]:
    """Latency percentiles in milliseconds and throughput in requests per second."""
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": errors,
        "concurrency": concurrency,
        "seconds": round(wall, 2),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "requests_per_second": round(len(latencies) / wall, 1),
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['requests']} requests at concurrency {result['concurrency']} "
        f"in {result['seconds']:.1f} s, {result['errors']} errors"
    )
    print(f"/predict latency: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms")
    print(f"throughput: {result['requests_per_second']:.0f} requests per second")


def serve_and_measure(
    project: Path, requests: int, concurrency: int, seconds: float
) -> dict[str, Any]:
    """Start the project's service on a free local port, measure it, stop it."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    package = pyproject["tool"]["uv"]["build-backend"]["module-name"]
    port = free_port()
    address = ("--host", "127.0.0.1", "--port", str(port))
    server = subprocess.Popen(
        # As the image starts it: with the service's own connection limits and timeouts.
        [str(project / ".venv/bin/python"), "-m", f"{package}.serve", *address],
        cwd=project,
        stderr=subprocess.DEVNULL,  # one JSON line per request: not wanted here
    )
    try:
        wait_until_ready(port, server)
        body = sample_body(project)
        measure(port, body, requests=50, concurrency=1, seconds=10)  # warm-up
        return figures(*measure(port, body, requests, concurrency, seconds), concurrency)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a generated project whose pipeline ran")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60, help="stop sending after this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = args.project or prepare_project(Path(scratch) / "project")
        report(serve_and_measure(project, args.requests, args.concurrency, args.seconds))


if __name__ == "__main__":
    main()
