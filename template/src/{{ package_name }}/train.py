"""Train stage: fit the classifier described in params.yaml on the training split.

Reads:  data/prepared/train.csv, schema.yaml (the columns and their kinds),
        params.yaml (``data.target``, ``train``).
Writes: models/model.skops: the preprocessing and the classifier as one pipeline, so that
        the service and the drift check hand it raw rows exactly as the CSV has them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import (
    MODEL_FILE,
    PARAMS_FILE,
    SCHEMA_FILE,
    TRAIN_DATA,
    load_params,
    param,
    run_stage,
)
from .contract import Column, load_schema, model_input, read_csv
from .model_io import save_model

MODELS = ("random_forest", "logistic_regression")
CLASS_WEIGHTS = ("balanced",)
MISSING_CATEGORY = "(missing)"


def preprocessing(features: tuple[Column, ...], scale: bool) -> ColumnTransformer:
    """Turn raw columns into numbers: impute what may be missing, one-hot encode categories
    (a value never seen in training encodes as none of them), and scale for linear models."""
    numbers = [c.name for c in features if c.kind != "category"]
    categories = [c.name for c in features if c.kind == "category"]
    numeric_steps: list[Any] = [SimpleImputer(strategy="median", add_indicator=True)]
    if scale:
        numeric_steps.append(StandardScaler())
    encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    parts = [("numbers", make_pipeline(*numeric_steps), numbers)] if numbers else []
    if categories:
        parts.append(("categories", encode, categories))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


_POSITIVE = (lambda value: value > 0, "above 0")


def classifier(params: dict[str, Any]) -> tuple[BaseEstimator, bool]:
    """The unfitted classifier ``train.model`` names, and whether it needs scaled inputs."""
    kind = param(params, "train.model", str, choices=MODELS)
    seed = param(params, "train.seed", int)
    weight = param(
        params, "train.class_weight", str, choices=CLASS_WEIGHTS, default=None, optional=True
    )
    if kind == "random_forest":
        model = RandomForestClassifier(
            n_estimators=param(params, "train.random_forest.n_estimators", int, check=_POSITIVE),
            max_depth=param(params, "train.random_forest.max_depth", int, optional=True),
            min_samples_leaf=param(
                params, "train.random_forest.min_samples_leaf", int, check=_POSITIVE
            ),
            class_weight=weight,
            random_state=seed,
            n_jobs=1,
        )
        return model, False
    model = LogisticRegression(
        C=param(params, "train.logistic_regression.C", float, check=_POSITIVE),
        max_iter=param(params, "train.logistic_regression.max_iter", int, check=_POSITIVE),
        class_weight=weight,
    )
    return model, True


def build_model(params: dict[str, Any], features: tuple[Column, ...]) -> Pipeline:
    """The unfitted pipeline: preprocessing for ``features``, then the configured classifier."""
    model, scale = classifier(params)
    return Pipeline([("prepare", preprocessing(features, scale)), ("model", model)])


def fit(params: dict[str, Any], schema_file: Path, data: Path) -> Pipeline:
    """Fit the configured pipeline on the rows of ``data``."""
    schema = load_schema(schema_file)
    target = param(params, "data.target", str)
    features = schema.features(target)
    frame = read_csv(data, schema)
    model = build_model(params, features)
    model.fit(model_input(frame, features), schema.column(target).labels(frame[target]))
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    parser.add_argument("--data", type=Path, default=TRAIN_DATA)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)

    def train() -> str:
        params = load_params(args.params)
        model = fit(params, args.schema, args.data)
        save_model(model, args.model)
        return f"{params['train']['model']} written to {args.model}"

    return run_stage("train", train)


if __name__ == "__main__":
    sys.exit(main())
