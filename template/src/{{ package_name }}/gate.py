"""Quality gate: the one judge of the model, used by `nox -s pipeline`, the report and CI.

Rules set under ``gate`` in params.yaml:
- threshold: ``gate.metric`` in metrics.json must reach ``gate.threshold`` (stay at or under
  it for an error metric, where lower is better);
- no regression: against a base revision (``--base``, e.g. the pull request's target
  branch), the metric may not get worse by more than ``gate.tolerance``;
- every slice (when ``gate.slice_threshold`` is set): the metric on each scored slice of
  reports/slices.json (``evaluate.slices``) must reach that threshold too.

A base whose metrics.json does not exist or lacks the metric (the first pull request, say)
is not compared: the threshold alone decides, and the verdict says so.

Reads:  metrics.json, reports/slices.json, params.yaml, and metrics.json at the base revision.
Exits:  0 passed, 1 failed, 2 unusable input (a missing metric, params.yaml, an unknown base).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import revision, slices
from .config import (
    METRICS_FILE,
    PARAMS_FILE,
    CheckFailed,
    InputError,
    load_params,
    param,
    run_stage,
)

# Error metrics: the smaller the better. Every other metric is better when larger.
LOWER_IS_BETTER = frozenset({"rmse", "mae", "mse", "log_loss", "brier_score"})


@dataclass(frozen=True)
class Verdict:
    """The gate's outcome: the metric against its threshold, and against the base."""

    metric: str
    value: float
    threshold: float
    tolerance: float
    base: float | None = None
    base_note: str = "no base given"
    slice_threshold: float | None = None
    worst: slices.Slice | None = None  # the scored slice with the worst value of the metric

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    def _better(self, value: float, bound: float) -> bool:
        return value <= bound if self.lower_is_better else value >= bound

    @property
    def meets_threshold(self) -> bool:
        return self._better(self.value, self.threshold)

    @property
    def within_tolerance(self) -> bool:
        if self.base is None:
            return True
        allowed = self.base + self.tolerance if self.lower_is_better else self.base - self.tolerance
        return self._better(self.value, allowed)

    @property
    def worst_value(self) -> float | None:
        return None if self.worst is None else float((self.worst.metrics or {})[self.metric])

    @property
    def slices_pass(self) -> bool:
        worst = self.worst_value
        return (
            self.slice_threshold is None
            or worst is None
            or self._better(worst, self.slice_threshold)
        )

    @property
    def passed(self) -> bool:
        return self.meets_threshold and self.within_tolerance and self.slices_pass

    def _threshold_text(self) -> str:
        bound = "a maximum" if self.lower_is_better else "a minimum"
        return f"`{self.metric}` = {self.value} against {bound} of {self.threshold}"

    def _slice_text(self, worst: slices.Slice) -> str:
        value = (worst.metrics or {})[self.metric]
        text = f"`{worst.slice}` ({worst.rows} rows): `{self.metric}` = {value}"
        if self.slice_threshold is None:
            return text + " (not gated: gate.slice_threshold is null)"
        bound = "a maximum" if self.lower_is_better else "a minimum"
        return text + f" against {bound} of {self.slice_threshold}"

    def _base_text(self) -> str:
        if self.base is None:
            return f"not compared, {self.base_note}"
        change = round(self.value - self.base, 4)
        allowed = "rise" if self.lower_is_better else "drop"
        return (
            f"`{self.metric}` changed by {change:+} (base {self.base}, "
            f"allowed {allowed} {self.tolerance})"
        )

    def lines(self) -> list[str]:
        """The verdict as Markdown list items (the report's gate section)."""
        mark = {True: "pass", False: "FAIL"}
        rows = [f"- Threshold: {self._threshold_text()}: **{mark[self.meets_threshold]}**"]
        if self.base is None:
            rows.append(f"- Against the base: {self._base_text()}")
        else:
            rows.append(
                f"- Against the base: {self._base_text()}: **{mark[self.within_tolerance]}**"
            )
        if self.worst is not None:
            gated = "" if self.slice_threshold is None else f": **{mark[self.slices_pass]}**"
            rows.append(f"- Worst slice: {self._slice_text(self.worst)}{gated}")
        return rows

    def __str__(self) -> str:
        outcome = "passed" if self.passed else "FAILED"
        threshold = "meets" if self.meets_threshold else "misses"
        text = f"quality gate {outcome}: {self._threshold_text().replace('`', '')} ({threshold} it)"
        if self.base is not None or self.base_note != "no base given":
            base = self._base_text().replace("`", "")
            if self.base is not None and not self.within_tolerance:
                base += ", beyond the tolerance"
            text += f"; against the base: {base}"
        if self.slice_threshold is not None and self.worst is not None:
            worst = self._slice_text(self.worst).replace("`", "")
            text += f"; worst slice {worst}" + ("" if self.slices_pass else ", which it misses")
        return text


