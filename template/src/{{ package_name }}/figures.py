"""What every task's figures share: how a figure is saved, and the permutation importance
chart. Each task draws its own figures (task.py), without a display (matplotlib's object
API)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` as a PNG image. A class or value named with a character
    the font lacks (an emoji, say) is drawn as a box, not refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    return path


def importance(sides: dict[str, pd.DataFrame], quality: str, path: Path, title: str) -> Path:
    """Horizontal bar chart of feature importance (the drop in ``quality`` when a column is
    shuffled), most important at the top: one bar per feature for one table, and for two
    (base and head) a bar of each beside the other, in the order of the last."""
    *_, last = sides.values()
    features = list(last["feature"])[::-1]
    figure = Figure(figsize=(6, (0.3 if len(sides) == 1 else 0.45) * len(features) + 1.2))
    axes = figure.subplots()
    height = 0.8 / len(sides)
    for rank, (side, table) in enumerate(sides.items()):
        shown = table.set_index("feature")["importance"].reindex(features).fillna(0.0)
        offset = (rank - (len(sides) - 1) / 2) * height
        places = [index + offset for index in range(len(features))]
        label = None if len(sides) == 1 else side
        axes.barh(places, shown.to_numpy(), height=height, color=f"C{rank}", label=label)
    axes.set_yticks(range(len(features)), features)
    axes.set(xlabel=f"mean drop in {quality} when the column is shuffled", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=4))  # small values: long tick labels
    if len(sides) > 1:
        axes.legend(loc="lower right", fontsize="small")
    return save(figure, path)
