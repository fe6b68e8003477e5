"""Card stage: the model card, written from what the pipeline recorded.

Reads:  model_card.yaml (what the team writes once: intended use, uses out of scope, owners,
        known limits), params.yaml, schema.yaml, metrics.json, reports/slices.json, the
        data and model files (their md5s, as DVC computes them) and pyproject.toml (the
        project's name).
Writes: reports/model_card.md, for people, and reports/model_card.json, for tools: the
        service shows it at /model, and the serving image carries it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from . import gate, slices, task
from .config import (
    METRICS_FILE,
    MODEL_CARD,
    MODEL_FILE,
    PARAMS_FILE,
    RAW_DATA,
    SCHEMA_FILE,
    TEST_DATA,
    TRAIN_DATA,
    InputError,
    file_md5,
    load_params,
    param,
    run_stage,
)
from .contract import Schema, load_schema
from .contract_diff import cell

TEAM_FILE = Path("model_card.yaml")
CARD_MARKDOWN = Path("reports/model_card.md")
CARD_JSON = MODEL_CARD
SERVED_FILE = Path("models/model.onnx")  # the export stage's, where the pipeline has one
NOT_WRITTEN = "Not written yet ({field} in model_card.yaml)."
TEXTS = ("intended_use", "out_of_scope")
LISTS = ("owners", "limits")


def md5(path: Path) -> str | None:
    """The file's md5, which is what dvc.lock records for it; None when there is no file."""
    return file_md5(path) if path.is_file() else None


def rows(path: Path) -> int:
    """Data rows of a CSV file the pipeline wrote (its lines after the header)."""
    with path.open("rb") as stream:
        return max(sum(1 for _ in stream) - 1, 0)


def team_text(path: Path) -> dict[str, Any]:
    """What the team wrote in model_card.yaml: two texts and two lists of texts."""
    content = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if not isinstance(content, dict):
        raise InputError(f"{path} must hold a mapping of {', '.join(TEXTS + LISTS)}")
    text: dict[str, Any] = {}
    for field in TEXTS:
        value = content.get(field) or ""
        if not isinstance(value, str):
            raise InputError(f"{path}: {field} is {value!r}; expected text")
        text[field] = value.strip()
    for field in LISTS:
        value = content.get(field) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InputError(f"{path}: {field} is {value!r}; expected a list of texts")
        text[field] = [item.strip() for item in value if item.strip()]
    return text


