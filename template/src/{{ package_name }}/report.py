"""Pull/merge-request report: how the model changed against the base branch.

Reads:  metrics.json, reports/slices.json, reports/validation.json, schema.yaml,
        params.yaml, plots/data/*.csv and dvc.lock in the workspace, and the same files at
        the base revision (through git and DVC's own diffs).
Writes: reports/pr/report.md and the PNG images it shows (reports/pr/*.png); with
        --pull-request, reports/pr/pull-request.json for the publisher.
Exits:  0 when the gate passed, 1 when it failed (the report is written either way, with the
        verdict of the gate module), 2 when the report cannot be made (e.g. an unknown base).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from . import contract_diff, figures, gate, revision, slices, task
from .card import CARD_MARKDOWN
from .config import (
    METRICS_FILE,
    PARAMS_FILE,
    PLOT_DATA_DIR,
    RAW_DATA,
    CheckFailed,
    InputError,
    load_params,
    run_stage,
)

REPORT_DIR = Path("reports/pr")
MARKER = "<!-- ml-report: pipeline metrics -->"
PACKAGES = ("scikit-learn", "pandas", "numpy", "skops", "dvc")


def tool(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a local tool (git, DVC, nvidia-smi); the commands are fixed by this module."""
    executable = shutil.which(command[0]) or command[0]
    return subprocess.run(  # noqa: S603  # nosec B603
        [executable, *command[1:]], capture_output=True, text=True, check=False
    )


def dvc(*args: str) -> str:
    """Run a DVC command and return its output; failing loudly with DVC's own message."""
    result = tool(sys.executable, "-m", "dvc", *args)
    if result.returncode != 0:
        msg = f"`dvc {' '.join(args)}` failed: {result.stderr.strip()}"
        raise InputError(msg)
    return result.stdout.strip()


