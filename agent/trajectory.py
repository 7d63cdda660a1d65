"""Trajectory records: one JSON file per trajectory, rewritten atomically after every step.

Layout under a run directory:
    trajectories/<instance>/<traj_id>.json    messages, steps (calls, observations, cost, tokens, timings), outputs
    trajectories/<instance>/<traj_id>.patch   the final patch (also inside the JSON)
    blobs/<instance>/<traj_id>/step-NNN.diff  workspace snapshots referenced from the checkpointed state
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from patchjury.agent.errors import TrajectoryFileError

FORMAT = "patchjury-trajectory/1"


def safe_name(text: str) -> str:
    """A file-name-safe version of an instance id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "instance"


def traj_id_for(index: int) -> str:
    return f"t{index:03d}"


def trajectory_path(run_dir: Path, instance_id: str, index: int) -> Path:
    return Path(run_dir) / "trajectories" / safe_name(instance_id) / f"{traj_id_for(index)}.json"


def blob_dir(run_dir: Path, instance_id: str, index: int) -> Path:
    return Path(run_dir) / "blobs" / safe_name(instance_id) / traj_id_for(index)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a kill never leaves half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        try:
            tmp.write_text(text)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise TrajectoryFileError(
            f"cannot write {path}: {exc.strerror}; check disk space and permissions"
        ) from exc


def load_record(path: str | Path) -> dict[str, Any]:
    """Read a trajectory JSON (raises TrajectoryFileError naming the problem)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise TrajectoryFileError(f"cannot read trajectory {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise TrajectoryFileError(f"{path} is not valid JSON ({exc}): is it a patchjury trajectory?") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TrajectoryFileError(f"{path} is not a patchjury trajectory record (format {FORMAT})")
    return data


class Recorder:
    """The in-memory record of one trajectory, saved to `path` after every change."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def new(cls, path: Path, **header: Any) -> Recorder:
        data: dict[str, Any] = {
            "format": FORMAT,
            **header,
            "status": "running",
            "created_at": time.time(),
            "updated_at": time.time(),
            "messages": [],
            "steps": [],
            "totals": {"steps": 0, "cost": 0.0, "prompt_tokens": 0, "completion_tokens": 0, "elapsed_s": 0.0},
            "patch": "",
            "tests": [],
            "reproduced": None,
            "error": None,
            "resumes": [],
        }
        if path.exists():  # a previous attempt died before its first checkpoint: keep it, never lose it
            data["resumes"].append({"at": time.time(), "discarded_record": load_record(path)})
        return cls(path, data)

    @classmethod
    def resume(
        cls, path: Path, n_messages: int, n_steps: int, last: dict[str, Any] | None = None
    ) -> Recorder:
        """Reopen a record at the last checkpoint; anything recorded after it is kept under `resumes`.
        `last` (from the state) restores an assistant message checkpointed but not yet written."""
        data = load_record(path)
        if last and len(data["messages"]) == n_messages - 1 and len(data["steps"]) == n_steps - 1:
            data["messages"].append(last["message"])
            data["steps"].append(last["step"])
        extra_msgs, extra_steps = data["messages"][n_messages:], data["steps"][n_steps:]
        data["messages"], data["steps"] = data["messages"][:n_messages], data["steps"][:n_steps]
        data["resumes"].append(
            {
                "at": time.time(),
                "from_step": n_steps,
                "discarded_messages": extra_msgs,
                "discarded_steps": extra_steps,
            }
        )
        data["status"] = "running"
        return cls(path, data)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.data["messages"]

    def save(self) -> None:
        self.data["updated_at"] = time.time()
        write_atomic(self.path, json.dumps(self.data, separators=(",", ":"), default=str))  # C encoder: fast

    def add_query(self, message: dict[str, Any], step: dict[str, Any]) -> None:
        """Append the assistant message (written with the observations by `add_observations`)."""
        self.data["messages"].append(message)
        self.data["steps"].append(step)

    def add_observations(
        self, messages: list[dict[str, Any]], observations: list[dict[str, Any]], act_s: float
    ) -> None:
        self.data["messages"].extend(messages)
        last = self.data["steps"][-1]
        last["observations"] = observations
        last["act_s"] = round(act_s, 4)
        self.save()

    def set_totals(self, state: dict[str, Any]) -> None:
        self.data["totals"] = {
            "steps": state.get("step", 0),
            "cost": state.get("cost", 0.0),
            "prompt_tokens": state.get("prompt_tokens", 0),
            "completion_tokens": state.get("completion_tokens", 0),
            "elapsed_s": round(state.get("elapsed_s", 0.0), 3),
        }

    def finish(
        self, status: str, patch: str, tests: list[dict[str, Any]], reproduced: bool | None, error: str | None
    ) -> None:
        self.data.update(status=status, patch=patch, tests=tests, reproduced=reproduced, error=error)
        self.data["finished_at"] = time.time()
        write_atomic(self.path.with_suffix(".patch"), patch)
        self.save()
