"""Evaluate stage: score the model on the test split and draw its plots.

Reads:  models/model.skops, data/prepared/test.csv, schema.yaml,
        params.yaml (``data.target``, ``evaluate``).
Writes: metrics.json; plot data for ``dvc plots`` in plots/data/ (roc.csv,
        precision_recall.csv, predictions.csv, feature_importance.csv); the same plots
        as PNG images in plots/images/. Classes are named as the data names them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import classification, figures
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
    probabilities: np.ndarray,
    params: dict[str, Any],
    classes: classification.Classes,
) -> pd.DataFrame:
    """Permutation importance: how much ROC AUC drops from the model's (its
    ``probabilities`` on ``features``) when each raw column is shuffled
    (``evaluate.importance_repeats`` times, from ``evaluate.seed``), largest first."""
    repeats = param(
        params, "evaluate.importance_repeats", int, check=(lambda n: n >= 1, "of 1 or more")
    )
    rng = np.random.default_rng(param(params, "evaluate.seed", int))
    truth = np.asarray(y_true.tolist())
    baseline = classification.roc_auc(truth, probabilities, classes)
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
        predicted = model.predict_proba(pd.concat(shuffled, ignore_index=True))
        for index, (column, _) in enumerate(batch):
            part = predicted[index * rows : (index + 1) * rows]
            drops[column].append(baseline - classification.roc_auc(truth, part, classes))
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
    y_true = schema.column(target).labels(test[target])
    classes = classification.classes_of(model, params)
    probabilities = model.predict_proba(features)
    scores = classification.score(y_true, probabilities, classes)
    predicted = pd.Series(model.classes_[probabilities.argmax(axis=1)], index=y_true.index)
    tables = classification.curve_tables(y_true, probabilities, classes) | {
        "predictions": pd.DataFrame({"actual": y_true, "predicted": predicted}),
        "feature_importance": importance(model, features, y_true, probabilities, params, classes),
    }

    METRICS_FILE.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    PLOT_DATA_DIR.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(PLOT_DATA_DIR / f"{name}.csv", index=False)
    # Classes in the order schema.yaml lists them, which may say something (low, mid, high).
    listed = [str(name) for name in schema.column(target).allowed or ()]
    order = listed if sorted(listed) == sorted(map(str, classes.names)) else classes.names
    figures.draw_all(tables, PLOT_IMAGE_DIR, [str(name) for name in order])
    flat = {name: value for name, value in scores.items() if not isinstance(value, dict)}
    about = f" ({classes.positive})" if classes.binary else " (macro)"
    return ", ".join(f"{name}={value}" for name, value in flat.items()) + about


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
