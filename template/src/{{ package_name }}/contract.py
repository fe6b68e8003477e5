"""The data contract: the columns schema.yaml declares, their kinds and their rules.

The stages, the service and the drift check all read rows through this module, so a raw row
means the same thing everywhere: numbers become floats, booleans 0 or 1, categories text,
and an empty cell stays missing for the model's own imputation.

schema.yaml, in short (the file itself says more):

    min_rows: 50                 # fewer rows is an error
    allow_extra_columns: false   # a column not listed below is an error
    columns:
      age: {type: int, min: 0, max: 120}
      income: {type: float, min: 0, nullable: true}
      member: {type: bool}
      plan: {type: category, allowed: [basic, plus, premium]}
      city: {type: category}     # open: a value never seen in training counts as unknown

A frame's columns are converted at once (``Column.values``, with pandas); the service
converts the cells of a request one by one (``Column.cell``), to the same values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import SCHEMA_FILE, InputError, load_yaml, param

if TYPE_CHECKING:  # pandas is imported where frames are read: the service reads none
    import pandas as pd

KINDS = ("float", "int", "bool", "category")
NUMERIC = ("float", "int")
RULES = ("type", "min", "max", "allowed", "nullable")
TRUE_TEXT = frozenset({"true", "yes", "1"})
FALSE_TEXT = frozenset({"false", "no", "0"})


def plain(value: Any) -> Any:
    """A Python value for a numpy or pandas scalar (``np.int64(2)`` prints as ``2``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def text_value(value: Any) -> str:
    """A category cell as text: ``3``, ``3.0`` and ``"3"`` are all ``"3"``."""
    return str(plain(value))


def is_missing(value: Any) -> bool:
    """Whether a cell is empty (None or NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def as_bool(value: Any) -> bool | None:
    """A boolean cell's value (true/false, yes/no, 1/0, in any case), or None if it is not one."""
    value = plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_TEXT:
            return True
        if lowered in FALSE_TEXT:
            return False
    return None


@dataclass(frozen=True)
class Column:
    """One column of the contract: its kind (float, int, bool, category) and its rules."""

    name: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[Any, ...] | None = None
    nullable: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    def cell(self, value: Any) -> Any:
        """One cell as the model reads it, as ``values`` reads a column of them: float for
        numbers and booleans (1.0 or 0.0), text for categories; a missing or unreadable
        cell is NaN (None for a category)."""
        if self.kind == "category":
            return None if is_missing(value) else text_value(value)
        if self.kind == "bool":
            flag = as_bool(value)
            return math.nan if flag is None else float(flag)
        if isinstance(value, bool):  # pandas reads True as 1 in a column of numbers
            return float(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            return math.nan

    def values(self, series: pd.Series) -> pd.Series:
        """The column's cells as the model reads them: float for numbers and booleans (1.0
        or 0.0), text for categories; missing and unreadable cells become NaN."""
        import pandas as pd

        if self.numeric:
            return pd.to_numeric(series, errors="coerce").astype(float)
        if self.kind == "bool":
            return series.map(as_bool).map({True: 1.0, False: 0.0}).astype(float)
        texts = [np.nan if is_missing(value) else text_value(value) for value in series]
        return pd.Series(texts, index=series.index, dtype=object, name=series.name)


@dataclass(frozen=True)
class Schema:
    """Every declared column, in order, and the rules for the table as a whole."""

    columns: tuple[Column, ...]
    min_rows: int = 1
    allow_extra_columns: bool = False
    path: Path = SCHEMA_FILE

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise InputError(f"{self.path} declares no column {name!r} (data.target in params.yaml)")

    def features(self, target: str) -> tuple[Column, ...]:
        """Every column but the target, in the schema's order."""
        self.column(target)
        return tuple(column for column in self.columns if column.name != target)

    def classes(self, target: str) -> list[Any]:
        """The target's classes as schema.yaml lists them under ``allowed``."""
        column = self.column(target)
        if not column.allowed:
            msg = f"{self.path}: the target column {target!r} must list its classes under allowed"
            raise InputError(msg)
        return list(column.allowed)


def _bound(path: Path, name: str, rules: dict[str, Any], key: str) -> float | None:
    value = rules.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{path}: column {name!r} has {key}: {value!r}; expected a number")
    return float(value)


def parse_column(path: Path, name: str, rules: Any) -> Column:
    """One column's rules, checked so that a typo is named instead of silently ignored."""
    rules = rules or {}
    if not isinstance(rules, dict):
        raise InputError(f"{path}: column {name!r} must map rules such as type: and min:")
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        msg = f"{path}: column {name!r} has unknown rule(s) {', '.join(unknown)}; rules are "
        raise InputError(msg + ", ".join(RULES))
    kind = rules.get("type", "float")
    if kind not in KINDS:
        msg = f"{path}: column {name!r} has type {kind!r}; expected one of {', '.join(KINDS)}"
        raise InputError(msg)
    allowed = rules.get("allowed")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise InputError(f"{path}: column {name!r} must list its allowed values")
        allowed = tuple(text_value(v) if kind == "category" else plain(v) for v in allowed)
    nullable = rules.get("nullable", False)
    if not isinstance(nullable, bool):
        raise InputError(f"{path}: column {name!r} has nullable: {nullable!r}; expected true/false")
    return Column(
        name=str(name),
        kind=kind,
        minimum=_bound(path, name, rules, "min"),
        maximum=_bound(path, name, rules, "max"),
        allowed=allowed,
        nullable=nullable,
    )


def parse_schema(content: dict[str, Any], path: Path = SCHEMA_FILE) -> Schema:
    """The contract in ``content`` (schema.yaml's mapping)."""
    columns = content.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise InputError(f"{path} must map `columns:` to the columns of the data")
    min_rows = content.get("min_rows", 1)
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InputError(f"{path}: min_rows is {min_rows!r}; expected a whole number of 1 or more")
    extra = content.get("allow_extra_columns", False)
    if not isinstance(extra, bool):
        raise InputError(f"{path}: allow_extra_columns is {extra!r}; expected true or false")
    parsed = tuple(parse_column(path, name, rules) for name, rules in columns.items())
    return Schema(parsed, min_rows=min_rows, allow_extra_columns=extra, path=path)


def load_schema(path: Path = SCHEMA_FILE) -> Schema:
    """Read and check schema.yaml."""
    return parse_schema(load_yaml(path), path)


def read_csv(path: Path, schema: Schema | None = None, *, as_text: bool = False) -> pd.DataFrame:
    """Read a CSV file, keeping the text of category columns as written (``007`` stays
    ``007``), or of every column with ``as_text``; an unreadable file is named with what is
    wrong with it."""
    text_columns: Any = (
        {c.name: str for c in schema.columns if c.kind == "category"} if schema else None
    )
    if as_text:
        text_columns = str
    if not path.is_file():
        raise InputError(f"{path} is missing")
    import pandas as pd

    with path.open("rb") as stream:
        if b"\0" in stream.read(8192):
            raise InputError(f"{path} is a binary file, not CSV text")
    try:
        return pd.read_csv(
            path, encoding="utf-8", dtype=text_columns or None, skip_blank_lines=False
        )
    except UnicodeDecodeError as error:
        msg = f"{path} is not UTF-8 text (byte {error.start}); save it as UTF-8 CSV"
        raise InputError(msg) from error
    except pd.errors.EmptyDataError as error:
        raise InputError(f"{path} is empty") from error
    except (pd.errors.ParserError, ValueError) as error:
        raise InputError(f"{path} is not valid CSV: {error}") from error


def model_input(frame: pd.DataFrame, features: tuple[Column, ...]) -> pd.DataFrame:
    """The features of ``frame`` as the model reads them, in the schema's order."""
    import pandas as pd

    return pd.DataFrame({column.name: column.values(frame[column.name]) for column in features})


def positive_class(names: tuple[Any, ...], params: dict[str, Any]) -> Any | None:
    """The class ``evaluate.positive_class`` names among two ``names`` (by default the
    second, scikit-learn's own choice), or None with more than two classes."""
    if len(names) != 2:
        return None
    default = names[1]
    positive = param(params, "evaluate.positive_class", str, default=str(default), optional=True)
    if positive is None:
        positive = str(default)
    for name in names:
        if str(name) == positive:
            return name
    known = ", ".join(str(name) for name in names)
    msg = f"params.yaml: evaluate.positive_class is {positive!r}; expected one of {known}"
    raise InputError(msg)
