"""The Tool contract: what the agent can do inside an Env."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from patchjury.envs.protocol import Env


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


@runtime_checkable
class Tool(Protocol):
    """One agent action. `schema` is the JSON schema of `args` (OpenAI function parameters)."""

    name: str
    description: str
    schema: dict[str, Any]

    def run(self, env: Env, args: dict[str, Any]) -> Observation:
        """Execute the call; never raises for bad arguments or failing commands."""
        ...
