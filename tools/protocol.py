"""The Tool contract: what the agent can do inside an Env."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from patchjury.envs.protocol import Env
from patchjury.records import Task

FORMAT_ERROR_KINDS = frozenset({"unknown_tool", "bad_json", "bad_arguments"})
"""`data["error_kind"]` values of observations answering a malformed call (the agent counts them)."""


class Observation(BaseModel):
    """What a tool call returns to the model. Tool errors are observations, not exceptions."""

    text: str
    """What the model reads (already truncated head+tail with a note when long)."""
    error: bool = False
    """True when the call failed (bad arguments, no unique match, command failed...)."""
    submitted: bool = False
    """True only for a successful `submit`: the trajectory ends."""
    data: dict[str, Any] = {}
    """Structured extras for the runner (e.g. exit code, test path); never shown to the model."""

    @property
    def malformed(self) -> bool:
        """The call itself was malformed (unknown tool, bad JSON, arguments against the schema)."""
        return self.error and self.data.get("error_kind") in FORMAT_ERROR_KINDS


@runtime_checkable
class Tool(Protocol):
    """One agent action. `schema` is the JSON schema of `args` (OpenAI function parameters).

    A tool owns its behaviour: whether it can change files (`read_only`: no workspace snapshot after it), what it
    prepares when a trajectory starts (`on_start`, e.g. repo_map centres on the issue) and what it tidies when
    the trajectory ends (`on_end`). tools.base.BaseTool gives the defaults.
    """

    name: str
    description: str
    schema: dict[str, Any]
    read_only: bool

    def run(self, env: Env, args: dict[str, Any]) -> Observation:
        """Validate `args` against `schema`, then execute; never raises for bad arguments or failing commands
        (a schema violation is an error observation with `data["error_kind"] == "bad_arguments"`)."""
        ...

    def on_start(self, env: Env, task: Task) -> None:
        """Called once when a trajectory of `task` starts in `env` (not on resume)."""
        ...

    def on_end(self, env: Env) -> None:
        """Called once when the trajectory ends, before the Env is closed."""
        ...
