"""Drift check: compare the inputs the service scored with the data the model was trained on.

Reads:  params.yaml (``monitor`` thresholds, ``data.target``), data/prepared/train.csv, and
        logged inputs: a JSON-lines or CSV file of feature values, or a folder of
        ``*.jsonl`` / ``*.csv`` files (default data/monitoring/latest, where
        `uv run nox -s monitor` downloads them from PREDICTION_LOGS_URL).
Writes: reports/monitor/drift.md    each feature's population stability index (PSI) and
                                    Kolmogorov-Smirnov test, drifted features first
        reports/monitor/drift.png   distributions of the most drifted features
        reports/monitor/drift.prom  the same results as Prometheus metrics (for alerts)
Exits with status 1 when a feature drifts past a threshold, naming it, and 2 when the
inputs cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import ks_2samp

from .config import PARAMS_FILE, TRAIN_DATA, load_params

DEFAULT_LOGS = Path("data/monitoring/latest")
REPORT_DIR = Path("reports/monitor")
LOG_SUFFIXES = (".jsonl", ".ndjson", ".csv")
# Floor for a bin's share, so that an empty bin gives a large PSI instead of infinity.
MIN_SHARE = 1e-4


class LogError(ValueError):
    """The logged inputs cannot be compared; the message says why."""


@dataclass(frozen=True)
class Thresholds:
    """When a feature counts as drifted, and how the check is drawn (params.yaml ``monitor``)."""

    psi: float
    ks_p_value: float
    ks_statistic: float
    bins: int
    min_rows: int
    plot_features: int

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Thresholds:
        section = params.get("monitor")
        if not isinstance(section, dict):
            msg = f"{PARAMS_FILE} has no `monitor` section with the drift thresholds"
            raise ValueError(msg)
        return cls(
            psi=float(section["psi_threshold"]),
            ks_p_value=float(section["ks_p_value"]),
            ks_statistic=float(section["ks_statistic"]),
            bins=int(section["bins"]),
            min_rows=int(section["min_rows"]),
            plot_features=int(section["plot_features"]),
        )


@dataclass(frozen=True)
class FeatureDrift:
    """How far one feature's logged values are from its training values."""

    feature: str
    psi: float
    ks_statistic: float
    ks_p_value: float
    drifted: bool


