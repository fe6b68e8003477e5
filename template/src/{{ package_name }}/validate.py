"""Validate stage: check the raw data against the data contract in schema.yaml.

Reads:  data/raw/dataset.csv, schema.yaml.
Writes: reports/validation.json (a summary the train stage depends on).
Exits with status 1, naming each column and the rule it broke, when the data is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import RAW_DATA, SCHEMA_FILE, VALIDATION_REPORT, load_yaml

NUMERIC_TYPES = {"float", "int"}


@dataclass(frozen=True)
class Violation:
    """One broken rule: which column, which rule, and what was found."""

    column: str
    rule: str
    found: str

    def __str__(self) -> str:
        return f"column '{self.column}' breaks rule '{self.rule}': {self.found}"


def _first(rows: pd.Series) -> str:
    """Describe the first offending row of a boolean mask."""
    index = rows[rows].index[0]
    return f"{int(rows.sum())} row(s), first at data row {index}"


def check_column(name: str, series: pd.Series, rules: dict[str, Any]) -> list[Violation]:
    """Check one column against its rules: type, missing values, range, allowed values."""
    violations: list[Violation] = []
    missing = series.isna()
    if missing.any() and not rules.get("nullable", False):
        violations.append(Violation(name, "no missing values", _first(missing)))
    present = series[~missing]
    kind = rules.get("type", "float")
    if kind in NUMERIC_TYPES:
        numbers = pd.to_numeric(present, errors="coerce")
        not_numeric = numbers.isna()
        if not_numeric.any():
            violations.append(Violation(name, f"type {kind}", _first(not_numeric)))
        numbers = numbers[~not_numeric]
        if kind == "int" and (numbers != numbers.round()).any():
            violations.append(Violation(name, "type int", _first(numbers != numbers.round())))
        if "min" in rules and (numbers < rules["min"]).any():
            low = numbers < rules["min"]
            found = f"{_first(low)}, value {numbers[low].iloc[0]}"
            violations.append(Violation(name, f"min {rules['min']}", found))
        if "max" in rules and (numbers > rules["max"]).any():
            high = numbers > rules["max"]
            found = f"{_first(high)}, value {numbers[high].iloc[0]}"
            violations.append(Violation(name, f"max {rules['max']}", found))
    if "allowed" in rules:
        allowed = set(rules["allowed"])
        outside = ~present.isin(allowed)
        if outside.any():
            found = f"{_first(outside)}, value {present[outside].iloc[0]!r}"
            violations.append(Violation(name, f"allowed {sorted(allowed)}", found))
    return violations


def validate(frame: pd.DataFrame, schema: dict[str, Any]) -> list[Violation]:
    """Return every violation of ``schema`` in ``frame`` (an empty list means valid)."""
    columns: dict[str, dict[str, Any]] = schema["columns"]
    violations: list[Violation] = []
    for name, rules in columns.items():
        if name not in frame.columns:
            violations.append(Violation(name, "required", "the column is missing"))
            continue
        violations.extend(check_column(name, frame[name], rules or {}))
    if not schema.get("allow_extra_columns", False):
        for name in frame.columns:
            if name not in columns:
                violations.append(Violation(name, "declared in schema.yaml", "unexpected column"))
    min_rows = int(schema.get("min_rows", 1))
    if len(frame) < min_rows:
        violations.append(Violation("*", f"min_rows {min_rows}", f"{len(frame)} row(s)"))
    return violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=RAW_DATA)
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    parser.add_argument("--report", type=Path, default=VALIDATION_REPORT)
    args = parser.parse_args(argv)
    frame = pd.read_csv(args.data)
    violations = validate(frame, load_yaml(args.schema))
    if violations:
        print(f"validate: {args.data} does not match {args.schema}:", file=sys.stderr)
        for violation in violations:
            print(f"  - {violation}", file=sys.stderr)
        return 1
    summary = {"rows": len(frame), "columns": len(frame.columns), "status": "passed"}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"validate: {len(frame)} rows, {len(frame.columns)} columns match {args.schema}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
