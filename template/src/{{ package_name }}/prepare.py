"""Prepare stage: load the source data, keep a raw snapshot and split it for training.

Reads:  params.yaml (``data``) and the source it names: a dataset that ships with
        scikit-learn (``sklearn:breast_cancer``) or a CSV file (``data/external/*.csv``).
Writes: data/raw/dataset.csv, data/prepared/train.csv, data/prepared/test.csv.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from .config import PARAMS_FILE, RAW_DATA, TEST_DATA, TRAIN_DATA, load_params

BUNDLED_DATASETS: dict[str, Callable[..., Any]] = {"breast_cancer": load_breast_cancer}
SKLEARN_PREFIX = "sklearn:"


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
            raise ValueError(msg)
        frame = BUNDLED_DATASETS[name](as_frame=True).frame
    else:
        path = Path(source)
        if not path.is_file():
            msg = f"data source {source!r} is not a file (set data.source in params.yaml)"
            raise FileNotFoundError(msg)
        frame = pd.read_csv(path)
    return frame.rename(columns=column_name)


def split(
    frame: pd.DataFrame, target: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into train and test sets, stratified by the target when it is usable.

    A file without a usable target column is still split, so that the validate stage,
    not this one, reports what is wrong with it.
    """
    labels = frame.get(target)
    usable = labels is not None and labels.notna().all() and labels.value_counts().min() >= 2
    train, test = train_test_split(
        frame,
        test_size=test_size,
        random_state=seed,
        stratify=labels if usable else None,
    )
    return train, test


def run(params: dict[str, Any]) -> tuple[int, int]:
    """Write the raw snapshot and both splits; return the train and test sizes."""
    data = params["data"]
    frame = load_source(str(data["source"]))
    train, test = split(frame, data["target"], float(data["test_size"]), int(data["seed"]))
    for path, part in ((RAW_DATA, frame), (TRAIN_DATA, train), (TEST_DATA, test)):
        path.parent.mkdir(parents=True, exist_ok=True)
        part.to_csv(path, index=False)
    return len(train), len(test)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    try:
        n_train, n_test = run(load_params(args.params))
    except (OSError, ValueError) as error:
        print(f"prepare: {error}", file=sys.stderr)
        return 1
    print(f"prepare: {n_train + n_test} rows -> {n_train} train, {n_test} test")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
