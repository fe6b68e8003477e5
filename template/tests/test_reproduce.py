"""The reproducibility check (ci/reproduce.py): what makes dvc.lock stale, and how far the
metrics of a second training may move."""

from __future__ import annotations

from typing import Any

import pytest

from ci import reproduce

COMMITTED = {"roc_auc": 0.9967, "f1": 0.95, "per_class": {"a": {"f1": 0.97, "support": 72}}}


def test_metrics_within_the_tolerance_are_reproduced() -> None:
    again = {"roc_auc": 0.9968, "f1": 0.95, "per_class": {"a": {"f1": 0.97, "support": 72}}}
    line = reproduce.compare(COMMITTED, again, tolerance=0.001)
    assert line.startswith("4 values of metrics.json within 0.001")


def test_a_metric_beyond_the_tolerance_is_named() -> None:
    again = {"roc_auc": 0.9967, "f1": 0.95, "per_class": {"a": {"f1": 0.9, "support": 72}}}
    with pytest.raises(reproduce.NotReproduced, match=r"per_class\.a\.f1 0\.97 -> 0\.9"):
        reproduce.compare(COMMITTED, again, tolerance=0.001)


def test_a_metric_that_came_or_went_is_not_reproduced() -> None:
    with pytest.raises(reproduce.NotReproduced, match=r"missing \['f1'\]"):
        reproduce.compare(COMMITTED, {k: v for k, v in COMMITTED.items() if k != "f1"}, 0.1)


@pytest.mark.parametrize(
    ("status", "stale"),
    [
        ({}, []),
        ({"train": [{"changed outs": {"models/model.skops": "deleted"}}]}, []),
        ({"train": [{"changed outs": {"models/model.skops": "not in cache"}}]}, []),
        (
            {"train": [{"changed deps": {"params.yaml": {"train.seed": "modified"}}}]},
            ["train: changed deps params.yaml ({'train.seed': 'modified'})"],
        ),
        (
            {"evaluate": [{"changed outs": {"metrics.json": "modified"}}]},
            ["evaluate: changed outs metrics.json (modified)"],
        ),
        ({"prepare": ["changed command"]}, ["prepare: changed command"]),
    ],
)
def test_only_missing_outputs_leave_the_lock_current(
    status: dict[str, Any], stale: list[str]
) -> None:
    assert reproduce.stale_stages(status) == stale
