"""Save and load the model in the skops format, which does not run code when loaded.

Loading refuses any type outside an explicit allow-list, so a tampered model file
cannot execute code the way a pickle or joblib file can.

The same model is always saved as the same bytes: skops names the archive's entries after
object addresses and stamps them with the time, so `save_model` renumbers both in document
order. Retraining from the same inputs, seed and packages thus reproduces the md5 that
dvc.lock records, which is what the deploy path checks.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio
from sklearn.base import BaseEstimator

from .config import InputError

# Types skops does not trust by default but that the models of this project need: the
# trees of a random forest, and the dtype the one-hot encoder writes (data, not code).
TRUSTED_TYPES = frozenset({"numpy.dtype", "sklearn.tree._tree.Tree"})


class UntrustedModelError(InputError):
    """The model file contains types outside the allow-list."""


SCHEMA_ENTRY = "schema.json"
STABLE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


def canonical(archive: bytes) -> bytes:
    """A skops archive rewritten with entry names, object ids and times that depend only on
    the model: ids and array files are numbered in the order the schema lists them."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, list):
            return [renumber(item) for item in node]
        if not isinstance(node, dict):
            return node
        stable: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                stable[key] = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str) and value in entries:
                stable[key] = files.setdefault(value, f"{len(files)}{Path(value).suffix}")
            else:
                stable[key] = renumber(value)
        return stable

    schema = renumber(json.loads(entries.pop(SCHEMA_ENTRY)))
    if set(files) != set(entries):  # an entry the schema does not name: keep skops's archive
        return archive
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        contents = [(SCHEMA_ENTRY, json.dumps(schema, indent=2).encode())]
        contents += [(new, entries[old]) for old, new in files.items()]
        for name, content in contents:
            info = zipfile.ZipInfo(name, date_time=STABLE_TIME)
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return buffer.getvalue()


def save_model(model: BaseEstimator, path: Path) -> None:
    """Write ``model`` to ``path`` in the skops format, the same model as the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical(sio.dumps(model)))


def load_model(path: Path, trusted: frozenset[str] = TRUSTED_TYPES) -> BaseEstimator:
    """Load a model, refusing files that contain types outside ``trusted``."""
    untrusted = set(sio.get_untrusted_types(file=path)) - trusted
    if untrusted:
        names = ", ".join(sorted(untrusted))
        msg = f"{path} contains types that are not trusted: {names}"
        raise UntrustedModelError(msg)
    return sio.load(path, trusted=sorted(trusted))
