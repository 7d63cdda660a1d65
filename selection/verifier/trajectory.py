"""Read a candidate's trajectory (path or inline) into a small, format-tolerant summary.

Understands patchjury trajectory records (read with the ground floor's one loader, patchjury.trajectory_record)
and the common shapes of other agents' logs (a list of steps, or a dict with `trajectory`/`history`/`messages`).
Never raises on an unknown shape: the summary then says the trajectory is absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchjury.records import Candidate
from patchjury.selection.errors import VerifierError
from patchjury.trajectory_record import RecordFileError, is_trajectory, parse_trajectory

_STEP_KEYS = ("steps", "trajectory", "history")


@dataclass
class TrajectorySummary:
    """What the verifier and judge use from a trajectory."""

    present: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)
    """Steps as dicts (thought/action/observation or message-like)."""
    status: str | None = None
    reproduced: bool | None = None
    n_messages: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The chat messages, when the trajectory records them (patchjury records and message-style logs)."""


def _raw(candidate: Candidate) -> Any:
    traj = candidate.trajectory
    if traj is None or isinstance(traj, dict):
        return traj
    path = Path(traj)
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise VerifierError(
            f"candidate {candidate.candidate_id or '?'} of {candidate.instance_id}: cannot read trajectory {path} "
            f"({exc.strerror}); fix the path or drop the 'trajectory' field"
        ) from exc
    except json.JSONDecodeError as exc:
        raise VerifierError(
            f"trajectory {path} is not valid JSON ({exc.msg}); pass a JSON trajectory file"
        ) from exc


def summarize(candidate: Candidate) -> TrajectorySummary:
    """Summary of the candidate's trajectory; `present=False` when there is none."""
    data = _raw(candidate)
    out = TrajectorySummary(status=None, reproduced=candidate.reproduced)
    if data is None:
        return out
    if is_trajectory(data):
        return _ours(data, out, candidate)
    steps: Any = None
    if isinstance(data, list):
        steps = data
    elif isinstance(data, dict):
        for key in _STEP_KEYS:
            if isinstance(data.get(key), list):
                steps = data[key]
                break
        msgs = data.get("messages")
        out.n_messages = len(msgs) if isinstance(msgs, list) else 0
        out.messages = [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []
        if steps is None and isinstance(msgs, list):
            steps = [m for m in msgs if isinstance(m, dict) and m.get("role") == "assistant"]
        status = data.get("status") or data.get("exit_status")
        out.status = str(status) if status else None
        if out.reproduced is None and isinstance(data.get("reproduced"), bool):
            out.reproduced = data["reproduced"]
    if not isinstance(steps, list):
        return out
    out.present = True
    out.steps = [s if isinstance(s, dict) else {"content": str(s)} for s in steps]
    return out


def _ours(data: dict[str, Any], out: TrajectorySummary, candidate: Candidate) -> TrajectorySummary:
    """A patchjury trajectory record, through the one loader."""
    try:
        record = parse_trajectory(data, f"trajectory of candidate {candidate.candidate_id or '?'}")
    except RecordFileError as exc:
        raise VerifierError(str(exc)) from exc
    out.present = True
    out.steps = [s for s in data.get("steps") or [] if isinstance(s, dict)]  # as recorded (validated above)
    out.n_messages = len(record.messages)
    out.messages = record.messages
    out.status = record.status or None
    if out.reproduced is None:
        out.reproduced = record.reproduced
    return out
