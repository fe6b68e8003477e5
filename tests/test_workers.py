"""The suite's own machinery: tests that share a costly fixture run on one worker."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .conftest import run

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("shared")


@pytest.mark.parametrize("number", range(6))
def test_grouped(number):
    pass
"""
ALONE = """
import pytest


@pytest.mark.parametrize("number", range(6))
def test_alone(number):
    pass
"""


def test_tests_of_one_group_run_on_one_worker(tmp_path: Path) -> None:
    """What `nox -s tests` relies on (`--dist loadgroup`): a group stays on one worker, and
    the other worker takes other tests."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_grouped.py").write_text(GROUPED, encoding="utf-8")
    (tmp_path / "test_alone.py").write_text(ALONE, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-v", "-n", "2", "--dist", "loadgroup"]
    output = run([*command, "-p", "no:cacheprovider"], tmp_path).stdout
    workers = {
        name: {
            worker
            for worker, test in re.findall(r"\[(gw\d)\].*::(test_\w+)\[", output)
            if test == name
        }
        for name in ("test_grouped", "test_alone")
    }
    assert len(workers["test_grouped"]) == 1, output
    # Which worker takes the ungrouped tests depends on timing; both workers work.
    assert len(workers["test_grouped"] | workers["test_alone"]) == 2, output
