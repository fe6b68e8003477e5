"""What changed in the data contract and in the data, base against head, for the report.

Compares schema.yaml (columns, types, bounds, allowed values, nullable, min_rows) and the
profile the validate stage writes to reports/validation.json (rows; each column's missing
cells, mean, spread and range, or number of values and the commonest), at the base revision
and in the workspace.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from . import revision
from .config import SCHEMA_FILE, VALIDATION_REPORT, InputError
from .contract import Column, parse_schema

STATISTICS = ("missing", "mean", "std", "min", "max", "distinct")
SHOWN_VALUES = 8  # allowed or commonest values listed in one cell
SHOWN_CHANGES = 40  # rows of the table; more are counted, not listed

Change = tuple[str, str, str, str]  # column, what changed, base, head


def short(values: list[Any]) -> str:
    listed = ", ".join(str(value) for value in values[:SHOWN_VALUES])
    more = len(values) - SHOWN_VALUES
    return listed + (f", ... {more} more" if more > 0 else "")


def cell(text: str) -> str:
    """Text for a Markdown table cell: one line, its pipes escaped."""
    return text.replace("\n", " ").replace("|", "\\|")


def shown(value: Any) -> str:
    return "none" if value is None else str(value)


def rules(column: Column) -> dict[str, Any]:
    return {
        "type": column.kind,
        "min": column.minimum,
        "max": column.maximum,
        "allowed": list(column.allowed) if column.allowed else None,
        "nullable": column.nullable,
    }


def schema_changes(base_text: str, head_text: str) -> list[Change]:
    """Each rule of schema.yaml that differs: columns added or removed, and per column its
    type, bounds, allowed values and nullable."""
    base = parse_schema(yaml.safe_load(base_text) or {}, SCHEMA_FILE)
    head = parse_schema(yaml.safe_load(head_text) or {}, SCHEMA_FILE)
    changes: list[Change] = []
    for what in ("min_rows", "allow_extra_columns"):
        before, after = getattr(base, what), getattr(head, what)
        if before != after:
            changes.append(("(table)", what, shown(before), shown(after)))
    old = {column.name: rules(column) for column in base.columns}
    new = {column.name: rules(column) for column in head.columns}
    for name in [*old, *(name for name in new if name not in old)]:
        if name not in new:
            changes.append((name, "column removed", old[name]["type"], "none"))
        elif name not in old:
            changes.append((name, "column added", "none", new[name]["type"]))
        else:
            for rule, before in old[name].items():
                after = new[name][rule]
                if before == after:
                    continue
                if rule == "allowed" and before and after:
                    removed = [value for value in before if value not in after]
                    added = [value for value in after if value not in before]
                    changes.append((name, "allowed: removed / added", short(removed), short(added)))
                else:
                    changes.append((name, rule, shown(before), shown(after)))
    return changes


def commonest(stats: dict[str, Any]) -> str:
    return short([f"{value} ({count})" for value, count in (stats.get("top") or {}).items()])


def profile_changes(base: dict[str, Any], head: dict[str, Any]) -> list[Change]:
    """Each statistic of the data's profile that differs, for columns both profiles hold."""
    changes: list[Change] = []
    if base.get("rows") != head.get("rows"):
        changes.append(("(table)", "rows", shown(base.get("rows")), shown(head.get("rows"))))
    before, after = base.get("profile") or {}, head.get("profile") or {}
    for name in (name for name in after if name in before):
        for statistic in STATISTICS:
            old, new = before[name].get(statistic), after[name].get(statistic)
            if old != new:
                changes.append((name, statistic, shown(old), shown(new)))
        if before[name].get("top") != after[name].get("top"):
            changes.append(
                (name, "commonest values", commonest(before[name]), commonest(after[name]))
            )
    return changes


def summary(text: str | None, source: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{source} is not valid JSON: {error}") from None
    return content if isinstance(content, dict) else None


def lines(base: str) -> list[str]:
    """The report's section: what changed in schema.yaml and in the data's profile."""
    out = ["", "### Data contract", ""]
    base_schema = revision.show(base, SCHEMA_FILE)
    if base_schema is None:
        return [*out, f"The base has no `{SCHEMA_FILE}`: nothing to compare with."]
    changes = schema_changes(base_schema, SCHEMA_FILE.read_text(encoding="utf-8"))
    before = summary(revision.show(base, VALIDATION_REPORT), f"{VALIDATION_REPORT} at {base}")
    text = VALIDATION_REPORT.read_text(encoding="utf-8") if VALIDATION_REPORT.is_file() else None
    after = summary(text, str(VALIDATION_REPORT))
    note = ""
    if before is None or after is None or "profile" not in before or "profile" not in after:
        note = f"Only `{SCHEMA_FILE}` is compared: `{VALIDATION_REPORT}` lacks a data profile "
        note += "on one side (the base's may predate it)."
    else:
        changes += profile_changes(before, after)
    if not changes:
        out.append(f"`{SCHEMA_FILE}` and the data's profile are as at the base.")
        return out + (["", note] if note else [])
    out += [
        f"What changed in `{SCHEMA_FILE}` and in the data (`{VALIDATION_REPORT}`).",
        "",
        "| column | what | base | head |",
        "|---|---|---|---|",
    ]
    out += ["| " + " | ".join(map(cell, change)) + " |" for change in changes[:SHOWN_CHANGES]]
    if len(changes) > SHOWN_CHANGES:
        out += ["", f"... and {len(changes) - SHOWN_CHANGES} more changes."]
    if note:
        out += ["", note]
    return out
