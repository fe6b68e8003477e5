"""Push a file of Prometheus metrics to a Pushgateway, replacing the job's previous push.

    python ci/push_metrics.py FILE URL [--job NAME]

`uv run nox -s monitor -- --push URL` (or PUSHGATEWAY_URL) runs it after the drift check,
so that Prometheus alert rules see its results. Standard library only.
Exit codes: 0 pushed, 1 the Pushgateway refused or could not be reached, 2 usage.
"""

from __future__ import annotations

import argparse
import re
import sys
import urllib.request
from pathlib import Path

JOB = re.compile(r"[A-Za-z0-9_.-]{1,100}")
TIMEOUT = 30


def push(metrics: bytes, url: str, job: str) -> int:
    """PUT ``metrics`` to the Pushgateway at ``url`` under ``job``; the HTTP status."""
    target = f"{url.rstrip('/')}/metrics/job/{job}"
    request = urllib.request.Request(  # noqa: S310  # the scheme is checked by main
        target, data=metrics, method="PUT", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310  # nosec B310
        return int(response.status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("url", help="the Pushgateway, e.g. https://pushgateway.example.com")
    parser.add_argument("--job", default="model-drift")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://", "https://")) or not JOB.fullmatch(args.job):
        parser.error("the URL must start with http:// or https://, the job be a plain name")
    try:
        status = push(args.file.read_bytes(), args.url, args.job)
    except OSError as error:  # urllib's errors, and an unreadable file
        print(f"push_metrics: {error}", file=sys.stderr)
        return 1
    print(f"push_metrics: {args.file} pushed to the Pushgateway (HTTP {status})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
