"""Evaluate stage: score the model on the test split and draw its plots.

Reads:  models/model.skops, data/prepared/test.csv, params.yaml (``data.target``, ``evaluate``).
Writes: metrics.json; plot data for ``dvc plots`` in plots/data/ (roc.csv,
        precision_recall.csv, predictions.csv, feature_importance.csv); the same plots
        as PNG images in plots/images/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn import metrics
from sklearn.base import ClassifierMixin
from sklearn.inspection import permutation_importance

from . import figures
from .config import (
    METRICS_FILE,
    MODEL_FILE,
    PARAMS_FILE,
    PLOT_DATA_DIR,
    PLOT_IMAGE_DIR,
    TEST_DATA,
    load_params,
)
from .model_io import load_model


def score(y_true: pd.Series, y_pred: pd.Series, y_score: pd.Series) -> dict[str, float]:
    """Classification metrics, rounded so that diffs show real changes only."""
    values = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "precision": metrics.precision_score(y_true, y_pred, zero_division=0),
        "recall": metrics.recall_score(y_true, y_pred, zero_division=0),
        "f1": metrics.f1_score(y_true, y_pred, zero_division=0),
        "roc_auc": metrics.roc_auc_score(y_true, y_score),
        "average_precision": metrics.average_precision_score(y_true, y_score),
    }
    return {name: round(float(value), 4) for name, value in values.items()}


def plot_data(
    model: ClassifierMixin,
    features: pd.DataFrame,
    y_true: pd.Series,
    y_score: pd.Series,
    settings: dict[str, Any],
) -> dict[str, pd.DataFrame]:
    """Tables behind each plot, keyed by plot name."""
    fpr, tpr, _ = metrics.roc_curve(y_true, y_score)
    precision, recall, _ = metrics.precision_recall_curve(y_true, y_score)
    importance = permutation_importance(
        model,
        features,
        y_true,
        scoring="roc_auc",
        n_repeats=int(settings["importance_repeats"]),
        random_state=int(settings["seed"]),
        n_jobs=1,
    )
    ranked = pd.DataFrame({"feature": features.columns, "importance": importance.importances_mean})
    ranked = ranked.sort_values("importance", ascending=False).head(int(settings["top_features"]))
    return {
        "roc": pd.DataFrame({"fpr": fpr, "tpr": tpr}).round(4),
        "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}).round(4),
        "predictions": pd.DataFrame({"actual": y_true, "predicted": model.predict(features)}),
        "feature_importance": ranked.round(5),
    }


def run(params: dict[str, Any], model_path: Path, test_path: Path) -> dict[str, float]:
    """Write metrics, plot data and images; return the metrics."""
    target = params["data"]["target"]
    model = load_model(model_path)
    test = pd.read_csv(test_path)
    features, y_true = test.drop(columns=[target]), test[target]
    y_score = pd.Series(model.predict_proba(features)[:, 1], index=features.index)
    tables = plot_data(model, features, y_true, y_score, params["evaluate"])
    scores = score(y_true, tables["predictions"]["predicted"], y_score)

    METRICS_FILE.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    PLOT_DATA_DIR.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(PLOT_DATA_DIR / f"{name}.csv", index=False)
    figures.draw_all(tables, PLOT_IMAGE_DIR)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--data", type=Path, default=TEST_DATA)
    args = parser.parse_args(argv)
    scores = run(load_params(args.params), args.model, args.data)
    print("evaluate: " + ", ".join(f"{name}={value}" for name, value in scores.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
