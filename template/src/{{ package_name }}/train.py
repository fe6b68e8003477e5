"""Train stage: fit the classifier described in params.yaml on the training split.

Reads:  data/prepared/train.csv, params.yaml (``data.target``, ``train``).
Writes: models/model.skops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .config import MODEL_FILE, PARAMS_FILE, TRAIN_DATA, load_params
from .model_io import save_model

MODELS = ("random_forest", "logistic_regression")


def build_model(train: dict[str, Any]) -> ClassifierMixin:
    """Create an unfitted classifier from the ``train`` section of params.yaml."""
    kind = train["model"]
    seed = int(train["seed"])
    if kind == "random_forest":
        forest = train["random_forest"]
        return RandomForestClassifier(
            n_estimators=int(forest["n_estimators"]),
            max_depth=forest["max_depth"],
            min_samples_leaf=int(forest["min_samples_leaf"]),
            random_state=seed,
            n_jobs=1,
        )
    if kind == "logistic_regression":
        logistic = train["logistic_regression"]
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=float(logistic["C"]), max_iter=int(logistic["max_iter"])),
        )
    msg = f"train.model must be one of {', '.join(MODELS)}, not {kind!r}"
    raise ValueError(msg)


def fit(frame: pd.DataFrame, params: dict[str, Any]) -> ClassifierMixin:
    """Fit the configured model on ``frame``; every column but the target is a feature."""
    target = params["data"]["target"]
    model = build_model(params["train"])
    model.fit(frame.drop(columns=[target]), frame[target])
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--data", type=Path, default=TRAIN_DATA)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    params = load_params(args.params)
    try:
        model = fit(pd.read_csv(args.data), params)
    except ValueError as error:
        print(f"train: {error}", file=sys.stderr)
        return 1
    save_model(model, args.model)
    print(f"train: {params['train']['model']} written to {args.model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
