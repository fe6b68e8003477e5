"""Measure the generated model service: /predict against /health on the same server.

Starts one uvicorn process of a generated project on 127.0.0.1. At concurrency 1 and 8
(threads, each on its own keep-alive connection), it sends GET /health, then single-row
POST /predict requests, until REQUESTS have been answered or SECONDS have passed; then
it times /predict with a batch of BATCH_ROWS rows. It prints latency (p50, p99), requests
per second and the ratio of /predict's to /health's: /health does no work, so the ratio
says how much of what the server can answer the prediction path leaves. Then it stops the
server. The row is the project's own example request (`python -m <package>.serve
--example`), so any schema works.

    nox -s bench                        # every benchmark, this one on the first-green project
    nox -s bench -- --project PATH      # only this one, on a project whose pipeline ran
    python bench/predict_latency.py     # only this one, on a freshly rendered default project
"""

from __future__ import annotations

import argparse
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

from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]
# Set by the nox session that runs this script; the project must use its own environment.
FOREIGN_VARIABLES = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "PYTHONPATH")
CONCURRENCIES = (1, 8)
BATCH_ROWS = 1000  # the most rows one request may hold
BATCH_CALLS = 20


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


def package_of(project: Path) -> str:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return str(pyproject["tool"]["uv"]["build-backend"]["module-name"])


def example_row(project: Path) -> dict[str, Any]:
    """The one row of the project's example request, which its schema.yaml accepts."""
    command = [str(project / ".venv/bin/python"), "-m", f"{package_of(project)}.serve"]
    printed = subprocess.run(
        [*command, "--example"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    row: dict[str, Any] = json.loads(printed)["rows"][0]
    return row


def body(row: dict[str, Any], rows: int) -> bytes:
    return json.dumps({"rows": [row] * rows}).encode()


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
    port: int, body: bytes | None, requests: int, concurrency: int, seconds: float
) -> tuple[list[float], int, float]:
    """Send the requests (POST /predict with ``body``, or GET /health without one); return
    each latency, the count of non-200 answers and the wall time."""
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
            if body is None:
                connection.request("GET", "/health")
            else:
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
    for concurrency in CONCURRENCIES:
        health, predict = (result[path][str(concurrency)] for path in ("health", "predict"))
        print(
            f"{predict['requests']} requests at concurrency {concurrency} "
            f"in {predict['seconds']:.1f} s, {predict['errors']} errors"
        )
        print(f"/predict latency: p50 {predict['p50_ms']:.1f} ms, p99 {predict['p99_ms']:.1f} ms")
        print(
            f"throughput: /predict {predict['requests_per_second']:.0f}, /health "
            f"{health['requests_per_second']:.0f} requests per second; ratio "
            f"{result['ratio'][str(concurrency)]:.2f}"
        )
    batch = result["batch"]
    print(f"/predict of {batch['rows']} rows: p50 {batch['p50_ms']:.1f} ms")


def ratio(predict: dict[str, Any], health: dict[str, Any]) -> float:
    served, idle = float(predict["requests_per_second"]), float(health["requests_per_second"])
    return round(served / max(idle, 1e-9), 3)


def serve_and_measure(project: Path, requests: int, seconds: float) -> dict[str, Any]:
    """Start the project's service on a free local port, measure it, stop it."""
    package = package_of(project)
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
        row = example_row(project)
        one, batch = body(row, 1), body(row, BATCH_ROWS)
        measure(port, one, requests=50, concurrency=1, seconds=10)  # warm-up
        result: dict[str, Any] = {"health": {}, "predict": {}, "ratio": {}}
        for concurrency in CONCURRENCIES:
            for path, sent in (("health", None), ("predict", one)):
                load = measure(port, sent, requests, concurrency, seconds)
                result[path][str(concurrency)] = figures(*load, concurrency)
            result["ratio"][str(concurrency)] = ratio(
                result["predict"][str(concurrency)], result["health"][str(concurrency)]
            )
        latencies, errors, wall = measure(port, batch, BATCH_CALLS, 1, seconds)
        result["batch"] = {"rows": BATCH_ROWS, **figures(latencies, errors, wall, 1)}
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a generated project whose pipeline ran")
    parser.add_argument("--requests", type=int, default=2000, help="per path and concurrency")
    parser.add_argument("--seconds", type=float, default=60, help="stop sending after this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = args.project or prepare_project(Path(scratch) / "project")
        report(serve_and_measure(project, args.requests, args.seconds))


if __name__ == "__main__":
    main()
