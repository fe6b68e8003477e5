"""Run every benchmark, print the tables and write build/bench/results.json (`nox -s bench`).

nox -s bench                        # full run
nox -s bench -- --quick             # fewer repetitions, for CI
nox -s bench -- --suite             # also time the template's own `nox -s tests`
nox -s bench -- --docs              # also rewrite docs/benchmarks.md from the results
nox -s bench -- --project PATH      # only /predict, on a project whose pipeline ran
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import predict_latency
from bench.common import ROOT, isolate, log, megabytes, run, template_copy
from bench.first_green import first_green, noop_repro
from bench.machine import describe, load_average
from bench.page import write_page
from bench.render import ccds_template, render_figures
from bench.results import as_text, sections, verdicts
from bench.template_tasks import template_suite, update_figures


@dataclass(frozen=True)
class Plan:
    """How much each benchmark repeats."""

    name: str
    repetitions: int
    requests: int
    seconds: float


FULL = Plan("full", repetitions=7, requests=2000, seconds=60)
QUICK = Plan("quick", repetitions=3, requests=300, seconds=15)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument("--suite", action="store_true", help="also time `nox -s tests`")
    parser.add_argument("--docs", action="store_true", help="rewrite docs/benchmarks.md")
    parser.add_argument("--project", type=Path, help="only /predict, on this set-up project")
    parser.add_argument(
        "--ccds-template",
        help="cookiecutter-data-science's template: a local checkout or a git URL "
        "(default: its GitHub repository at the installed release's tag)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "build/bench/results.json")
    return parser.parse_args(argv)


def template_revision() -> str:
    """This repository's commit, marked when the working tree has changes."""
    commit = run(["git", "rev-parse", "--short", "HEAD"], ROOT).strip()
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"], ROOT).strip()
    return f"{commit}{' with uncommitted changes' if dirty else ''}"


def measure_render(
    template: Path, ccds_source: str | None, plan: Plan, scratch: Path
) -> dict[str, Any]:
    """Render figures, ours beside cookiecutter-data-science's when its template can be had."""
    ccds, source = ccds_template(ccds_source, scratch)
    log(f"cookiecutter-data-science template: {source}")
    return render_figures(template, ccds, plan.repetitions, scratch) | {"ccds_source": source}


def measure_first_green(template: Path, scratch: Path, uv_env: dict[str, str]) -> dict[str, Any]:
    """Cold, then warm: the cold run fills the empty uv cache that the warm run reads."""
    runs: dict[str, Any] = {}
    for temperature in ("cold", "warm"):
        log(f"first green, {temperature} uv cache")
        project = scratch / f"first-green-{temperature}" / "project"
        runs[temperature] = first_green(template, project, uv_env)
        if temperature == "cold":
            runs["cold"]["uv_cache_mb"] = megabytes(Path(uv_env["UV_CACHE_DIR"]))
    return runs


def serving_environment(project: Path, scratch: Path, uv_env: dict[str, str]) -> dict[str, Any]:
    """The size of what the image installs: the `serve` group alone (the ONNX model), and
    with the project's dependencies (the skops model, without an export stage)."""
    sizes: dict[str, float] = {}
    for name, groups in (
        ("onnx", ["--only-group", "serve"]),
        ("skops", ["--no-default-groups", "--group", "serve"]),
    ):
        environment = scratch / f"serving-{name}"
        env = {**uv_env, "UV_PROJECT_ENVIRONMENT": str(environment), "UV_LINK_MODE": "copy"}
        run(["uv", "sync", "--locked", "--no-install-project", "--quiet", *groups], project, env)
        sizes[f"{name}_mb"] = megabytes(environment)
    sizes["ratio"] = round(sizes["onnx_mb"] / sizes["skops_mb"], 3)
    return sizes


def measure(plan: Plan, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Every benchmark of ``plan``, in one temporary directory."""
    results: dict[str, Any] = {"mode": plan.name, "repetitions": plan.repetitions}
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results["template"] = template_revision()
    results["load_average"] = {"start": load_average()}
    template = template_copy(scratch / "template")
    results["render"] = measure_render(template, args.ccds_template, plan, scratch)
    uv_env = {"UV_CACHE_DIR": str(scratch / "uv-cache")}
    results["first_green"] = measure_first_green(template, scratch, uv_env)
    project = scratch / "first-green-warm" / "project"
    log("no-op dvc repro")
    results["noop_repro"] = noop_repro(project, plan.repetitions, uv_env)
    results["update"] = update_figures(template, scratch, plan.repetitions)
    log("/predict latency and throughput")
    results["predict"] = predict_latency.serve_and_measure(project, plan.requests, plan.seconds)
    log("serving environment")
    results["serving_environment"] = serving_environment(project, scratch, uv_env)
    if args.suite:
        results["template_suite"] = template_suite(scratch)
    results["machine"] = describe(project)
    results["load_average"]["end"] = load_average()
    results["targets"] = verdicts(results)
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.project:
        measured = predict_latency.serve_and_measure(
            args.project.resolve(), plan.requests, plan.seconds
        )
        predict_latency.report(measured)
        return
    with tempfile.TemporaryDirectory(prefix="template-bench-") as directory:
        scratch = Path(directory)
        isolate(scratch / "home")
        results = measure(plan, args, scratch)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(as_text(sections(results)))
    log(f"results written to {args.output}")
    if args.docs:
        page = ROOT / "docs/benchmarks.md"
        write_page(results, page, QUICK.repetitions, FULL.repetitions)
        log(f"page written to {page}")


if __name__ == "__main__":
    main()
