"""Targets, and the results as tables: aligned text for the terminal, Markdown for the docs.

A target is a figure to aim for on a 2-core machine. A miss is printed, never raised:
benchmarks report figures, they are not timed tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.first_green import PIPELINE_STEP, TESTS_STEP

Row = tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """One table: a title, its column names and its rows."""

    title: str
    header: Row
    rows: Sequence[Row]


@dataclass(frozen=True)
class Target:
    """A limit for the figure found at ``path`` in the results: an upper one, or a lower
    one with ``at_least``."""

    name: str
    limit: float
    unit: str
    path: tuple[str, ...]
    at_least: bool = False


TARGETS = (
    Target("render (CLI), ours/ccds", 1.2, "x", ("render", "ratio", "cli")),
    Target("first green, warm uv cache", 30, "s", ("first_green", "warm", "total")),
    Target(
        "pipeline from scratch (nox -s pipeline), warm",
        8,
        "s",
        ("first_green", "warm", "steps", PIPELINE_STEP),
    ),
    Target(
        "generated test suite (nox -s tests), warm",
        8,
        "s",
        ("first_green", "warm", "steps", TESTS_STEP),
    ),
    Target("no-op dvc repro, median", 1.5, "s", ("noop_repro", "median")),
    Target("copier update (CLI), median", 5, "s", ("update", "cli", "median")),
    Target("/predict ÷ /health, concurrency 8", 0.5, "x", ("predict", "ratio", "8"), True),
    Target(
        "serving environment, ONNX ÷ skops fallback",
        0.5,
        "x",
        ("serving_environment", "ratio"),
    ),
)
SERIES = {"cli": "CLI", "in_process": "in-process"}
TOOLS = {"ours": "ours (copier)", "ccds": "cookiecutter-data-science (ccds)"}


def lookup(results: dict[str, Any], path: tuple[str, ...]) -> float | None:
    """The value at ``path``, or None where the figure was not measured."""
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if value is not None else None


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and PASS, MISS or N/A (not measured)."""
    judged = []
    for target in TARGETS:
        value = lookup(results, target.path)
        if value is None:
            verdict = "N/A"
        else:
            met = value >= target.limit if target.at_least else value <= target.limit
            verdict = "PASS" if met else "MISS"
        judged.append(
            {
                "target": target.name,
                "limit": target.limit,
                "at_least": target.at_least,
                "unit": target.unit,
                "value": value,
                "verdict": verdict,
            }
        )
    return judged


def padded(width: int, *cells: str) -> Row:
    """A row of ``width`` cells: the given ones, then empty ones."""
    return (*cells, *[""] * (width - len(cells)))


def seconds(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f} s"


def amount(value: float, unit: str, spec: str = ".2f") -> str:
    """A figure with its unit: "1.15x" for a ratio, "42.00 s" for a duration."""
    return f"{value:{spec}}{unit}" if unit == "x" else f"{value:{spec}} {unit}"


def load_text(results: dict[str, Any], when: str) -> str:
    """The 1-, 5- and 15-minute load averages at the run's start or end."""
    return ", ".join(str(value) for value in results["load_average"][when])


def spread(summary: dict[str, Any]) -> Row:
    """Median, min, max and count of a timing summary."""
    return (
        seconds(summary["median"]),
        seconds(summary["min"]),
        seconds(summary["max"]),
        str(summary["n"]),
    )


def machine_section(results: dict[str, Any]) -> Section:
    machine = results["machine"]
    start, end = load_text(results, "start"), load_text(results, "end")
    project_python = machine["project_python"].removeprefix("Python ")
    rows = [
        ("CPU", f"{machine['cpu']}, {machine['cores']} cores"),
        ("memory", f"{machine['memory_gib']} GiB"),
        ("OS", machine["os"]),
        ("Python (bench / project)", f"{machine['python']} / {project_python}"),
        ("uv", machine["uv"]),
        ("copier", machine["copier"]),
        ("dvc", machine["dvc"]),
        (
            "cookiecutter-data-science",
            f"{machine['cookiecutter_data_science']} (cookiecutter {machine['cookiecutter']})",
        ),
        ("git", machine["git"]),
        ("load average 1/5/15 min", f"{start} at start, {end} at end"),
        ("run", f"{results['mode']} mode, {results['date']}, template {results['template']}"),
    ]
    return Section("Machine", ("item", "value"), rows)


def render_section(results: dict[str, Any]) -> Section:
    render = results["render"]
    rows: list[Row] = []
    for tool, label in TOOLS.items():
        if tool not in render:
            rows.append(padded(6, label, "not measured"))
            continue
        for series, name in SERIES.items():
            rows.append(
                (f"{label}, {name}", *spread(render[tool][series]), str(render[tool]["files"]))
            )
    for series, name in SERIES.items():
        ratio = lookup(render, ("ratio", series))
        measured = "n/a" if ratio is None else amount(ratio, "x")
        rows.append(padded(6, f"ratio ours/ccds, {name}", measured))
    return Section(
        "Render the default project", ("series", "median", "min", "max", "n", "files"), rows
    )


