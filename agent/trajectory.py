"""The trajectory writer: one JSON file per trajectory (patchjury.trajectory_record), rewritten atomically after
every step.

Layout under a run directory:
    trajectories/<instance>/<traj_id>.json    messages, steps (calls, observations, cost, tokens, timings), outputs
    trajectories/<instance>/<traj_id>.patch   the final patch (also inside the JSON)
    blobs/<instance>/<traj_id>/step-NNN.diff  workspace snapshots referenced from the checkpointed state
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, TypedDict

from patchjury.agent.errors import TrajectoryFileError
from patchjury.envs.secrets import redact
from patchjury.records import TestFile
from patchjury.trajectory_record import (
    FORMAT,
    ObservationRecord,
    RecordFileError,
    Resume,
    StepRecord,
    Totals,
    TrajectoryRecord,
    load_trajectory,
)

__all__ = ["FORMAT", "Cursor", "Pending", "Recorder", "TrajectoryRecord"]


class Cursor(TypedDict):
    """How many messages and steps of the record a checkpoint covers."""

    messages: int
    steps: int


class Pending(TypedDict):
    """The assistant message of the current step and its step entry, until `act` writes them."""

    message: dict[str, Any]
    step: dict[str, Any]
    calls: list[dict[str, Any]]


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
    """Write via a temporary file and rename, so a kill never leaves half a file; secrets of the process
    (API keys, tokens: envs.secrets) are redacted first."""
    text = redact(text)
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


class Recorder:
    """The record of one trajectory, saved to `path` after every change. Its totals are the sums over its
    steps (one source of truth: the graph state holds only a cursor into the record)."""

    def __init__(self, path: Path, record: TrajectoryRecord) -> None:
        self.path = path
        self.record = record

    @classmethod
    def new(cls, path: Path, **header: Any) -> Recorder:
        now = time.time()
        record = TrajectoryRecord(**header, status="running", created_at=now, updated_at=now)
        if path.exists():  # a previous attempt died before its first checkpoint: keep it, never lose it
            try:
                old: dict[str, Any] = load_trajectory(path).model_dump(mode="json")
            except RecordFileError as exc:
                old = {"unreadable": str(exc)}
            record.resumes.append(Resume(at=now, discarded_record=old))
        return cls(path, record)

    @classmethod
    def resume(cls, path: Path, cursor: Cursor, pending: Pending | None = None) -> Recorder:
        """Reopen a record at the checkpoint's cursor; anything recorded past it is kept under `resumes`.
        `pending` (from the state) restores an assistant message checkpointed but not yet written; when its calls
        had already run and been written (the process died before their checkpoint), that version of the step
        is kept under `resumes` too, since the calls run again in the restored workspace."""
        record = load_trajectory(path)
        n_messages, n_steps = cursor["messages"], cursor["steps"]
        redone: list[StepRecord] = []
        if pending:
            step = StepRecord.model_validate(pending["step"])
            if len(record.messages) == n_messages - 1 and len(record.steps) == n_steps - 1:
                record.messages.append(pending["message"])  # the query was checkpointed, never written
                record.steps.append(step)
            elif len(record.steps) >= n_steps:  # its calls ran after the checkpoint: they run again
                redone = [record.steps[n_steps - 1]]
                record.steps[n_steps - 1] = step
        extra_msgs, extra_steps = record.messages[n_messages:], redone + record.steps[n_steps:]
        record.messages, record.steps = record.messages[:n_messages], record.steps[:n_steps]
        record.resumes.append(
            Resume(
                at=time.time(),
                from_step=n_steps,
                discarded_messages=extra_msgs,
                discarded_steps=[s.model_dump(mode="json") for s in extra_steps],
            )
        )
        record.status = "running"
        record.totals = Totals.of(record.steps)
        return cls(path, record)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.record.messages

    @property
    def totals(self) -> Totals:
        return self.record.totals

    def cursor(self) -> Cursor:
        """Where this record stands (what a checkpoint stores instead of a copy of the counters)."""
        return {"messages": len(self.record.messages), "steps": len(self.record.steps)}

    def save(self) -> None:
        self.record.updated_at = time.time()
        write_atomic(self.path, self.record.to_json())

    def start(self, messages: list[dict[str, Any]]) -> None:
        """The first messages (system prompt, issue), saved at once."""
        self.record.messages = list(messages)
        self.save()

    def add_query(self, message: dict[str, Any], step: StepRecord) -> None:
        """Append the assistant message (written with the observations by `add_observations`)."""
        self.record.messages.append(message)
        self.record.steps.append(step)
        self.record.totals = Totals.of(self.record.steps)

    def add_observations(
        self, messages: list[dict[str, Any]], observations: list[ObservationRecord], act_s: float
    ) -> None:
        self.record.messages.extend(messages)
        last = self.record.steps[-1]
        last.observations = observations
        last.act_s = round(act_s, 4)
        self.record.totals = Totals.of(self.record.steps)
        self.save()

    def finish(
        self, status: str, patch: str, tests: list[TestFile], reproduced: bool | None, error: str | None
    ) -> None:
        rec = self.record
        rec.status, rec.patch, rec.tests, rec.reproduced, rec.error = status, patch, tests, reproduced, error
        rec.finished_at = time.time()
        write_atomic(self.path.with_suffix(".patch"), patch)
        self.save()
