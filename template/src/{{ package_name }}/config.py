"""Paths and parameters shared by the pipeline stages.

Every path is relative to the project root, which is where DVC runs each stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")
SCHEMA_FILE = Path("schema.yaml")
RAW_DATA = Path("data/raw/dataset.csv")
TRAIN_DATA = Path("data/prepared/train.csv")
TEST_DATA = Path("data/prepared/test.csv")
VALIDATION_REPORT = Path("reports/validation.json")
MODEL_FILE = Path("models/model.skops")
METRICS_FILE = Path("metrics.json")
PLOT_DATA_DIR = Path("plots/data")
PLOT_IMAGE_DIR = Path("plots/images")


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, failing with the file name when it is not one."""
    with path.open(encoding="utf-8") as stream:
        content = yaml.safe_load(stream)
    if not isinstance(content, dict):
        msg = f"{path} must contain a YAML mapping at its top level"
        raise ValueError(msg)
    return content


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read the pipeline parameters (params.yaml)."""
    return load_yaml(path)
