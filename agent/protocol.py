"""The Model contract: anything that answers chat messages, optionally with tool calls."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Model(Protocol):
    """A chat model.

    `query` returns a dict: {"content": str, "tool_calls": [{"id", "name", "arguments"(str JSON)}],
    "cost": float (dollars), "usage": {"prompt_tokens", "completion_tokens"}}.
    """

    name: str

    def query(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """One completion for `messages`; raises agent.errors.ModelError after retries."""
        ...
