"""Replay a saved trajectory: the k-th query returns the k-th assistant message of the record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from patchjury.agent.config import ModelConfig
from patchjury.agent.errors import AgentConfigError, ModelError
from patchjury.agent.models.base import Sampling, response, tool_call


def _assistant_messages(path: Path) -> list[dict[str, Any]]:
    try:
        record = json.loads(path.read_text())
    except OSError as exc:
        raise AgentConfigError(f"cannot read model.replay_path {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise AgentConfigError(f"model.replay_path {path} is not a trajectory JSON: {exc}") from exc
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list):
        raise AgentConfigError(f"{path} has no `messages` list: is it a patchjury trajectory record?")
    return [m for m in messages if m.get("role") == "assistant"]


class ReplayModel:
    """Model protocol answering with the assistant messages of a recorded trajectory, in order."""

    def __init__(self, config: ModelConfig, sampling: Sampling | None = None) -> None:
        self.config = config
        self.sampling = sampling or Sampling()
        self.path = Path(config.replay_path or "")
        self.answers = _assistant_messages(self.path)
        self.name = config.name or f"replay:{self.path.name}"

    def query(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        if self.config.latency_s:
            time.sleep(self.config.latency_s)
        step = sum(1 for m in messages if m.get("role") == "assistant")
        if step >= len(self.answers):
            raise ModelError(
                f"replay of {self.path} has only {len(self.answers)} assistant messages (asked #{step + 1})"
            )
        msg = self.answers[step]
        calls = [
            tool_call(c.get("id", f"replay-{step}-{k}"), c["function"]["name"], c["function"]["arguments"])
            for k, c in enumerate(msg.get("tool_calls") or [])
        ]
        return response(msg.get("content"), calls)
