"""Pieces shared by the model backends: sampling settings, response shape, tool-call normalization."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
    tool_calls: list[dict[str, Any]] | None = None,
    cost: float = 0.0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> dict[str, Any]:
    """The dict every Model.query returns."""
    return {
        "content": content or "",
        "tool_calls": tool_calls or [],
        "cost": float(cost),
        "usage": {"prompt_tokens": int(prompt_tokens), "completion_tokens": int(completion_tokens)},
    }


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """One normalized call: arguments are always a JSON string (possibly malformed: the loop checks)."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return {"id": call_id, "name": str(name), "arguments": arguments}


def rough_tokens(messages: list[dict[str, Any]]) -> int:
    """Cheap token estimate (4 characters per token) for models that report no usage."""
    return (
        sum(len(str(m.get("content") or "")) + len(json.dumps(m.get("tool_calls") or [])) for m in messages)
        // 4
    )
