"""State and run-scoped context of one trajectory graph (see agent.loop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from patchjury.agent.config import AgentConfig
from patchjury.agent.events import Event, EventCallback, EventKind
from patchjury.agent.prompting import Prompts
from patchjury.agent.protocol import Model
from patchjury.agent.trajectory import Recorder
from patchjury.envs.protocol import Env
from patchjury.tools.protocol import Tool


class TrajState(TypedDict, total=False):
    """Checkpointed state of one trajectory (small values and file references only)."""

    index: int
    step: int
    n_messages: int
    cost: float
    prompt_tokens: int
    completion_tokens: int
    elapsed_s: float
    format_errors: int
    pending: list[dict[str, Any]]
    last: dict[str, Any]
    """The last assistant message and its step entry until `act` saves them with the observations."""
    status: str
    error: str
    workspace: str
    """Path of the latest workspace diff blob ('' = clean checkout)."""
    submitted: dict[str, Any]
    """{"path": blob file holding the submitted patch and tests} (never their contents)."""


@dataclass
class TrajContext:
    """Run-scoped objects of one trajectory (never checkpointed)."""

    instance_id: str
    config: AgentConfig
    model: Model
    env: Env
    tools: dict[str, Tool]
    schemas: list[dict[str, Any]]
    prompts: Prompts
    recorder: Recorder
    blobs: Any
    """pathlib.Path of this trajectory's blob directory."""
    finalize: Any
    """Callable(ctx, state) -> state update computing patch/tests/reproduced at the end."""
    run_tool: Any
    """tools.registry.run_tool (injected so the loop stays import-light)."""
    on_event: EventCallback | None = None
    read_only: frozenset[str] = field(
        default_factory=lambda: frozenset({"view", "search", "find_files", "repo_map"})
    )

    def emit(self, kind: EventKind, state: dict[str, Any], detail: str = "") -> None:
        if self.on_event is not None:
            self.on_event(
                Event(
                    kind,
                    self.instance_id,
                    state.get("index", -1),
                    state.get("step", 0),
                    state.get("cost", 0.0),
                    state.get("status", "running"),
                    self.model.name,
                    detail,
                )
            )
