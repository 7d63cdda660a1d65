"""State and run-scoped context of one trajectory graph (see agent.loop)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from patchjury.agent.config import AgentConfig
from patchjury.agent.events import Event, EventCallback, EventKind
from patchjury.agent.history import History
from patchjury.agent.prompting import Prompts
from patchjury.agent.protocol import Model
from patchjury.agent.trajectory import Cursor, Pending, Recorder
from patchjury.envs.protocol import Env
from patchjury.tools.toolset import Toolset


class TrajState(TypedDict, total=False):
    """Checkpointed state of one trajectory: a cursor into its record, never a copy of it.

    Steps, cost, tokens and time live in the trajectory record only (its totals); the state says how much of
    the record this checkpoint covers, plus what the graph needs to carry on (pending calls, file references).
    """

    index: int
    cursor: Cursor
    """Messages and steps of the record covered by this checkpoint."""
    pending: Pending | None
    """The current step's assistant message, step entry and calls, until `act` writes them with the
    observations (restores them if the process dies in between)."""
    format_errors: int
    status: str
    error: str
    workspace: str
    """Path of the latest workspace blob ('' = clean checkout)."""
    submitted: dict[str, Any]
    """{"path": blob file holding the submitted patch and tests} (never their contents)."""


@dataclass
class TrajContext:
    """Run-scoped objects of one trajectory (never checkpointed)."""

    instance_id: str
    index: int
    config: AgentConfig
    model: Model
    env: Env
    toolset: Toolset
    prompts: Prompts
    recorder: Recorder
    history: History
    """Fits the conversation into the model's context window."""
    blobs: Path
    """This trajectory's blob directory."""
    on_event: EventCallback | None = None
    stop: threading.Event | None = None
    """Set by the caller to stop the trajectory before its next model query (see agent.errors.Interrupted)."""

    def emit(self, kind: EventKind, status: str, detail: str = "", **step: Any) -> None:
        """An event with the record's totals; `step` adds a step's thought, calls and observations."""
        if self.on_event is not None:
            totals = self.recorder.totals
            self.on_event(
                Event(
                    kind,
                    self.instance_id,
                    self.index,
                    totals.steps,
                    totals.cost,
                    status,
                    self.model.name,
                    detail,
                    **step,
                )
            )