def _number(scores: dict[str, Any], metric: str, source: str) -> float | None:
    value = scores.get(metric)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{source}: {metric} is {value!r}, not a number")
    return float(value)


def judge(
    scores: dict[str, Any],
    params: dict[str, Any],
    base_scores: dict[str, Any] | None = None,
    base_note: str = "no base given",
    found: list[slices.Slice] | None = None,
) -> Verdict:
    """Apply the gate in ``params`` to ``scores`` and the slices ``found``, against
    ``base_scores`` when given."""
    metric = param(params, "gate.metric", str)
    threshold = param(params, "gate.threshold", float)
    tolerance = param(params, "gate.tolerance", float, default=0.0, check=(_not_negative, ">= 0"))
    value = _number(scores, metric, str(METRICS_FILE))
    if value is None:
        names = ", ".join(sorted(key for key in scores if key != "per_class")) or "none"
        msg = f"{METRICS_FILE} has no {metric!r} (gate.metric in {PARAMS_FILE}); it has: {names}"
        raise InputError(msg)
    base = None
    if base_scores is not None:
        base = _number(base_scores, metric, f"{METRICS_FILE} at the base")
        if base is None:
            base_note = f"the base's {METRICS_FILE} has no {metric!r}"
    slice_threshold = param(params, "gate.slice_threshold", float, default=None, optional=True)
    worst = slices.worst(found or [], metric, metric in LOWER_IS_BETTER)
    if slice_threshold is not None and worst is None:
        msg = (
            f"gate.slice_threshold is set, but {slices.SLICES_FILE} has no slice scored on "
            f"{metric!r} (its notes say why): in {PARAMS_FILE}, name columns under "
            "evaluate.slices.columns, lower evaluate.slices.min_rows or bins, or set "
            "gate.slice_threshold to null"
        )
        raise InputError(msg)
    return Verdict(metric, value, threshold, tolerance, base, base_note, slice_threshold, worst)


def _not_negative(value: float) -> bool:
    return value >= 0


def read_metrics(text: str, source: str) -> dict[str, Any]:
    """metrics.json's mapping, or an InputError naming ``source``."""
    try:
        scores = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{source} is not valid JSON: {error}") from error
    if not isinstance(scores, dict):
        raise InputError(f"{source} must hold a JSON object")
    return scores


def base_metrics(base: str) -> tuple[dict[str, Any] | None, str]:
    """metrics.json at ``base`` (None when it has none yet), and why it was not compared."""
    commit = revision.resolve(base)
    text = revision.show(commit, METRICS_FILE)
    if text is None:
        return None, f"the base has no {METRICS_FILE} yet"
    return read_metrics(text, f"{METRICS_FILE} at {base}"), ""


def judge_files(params_file: Path, metrics_file: Path, base: str | None) -> Verdict:
    """The verdict for the files of the workspace, against ``base`` when given."""
    if not metrics_file.is_file():
        raise InputError(f"{metrics_file} is missing: run the pipeline first (nox -s pipeline)")
    scores = read_metrics(metrics_file.read_text(encoding="utf-8"), str(metrics_file))
    base_scores, note = base_metrics(base) if base else (None, "no base given")
    found_file = slices.SLICES_FILE
    found = (
        slices.read(found_file.read_text(encoding="utf-8"), str(found_file))
        if found_file.is_file()
        else []
    )
    return judge(scores, load_params(params_file), base_scores, note, found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--metrics", type=Path, default=METRICS_FILE)
    parser.add_argument("--base", help="a branch or commit to compare with (e.g. origin/main)")
    args = parser.parse_args(argv)

    def body() -> str:
        verdict = judge_files(args.params, args.metrics, args.base)
        if not verdict.passed:
            raise CheckFailed(str(verdict))
        return str(verdict)

    return run_stage("gate", body)


if __name__ == "__main__":
    raise SystemExit(main())
