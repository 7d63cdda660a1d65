"""The Model contract: anything that answers chat messages, optionally with tool calls, and what it answers."""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchjury.trajectory_record import Usage


class ToolCall(BaseModel):
    """One tool call of a response, normalized across providers and the text format."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    arguments: str = ""
    """JSON object text as the model wrote it (possibly malformed: the tools report that to the model)."""

    @field_validator("arguments", mode="before")
    @classmethod
    def _as_json(cls, value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    def wire(self) -> dict[str, Any]:
        """The OpenAI `tool_calls` entry of the assistant message."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class ModelResponse(BaseModel):
    """What `Model.query` returns."""

    model_config = ConfigDict(extra="forbid")

    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    cost: float = 0.0
    """Dollars of this call (0 when the price is unknown)."""
    usage: Usage = Field(default_factory=Usage)
    reasoning: str | None = None
    """The model's reasoning text (`reasoning_content`), when the provider returns it."""
    thinking_blocks: list[dict[str, Any]] | None = None
    """Anthropic-style thinking blocks (signed; sent back to those providers with tool use)."""

    @field_validator("content", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return value or ""

    def message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation (OpenAI wire format)."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [c.wire() for c in self.tool_calls]
        if self.reasoning:
            msg["reasoning_content"] = self.reasoning  # kept in the record; the wire leaves it out
        if self.thinking_blocks:
            msg["thinking_blocks"] = self.thinking_blocks
        return msg


@runtime_checkable
class Model(Protocol):
    """A chat model, with the size of what it can read (agent.history fits the conversation into it)."""

    name: str

    @property
    def context_window(self) -> int:
        """Prompt tokens the model accepts."""
        ...

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        """Prompt tokens of `messages` (and `tools`) as this model would be sent them."""
        ...

    def query(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        """One completion for `messages` (OpenAI wire format); raises agent.errors.ModelError after retries."""
        ...
