"""Metrics per slice of the test split: a model good on average can still fail a group.

``evaluate.slices.columns`` in params.yaml names the columns to slice by (none: no slices).
Each value of a category or bool column, or of a whole-number column that lists its
``allowed`` values, is a slice; any other column of numbers is cut at the test split's
quantiles into ``evaluate.slices.bins`` ranges. Missing cells make a slice of their own. A
slice with fewer than ``evaluate.slices.min_rows`` rows, or whose metrics are undefined on
it (one class only, for example), is listed with the reason and not scored.

The evaluate stage writes reports/slices.json; the gate (``gate.slice_threshold``) and the
pull-request report read it.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import InputError, ParamsError, load_params, param

if TYPE_CHECKING:  # the gate reads slices without loading numpy and pandas
    import numpy as np
    import pandas as pd

    from .contract import Column, Schema

SLICES_FILE = Path("reports/slices.json")


@dataclass(frozen=True)
class Slice:
    """One slice: the column, the rows it holds (as a label), their count, and the task's
    metrics on them, or why there are none."""

    column: str
    slice: str
    rows: int
    metrics: dict[str, float] | None
    note: str = ""


def columns(params: dict[str, Any], schema: Schema, target: str) -> list[Column]:
    """The columns ``evaluate.slices.columns`` names, each a feature of the schema."""
    section = (params.get("evaluate") or {}).get("slices") or {}
    if not isinstance(section, dict):
        msg = f"evaluate.slices is {section!r}; expected a mapping (columns, bins, min_rows)"
        raise ParamsError(f"params.yaml: {msg}")
    names = section.get("columns") or []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        msg = f"evaluate.slices.columns is {names!r}; expected a list of column names"
        raise ParamsError(f"params.yaml: {msg}")
    features = {column.name: column for column in schema.features(target)}
    unknown = [name for name in names if name not in features]
    if unknown:
        msg = f"evaluate.slices.columns names {', '.join(map(repr, unknown))}, which "
        raise ParamsError(f"params.yaml: {msg}{schema.path} lists as no feature")
    return [features[name] for name in names]


def params_note(params_file: Path, columns: list[Column], target: str) -> str:
    """A reminder to name other slice columns when params.yaml names some that the schema
    (just drafted from new data) lacks."""
    if not params_file.is_file():
        return ""
    section = (load_params(params_file).get("evaluate") or {}).get("slices")
    named = section.get("columns") if isinstance(section, dict) else None
    features = {column.name for column in columns if column.name != target}
    gone = [name for name in named or [] if name not in features]
    if not gone:
        return ""
    return (
        f", and evaluate.slices.columns (now naming {', '.join(map(str, gone))}, not in this "
        "file) to some of its columns, or []"
    )


def _number(value: float) -> str:
    return f"{value:.4g}"


def _value(column: Column, value: Any) -> str:
    """A cell as a slice's label shows it: true or false, a number, or its text."""
    if column.kind == "bool":
        return "true" if value else "false"
    return _number(float(value)) if column.numeric else str(value)


def groups(column: Column, cells: pd.Series, bins: int) -> list[tuple[str, np.ndarray]]:
    """The slices of one column: a label and a mask over ``cells`` for each."""
    import numpy as np

    values = column.values(cells).reset_index(drop=True)
    missing = values.isna().to_numpy()
    found: list[tuple[str, np.ndarray]] = []
    if column.numeric and not column.allowed:
        numbers = values.to_numpy(dtype=float)
        present = numbers[~missing]
        quantiles = np.quantile(present, np.linspace(0, 1, bins + 1)) if present.size else []
        inner = [float(edge) for edge in np.unique(quantiles)[1:-1]]
        slot = np.searchsorted(inner, np.nan_to_num(numbers), side="left")
        bounds: list[float | None] = [None, *inner, None]
        for index in range(len(inner) + 1):
            low, high = bounds[index], bounds[index + 1]
            if low is None and high is None:
                label = f"{column.name}: all values"
            elif low is None:
                label = f"{column.name} ≤ {_number(high or 0.0)}"
            elif high is None:
                label = f"{column.name} > {_number(low)}"
            else:
                label = f"{_number(low)} < {column.name} ≤ {_number(high)}"
            found.append((label, (slot == index) & ~missing))
    else:
        labels = np.array(
            [None if gap else _value(column, v) for v, gap in zip(values, missing, strict=True)]
        )
        for value in sorted({str(label) for label in labels[~missing]}):
            found.append((f"{column.name} = {value}", labels == value))
    if missing.any():
        found.append((f"{column.name} missing", missing))
    return found


def score(
    evaluation: Any,
    y_true: pd.Series,
    outputs: np.ndarray,
    test: pd.DataFrame,
    schema: Schema,
    params: dict[str, Any],
) -> list[Slice]:
    """Every slice of the columns params.yaml names, scored with the task's metrics."""
    target = param(params, "data.target", str)
    chosen = columns(params, schema, target)
    if not chosen:
        return []
    positive = (lambda n: n >= 1, "of 1 or more")
    bins = param(params, "evaluate.slices.bins", int, default=3, check=positive)
    min_rows = param(params, "evaluate.slices.min_rows", int, default=20, check=positive)
    found = []
    for column in chosen:
        for label, mask in groups(column, test[column.name], bins):
            rows = int(mask.sum())
            metrics, note = None, ""
            if rows < min_rows:
                note = f"fewer than {min_rows} rows (evaluate.slices.min_rows)"
            else:
                metrics, note = _scores(evaluation, y_true[mask], outputs[mask])
            found.append(Slice(column.name, label, rows, metrics, note))
    return found


def _scores(evaluation: Any, y_true: pd.Series, outputs: np.ndarray) -> tuple[Any, str]:
    """The task's metrics on some rows (numbers only), or None and why they are undefined."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a metric that warns is not one to judge by
        try:
            scores = evaluation.score(y_true, outputs)
        except (ValueError, Warning) as problem:
            return None, f"not scored: {str(problem).splitlines()[0]}"
    return {k: v for k, v in scores.items() if isinstance(v, int | float)}, ""


def write(found: list[Slice], path: Path = SLICES_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"slices": [asdict(one) for one in found]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read(text: str | None, source: str) -> list[Slice]:
    """The slices of a slices.json text (none for None: a base that has no file yet)."""
    if text is None:
        return []
    try:
        document = json.loads(text)
        return [Slice(**one) for one in document["slices"]]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise InputError(
            f"{source} is not a slices file the evaluate stage wrote: {error}"
        ) from None


def worst(found: list[Slice], metric: str, lower_is_better: bool) -> Slice | None:
    """The scored slice with the worst value of ``metric``, or None when none is scored."""
    scored = [one for one in found if one.metrics and metric in one.metrics]
    if not scored:
        return None
    sign = -1.0 if lower_is_better else 1.0
    return min(scored, key=lambda one: sign * float((one.metrics or {})[metric]))
