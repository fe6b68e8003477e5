"""What every task's figures share: how a figure is saved, and the permutation importance
chart. Each task draws its own figures (task.py), without a display (matplotlib's object
API)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` as a PNG image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def importance(ranked: pd.DataFrame, quality: str, path: Path, title: str) -> Path:
    """Horizontal bar chart of feature importance (the drop in ``quality`` when a column is
    shuffled), most important at the top."""
    figure = Figure(figsize=(6, 0.3 * len(ranked) + 1.2))
    axes = figure.subplots()
    ordered = ranked.iloc[::-1]
    axes.barh(ordered["feature"], ordered["importance"], color="tab:blue")
    axes.set(xlabel=f"mean drop in {quality} when the column is shuffled", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=4))  # small values: long tick labels
    return save(figure, path)
