"""Predictions to grade: `{instance_id, model_patch, model_name_or_path}` per instance.

Accepted files: JSON Lines (optionally .gz), a JSON list, or a JSON object keyed by instance id (as the
official harness accepts).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from patchjury.envs.swebench.errors import DatasetError
from patchjury.envs.swebench.instances import read_rows


class Prediction(BaseModel):
    """One model's patch for one instance (extra fields are kept)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    instance_id: str
    """Instance the patch answers."""
    model_patch: str | None = None
    """Unified diff against the base commit; empty or None = no patch."""
    model_name_or_path: str = ""
    """Name of the system that produced it."""


def load_predictions(path: Path) -> dict[str, Prediction]:
    """instance_id -> Prediction; one clear error for a missing, unreadable or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"predictions file {path} not found; pass --predictions FILE (.jsonl or .json)")
    try:
        rows = read_rows(path)
    except DatasetError as exc:
        raise DatasetError(f"unreadable predictions: {exc}") from exc
    out: dict[str, Prediction] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DatasetError(f"{path}: prediction {i} is a {type(row).__name__}, expected an object")
        try:
            pred = Prediction.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise DatasetError(
                f"{path}: prediction {i}: field {field!r}: {first['msg']} "
                "(each prediction needs instance_id and model_patch)"
            ) from exc
        if pred.instance_id in out:
            raise DatasetError(
                f"{path}: instance {pred.instance_id!r} has two predictions; grade one per instance per run "
                "(split the file, e.g. one per model_name_or_path)"
            )
        out[pred.instance_id] = pred
    if not out:
        raise DatasetError(f"{path}: no predictions in the file")
    return out
