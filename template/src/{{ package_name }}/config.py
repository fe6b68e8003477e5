"""Paths and parameters shared by the pipeline stages.

Every path is relative to the project root, which is where DVC runs each stage. Stages read
parameters through `param`, so that a missing or mistyped key in params.yaml stops them with
one line naming the key, what was found and what is allowed.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Collection
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
MODEL_CARD = Path("reports/model_card.json")  # the card stage's, shown by the service
PLOT_DATA_DIR = Path("plots/data")
PLOT_IMAGE_DIR = Path("plots/images")

# Exit codes of every stage and tool: the check failed (1), or its input is unusable (2).
CHECK_FAILED = 1
BAD_INPUT = 2

_REQUIRED: Any = object()


class ParamsError(ValueError):
    """A key of params.yaml is missing or holds a value of the wrong kind."""


class InputError(ValueError):
    """A file a stage reads cannot be used; the message names the file and the problem."""


class CheckFailed(Exception):  # noqa: N818  # the outcome of a check, not a fault
    """The stage's check ran and failed (exit code 1); the message says why."""


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, failing with the file name when it is not one."""
    try:
        with path.open(encoding="utf-8") as stream:
            content = yaml.safe_load(stream)
    except FileNotFoundError as error:
        raise InputError(f"{path} is missing") from error
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise InputError(f"{path} must contain a YAML mapping at its top level")
    return content


def file_md5(path: Path) -> str:
    """The md5 of a file's bytes, as DVC records it in dvc.lock."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read the pipeline parameters (params.yaml)."""
    return load_yaml(path)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    if isinstance(value, float) and not value.is_integer():
        raise TypeError
    return int(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError
    return str(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


CONVERTERS: dict[Any, tuple[Callable[[Any], Any], str]] = {
    int: (_whole, "a whole number"),
    float: (_number, "a number"),
    str: (_text, "a text value"),
    bool: (_flag, "true or false"),
}
_noted: set[str] = set()


def param(
    params: dict[str, Any],
    key: str,
    kind: type,
    *,
    default: Any = _REQUIRED,
    choices: Collection[Any] | None = None,
    check: tuple[Callable[[Any], bool], str] | None = None,
    optional: bool = False,
) -> Any:
    """The value of ``key`` (dotted, e.g. ``data.seed``) in params.yaml, as ``kind``.

    A key that a later template release added takes its ``default`` when the project's
    params.yaml predates it, with a one-time note saying how to set it. ``optional`` lets
    the value be null (returned as None). Anything else that is wrong raises ParamsError
    with the key, the value found and what is allowed.
    """
    convert, expected = CONVERTERS[kind]
    if choices is not None:
        expected = "one of " + ", ".join(str(choice) for choice in choices)
    elif check is not None:
        expected = f"{expected} {check[1]}"
    if optional:
        expected += ", or null"
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is _REQUIRED:
                raise ParamsError(f"{PARAMS_FILE}: {key} is missing; expected {expected}")
            if key not in _noted:
                _noted.add(key)
                print(
                    f"note: {PARAMS_FILE} has no {key}; using {default!r} "
                    f"(add `{key.rsplit('.', 1)[-1]}` under `{key.rsplit('.', 1)[0]}` to choose)",
                    file=sys.stderr,
                )
            return default
        node = node[part]
    if node is None and optional:
        return None
    try:
        value = convert(node)
    except TypeError:
        raise ParamsError(f"{PARAMS_FILE}: {key} is {node!r}; expected {expected}") from None
    if choices is not None and value not in choices:
        raise ParamsError(f"{PARAMS_FILE}: {key} is {node!r}; expected {expected}")
    if check is not None and not check[0](value):
        raise ParamsError(f"{PARAMS_FILE}: {key} is {node!r}; expected {expected}")
    return value


def run_stage(name: str, body: Callable[[], str]) -> int:
    """Run a stage's ``body``; print its one-line summary, or one line saying what is wrong.

    Problems with params.yaml, schema.yaml or a data file give exit code 2 without a
    traceback; anything else is a bug and keeps its traceback.
    """
    try:
        summary = body()
    except (ParamsError, InputError) as error:
        print(f"{name}: {error}", file=sys.stderr)
        return BAD_INPUT
    except CheckFailed as failure:
        print(f"{name}: {failure}", file=sys.stderr)
        return CHECK_FAILED
    print(f"{name}: {summary}")
    return 0
