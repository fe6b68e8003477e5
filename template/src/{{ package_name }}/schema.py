"""Draft schema.yaml from a CSV file: each column's kind, bounds, values and empty cells.

Reads:  a CSV file, as the prepare stage reads it (cells as text, column names in
        snake_case), and data.target in params.yaml unless ``--target`` names the label.
Writes: schema.yaml (or ``--output``); an existing file only with ``--force``.
The draft is a starting point: review every rule before the validate stage relies on it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from . import slices, task
from .config import PARAMS_FILE, SCHEMA_FILE, InputError, load_params, param, run_stage
from .contract import Column, as_bool, plain, read_csv
from .prepare import column_name

MARGIN = 0.1  # number bounds widen the data's range by this share of it on each side
SIGNIFICANT = 2  # and are rounded outward to this many significant digits of their span
MAX_ALLOWED = 20  # a category lists its values under `allowed` when it has at most this many
MOST_ROWS = 1000  # min_rows is half the rows, at most this: the tests make min_rows rows
SHOWN = 30  # column names listed in an error message

HEADER = """\
# Data contract checked by the validate stage (python -m {package}.validate), and the
# contract of the service's requests. Every column listed here must be present and follow
# its rules:
#   type: float | int      numbers (int: whole numbers); the default is float
#   type: bool             true/false (also yes/no, 1/0)
#   type: category         text values; with `allowed` only those, without it any value
#                          (one the model never saw in training counts as none of its values)
#   min / max              inclusive bounds of a number
#   allowed: [...]         the only values accepted; for the target of a classifier
#                          (data.target in params.yaml), its classes
#   nullable: true         empty cells are allowed (they are refused by default); the model
#                          fills them in as part of its own preprocessing
# Drafted by `uv run nox -s schema` from {source} ({rows} rows):
# min and max are the data's range widened by {margin}% on each side (not past 0 when every
# value is on one side of it) and rounded outward; a category lists its values under
# `allowed` when it has at most {most} of them and fewer than half its cells; nullable marks
# the columns with empty cells; min_rows is half the rows (at most {most_rows}), so that a
# cut-short file is refused. Review every rule, and edit it when your data changes; it is
# yours, and template updates leave it alone.
"""


def scalar(value: Any) -> str:
    """A value as YAML writes it in a flow collection, quoted only when YAML needs it
    (``yes``, ``null``, ``1.0`` and ``a: b`` are quoted text; ``7`` is the number 7)."""
    value = plain(value)
    if isinstance(value, bool | int):
        return str(value).lower()
    if isinstance(value, float):
        return number(value)
    text = str(value)
    dumped = yaml.safe_dump([text], default_flow_style=True, allow_unicode=True, width=math.inf)
    written = dumped.strip()[1:-1]
    if "\n" in written or yaml.safe_load(f"[{written}]") != [text]:
        written = json.dumps(text)  # a double-quoted YAML scalar, escapes and all
    return written


def number(value: float) -> str:
    """A bound as YAML reads it back as a number: ``57``, ``0.33``, ``0.000063``."""
    value = plain(value)
    if isinstance(value, int):
        return str(value)
    return str(np.format_float_positional(value, trim="-"))


def whole(numbers: pd.Series) -> pd.Series:
    """Which numbers are finite whole numbers."""
    return pd.Series(np.isfinite(numbers) & (numbers % 1 == 0), index=numbers.index)


def bounds(numbers: pd.Series, kind: str) -> tuple[float | None, float | None]:
    """Min and max for a number column: the data's range widened by ``MARGIN`` on each side,
    not past 0 when the data stays on one side of it, rounded outward (whole for int)."""
    finite = numbers[np.isfinite(numbers)]
    if finite.empty:
        return None, None
    low, high = float(finite.min()), float(finite.max())
    spread = (high - low) or abs(high) or 1.0
    lower, upper = low - MARGIN * spread, high + MARGIN * spread
    if low >= 0:
        lower = max(lower, 0.0)
    elif high <= 0:
        upper = min(upper, 0.0)
    exponent = math.floor(math.log10(upper - lower)) - (SIGNIFICANT - 1)
    if kind == "int":
        exponent = max(exponent, 0)
    step, digits = 10.0**exponent, max(0, -exponent)
    minimum = round(math.floor(lower / step) * step, digits)
    maximum = round(math.ceil(upper / step) * step, digits)
    # An infinite value (``inf`` in the file) leaves its side of the range open.
    return (
        None if (numbers == -np.inf).any() else minimum,
        None if (numbers == np.inf).any() else maximum,
    )


def shown(value: float | None) -> str:
    """A number for the command's report, to four significant digits."""
    return "none" if value is None else number(float(f"{value:.4g}"))


