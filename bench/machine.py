"""The machine the figures come from: processor, memory, system and tool versions, load."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")


def cpu_model() -> str:
    """The processor's model name as the kernel reports it."""
    if CPUINFO.is_file():
        for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_gib() -> float:
    """Physical memory in GiB."""
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)


def system() -> str:
    """The distribution's name and the kernel release."""
    try:
        name = platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        name = platform.system()
    return f"{name}, kernel {platform.release()}"


def version_of(*command: str | Path) -> str:
    """The first line a tool prints about its version, or 'not found'."""
    try:
        result = subprocess.run(
            [str(part) for part in command], capture_output=True, text=True, check=False
        )
    except OSError:
        return "not found"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if result.returncode == 0 and lines else "not found"


def package(name: str) -> str:
    """The installed version of a Python distribution, or 'not installed'."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe(project: Path | None) -> dict[str, Any]:
    """What the figures depend on; the project's own tools when a set-up project is given."""
    venv = project / ".venv/bin" if project else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "os": system(),
        "python": platform.python_version(),
        "project_python": version_of(venv / "python", "--version") if venv else "n/a",
        "uv": version_of("uv", "--version"),
        "git": version_of("git", "--version"),
        "copier": package("copier"),
        "dvc": version_of(venv / "dvc", "--version") if venv else "n/a",
        "cookiecutter": package("cookiecutter"),
        "cookiecutter_data_science": package("cookiecutter-data-science"),
    }


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (work queued for the cores)."""
    return [round(value, 2) for value in os.getloadavg()]
