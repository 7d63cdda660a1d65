"""Progress events of a run, for callbacks, the streaming iterator and the rich live display."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["start", "resume", "skip", "step", "end", "done"]


@dataclass
class Event:
    """One thing that happened. `done` is the last event of a run and carries the candidates."""

    kind: EventKind
    instance_id: str
    index: int = -1
    """Trajectory index (-1 for run-level events)."""
    step: int = 0
    cost: float = 0.0
    status: str = "running"
    model: str = ""
    detail: str = ""
    """Tool names of a step, the error of a failed trajectory, ..."""
    candidates: list[Any] = field(default_factory=list)
    """`done` only: the list of patchjury.records.Candidate."""
    thought: str = ""
    """`step` only: the model's text of the step (abridged)."""
    calls: list[str] = field(default_factory=list)
    """`step` only: each tool call as `name {arguments}` (abridged)."""
    observations: list[str] = field(default_factory=list)
    """`step` only: what each call gave back (abridged)."""
    time: float = field(default_factory=time.time)


EventCallback = Callable[[Event], None]


def abridge(text: str, limit: int = 400) -> str:
    """The first `limit` characters of `text`, saying how many were left out."""
    text = text.strip()
    return text if len(text) <= limit else f"{text[:limit]} [... {len(text) - limit:,} more characters]"
