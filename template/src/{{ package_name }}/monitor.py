"""Drift check: compare the inputs the service scored, and the model's predictions for them,
with the data the model was trained on.

Reads:  params.yaml (``monitor`` thresholds, ``data.target``), schema.yaml (the features and
        their kinds), data/prepared/train.csv, models/model.skops (to predict both sides),
        and logged inputs: a JSON-lines or CSV file of feature values, or a folder of
        ``*.jsonl`` / ``*.csv`` files (default data/monitoring/latest, where
        `uv run nox -s monitor` downloads them from PREDICTION_LOGS_URL).
Writes: reports/monitor/drift.md    each feature's population stability index (PSI) and test
                                    (Kolmogorov-Smirnov for numbers, chi-square for booleans
                                    and categories), drifted features first
        reports/monitor/drift.png   distributions of the most drifted features
        reports/monitor/drift.prom  the same results as Prometheus metrics (for alerts)
Exits with status 1 when a feature drifts past a threshold, naming it, and 2 when the
inputs cannot be read.

Both sides are read as the model reads them (`contract.Column.values`), and the model
predicts both: its predictions are compared as one more column, ``predicted <target>`` (a
class for a classifier, a number for a regressor; task.prediction), so that a shift the
model's answers feel shows even when each input moved only a little. Without a model file,
the inputs alone are compared, and the report says so. A number is compared
over quantile bins of its training values; a boolean or a category over its values seen in
training (or allowed by schema.yaml), plus one bucket for values never seen in training. Missing
values of a nullable feature are a bucket of their own, so a change in how often a value is
missing moves the PSI; anywhere else a missing or unreadable value is an error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import chi2_contingency, ks_2samp

from . import figures, task
from .config import (
    MODEL_FILE,
    PARAMS_FILE,
    SCHEMA_FILE,
    TRAIN_DATA,
    CheckFailed,
    InputError,
    load_params,
    param,
    run_stage,
)
from .contract import Column, Schema, load_schema, plain, read_csv
from .model_io import load_model

DEFAULT_LOGS = Path("data/monitoring/latest")
REPORT_DIR = Path("reports/monitor")
LOG_SUFFIXES = (".jsonl", ".ndjson", ".csv")
# Floor for a bucket's share, so that an empty bucket gives a large PSI instead of infinity.
MIN_SHARE = 1e-4
# Names of the buckets that are not a value: seen only in the logs, and missing.
OTHER = "(other)"
MISSING = "(missing)"
# Bins of a number's histogram, and most bars of a category's shares, in drift.png.
HISTOGRAM_BINS = 30
MAX_BARS = 12
KS = "KS"
CHI_SQUARE = "chi²"


class LogError(InputError):
    """The logged inputs cannot be compared; the message says why."""


@dataclass(frozen=True)
class Thresholds:
    """When a feature counts as drifted, and how the check is drawn (params.yaml ``monitor``)."""

    psi: float
    p_value: float
    statistic: float
    bins: int
    min_rows: int
    plot_features: int

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Thresholds:
        at_least_one = (lambda value: value >= 1, "of 1 or more")
        return cls(
            psi=param(params, "monitor.psi_threshold", float, check=(lambda v: v > 0, "above 0")),
            p_value=param(
                params, "monitor.ks_p_value", float, check=(lambda v: 0 < v < 1, "between 0 and 1")
            ),
            statistic=param(
                params, "monitor.ks_statistic", float, check=(lambda v: 0 <= v <= 1, "from 0 to 1")
            ),
            bins=param(params, "monitor.bins", int, check=(lambda v: v >= 2, "of 2 or more")),
            min_rows=param(params, "monitor.min_rows", int, check=at_least_one),
            plot_features=param(params, "monitor.plot_features", int, check=at_least_one),
        )


@dataclass(frozen=True)
class FeatureDrift:
    """How far one feature's logged values are from its training values.

    ``test`` is "KS" for numbers: ``statistic`` is the Kolmogorov-Smirnov statistic of the
    values present on both sides (the largest gap between their cumulative distributions).
    It is "chi²" for booleans and categories: ``p_value`` is the chi-square test of
    homogeneity over the buckets, and ``statistic`` their total variation distance (half the
    summed differences of the shares; 0 means the same shares, 1 no value in common), which
    is the KS statistic of a boolean. ``missing`` is the share of missing values in training
    and in the logs, for nullable features. A statistic or p-value is NaN when one side has
    no value to test.
    """

    feature: str
    test: str
    psi: float
    statistic: float
    p_value: float
    missing: tuple[float, float] | None
    drifted: bool


def stability(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two tables of counts over the same buckets."""
    expected_shares = np.maximum(expected / max(expected.sum(), 1), MIN_SHARE)
    actual_shares = np.maximum(actual / max(actual.sum(), 1), MIN_SHARE)
    return float(
        np.sum((actual_shares - expected_shares) * np.log(actual_shares / expected_shares))
    )


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """The inner edges of ``bins`` quantile bins of the values present in ``reference``."""
    present = reference[~np.isnan(reference)]
    if not len(present):
        return np.empty(0)
    return np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_counts(values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    """How many ``values`` fall in each bin that ``inner_edges`` cut (open at both ends),
    then how many are missing (NaN)."""
    missing = np.isnan(values)
    bins = np.searchsorted(inner_edges, values[~missing], side="right")
    counts = np.bincount(bins, minlength=len(inner_edges) + 1)
    return np.append(counts, missing.sum())


def psi(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """Population stability index of numbers over the reference's quantile bins, missing
    values (NaN) counted as one more bin (0 means identical)."""
    edges = quantile_edges(reference, bins)
    return stability(bin_counts(reference, edges), bin_counts(current, edges))


def buckets(column: Column, reference: pd.Series) -> list[Any]:
    """The values a boolean or category feature is counted by: false and true, or the
    allowed values then those seen in training, most frequent first."""
    if column.kind == "bool":
        return [0.0, 1.0]
    seen = reference.dropna().value_counts(sort=True).index
    return list(dict.fromkeys([*(column.allowed or ()), *seen]))


def bucket_labels(column: Column, values: list[Any]) -> list[str]:
    """The names of the buckets ``values`` give, then of the unseen and the missing ones."""
    names = ["true" if value else "false" for value in values] if column.kind == "bool" else values
    return [str(name) for name in names] + [OTHER, MISSING]


def bucket_counts(values: pd.Series, known: list[Any]) -> np.ndarray:
    """How many ``values`` are each of ``known``, then how many are none of them, then how
    many are missing."""
    missing = int(values.isna().sum())
    found = values.value_counts()
    counts = [int(found.get(value, 0)) for value in known]
    return np.array([*counts, len(values) - missing - sum(counts), missing])


def homogeneity(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Total variation distance of two tables of counts over the same buckets (every row in
    one), and the p-value of a chi-square test that both come from the same distribution."""
    shares = np.array([expected / expected.sum(), actual / actual.sum()])
    distance = float(np.abs(shares[0] - shares[1]).sum() / 2)
    used = (expected + actual) > 0
    if used.sum() < 2:  # every row in the same bucket on both sides
        return distance, 1.0
    return distance, float(chi2_contingency(np.array([expected[used], actual[used]])).pvalue)


def missing_shares(
    column: Column, reference: pd.Series, current: pd.Series
) -> tuple[float, float] | None:
    """The share of missing values on each side, for a nullable feature."""
    if not column.nullable:
        return None
    return float(reference.isna().mean()), float(current.isna().mean())


def compare_feature(
    column: Column, reference: pd.Series, current: pd.Series, thresholds: Thresholds
) -> FeatureDrift:
    """Test one feature's logged values (``current``) against its training values."""
    if column.numeric:
        expected, actual = reference.to_numpy(dtype=float), current.to_numpy(dtype=float)
        index = psi(expected, actual, thresholds.bins)
        expected, actual = expected[~np.isnan(expected)], actual[~np.isnan(actual)]
        statistic = p_value = float("nan")
        if len(expected) and len(actual):
            result = ks_2samp(expected, actual)
            statistic, p_value = float(result.statistic), float(result.pvalue)
        test = KS
    else:
        known = buckets(column, reference)
        counts = bucket_counts(reference, known), bucket_counts(current, known)
        index = stability(*counts)
        statistic, p_value = homogeneity(*counts)
        test = CHI_SQUARE
    # The p-value says the difference is real; the statistic says it is large enough.
    tested = p_value < thresholds.p_value and statistic >= thresholds.statistic
    drifted = index >= thresholds.psi or tested
    missing = missing_shares(column, reference, current)
    return FeatureDrift(column.name, test, index, statistic, p_value, missing, drifted)


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[Column],
    thresholds: Thresholds,
) -> list[FeatureDrift]:
    """Test every feature of ``current`` against ``reference`` (model input values); most
    drifted first."""
    results = [
        compare_feature(column, reference[column.name], current[column.name], thresholds)
        for column in features
    ]
    return sorted(results, key=lambda result: (not result.drifted, -result.psi))


def model_values(frame: pd.DataFrame, features: Sequence[Column], source: Path) -> pd.DataFrame:
    """The ``features`` of ``frame`` as the model reads them, or a LogError naming the first
    feature with an unreadable value, or a missing one where schema.yaml does not allow it."""
    absent = [column.name for column in features if column.name not in frame.columns]
    if absent:
        raise LogError(f"{source} lacks the feature(s) {', '.join(absent)}")
    values = {}
    for column in features:
        raw = frame[column.name]
        converted = column.values(raw)
        missing = raw.isna()
        unreadable = ~missing & converted.isna()
        if unreadable.any():
            expected = "numbers" if column.numeric else "true or false"
            first = plain(raw[unreadable].iloc[0])
            msg = (
                f"{source}: feature {column.name} has {int(unreadable.sum())} value(s) that "
                f"are not {expected}, first {first!r}"
            )
            raise LogError(msg)
        if missing.any() and not column.nullable:
            msg = (
                f"{source}: feature {column.name} has {int(missing.sum())} missing value(s) "
                "but is not nullable in the schema"
            )
            raise LogError(msg)
        values[column.name] = converted
    return pd.DataFrame(values, index=frame.index)


def read_log_file(path: Path) -> pd.DataFrame:
    """Rows of one log file: JSON lines (one object per line) or CSV with a header, whose
    cells are read as text (the features' kinds decide what they mean)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        msg = f"{path} is not a text file (JSON lines or CSV expected)"
        raise LogError(msg) from error
    except OSError as error:
        raise LogError(f"{path} cannot be read: {error.strerror or error}") from error
    if not text.strip():
        return pd.DataFrame()
    if not text.lstrip().startswith(("{", "[")):
        try:
            return pd.read_csv(path, dtype=str)
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


def read_logs(path: Path, features: Sequence[Column]) -> pd.DataFrame:
    """The logged values of ``features`` from a log file or a folder of them, as the model
    reads them."""
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
    return model_values(pd.concat(frames, ignore_index=True), features, path)


def read_reference(path: Path, schema: Schema, features: Sequence[Column]) -> pd.DataFrame:
    """The training values of ``features`` (data/prepared/train.csv), as the model reads them."""
    if not path.is_file():
        msg = f"no training data at {path}: run `uv run dvc repro prepare` (or dvc pull)"
        raise LogError(msg)
    values = model_values(read_csv(path, schema), features, path)
    if values.empty:
        raise LogError(f"{path} holds no rows: run `uv run dvc repro prepare`")
    return values


def percent(share: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * share:.1f}%"


def number(value: float, spec: str) -> str:
    """A statistic in ``spec``'s format, or n/a when it could not be computed (NaN)."""
    return "n/a" if np.isnan(value) else format(value, spec)


def method(results: list[FeatureDrift], thresholds: Thresholds) -> str:
    """How the features were compared, for the kinds of feature in ``results``."""
    tests = {result.test for result in results}
    text = (
        f"A feature drifts when its PSI is at least {thresholds.psi}, or when its test finds a "
        f"difference both significant (p-value below {thresholds.p_value}) and large "
        f"(statistic at least {thresholds.statistic}); `monitor` in params.yaml."
    )
    if KS in tests:
        text += (
            f" Numbers are compared over {thresholds.bins} quantile bins of their training "
            f"values, with the Kolmogorov-Smirnov ({KS}) test."
        )
    if CHI_SQUARE in tests:
        text += (
            " Booleans and categories are compared over their values in training, plus one "
            f"bucket, {OTHER}, for values never seen there, with a {CHI_SQUARE} test of "
            "homogeneity; its statistic is the total variation distance (half the summed "
            "differences of the shares)."
        )
    if any(result.missing for result in results):
        text += " Missing values of a nullable feature count as a bin of their own."
    return text


def markdown(
    results: list[FeatureDrift],
    rows: tuple[int, int],
    thresholds: Thresholds,
    image: str,
    note: str = "",
) -> str:
    """The drift report: verdict, method and one table row per feature."""
    drifted = [result.feature for result in results if result.drifted]
    verdict = (
        f"**Drift in {len(drifted)} of {len(results)} features:** {', '.join(drifted)}."
        if drifted
        else f"No drift in any of the {len(results)} features."
    )
    nullable = any(result.missing for result in results)
    header = ["Feature", "Test", "PSI", "Statistic", "p-value"]
    header += ["Missing (training / logged)"] if nullable else []
    lines = [
        "# Drift against the training data",
        "",
        verdict,
        "",
        f"Compared {rows[1]} logged rows with {rows[0]} training rows. "
        + method(results, thresholds)
        + (f" {note}" if note else ""),
        "",
        "| " + " | ".join([*header, "Drifted"]) + " |",
        "|---|---|" + "---:|" * (len(header) - 2) + "---|",
    ]
    for result in results:
        cells = [
            result.feature,
            result.test,
            f"{result.psi:.3f}",
            number(result.statistic, ".3f"),
            number(result.p_value, ".2g"),
        ]
        if nullable:
            cells.append(" / ".join(map(percent, result.missing)) if result.missing else "-")
        cells.append("**yes**" if result.drifted else "no")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![Distributions of the most drifted features]({image})", ""]
    return "\n".join(lines)


def draw_numbers(axes: Any, column: Column, reference: pd.Series, current: pd.Series) -> None:
    """Histograms of the values present in training and in the logs, on shared bins (one
    per whole number of an int feature, when they are few)."""
    axes.set(yticks=[])
    values = reference.dropna(), current.dropna()
    present = pd.concat(values)
    if present.empty:
        return
    low, high = present.min(), present.max()
    edges = np.histogram_bin_edges(present, bins=HISTOGRAM_BINS)
    if column.kind == "int" and high - low < 2 * HISTOGRAM_BINS:
        edges = np.arange(np.floor(low) - 0.5, np.ceil(high) + 1)
    for series, label in zip(values, ("training", "logged"), strict=True):
        if len(series):  # a side whose values are all missing draws nothing
            axes.hist(series, bins=edges, density=True, alpha=0.5, label=label)


def draw_shares(axes: Any, column: Column, reference: pd.Series, current: pd.Series) -> None:
    """Side-by-side bars of each bucket's share in training and in the logs."""
    known = buckets(column, reference)
    counts = np.array([bucket_counts(reference, known), bucket_counts(current, known)])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    labels = bucket_labels(column, known)
    # The buckets with the largest shares on either side, in their own order.
    shown = np.sort(np.argsort(-shares.max(axis=0), kind="stable")[:MAX_BARS])
    shown = shown[shares[:, shown].max(axis=0) > 0]
    places = np.arange(len(shown))
    for offset, side, label in ((-0.2, 0, "training"), (0.2, 1, "logged")):
        axes.bar(places + offset, shares[side, shown], width=0.4, alpha=0.7, label=label)
    rotation = 30 if sum(len(labels[i]) for i in shown) > 40 else 0
    axes.set_xticks(
        places, [labels[i] for i in shown], rotation=rotation, ha="right" if rotation else "center"
    )
    hidden = int((shares.max(axis=0) > 0).sum()) - len(shown)
    axes.set(ylabel="share", xlabel=f"{hidden} smaller bucket(s) not shown" if hidden else "")
    axes.set_ylim(0, shares.max() * 1.35)  # room for the legend above the bars


def draw(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[Column],
    results: list[FeatureDrift],
    path: Path,
) -> Path:
    """Training and logged distributions of the features at the top of ``results``:
    histograms for numbers, bars of shares for booleans and categories."""
    columns = {column.name: column for column in features}
    width = min(2, len(results))
    rows = -(-len(results) // width)
    figure = Figure(figsize=(5 * width, 3.4 * rows))
    axes_grid = np.atleast_1d(figure.subplots(rows, width)).ravel()
    for axes, result in zip(axes_grid, results, strict=False):
        column = columns[result.feature]
        values = reference[result.feature], current[result.feature]
        if column.numeric:
            draw_numbers(axes, column, *values)
        else:
            draw_shares(axes, column, *values)
        title = f"{result.feature} (PSI {result.psi:.2f})"
        if result.drifted:
            title += " - drifted"
        if result.missing and column.numeric:
            title += f"\nmissing: {percent(result.missing[0])} -> {percent(result.missing[1])}"
        axes.set_title(title, fontsize=10)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="best")
    for axes in axes_grid[len(results) :]:
        axes.set_axis_off()
    return figures.save(figure, path)


def metric_labels(**labels: str) -> str:
    """A sample's label set, its values escaped as Prometheus' text format requires."""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{name}="{escape(value)}"' for name, value in labels.items()) + "}"


def prometheus_text(results: list[FeatureDrift], rows: int, now: float) -> str:
    """The results in Prometheus' text format, ready for a Pushgateway or a textfile collector.
    A statistic that could not be computed (NaN) is left out."""
    drifted = sum(result.drifted for result in results)
    gauges: list[tuple[str, str, list[tuple[str, float]]]] = [
        ("model_drift_features", "Features that drifted past a threshold", [("", drifted)]),
        ("model_drift_rows", "Logged rows the check compared", [("", rows)]),
        ("model_drift_last_run_timestamp_seconds", "When the check ran", [("", now)]),
        (
            "model_drift_psi",
            "Population stability index of each feature against the training data",
            [(metric_labels(feature=r.feature), r.psi) for r in results],
        ),
        (
            "model_drift_statistic",
            "Each feature's test statistic: Kolmogorov-Smirnov (test KS) for numbers, total "
            f"variation distance (test {CHI_SQUARE}) for booleans and categories",
            [
                (metric_labels(feature=r.feature, test=r.test), r.statistic)
                for r in results
                if not np.isnan(r.statistic)
            ],
        ),
        (
            "model_drift_missing_share",
            "Share of missing values of each nullable feature in the logged rows",
            [(metric_labels(feature=r.feature), r.missing[1]) for r in results if r.missing],
        ),
    ]
    lines = []
    for name, help_text, samples in gauges:
        if not samples:
            continue
        lines += [f"# HELP {name} {help_text}.", f"# TYPE {name} gauge"]
        lines += [f"{name}{labels} {float(value)!r}" for labels, value in samples]
    return "\n".join(lines) + "\n"


def with_predictions(
    model_file: Path, target: Column, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[Column | None, str]:
    """Add the model's predictions to both frames of model inputs as one more column; the
    column (None without a model) and a sentence for the report."""
    if not model_file.is_file():
        note = f"No model at {model_file} (run `uv run dvc repro`): predictions not compared."
        return None, note
    column, predict = task.prediction(load_model(model_file), target)
    for frame in frames:
        frame[column.name] = predict(frame)
    note = f"`{column.name}` is what {model_file} predicts for the rows of each side."
    return column, note


def run(
    logs: Path,
    reference_file: Path,
    params: dict[str, Any],
    schema: Schema,
    out: Path,
    model_file: Path = MODEL_FILE,
) -> list[FeatureDrift]:
    """Compare ``logs``, and the predictions for them, with the training data; write the
    report files into ``out``."""
    thresholds = Thresholds.from_params(params)
    target = param(params, "data.target", str)
    features = schema.features(target)
    if not features:
        raise InputError(f"{schema.path} declares no feature besides the target")
    reference = read_reference(reference_file, schema, features)
    current = read_logs(logs, features)
    if len(current) < thresholds.min_rows:
        msg = (
            f"{logs} holds {len(current)} logged rows; the check needs at least "
            f"{thresholds.min_rows} (monitor.min_rows in params.yaml)"
        )
        raise LogError(msg)
    predicted, note = with_predictions(model_file, schema.column(target), (reference, current))
    compared = (*features, predicted) if predicted else features
    results = compare(reference, current, compared, thresholds)
    out.mkdir(parents=True, exist_ok=True)
    top = results[: thresholds.plot_features]
    image = draw(reference, current, compared, top, out / "drift.png")
    rows = (len(reference), len(current))
    report = markdown(results, rows, thresholds, image.name, note)
    (out / "drift.md").write_text(report, encoding="utf-8")
    metrics = prometheus_text(results, len(current), time.time())
    (out / "drift.prom").write_text(metrics, encoding="utf-8")
    return results


def describe(result: FeatureDrift) -> str:
    """One feature's drift in a few words: its PSI, test statistic and missing shares."""
    text = f"PSI {result.psi:.2f}, {result.test} {number(result.statistic, '.2f')}"
    if result.missing:
        text += f", missing {percent(result.missing[0])} -> {percent(result.missing[1])}"
    return f"{result.feature} ({text})"


def check(args: argparse.Namespace) -> str:
    """Run the check; the summary when nothing drifted, else CheckFailed naming the features."""
    try:
        params, schema = load_params(args.params), load_schema(args.schema)
        results = run(args.logs, args.reference, params, schema, args.out, args.model)
    except OSError as error:  # for example, a report that cannot be written
        raise InputError(str(error)) from error
    report = args.out / "drift.md"
    drifted = [describe(result) for result in results if result.drifted]
    if drifted:
        summary = f"DRIFT in {len(drifted)} of {len(results)} features: {', '.join(drifted)}"
        raise CheckFailed(f"{summary}; report in {report}")
    return f"no drift in {len(results)} features; report in {report}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=DEFAULT_LOGS)
    parser.add_argument("--reference", type=Path, default=TRAIN_DATA)
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--out", type=Path, default=REPORT_DIR)
    args = parser.parse_args(argv)
    return run_stage("monitor", lambda: check(args))


if __name__ == "__main__":
    sys.exit(main())
