"""Validate stage: check the raw data against the data contract in schema.yaml.

Reads:  data/raw/dataset.csv, schema.yaml, params.yaml (``data.source``, ``data.target``).
Writes: reports/validation.json (a summary the train stage depends on): the row and column
        counts, and a profile of each column (missing cells; for numbers mean, spread and
        range; for categories how many values and the commonest), which the pull-request
        report compares with the base's.
Exits with status 1 when the data breaks the contract, naming each column, the rule it broke
and the first offending line of the source file; with status 2 when a file is unreadable.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import (
    PARAMS_FILE,
    RAW_DATA,
    SCHEMA_FILE,
    VALIDATION_REPORT,
    CheckFailed,
    load_params,
    param,
    run_stage,
)
from .contract import Column, Schema, as_bool, load_schema, plain, read_csv, text_value


@dataclass(frozen=True)
class Violation:
    """One broken rule: which column, which rule, and what was found."""

    column: str
    rule: str
    found: str

    def __str__(self) -> str:
        return f"column '{self.column}' breaks rule '{self.rule}': {self.found}"


@dataclass(frozen=True)
class Rows:
    """How to name a row: by its line in the source file (the header is line 1)."""

    source: str

    def first(self, mask: pd.Series, values: pd.Series | None = None) -> str:
        """Count the rows of a boolean mask and name the first, with its value."""
        position = int(mask.to_numpy().argmax())
        found = f"{int(mask.sum())} row(s), first at {self.source} line {position + 2}"
        if values is not None:
            found += f", value {plain(values.iloc[position])!r}"
        return found


def check_numbers(
    column: Column, series: pd.Series, present: pd.Series, rows: Rows
) -> list[Violation]:
    """Type and bounds of a float or int column; ``present`` marks the cells not missing."""
    violations = []
    numbers = pd.to_numeric(series, errors="coerce")
    not_numeric = present & numbers.isna()
    if not_numeric.any():
        violations.append(
            Violation(column.name, f"type {column.kind}", rows.first(not_numeric, series))
        )
    if column.kind == "int":
        fractional = numbers.notna() & (numbers != numbers.round())
        if fractional.any():
            violations.append(Violation(column.name, "type int", rows.first(fractional, series)))
    for rule, limit in (("min", column.minimum), ("max", column.maximum)):
        if limit is None:
            continue
        outside = numbers < limit if rule == "min" else numbers > limit
        if outside.any():
            found = rows.first(outside, series)
            violations.append(Violation(column.name, f"{rule} {plain(limit)}", found))
    return violations


def check_column(column: Column, series: pd.Series, rows: Rows) -> list[Violation]:
    """Check one column against its rules: type, missing values, range, allowed values."""
    violations: list[Violation] = []
    missing = series.isna()
    if missing.any() and not column.nullable:
        violations.append(Violation(column.name, "no missing values", rows.first(missing)))
    if column.numeric:
        violations += check_numbers(column, series, ~missing, rows)
    elif column.kind == "bool":
        not_bool = ~missing & series.map(as_bool).isna()
        if not_bool.any():
            found = rows.first(not_bool, series)
            violations.append(Violation(column.name, "type bool (true/false)", found))
    if column.allowed is not None:
        if column.kind == "category":
            values = series.map(text_value)
        elif column.numeric:  # cells may be text, as a CSV file holds them
            values = pd.to_numeric(series, errors="coerce").map(plain)
        else:
            values = series.map(as_bool)
        outside = ~missing & ~values.isin(column.allowed)
        if outside.any():
            allowed = ", ".join(str(value) for value in column.allowed)
            found = rows.first(outside, series)
            violations.append(Violation(column.name, f"allowed [{allowed}]", found))
    return violations


def validate(frame: pd.DataFrame, schema: Schema, source: str = str(RAW_DATA)) -> list[Violation]:
    """Return every violation of ``schema`` in ``frame`` (an empty list means valid);
    rows are named as lines of ``source``, the file the data came from."""
    frame = frame.reset_index(drop=True)
    rows = Rows(source)
    violations: list[Violation] = []
    for column in schema.columns:
        if column.name not in frame.columns:
            violations.append(Violation(column.name, "required", "the column is missing"))
            continue
        violations.extend(check_column(column, frame[column.name], rows))
    if not schema.allow_extra_columns:
        for name in frame.columns:
            if name not in schema.names:
                violations.append(
                    Violation(name, f"declared in {schema.path}", "unexpected column")
                )
    if len(frame) < schema.min_rows:
        violations.append(Violation("*", f"min_rows {schema.min_rows}", f"{len(frame)} row(s)"))
    return violations


TOP_VALUES = 5  # the commonest values of a category a profile lists


def rounded(value: float) -> float | int:
    """A statistic to four significant digits, so that only real changes show in a diff."""
    result: float | int = plain(float(f"{value:.4g}"))
    return result


def profile(frame: pd.DataFrame, schema: Schema) -> dict[str, dict[str, Any]]:
    """Summary statistics of each column of the contract, as the model reads its cells."""
    found: dict[str, dict[str, Any]] = {}
    for column in schema.columns:
        values = column.values(frame[column.name])
        present = values.dropna()
        stats: dict[str, Any] = {"type": column.kind, "missing": int(values.isna().sum())}
        if column.kind == "category":
            counts = present.value_counts()
            stats["distinct"] = len(counts)
            top = counts.head(TOP_VALUES)
            stats["top"] = {str(value): int(count) for value, count in top.items()}
        elif len(present):
            numbers = present.astype(float)
            stats |= {
                "mean": rounded(numbers.mean()),
                "std": rounded(numbers.std(ddof=0)),
                "min": rounded(numbers.min()),
                "max": rounded(numbers.max()),
            }
        found[column.name] = stats
    return found


def run(data: Path, schema_file: Path, report: Path, params_file: Path) -> str:
    params = load_params(params_file)
    source = param(params, "data.source", str)
    schema = load_schema(schema_file)
    schema.column(param(params, "data.target", str))
    frame = read_csv(data, schema)
    # Rows of a CSV source keep their order in the raw snapshot, so lines match the user's file.
    where = source if not source.startswith("sklearn:") else f"{data} (from {source})"
    violations = validate(frame, schema, where)
    if violations:
        lines = [f"{data} does not match {schema_file}:"]
        lines += [f"  - {violation}" for violation in violations]
        raise CheckFailed("\n".join(lines))
    summary = {
        "rows": len(frame),
        "columns": len(frame.columns),
        "status": "passed",
        "profile": profile(frame, schema),
    }
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return f"{len(frame)} rows, {len(frame.columns)} columns match {schema_file}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=RAW_DATA)
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    parser.add_argument("--report", type=Path, default=VALIDATION_REPORT)
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    return run_stage("validate", lambda: run(args.data, args.schema, args.report, args.params))


if __name__ == "__main__":
    sys.exit(main())
