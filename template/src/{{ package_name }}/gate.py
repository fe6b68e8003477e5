"""Quality gate: the model's metric must reach the threshold kept in params.yaml.

Reads:  metrics.json, params.yaml (``gate``).
Exits with status 1 when the gate fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import METRICS_FILE, PARAMS_FILE, load_params


@dataclass(frozen=True)
class Verdict:
    """Outcome of the gate for one metric."""

    metric: str
    value: float
    threshold: float

    @property
    def passed(self) -> bool:
        return self.value >= self.threshold

    def __str__(self) -> str:
        outcome = "passed" if self.passed else "FAILED"
        relation = ">=" if self.passed else "<"
        return f"quality gate {outcome}: {self.metric} = {self.value} {relation} {self.threshold}"


def check(scores: dict[str, float], gate: dict[str, Any]) -> Verdict:
    """Compare the gated metric with its threshold."""
    metric = gate["metric"]
    if metric not in scores:
        msg = f"gate.metric {metric!r} is not in the metrics ({', '.join(sorted(scores))})"
        raise KeyError(msg)
    return Verdict(metric, float(scores[metric]), float(gate["threshold"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--metrics", type=Path, default=METRICS_FILE)
    args = parser.parse_args(argv)
    scores = json.loads(args.metrics.read_text(encoding="utf-8"))
    verdict = check(scores, load_params(args.params)["gate"])
    print(verdict, file=sys.stdout if verdict.passed else sys.stderr)
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
