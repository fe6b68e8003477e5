"""Classification metrics and plot tables, named by class, for two classes or more.

Two classes: precision, recall and F1 are those of ``evaluate.positive_class`` (params.yaml),
and the curves are drawn for it. More classes: precision, recall and F1 are macro averages,
ROC AUC and average precision one-vs-rest macro averages, and there is a curve per class.
Either way the metric names are the same, so the quality gate works for both, and
``per_class`` holds each class's precision, recall and F1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.preprocessing import label_binarize

from .contract import plain, positive_class


@dataclass(frozen=True)
class Classes:
    """The classes a model predicts, in the order of its probability columns, and the one
    binary metrics are computed for (None with more than two classes)."""

    names: tuple[Any, ...]
    positive: Any | None

    @property
    def binary(self) -> bool:
        return len(self.names) == 2

    @property
    def curves(self) -> tuple[Any, ...]:
        """The classes that get a ROC and a precision-recall curve."""
        return (self.positive,) if self.binary else self.names


def classes_of(model: Any, params: dict[str, Any]) -> Classes:
    """The model's classes, and the positive class params.yaml names for two of them."""
    names = tuple(plain(name) for name in model.classes_)
    return Classes(names, positive_class(names, params))


def roc_auc(y_true: np.ndarray, probabilities: np.ndarray, classes: Classes) -> float:
    """ROC AUC: of the positive class with two classes, one-vs-rest macro with more."""
    labels = list(classes.names)
    if classes.binary:
        column = probabilities[:, labels.index(classes.positive)]
        return float(metrics.roc_auc_score(y_true == classes.positive, column))
    return float(metrics.roc_auc_score(y_true, probabilities, multi_class="ovr", labels=labels))


def score(y_true: pd.Series, probabilities: np.ndarray, classes: Classes) -> dict[str, Any]:
    """Metrics rounded so that diffs show real changes only; ``per_class`` by class name."""
    labels = list(classes.names)
    # Object arrays of numbers puzzle scikit-learn: let numpy pick int or text arrays.
    y_pred = np.asarray(labels)[probabilities.argmax(axis=1)]
    y_true_array = np.asarray(y_true.tolist())
    values: dict[str, Any] = {
        "accuracy": metrics.accuracy_score(y_true_array, y_pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true_array, y_pred),
    }
    if classes.binary:
        column = probabilities[:, labels.index(classes.positive)]
        is_positive = y_true_array == classes.positive
        shared: dict[str, Any] = {"pos_label": classes.positive, "average": "binary"}
        precision_area = metrics.average_precision_score(is_positive, column)
    else:
        shared = {"average": "macro", "labels": labels}
        onehot = label_binarize(y_true_array, classes=labels)
        precision_area = metrics.average_precision_score(onehot, probabilities, average="macro")
    areas = {
        "roc_auc": roc_auc(y_true_array, probabilities, classes),
        "average_precision": precision_area,
    }
    values |= {
        "precision": metrics.precision_score(y_true_array, y_pred, zero_division=0, **shared),
        "recall": metrics.recall_score(y_true_array, y_pred, zero_division=0, **shared),
        "f1": metrics.f1_score(y_true_array, y_pred, zero_division=0, **shared),
        **areas,
    }
    scores: dict[str, Any] = {name: round(float(value), 4) for name, value in values.items()}
    report = metrics.precision_recall_fscore_support(
        y_true_array, y_pred, labels=labels, zero_division=0
    )
    scores["per_class"] = {
        str(name): {
            "precision": round(float(report[0][i]), 4),
            "recall": round(float(report[1][i]), 4),
            "f1": round(float(report[2][i]), 4),
            "support": int(report[3][i]),
        }
        for i, name in enumerate(labels)
    }
    return scores


def curve_tables(
    y_true: pd.Series, probabilities: np.ndarray, classes: Classes
) -> dict[str, pd.DataFrame]:
    """ROC and precision-recall points, one-vs-rest, for each class in ``classes.curves``."""
    roc, pr = [], []
    truth = np.asarray(y_true.tolist())
    for name in classes.curves:
        column = probabilities[:, list(classes.names).index(name)]
        is_class = truth == name
        fpr, tpr, _ = metrics.roc_curve(is_class, column)
        precision, recall, _ = metrics.precision_recall_curve(is_class, column)
        roc.append(pd.DataFrame({"class": str(name), "fpr": fpr, "tpr": tpr}))
        pr.append(pd.DataFrame({"class": str(name), "recall": recall, "precision": precision}))
    return {
        "roc": pd.concat(roc, ignore_index=True).round(4),
        "precision_recall": pd.concat(pr, ignore_index=True).round(4),
    }
