"""Pieces shared by the model backends: sampling settings, response shape, tool-call normalization."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from patchjury.agent.config import ModelConfig
from patchjury.agent.protocol import ModelResponse, ToolCall
from patchjury.trajectory_record import Usage


@dataclass(frozen=True)
class Sampling:
    """Per-trajectory sampling settings, so N samples of one task differ."""

    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    index: int = 0
    """Trajectory index (the deterministic model templates its script with it)."""


def response(
    content: str | None,
    tool_calls: list[ToolCall] | None = None,
    cost: float = 0.0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> ModelResponse:
    """A ModelResponse from plain values."""
    usage = Usage(prompt_tokens=int(prompt_tokens), completion_tokens=int(completion_tokens))
    return ModelResponse(content=content or "", tool_calls=tool_calls or [], cost=float(cost), usage=usage)


def tool_call(call_id: str, name: str, arguments: Any) -> ToolCall:
    """One normalized call: arguments are always a JSON string (possibly malformed: the tools check)."""
    return ToolCall(id=call_id, name=str(name), arguments=arguments)


UNLIMITED = 1_000_000_000
"""Context window of scripted backends when `model.context_window` is not set."""


class OfflineModel:
    """Context window and token count of the scripted backends: `model.context_window` (default unlimited) and
    4 characters per token."""

    config: ModelConfig

    @property
    def context_window(self) -> int:
        return self.config.context_window or UNLIMITED

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        return rough_tokens(messages) + (len(json.dumps(tools)) // 4 if tools else 0)


def rough_tokens(messages: list[dict[str, Any]]) -> int:
    """Cheap token estimate (4 characters per token) for models that report no usage."""
    return (
        sum(len(str(m.get("content") or "")) + len(json.dumps(m.get("tool_calls") or [])) for m in messages)
        // 4
    )
