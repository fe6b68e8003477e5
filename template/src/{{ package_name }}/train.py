"""Train stage: fit the model described in params.yaml on the training split.

Reads:  data/prepared/train.csv, schema.yaml (the columns and their kinds),
        params.yaml (``data.target``, ``train``).
Writes: models/model.skops: the preprocessing and the model as one pipeline, so that
        the service and the drift check hand it raw rows exactly as the CSV has them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from . import task
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


def build_model(params: dict[str, Any], features: tuple[Column, ...]) -> Pipeline:
    """The unfitted pipeline: preprocessing for ``features``, then the configured model."""
    model, scale = task.estimator(params)
    return Pipeline([("prepare", preprocessing(features, scale)), ("model", model)])


def fit(params: dict[str, Any], schema_file: Path, data: Path) -> Pipeline:
    """Fit the configured pipeline on the rows of ``data``."""
    schema = load_schema(schema_file)
    target = param(params, "data.target", str)
    features = schema.features(target)
    frame = read_csv(data, schema)
    model = build_model(params, features)
    labels = task.target_values(schema.column(target), frame[target])
    model.fit(model_input(frame, features), labels)
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
