"""The test matrix, derived from copier.yml so that every choice of every question is rendered.

Choice questions are rotated together (variant i takes choice i of each question, wrapping
around), which covers every value in as many variants as the longest choice list. A yes/no
question counts as a choice between true and false. Two more
variants cover the defaults and free-text answers at their longest.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

COPIER_YML = Path(__file__).resolve().parents[1] / "copier.yml"
OPTIONS_HOOK = COPIER_YML.parent / "docs/_hooks/options.py"


@dataclass(frozen=True)
class Variant:
    """A named set of answers; unanswered questions take their defaults."""

    name: str
    answers: dict[str, Any] = field(default_factory=dict)


def load_options_hook() -> ModuleType:
    """The docs' options hook (docs/_hooks/options.py), imported from its file as MkDocs
    imports it: the options page and this matrix take their questions from the same rule."""
    spec = importlib.util.spec_from_file_location("options_hook", OPTIONS_HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def questions() -> dict[str, dict[str, Any]]:
    """The questions a user is asked (settings and computed values left out), as the
    options page lists them."""
    spec = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    asked: dict[str, dict[str, Any]] = load_options_hook().asked_questions(spec)
    return asked


def choice_values(question: dict[str, Any]) -> list[Any]:
    """The values a choice question accepts (labels dropped); a bool accepts true and false."""
    if question.get("type") == "bool":
        return [True, False]
    choices = question.get("choices") or []
    return list(choices.values()) if isinstance(choices, dict) else list(choices)


def choice_questions() -> dict[str, list[Any]]:
    return {
        name: choice_values(body)
        for name, body in questions().items()
        if "choices" in body or body.get("type") == "bool"
    }


def label(name: str, value: Any) -> str:
    """How a value reads in a variant's id: a bool as its question's name, or no-name."""
    if isinstance(value, bool):
        return name if value else f"no-{name}"
    return str(value)


def variants() -> list[Variant]:
    """Every variant the suite renders: defaults, the rotation, and long answers.

    Choice questions turn together; yes/no questions count in binary across the same
    variants, so that with five variants two of them meet in all four combinations.
    """
    choices = choice_questions()
    width = max(len(values) for values in choices.values())
    switches = [name for name, values in choices.items() if values == [True, False]]
    rotation = []
    for index in range(width):
        answers = {name: values[index % len(values)] for name, values in choices.items()}
        # Yes/no questions count in binary, so that they meet in every combination.
        for bit, name in enumerate(switches):
            answers[name] = choices[name][(index >> bit) % 2]
        name = "-".join(label(question, value) for question, value in answers.items())
        rotation.append(Variant(f"rotation{index}-{name}", answers))
    longest = Variant(
        "long-answers",
        {
            "project_name": "Very Long Project Name For Checking Line Lengths",
            "package_name": "a_package_name_of_forty_characters_long0",
            "organization": "a-very-long-github-organisation-name-39",
        },
    )
    # The rotation pairs regression with the bools' second values (no service): this variant
    # checks a regressor with the service, the export and the native report.
    regression = Variant("regression", {"ml_task": "regression"})
    return [Variant("defaults"), *rotation, regression, longest]


def covered_values() -> dict[str, set[Any]]:
    """Which values of each choice question some variant renders (defaults included)."""
    defaults = {name: body.get("default") for name, body in questions().items()}
    covered: dict[str, set[Any]] = {name: set() for name in choice_questions()}
    for variant in variants():
        for name in covered:
            covered[name].add(variant.answers.get(name, defaults[name]))
    return covered
