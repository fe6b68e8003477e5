"""PNG figures of the evaluation plots, drawn without a display (matplotlib's object API)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import confusion_matrix


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def curve(
    curves: dict[str, pd.DataFrame], x: str, y: str, title: str, path: Path, diagonal: bool
) -> Path:
    """Line plot of one or more curves (for example base and head) sharing axes."""
    figure = Figure(figsize=(5, 4.5))
    axes = figure.subplots()
    for label, table in curves.items():
        axes.plot(table[x], table[y], label=label)
    if diagonal:
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set(xlabel=x, ylabel=y, title=title, xlim=(0, 1), ylim=(0, 1.02))
    if len(curves) > 1:
        axes.legend(loc="best")
    return _save(figure, path)


def confusion(predictions: pd.DataFrame, title: str, path: Path) -> Path:
    """Confusion matrix with counts in each cell."""
    labels = sorted(set(predictions["actual"]) | set(predictions["predicted"]))
    matrix = confusion_matrix(predictions["actual"], predictions["predicted"], labels=labels)
    figure = Figure(figsize=(4.5, 4))
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    for (row, column), count in pd.DataFrame(matrix).stack().items():
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", color=colour)
    ticks = range(len(labels))
    axes.set_xticks(ticks, [str(label) for label in labels])
    axes.set_yticks(ticks, [str(label) for label in labels])
    axes.set(xlabel="predicted", ylabel="actual", title=title)
    return _save(figure, path)


def importance(ranked: pd.DataFrame, title: str, path: Path) -> Path:
    """Horizontal bar chart of feature importance, most important at the top."""
    figure = Figure(figsize=(6, 0.3 * len(ranked) + 1.2))
    axes = figure.subplots()
    ordered = ranked.iloc[::-1]
    axes.barh(ordered["feature"], ordered["importance"], color="tab:blue")
    axes.set(xlabel="mean drop in ROC AUC when the feature is shuffled", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=4))  # small values: long tick labels
    return _save(figure, path)


def draw_all(tables: dict[str, pd.DataFrame], directory: Path) -> list[Path]:
    """Draw every evaluation plot into ``directory``; return the files written."""
    return [
        curve({"model": tables["roc"]}, "fpr", "tpr", "ROC curve", directory / "roc.png", True),
        curve(
            {"model": tables["precision_recall"]},
            "recall",
            "precision",
            "Precision-recall curve",
            directory / "precision_recall.png",
            False,
        ),
        confusion(tables["predictions"], "Confusion matrix", directory / "confusion_matrix.png"),
        importance(
            tables["feature_importance"], "Permutation importance", directory / "importance.png"
        ),
    ]
