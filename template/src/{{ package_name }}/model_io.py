"""Save and load the model in the skops format, which does not run code when loaded.

Loading refuses any type outside an explicit allow-list, so a tampered model file
cannot execute code the way a pickle or joblib file can.
"""

from __future__ import annotations

from pathlib import Path

import skops.io as sio
from sklearn.base import BaseEstimator

from .config import InputError

# Types skops does not trust by default but that the models of this project need: the
# trees of a random forest, and the dtype the one-hot encoder writes (data, not code).
TRUSTED_TYPES = frozenset({"numpy.dtype", "sklearn.tree._tree.Tree"})


class UntrustedModelError(InputError):
    """The model file contains types outside the allow-list."""


def save_model(model: BaseEstimator, path: Path) -> None:
    """Write ``model`` to ``path`` in the skops format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)


def load_model(path: Path, trusted: frozenset[str] = TRUSTED_TYPES) -> BaseEstimator:
    """Load a model, refusing files that contain types outside ``trusted``."""
    untrusted = set(sio.get_untrusted_types(file=path)) - trusted
    if untrusted:
        names = ", ".join(sorted(untrusted))
        msg = f"{path} contains types that are not trusted: {names}"
        raise UntrustedModelError(msg)
    return sio.load(path, trusted=sorted(trusted))