def first_green_section(results: dict[str, Any]) -> Section:
    runs = results["first_green"]
    names = list(next(iter(runs.values()))["steps"])
    rows = [(name, *(seconds(runs[c]["steps"][name]) for c in runs)) for name in names]
    rows.append(("total", *(seconds(runs[cache]["total"]) for cache in runs)))
    if "uv_cache_mb" in runs.get("cold", {}):
        downloaded = (f"{runs[c]['uv_cache_mb']} MB" if c == "cold" else "" for c in runs)
        rows.append(("uv cache filled from PyPI", *downloaded))
    return Section("Time to first green", ("step", *(f"{c} uv cache" for c in runs)), rows)


def upkeep_section(results: dict[str, Any]) -> Section:
    rows = [
        ("no-op `uv run dvc repro`", *spread(results["noop_repro"])),
        ("copier update v1.0.0 → v1.1.0, CLI", *spread(results["update"]["cli"])),
        ("copier update v1.0.0 → v1.1.0, in-process", *spread(results["update"]["in_process"])),
    ]
    suite = results.get("template_suite")
    if suite:
        verdict = "passed" if suite["passed"] else "failed"
        name = f"template test suite, `nox -s tests` ({verdict})"
        rows.append((name, seconds(suite["seconds"], 0), "", "", "1"))
    else:
        rows.append(padded(5, "template test suite, `nox -s tests`", "not timed (--suite)"))
    return Section("Day-to-day commands", ("command", "median", "min", "max", "n"), rows)


def predict_section(results: dict[str, Any]) -> Section:
    measured = results["predict"]
    rows: list[Row] = []
    for concurrency, ratio in measured["ratio"].items():
        for path in ("health", "predict"):
            load = measured[path][concurrency]
            rows.append(
                (
                    f"/{path}, concurrency {concurrency}",
                    f"{load['requests_per_second']:.0f}",
                    f"{load['p50_ms']:.2f} ms",
                    f"{load['p99_ms']:.2f} ms",
                    f"{load['requests']} ({load['errors']} errors)",
                )
            )
        rows.append(
            padded(5, f"ratio /predict ÷ /health, concurrency {concurrency}", amount(ratio, "x"))
        )
    batch = measured["batch"]
    rows.append(
        (
            f"/predict of {batch['rows']} rows, concurrency 1",
            f"{batch['requests_per_second']:.1f}",
            f"{batch['p50_ms']:.2f} ms",
            f"{batch['p99_ms']:.2f} ms",
            f"{batch['requests']} ({batch['errors']} errors)",
        )
    )
    header = ("requests", "per second", "p50", "p99", "answered")
    return Section("The generated service (one uvicorn process)", header, rows)


def serving_section(results: dict[str, Any]) -> Section:
    sizes = results["serving_environment"]
    rows = [
        ("ONNX Runtime: the `serve` group", f"{sizes['onnx_mb']} MB"),
        (
            "skops fallback: the project's dependencies and `serve`",
            f"{sizes['skops_mb']} MB",
        ),
        ("ratio", amount(sizes["ratio"], "x")),
    ]
    return Section("Serving environment in the image", ("installed", "size"), rows)


def target_section(results: dict[str, Any]) -> Section:
    rows = []
    for judged in results["targets"]:
        value, unit = judged["value"], judged["unit"]
        measured = "n/a" if value is None else amount(value, unit)
        limit = amount(judged["limit"], unit, "g")
        bound = "at least" if judged.get("at_least") else "at most"
        rows.append((judged["target"], f"{bound} {limit}", measured, judged["verdict"]))
    return Section("Targets", ("target", "limit", "measured", "verdict"), rows)


def sections(results: dict[str, Any]) -> list[Section]:
    """Every table, in reading order."""
    return [
        target_section(results),
        render_section(results),
        first_green_section(results),
        upkeep_section(results),
        predict_section(results),
        serving_section(results),
        machine_section(results),
    ]


def as_text(tables: list[Section]) -> str:
    """Tables with aligned columns, for the terminal."""
    blocks = []
    for table in tables:
        lines = [table.header, *table.rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(table.header))]
        body = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        ]
        blocks.append("\n".join([table.title, "-" * len(table.title), *body]))
    return "\n\n".join(blocks) + "\n"


def as_markdown(tables: list[Section], level: str = "###") -> str:
    """Tables in Markdown, each under a heading."""
    blocks = []
    for table in tables:
        lines = [
            f"{level} {table.title}",
            "",
            "| " + " | ".join(table.header) + " |",
            "|" + "---|" * len(table.header),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