def data_version(lock_text: str | None) -> str:
    """The md5 that dvc.lock records for the raw data, or a note when there is none."""
    if not lock_text:
        return "no dvc.lock yet"
    lock = yaml.safe_load(lock_text) or {}
    for stage in lock.get("stages", {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == RAW_DATA.as_posix():
                return f"`{RAW_DATA.as_posix()}` md5 `{out.get('md5', '?')}` (from dvc.lock)"
    return f"`{RAW_DATA.as_posix()}` is not in dvc.lock"


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def gpu_name() -> str:
    if shutil.which("nvidia-smi") is None:
        return "none detected"
    result = tool("nvidia-smi", "--query-gpu=name", "--format=csv,noheader")
    names = ", ".join(result.stdout.split("\n")).strip(", ")
    return names if result.returncode == 0 and names else "none detected"


def environment(lock_text: str | None) -> list[str]:
    """A short table describing where and with what the report was computed."""
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    sha = revision.git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    if revision.git("status", "--porcelain", "--untracked-files=no").stdout.strip():
        sha += "-dirty"  # tracked files differ from the commit: say so
    rows = {
        "Python": platform.python_version(),
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "CPU": f"{cpu_name()}, {os.cpu_count()} logical cores",
        "GPU": gpu_name(),
        "Packages": ", ".join(versions),
        "Commit": f"`{sha}`",
        "Data": data_version(lock_text),
    }
    return ["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows.items())]


def importance(base: str, directory: Path) -> Path:
    """Permutation importance of head beside base's, where the base has it."""
    path = PLOT_DATA_DIR / "feature_importance.csv"
    sides = {"head": pd.read_csv(path)}
    before = revision.show(base, path)
    if before is not None:
        sides = {"base": pd.read_csv(io.StringIO(before)), **sides}
    title = "Permutation importance" + (" (base and head)" if len(sides) > 1 else "")
    return figures.importance(sides, task.Evaluation.QUALITY, directory / "importance.png", title)


def slice_lines(base: str, verdict: gate.Verdict) -> list[str]:
    """The gate's metric on each slice of the test split, base beside head, and the worst
    slice of each; nothing when evaluate.slices names no column."""
    path = slices.SLICES_FILE
    head = slices.read(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else []
    if not head:
        return []
    before = slices.read(revision.show(base, path), f"{path} at {base}")
    metric, lower = verdict.metric, verdict.lower_is_better
    by_name = {one.slice: one for one in before}

    def cell(one: slices.Slice | None) -> str:
        if one is None:
            return "not at base"
        if one.metrics and metric in one.metrics:
            return str(one.metrics[metric])
        return one.note.replace("|", "/") or "not scored"

    lines = ["", "### Slices", ""]
    lines += [f"`{metric}` on each slice of the test split (`evaluate.slices` in params.yaml).", ""]
    for side, found in (("base", before), ("head", head)):
        worst = slices.worst(found, metric, lower)
        about = f"`{worst.slice}` ({worst.rows} rows), {cell(worst)}" if worst else "none scored"
        lines.append(f"- Worst slice at {side}: {about}")
    lines += ["", "| slice | rows | base | head |", "|---|---:|---:|---:|"]
    for one in head:
        label = contract_diff.cell(one.slice)  # a slice is named by the data's own values
        lines.append(f"| {label} | {one.rows} | {cell(by_name.get(one.slice))} | {cell(one)} |")
    return lines


def card_lines() -> list[str]:
    """The model card the card stage wrote for head, folded, its headings under the report's."""
    if not CARD_MARKDOWN.is_file():
        return []
    text = CARD_MARKDOWN.read_text(encoding="utf-8")
    body = [("###" + line) if line.startswith("#") else line for line in text.splitlines()]
    title = f"The model card (<code>{CARD_MARKDOWN}</code>)"
    return [
        "",
        "### Model card",
        "",
        f'<details markdown="1"><summary>{title}</summary>',
        "",
        *body,
        "</details>",
    ]


def as_head(table: str) -> str:
    """A DVC diff table whose compared column, `workspace` to DVC, is `head` as in the plots."""
    header, newline, rows = table.partition("\n")
    return header.replace("| workspace ", "| head      ", 1) + newline + rows


def build(base: str, directory: Path = REPORT_DIR) -> tuple[Path, gate.Verdict]:
    """Write the report and its images into ``directory``; return its path and the verdict."""
    commit = revision.resolve(base)
    params = load_params(PARAMS_FILE)
    verdict = gate.judge_files(PARAMS_FILE, METRICS_FILE, base)
    scores = gate.read_metrics(METRICS_FILE.read_text(encoding="utf-8"), str(METRICS_FILE))
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    images = [*task.compare(base, directory, params), importance(base, directory)]

    lines = [MARKER, f"## Model report: {'passed' if verdict.passed else 'FAILED'}", ""]
    lines += [f"Compared with `{base}` (`{commit[:7]}`).", "", "### Quality gate", ""]
    lines += verdict.lines()
    lines += ["", "### Metrics", "", task.metrics_note(scores, params), ""]
    if revision.show(base, METRICS_FILE) is None:
        lines += [
            f"The base `{base}` has no metrics yet (this may be the first report), so only "
            "this branch's values are shown.",
            "",
        ]
    lines.append(as_head(dvc("metrics", "diff", base, "--all", "--md", "--precision", "4")))
    lines += slice_lines(base, verdict)
    lines += contract_diff.lines(base)
    params_diff = as_head(dvc("params", "diff", base, "--md"))
    if len(params_diff.strip().splitlines()) <= 2:  # DVC prints a bare header when none changed
        params_diff = ""
    lines += ["", "### Parameters changed", ""]
    lines.append(params_diff if params_diff else "No parameter changed.")
    lines += ["", "### Plots", ""]
    lines += [f"![{image.stem}]({image.name})" for image in images]
    lines += card_lines()
    lines += ["", "### Environment", ""]
    lock = Path("dvc.lock")
    lines += environment(lock.read_text(encoding="utf-8") if lock.is_file() else None)
    report = directory / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="base branch or revision to compare with")
    parser.add_argument("--output", type=Path, default=REPORT_DIR)
    parser.add_argument(
        "--pull-request", type=int, help="record the request's number for the publisher"
    )
    parser.add_argument("--head-sha", default="", help="with --pull-request: its head commit")
    args = parser.parse_args(argv)

    def body() -> str:
        report, verdict = build(args.base, args.output)
        if args.pull_request is not None:
            head = args.head_sha or revision.git("rev-parse", "HEAD").stdout.strip()
            record = {"number": args.pull_request, "head_sha": head}
            (args.output / "pull-request.json").write_text(json.dumps(record) + "\n")
        if not verdict.passed:
            raise CheckFailed(f"written to {report}; {verdict}")
        return f"written to {report}; {verdict}"

    return run_stage("report", body)


if __name__ == "__main__":
    raise SystemExit(main())