def draft_feature(name: str, cells: pd.Series) -> tuple[Column, str]:
    """One feature's rules, from its cells (text, NaN where empty), and what was decided."""
    present = cells.dropna()
    nullable = len(present) < len(cells)
    empty = f", nullable ({len(cells) - len(present)} empty)" if nullable else ""
    if present.empty:
        return Column(name, "category", nullable=True), "category, open, every cell empty"
    if present.map(as_bool).notna().all():
        return Column(name, "bool", nullable=nullable), f"bool{empty}"
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().all():
        kind = "int" if whole(numbers).all() else "float"
        minimum, maximum = bounds(numbers.astype(float), kind)
        data = f"data {shown(numbers.min())} to {shown(numbers.max())}"
        said = f"{kind}, min {shown(minimum)}, max {shown(maximum)} ({data}){empty}"
        return Column(name, kind, minimum, maximum, nullable=nullable), said
    values = sorted(set(present))
    if len(values) <= MAX_ALLOWED and 2 * len(values) < len(present):
        said = f"category, allowed: {len(values)} values{empty}"
        return Column(name, "category", allowed=tuple(values), nullable=nullable), said
    said = f"category, open ({len(values)} values){empty}"
    return Column(name, "category", nullable=nullable), said


def draft_target(name: str, cells: pd.Series, source: Path) -> tuple[Column, str]:
    """The target's rules: every row must have a value, and the task says the rest (its
    classes under ``allowed`` for classification, a number with bounds for regression)."""
    missing = cells.isna()
    if missing.any():
        line = int(missing.to_numpy().argmax()) + 2
        msg = f"the target column {name!r} has {int(missing.sum())} empty cell(s), first at "
        raise InputError(msg + f"{source} line {line}; every row needs a target value")
    drafted, _ = draft_feature(name, cells)
    return task.target_rule(drafted, cells, source)


def snake_case_names(frame: pd.DataFrame, source: Path) -> list[str]:
    """The columns' names as the prepare stage makes them; two that become one are refused."""
    names: dict[str, str] = {}
    for label in map(str, frame.columns):
        name = column_name(label)
        if not name:
            raise InputError(f"{source}: column {label!r} has no letter or digit to name it by")
        if name in names:
            msg = f"{source}: columns {names[name]!r} and {label!r} both become {name!r}"
            raise InputError(msg + "; rename one")
        names[name] = label
    return list(names)


def find_target(target: str, names: list[str], source: Path, where: str) -> str:
    """The target's column name (``target`` as written, or in snake_case)."""
    for name in (target, column_name(target)):
        if name in names:
            return name
    found = ", ".join(names[:SHOWN])
    if len(names) > SHOWN:
        found += f", ... {len(names) - SHOWN} more"
    raise InputError(f"{source} has no target column {target!r} ({where}); its columns: {found}")


def render(columns: list[Column], min_rows: int, source: Path, rows: int) -> str:
    """schema.yaml's text: the header comment, then one flow-style line per column."""
    text = HEADER.format(
        package=__package__ or "<package>",
        source=source,
        rows=rows,
        margin=round(MARGIN * 100),
        most=MAX_ALLOWED,
        most_rows=MOST_ROWS,
    )
    text += f"min_rows: {min_rows} # the file had {rows} rows\n"
    text += "allow_extra_columns: false\ncolumns:\n"
    for column in columns:
        rules = [f"type: {column.kind}"]
        if column.minimum is not None:
            rules.append(f"min: {number(column.minimum)}")
        if column.maximum is not None:
            rules.append(f"max: {number(column.maximum)}")
        if column.allowed is not None:
            rules.append("allowed: [" + ", ".join(scalar(value) for value in column.allowed) + "]")
        if column.nullable:
            rules.append("nullable: true")
        text += f"  {scalar(column.name)}: " + "{" + ", ".join(rules) + "}\n"
    return text


def run(source: Path, target: str | None, output: Path, force: bool, params_file: Path) -> str:
    """Write the draft of ``source``'s schema to ``output``; print each column's rules."""
    if output.exists() and not force:
        msg = f"{output} already exists; add --force to replace it"
        raise InputError(msg + ", or --output to write another file")
    if target is None:
        where = f"data.target in {params_file}; --target names another"
        target = param(load_params(params_file), "data.target", str)
    else:
        where = "--target"
    frame = read_csv(source, as_text=True)
    if frame.empty:
        raise InputError(f"{source} has a header but no rows")
    frame.columns = snake_case_names(frame, source)
    label = find_target(target, list(frame.columns), source, where)
    columns = []
    for name in frame.columns:
        cells = frame[name]
        drafted = draft_target(name, cells, source) if name == label else draft_feature(name, cells)
        column, said = drafted
        columns.append(column)
        print(f"  {name}: {said}")
    min_rows = min(max(1, len(frame) // 2), MOST_ROWS)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(columns, min_rows, source, len(frame)), encoding="utf-8")
    note = task.params_note(params_file, next(c for c in columns if c.name == label))
    note += slices.params_note(params_file, columns, label)
    return (
        f"wrote {output} ({len(columns)} columns, min_rows {min_rows}); review it, then set "
        f"data.source: {source} and data.target: {label} in {params_file}{note}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the CSV file, e.g. data/external/FILE.csv")
    parser.add_argument("--target", help="the label column (default: data.target in params.yaml)")
    parser.add_argument("--output", type=Path, default=SCHEMA_FILE, help="default: %(default)s")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    return run_stage(
        "schema", lambda: run(args.source, args.target, args.output, args.force, args.params)
    )


if __name__ == "__main__":
    sys.exit(main())
