"""Prepare stage: load the source data, keep a raw snapshot and split it for training.

Reads:  params.yaml (``data``) and the source it names: a dataset that ships with
        scikit-learn (``sklearn:breast_cancer``, ``sklearn:diabetes``) or a CSV file
        (``data/external/*.csv``).
Writes: data/raw/dataset.csv, data/prepared/train.csv, data/prepared/test.csv.
A CSV source is copied cell for cell (as text) and in its row order, so the validate stage
can name the line of the user's file that breaks the contract.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split

from .config import (
    PARAMS_FILE,
    RAW_DATA,
    TEST_DATA,
    TRAIN_DATA,
    InputError,
    load_params,
    param,
    run_stage,
)
from .contract import read_csv

SKLEARN_PREFIX = "sklearn:"


def breast_cancer() -> pd.DataFrame:
    """The Wisconsin breast cancer sample, its label named by class: malignant or benign."""
    bunch = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = bunch.frame.drop(columns=["target"])
    frame["diagnosis"] = bunch.target.map(dict(enumerate(bunch.target_names)))
    return frame


# The diabetes sample's blood serum measurements, s1 to s6, by what they measure.
SERUM = {
    "s1": "total_cholesterol",
    "s2": "ldl",
    "s3": "hdl",
    "s4": "cholesterol_ratio",
    "s5": "log_triglycerides",
    "s6": "glucose",
}


def diabetes() -> pd.DataFrame:
    """The diabetes sample in its original units: ten baseline measurements of 442 patients,
    and ``progression``, a measure of how far the disease progressed a year later."""
    bunch = load_diabetes(as_frame=True, scaled=False)
    frame: pd.DataFrame = bunch.frame.drop(columns=["target"]).rename(columns=SERUM)
    frame[["age", "sex"]] = frame[["age", "sex"]].astype(int)
    frame["progression"] = bunch.target.astype(int)
    return frame


BUNDLED_DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "breast_cancer": breast_cancer,
    "diabetes": diabetes,
}


def column_name(label: str) -> str:
    """Turn a column label into a snake_case identifier ("mean radius" -> "mean_radius")."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", label.strip()).strip("_").lower()


def load_source(source: str) -> pd.DataFrame:
    """Load the data named by ``source``, with snake_case column names."""
    if source.startswith(SKLEARN_PREFIX):
        name = source.removeprefix(SKLEARN_PREFIX)
        if name not in BUNDLED_DATASETS:
            known = ", ".join(SKLEARN_PREFIX + key for key in BUNDLED_DATASETS)
            msg = f"unknown bundled dataset {source!r}; known: {known}"
            raise InputError(msg)
        frame = BUNDLED_DATASETS[name]()
    else:
        path = Path(source)
        if not path.is_file():
            msg = f"data source {source!r} is not a file (set data.source in params.yaml)"
            raise InputError(msg)
        frame = read_csv(path, as_text=True)
    return frame.rename(columns=column_name)


def split(
    frame: pd.DataFrame, target: str, test_size: float, seed: int, stratify: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into train and test sets, stratified by the target (each class keeps its
    share of the rows) when ``stratify`` asks for it and the target is usable.

    A file without a usable target column is still split, so that the validate stage,
    not this one, reports what is wrong with it.
    """
    labels = frame.get(target) if stratify else None
    usable = labels is not None and labels.notna().all() and labels.value_counts().min() >= 2
    train, test = train_test_split(
        frame,
        test_size=test_size,
        random_state=seed,
        stratify=labels if usable else None,
    )
    return train, test


def run(params: dict[str, Any]) -> str:
    """Write the raw snapshot and both splits; return what was done."""
    source = param(params, "data.source", str)
    target = param(params, "data.target", str)
    test_size = param(
        params, "data.test_size", float, check=(lambda v: 0 < v < 1, "between 0 and 1")
    )
    seed = param(params, "data.seed", int)
    stratify = param(params, "data.stratify", bool, default=True)
    frame = load_source(source)
    train, test = split(frame, target, test_size, seed, stratify)
    for path, part in ((RAW_DATA, frame), (TRAIN_DATA, train), (TEST_DATA, test)):
        path.parent.mkdir(parents=True, exist_ok=True)
        part.to_csv(path, index=False)
    return f"{len(frame)} rows -> {len(train)} train, {len(test)} test"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    return run_stage("prepare", lambda: run(load_params(args.params)))


if __name__ == "__main__":
    sys.exit(main())