def project_name(path: Path = Path("pyproject.toml")) -> str:
    try:
        return str(tomllib.loads(path.read_text(encoding="utf-8"))["project"]["name"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return Path.cwd().name


def measured_limits(
    card: dict[str, Any], verdict: gate.Verdict | None, found: list[slices.Slice]
) -> list[str]:
    """What the recorded files say about where the model is weak or unmeasured."""
    data = card["data"]
    limits = [
        f"Trained on {data['train_rows']} rows and tested on {data['test_rows']} from "
        f"{data['source']}; rows outside schema.yaml's rules stop the pipeline, and the "
        "service refuses them.",
    ]
    worst = None if verdict is None else verdict.worst
    if verdict is not None and worst is not None and worst.metrics:
        limits.append(
            f"Weakest on the slice {worst.slice} ({worst.rows} rows): {verdict.metric} "
            f"{worst.metrics[verdict.metric]} against {verdict.value} on the whole test split."
        )
    for one in found:
        if not one.metrics:
            why = one.note.removeprefix("not scored: ").rstrip(".")
            limits.append(f"Not measured on {one.slice}: {why}.")
    for name, scores in (card["metrics"].get("per_class") or {}).items():
        if scores.get("support", 0) < 20:
            limits.append(f"Class {name} has {scores['support']} test rows: its metrics are rough.")
    return limits


def build(params: dict[str, Any], schema: Schema, team: dict[str, Any]) -> dict[str, Any]:
    """The card as a mapping (reports/model_card.json)."""
    target = param(params, "data.target", str)
    scores = gate.read_metrics(METRICS_FILE.read_text(encoding="utf-8"), str(METRICS_FILE))
    path = slices.SLICES_FILE
    found = slices.read(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else []
    problem = ""
    try:
        verdict: gate.Verdict | None = gate.judge(scores, params, found=found)
    except InputError as error:  # the gate stops `nox -s pipeline` with it; the card says so
        verdict, problem = None, str(error)
    metric = param(params, "gate.metric", str)
    kind = param(params, "train.model", str)
    settings = (params.get("train") or {}).get(kind)
    model = {
        "task": task.TASK,
        "estimator": kind,
        "parameters": settings if isinstance(settings, dict) else {},
        "seed": (params.get("train") or {}).get("seed"),
        "file": MODEL_FILE.as_posix(),
        "md5": md5(MODEL_FILE),
    }
    if SERVED_FILE.is_file():
        model["served"] = {"file": SERVED_FILE.as_posix(), "md5": md5(SERVED_FILE)}
    card: dict[str, Any] = {
        "name": project_name(),
        **{field: team[field] for field in TEXTS},
        "owners": team["owners"],
        "model": model,
        "data": {
            "source": param(params, "data.source", str),
            "file": RAW_DATA.as_posix(),
            "md5": md5(RAW_DATA),
            "train_rows": rows(TRAIN_DATA),
            "test_rows": rows(TEST_DATA),
            "target": target,
            "features": [
                {"name": column.name, "type": column.kind} for column in schema.features(target)
            ],
        },
        "metrics": scores,
        "gate": {
            "passed": None if verdict is None else verdict.passed,
            "verdict": f"quality gate not judged: {problem}" if verdict is None else str(verdict),
        },
        "slices": [
            {"slice": one.slice, "rows": one.rows, metric: (one.metrics or {}).get(metric)}
            for one in found
        ],
    }
    card["limits"] = {"measured": measured_limits(card, verdict, found), "known": team["limits"]}
    return card


def markdown(card: dict[str, Any]) -> str:
    """The card for people: what it is for, what it was trained on, how well it does."""
    model, data = card["model"], card["data"]

    def written(field: str) -> str:
        return str(card[field]) or f"_{NOT_WRITTEN.format(field=field)}_"

    lines = [f"# Model card: {card['name']}", ""]
    lines += ["## Intended use", "", written("intended_use"), ""]
    lines += ["## Out of scope", "", written("out_of_scope"), ""]
    owners = ", ".join(card["owners"]) or f"_{NOT_WRITTEN.format(field='owners')}_"
    lines += ["## Owners", "", owners, ""]
    lines += ["## Model", "", "| | |", "|---|---|"]
    lines += [f"| Task | {model['task']} of `{data['target']}` |"]
    lines += [
        f"| Estimator | `{model['estimator']}` (`train` in params.yaml), seed {model['seed']} |"
    ]
    parameters = ", ".join(f"{key}={value}" for key, value in model["parameters"].items())
    lines += [f"| Parameters | {parameters or 'defaults'} |"]
    lines += [f"| Model file | `{model['file']}`, md5 `{model['md5']}` |"]
    if "served" in model:
        lines += [f"| Served file | `{model['served']['file']}`, md5 `{model['served']['md5']}` |"]
    lines += ["", "## Training data", "", "| | |", "|---|---|"]
    lines += [
        f"| Source | `{cell(data['source'])}` |",
        f"| File | `{data['file']}`, md5 `{data['md5']}` |",
    ]
    lines += [f"| Rows | {data['train_rows']} for training, {data['test_rows']} for testing |"]
    features = ", ".join(f"`{cell(f['name'])}` ({f['type']})" for f in data["features"])
    lines += [f"| Features | {features} |", ""]
    lines += ["## Metrics on the test split", "", "| metric | value |", "|---|---:|"]
    metrics = card["metrics"]
    lines += [
        f"| {name} | {value} |" for name, value in metrics.items() if not isinstance(value, dict)
    ]
    per_class = metrics.get("per_class") or {}
    if per_class:
        lines += [
            "",
            "| class | precision | recall | f1 | test rows |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {cell(name)} | {s['precision']} | {s['recall']} | {s['f1']} | {s['support']} |"
            for name, s in per_class.items()
        ]
    verdict = str(card["gate"]["verdict"])
    lines += ["", f"{verdict[:1].upper()}{verdict[1:]}.", ""]
    if card["slices"]:
        metric = next(key for key in card["slices"][0] if key not in {"slice", "rows"})
        lines += ["## Slices", "", f"| slice | rows | {metric} |", "|---|---:|---:|"]
        for one in card["slices"]:
            value = "not scored" if one[metric] is None else one[metric]
            lines.append(f"| {cell(one['slice'])} | {one['rows']} | {value} |")
        lines.append("")
    lines += ["## Known limits", ""]
    lines += [f"- {limit}" for limit in card["limits"]["known"] + card["limits"]["measured"]]
    return "\n".join(lines) + "\n"


def run(params_file: Path, schema_file: Path, team_file: Path) -> str:
    card = build(load_params(params_file), load_schema(schema_file), team_text(team_file))
    CARD_JSON.parent.mkdir(parents=True, exist_ok=True)
    CARD_JSON.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    CARD_MARKDOWN.write_text(markdown(card), encoding="utf-8")
    missing = [field for field in TEXTS if not card[field]]
    note = f"; not written yet in {team_file}: {', '.join(missing)}" if missing else ""
    return f"{CARD_MARKDOWN} and {CARD_JSON} written{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    parser.add_argument("--team", type=Path, default=TEAM_FILE)
    args = parser.parse_args(argv)
    return run_stage("card", lambda: run(args.params, args.schema, args.team))


if __name__ == "__main__":
    sys.exit(main())