def shares(values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    """The share of ``values`` in each bin that ``inner_edges`` cut (open at both ends)."""
    bins = np.searchsorted(inner_edges, values, side="right")
    counts = np.bincount(bins, minlength=len(inner_edges) + 1)
    return np.maximum(counts / len(values), MIN_SHARE)


def psi(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """Population stability index over the reference's quantile bins (0 means identical)."""
    inner_edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    expected, actual = shares(reference, inner_edges), shares(current, inner_edges)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def compare(
    reference: pd.DataFrame, current: pd.DataFrame, thresholds: Thresholds
) -> list[FeatureDrift]:
    """Test every column of ``reference`` in ``current``; most drifted first."""
    results = []
    for feature in reference.columns:
        expected = reference[feature].dropna().to_numpy(dtype=float)  # nullable columns
        actual = current[feature].to_numpy(dtype=float)
        index = psi(expected, actual, thresholds.bins)
        test = ks_2samp(expected, actual)
        statistic, p_value = float(test.statistic), float(test.pvalue)
        # The p-value says the difference is real; the statistic says it is large enough.
        ks_drift = p_value < thresholds.ks_p_value and statistic >= thresholds.ks_statistic
        drifted = index >= thresholds.psi or ks_drift
        results.append(FeatureDrift(feature, index, statistic, p_value, drifted))
    return sorted(results, key=lambda result: (not result.drifted, -result.psi))


def read_log_file(path: Path) -> pd.DataFrame:
    """Rows of one log file: JSON lines (one object per line) or CSV with a header."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        msg = f"{path} is not a text file (JSON lines or CSV expected)"
        raise LogError(msg) from error
    if not text.strip():
        return pd.DataFrame()
    if not text.lstrip().startswith(("{", "[")):
        try:
            return pd.read_csv(path)
        except pd.errors.ParserError as error:
            msg = f"{path} is neither JSON lines nor valid CSV: {error}"
            raise LogError(msg) from error
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            msg = f"{path} line {number} is not valid JSON: {error.msg}"
            raise LogError(msg) from error
        if not isinstance(record, dict):
            msg = f"{path} line {number} is not a JSON object of feature values"
            raise LogError(msg)
        records.append(record)
    return pd.DataFrame.from_records(records)


def read_logs(path: Path, features: list[str]) -> pd.DataFrame:
    """The logged values of ``features`` from a log file or a folder of them, all numeric."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in LOG_SUFFIXES)
        if not files:
            msg = f"{path} holds no {' or '.join(LOG_SUFFIXES)} files"
            raise LogError(msg)
    elif path.is_file():
        files = [path]
    else:
        msg = f"no logged inputs at {path} (set PREDICTION_LOGS_URL, or pass --logs PATH)"
        raise LogError(msg)
    frames = [frame for frame in map(read_log_file, files) if not frame.empty]
    if not frames:
        msg = f"{path} holds no logged rows"
        raise LogError(msg)
    logs = pd.concat(frames, ignore_index=True)
    missing = [name for name in features if name not in logs.columns]
    if missing:
        msg = f"{path} lacks the feature(s) {', '.join(missing)}"
        raise LogError(msg)
    values = logs[features].apply(pd.to_numeric, errors="coerce")
    for name in features:
        bad = int(values[name].isna().sum())
        if bad:
            msg = f"{path}: feature {name} has {bad} missing or non-numeric value(s)"
            raise LogError(msg)
    return values


def markdown(
    results: list[FeatureDrift], rows: tuple[int, int], thresholds: Thresholds, image: str
) -> str:
    """The drift report: verdict, thresholds and one table row per feature."""
    drifted = [result.feature for result in results if result.drifted]
    verdict = (
        f"**Drift in {len(drifted)} of {len(results)} features:** {', '.join(drifted)}."
        if drifted
        else f"No drift in any of the {len(results)} features."
    )
    lines = [
        "# Input drift against the training data",
        "",
        verdict,
        "",
        f"Compared {rows[1]} logged rows with {rows[0]} training rows. A feature drifts when "
        f"its PSI is at least {thresholds.psi}, or when the KS test's p-value is below "
        f"{thresholds.ks_p_value} with a statistic of at least {thresholds.ks_statistic} "
        "(`monitor` in params.yaml).",
        "",
        "| Feature | PSI | KS statistic | KS p-value | Drifted |",
        "|---|---:|---:|---:|---|",
    ]
    for result in results:
        flag = "**yes**" if result.drifted else "no"
        lines.append(
            f"| {result.feature} | {result.psi:.3f} | {result.ks_statistic:.3f} "
            f"| {result.ks_p_value:.2g} | {flag} |"
        )
    lines += ["", f"![Distributions of the most drifted features]({image})", ""]
    return "\n".join(lines)


def draw(
    reference: pd.DataFrame, current: pd.DataFrame, results: list[FeatureDrift], path: Path
) -> Path:
    """Training and logged distributions of the features at the top of ``results``."""
    columns = min(2, len(results))
    rows = -(-len(results) // columns)
    figure = Figure(figsize=(5 * columns, 3.2 * rows))
    axes_grid = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for axes, result in zip(axes_grid, results, strict=False):
        values = (reference[result.feature], current[result.feature])
        edges = np.histogram_bin_edges(pd.concat(values), bins=30)
        for series, label in zip(values, ("training", "logged"), strict=True):
            axes.hist(series, bins=edges, density=True, alpha=0.5, label=label)
        marker = " - drifted" if result.drifted else ""
        axes.set(title=f"{result.feature} (PSI {result.psi:.2f}){marker}", yticks=[])
        axes.legend(loc="upper right")
    for axes in axes_grid[len(results) :]:
        axes.set_axis_off()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def feature_labels(feature: str) -> str:
    """The label set of one feature's sample, escaped as Prometheus' text format requires."""
    escaped = feature.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '{feature="' + escaped + '"}'


def prometheus_text(results: list[FeatureDrift], rows: int, now: float) -> str:
    """The results in Prometheus' text format, ready for a Pushgateway or a textfile collector."""
    drifted = sum(result.drifted for result in results)
    gauges = [
        ("model_drift_features", "Features that drifted past a threshold", [("", drifted)]),
        ("model_drift_rows", "Logged rows the check compared", [("", rows)]),
        ("model_drift_last_run_timestamp_seconds", "When the check ran", [("", now)]),
        (
            "model_drift_psi",
            "Population stability index of each feature against the training data",
            [(feature_labels(r.feature), r.psi) for r in results],
        ),
        (
            "model_drift_ks_statistic",
            "Two-sample Kolmogorov-Smirnov statistic of each feature",
            [(feature_labels(r.feature), r.ks_statistic) for r in results],
        ),
    ]
    lines = []
    for name, help_text, samples in gauges:
        lines += [f"# HELP {name} {help_text}.", f"# TYPE {name} gauge"]
        lines += [f"{name}{labels} {float(value)!r}" for labels, value in samples]
    return "\n".join(lines) + "\n"


def run(logs: Path, reference_file: Path, params: dict[str, Any], out: Path) -> list[FeatureDrift]:
    """Compare ``logs`` with the training data and write the report files into ``out``."""
    thresholds = Thresholds.from_params(params)
    if not reference_file.is_file():
        msg = f"no training data at {reference_file}: run `uv run dvc repro prepare` (or dvc pull)"
        raise LogError(msg)
    reference = pd.read_csv(reference_file).drop(columns=[params["data"]["target"]])
    current = read_logs(logs, list(reference.columns))
    if len(current) < thresholds.min_rows:
        msg = (
            f"{logs} holds {len(current)} logged rows; the check needs at least "
            f"{thresholds.min_rows} (monitor.min_rows in params.yaml)"
        )
        raise LogError(msg)
    results = compare(reference, current, thresholds)
    out.mkdir(parents=True, exist_ok=True)
    image = draw(reference, current, results[: thresholds.plot_features], out / "drift.png")
    report = markdown(results, (len(reference), len(current)), thresholds, image.name)
    (out / "drift.md").write_text(report, encoding="utf-8")
    metrics = prometheus_text(results, len(current), time.time())
    (out / "drift.prom").write_text(metrics, encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=DEFAULT_LOGS)
    parser.add_argument("--reference", type=Path, default=TRAIN_DATA)
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--out", type=Path, default=REPORT_DIR)
    args = parser.parse_args(argv)
    try:
        results = run(args.logs, args.reference, load_params(args.params), args.out)
    except (OSError, ValueError) as error:
        print(f"monitor: {error}", file=sys.stderr)
        return 2
    report = args.out / "drift.md"
    drifted = [
        f"{r.feature} (PSI {r.psi:.2f}, KS {r.ks_statistic:.2f})" for r in results if r.drifted
    ]
    if drifted:
        summary = f"DRIFT in {len(drifted)} of {len(results)} features: {', '.join(drifted)}"
        print(f"monitor: {summary}; report in {report}", file=sys.stderr)
        return 1
    print(f"monitor: no drift in {len(results)} features; report in {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
