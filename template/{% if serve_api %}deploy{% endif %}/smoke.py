"""Smoke test of a deployed model service: python deploy/smoke.py BASE_URL.

Checks /health, /ready and /model, then sends one row built from schema.yaml (the middle
of each number's range, false for a flag, the first listed value of a category) to /predict
and expects a prediction. Exits 1 on any failure.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ATTEMPTS = 30


def call(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        msg = f"not an http(s) URL: {url}"
        raise ValueError(msg)
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310  # nosec B310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


def sample_value(rules: dict[str, Any]) -> Any:
    """A value every column of this kind accepts."""
    kind = rules.get("type", "float")
    if rules.get("allowed"):
        return rules["allowed"][0]
    if kind == "bool":
        return False
    if kind == "category":
        return "smoke-test"
    low = float(rules.get("min", 0))
    middle = (low + float(rules.get("max", low + 1))) / 2
    return round(middle) if kind == "int" else middle


def sample_row(schema: dict[str, Any], target: str) -> dict[str, Any]:
    columns = schema["columns"].items()
    return {name: sample_value(rules or {}) for name, rules in columns if name != target}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python deploy/smoke.py BASE_URL", file=sys.stderr)
        return 2
    base = argv[0].rstrip("/")
    target = yaml.safe_load(Path("params.yaml").read_text())["data"]["target"]
    schema = yaml.safe_load(Path("schema.yaml").read_text())
    for attempt in range(ATTEMPTS):
        try:
            call(f"{base}/ready")
            break
        except (urllib.error.URLError, OSError):
            if attempt == ATTEMPTS - 1:
                print(f"smoke: {base}/ready never answered", file=sys.stderr)
                return 1
            time.sleep(2)
    try:
        call(f"{base}/health")
        model = call(f"{base}/model")
        answer = call(f"{base}/predict", {"rows": [sample_row(schema, target)]})
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"smoke: {error}", file=sys.stderr)
        return 1
    predictions = answer.get("predictions") or []
    if len(predictions) != 1 or "label" not in predictions[0]:
        print(f"smoke: unexpected /predict answer: {answer}", file=sys.stderr)
        return 1
    print(f"smoke: model {model.get('version')} answered {predictions[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
