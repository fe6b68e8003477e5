"""PNG figures of the evaluation plots, drawn without a display (matplotlib's object API)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import auc, confusion_matrix

# When every curve's area is at least this, the curves run along the plot's edges and an
# inset shows the corner where they differ, ZOOM_SIDE wide.
ZOOM_FROM_AREA = 0.9
ZOOM_SIDE = 0.25


@dataclass(frozen=True)
class Kind:
    """A kind of curve: its plot-data name, its axes, and the corner a perfect model reaches."""

    name: str
    x: str
    y: str
    title: str
    corner_x: float
    diagonal: bool = False  # the chance line, for ROC


ROC = Kind("roc", "fpr", "tpr", "ROC curve", corner_x=0.0, diagonal=True)
PRECISION_RECALL = Kind("precision_recall", "recall", "precision", "Precision-recall curve", 1.0)
CURVES = (ROC, PRECISION_RECALL)


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def curve(curves: dict[str, pd.DataFrame], kind: Kind, path: Path) -> Path:
    """Curves on shared axes: for each table in ``curves`` (for example base and head), one
    line per class it holds, each labelled with its class and the area under it, with a
    zoomed inset of the corner when they all hug it."""
    figure = Figure(figsize=(5.5, 4.5))
    axes = figure.subplots()
    # One colour per class; with several tables (base and head), the first is dashed.
    lines: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}
    colours: dict[str, str] = {}
    for rank, (series, table) in enumerate(curves.items()):
        for name, points in table.groupby("class", sort=False):
            colour = colours.setdefault(str(name), f"C{len(colours)}")
            style: dict[str, Any] = {
                "color": colour,
                "linestyle": "--" if rank == 0 and len(curves) > 1 else "-",
            }
            label = str(name) if len(curves) == 1 else f"{series}: {name}".rstrip(": ")
            lines[label] = (points, style)
    areas = {label: float(auc(p[kind.x], p[kind.y])) for label, (p, _) in lines.items()}
    zoom = min(areas.values()) >= ZOOM_FROM_AREA
    targets = [axes]
    if zoom:
        # Away from the corner the curves run into, above the legend.
        left = 0.45 if kind.corner_x == 0 else 0.08
        inset = axes.inset_axes((left, 0.3 + 0.04 * max(0, len(lines) - 2), 0.47, 0.4))
        low = 0.0 if kind.corner_x == 0 else 1 - ZOOM_SIDE
        inset.set(xlim=(low, low + ZOOM_SIDE), ylim=(1 - ZOOM_SIDE, 1.01))
        inset.tick_params(labelsize=7)
        targets.append(inset)
    for target in targets:
        for label, (points, style) in lines.items():
            area = f"{label} (area {areas[label]:.3f})"
            target.plot(points[kind.x], points[kind.y], label=area, **style)
    if kind.diagonal:
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set(xlabel=kind.x, ylabel=kind.y, title=kind.title, xlim=(0, 1), ylim=(0, 1.02))
    if zoom:
        axes.indicate_inset_zoom(targets[1], edgecolor="grey")
    axes.legend(loc="lower right" if kind.corner_x == 0 else "lower left", fontsize="small")
    return _save(figure, path)


def confusion(
    predictions: pd.DataFrame, title: str, path: Path, classes: list[str] | None = None
) -> Path:
    """Confusion matrix with counts in each cell, its axes named by class."""
    actual, predicted = predictions["actual"].astype(str), predictions["predicted"].astype(str)
    labels = classes or sorted(set(actual) | set(predicted))
    matrix = confusion_matrix(actual, predicted, labels=labels)
    side = 3.2 + 0.45 * len(labels)
    figure = Figure(figsize=(side + 0.8, side))
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    for row, counts in enumerate(matrix):
        for column, count in enumerate(counts):
            colour = "white" if count > matrix.max() / 2 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour)
    ticks = range(len(labels))
    rotate = len(labels) > 3 or max(map(len, labels)) > 8
    axes.set_xticks(ticks, labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    axes.set_yticks(ticks, labels)
    axes.set(xlabel="predicted", ylabel="actual", title=title)
    return _save(figure, path)


def importance(ranked: pd.DataFrame, title: str, path: Path) -> Path:
    """Horizontal bar chart of feature importance, most important at the top."""
    figure = Figure(figsize=(6, 0.3 * len(ranked) + 1.2))
    axes = figure.subplots()
    ordered = ranked.iloc[::-1]
    axes.barh(ordered["feature"], ordered["importance"], color="tab:blue")
    axes.set(xlabel="mean drop in ROC AUC when the column is shuffled", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=4))  # small values: long tick labels
    return _save(figure, path)


def draw_all(tables: dict[str, pd.DataFrame], directory: Path, classes: list[str]) -> list[Path]:
    """Draw every evaluation plot into ``directory``; return the files written."""
    return [
        *(curve({"model": tables[k.name]}, k, directory / f"{k.name}.png") for k in CURVES),
        confusion(
            tables["predictions"], "Confusion matrix", directory / "confusion_matrix.png", classes
        ),
        importance(
            tables["feature_importance"], "Permutation importance", directory / "importance.png"
        ),
    ]
