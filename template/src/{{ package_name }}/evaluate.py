"""Evaluate stage: score the model on the test split and draw its plots.

Reads:  models/model.skops, data/prepared/test.csv, schema.yaml,
        params.yaml (``data.target``, ``evaluate``).
Writes: metrics.json; reports/slices.json, the metrics of each slice ``evaluate.slices``
        asks for (slices.py); plot data for ``dvc plots`` in plots/data/ (the task's tables, and
        feature_importance.csv); the same plots as PNG images in plots/images/. What the
        metrics and plots are depends on the task (task.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import figures, slices, task
from .config import (
    METRICS_FILE,
    MODEL_FILE,
    PARAMS_FILE,
    PLOT_DATA_DIR,
    PLOT_IMAGE_DIR,
    SCHEMA_FILE,
    TEST_DATA,
    load_params,
    param,
    run_stage,
)
from .contract import load_schema, model_input, read_csv
from .model_io import load_model

# Shuffled copies of the test split are predicted together, up to this many rows per call:
# a forest's cost is mostly per call, so one call for many copies is much quicker.
IMPORTANCE_BATCH_ROWS = 50_000


def importance(
    model: Any,
    features: pd.DataFrame,
    y_true: pd.Series,
    evaluation: task.Evaluation,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Permutation importance: how much the task's quality measure (``evaluation.QUALITY``)
    drops from the model's when each raw column is shuffled (``evaluate.importance_repeats``
    times, from ``evaluate.seed``), largest first."""
    repeats = param(
        params, "evaluate.importance_repeats", int, check=(lambda n: n >= 1, "of 1 or more")
    )
    rng = np.random.default_rng(param(params, "evaluate.seed", int))
    truth = np.asarray(y_true.tolist())
    baseline = evaluation.quality(truth, evaluation.predict(model, features))
    rows = len(features)
    copies = [
        (column, rng.permutation(rows)) for column in features.columns for _ in range(repeats)
    ]
    per_call = max(1, IMPORTANCE_BATCH_ROWS // max(rows, 1))
    drops: dict[str, list[float]] = {column: [] for column in features.columns}
    for start in range(0, len(copies), per_call):
        batch = copies[start : start + per_call]
        shuffled = []
        for column, order in batch:
            copy = features.copy()
            # The column's own values in another order, its type (a category's) kept.
            copy[column] = features[column].iloc[order].set_axis(features.index)
            shuffled.append(copy)
        predicted = evaluation.predict(model, pd.concat(shuffled, ignore_index=True))
        for index, (column, _) in enumerate(batch):
            part = predicted[index * rows : (index + 1) * rows]
            drops[column].append(baseline - evaluation.quality(truth, part))
    ranked = pd.DataFrame(
        {"feature": list(drops), "importance": [float(np.mean(d)) for d in drops.values()]}
    )
    top = param(params, "evaluate.top_features", int)
    return ranked.sort_values("importance", ascending=False, kind="stable").head(top).round(5)


def run(params: dict[str, Any], model_path: Path, test_path: Path, schema_file: Path) -> str:
    """Write metrics, plot data and images; return the metrics as one line."""
    schema = load_schema(schema_file)
    target = param(params, "data.target", str)
    model = load_model(model_path)
    test = read_csv(test_path, schema)
    features = model_input(test, schema.features(target))
    y_true = task.target_values(schema.column(target), test[target])
    evaluation = task.Evaluation.of(model, params, schema.column(target))
    outputs = evaluation.predict(model, features)
    scores = evaluation.score(y_true, outputs)
    ranked = importance(model, features, y_true, evaluation, params)
    by_slice = slices.score(evaluation, y_true, outputs, test, schema, params)
    tables = evaluation.tables(y_true, outputs) | {"feature_importance": ranked}

    METRICS_FILE.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    slices.write(by_slice)
    PLOT_DATA_DIR.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(PLOT_DATA_DIR / f"{name}.csv", index=False)
    evaluation.draw(tables, PLOT_IMAGE_DIR)
    title, image = "Permutation importance", PLOT_IMAGE_DIR / "importance.png"
    figures.importance({"model": ranked}, evaluation.QUALITY, image, title)
    return evaluation.summary(scores)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--data", type=Path, default=TEST_DATA)
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    args = parser.parse_args(argv)
    return run_stage(
        "evaluate", lambda: run(load_params(args.params), args.model, args.data, args.schema)
    )


if __name__ == "__main__":
    sys.exit(main())
