"""Replay a saved trajectory: the k-th query returns the k-th assistant message of the record."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from patchjury.agent.config import ModelConfig
from patchjury.agent.errors import AgentConfigError, ModelError
from patchjury.agent.models.base import OfflineModel, Sampling, response, tool_call
from patchjury.agent.protocol import ModelResponse
from patchjury.trajectory_record import RecordFileError, load_trajectory


def _assistant_messages(path: Path) -> list[dict[str, Any]]:
    try:
        record = load_trajectory(path)
    except RecordFileError as exc:
        raise AgentConfigError(f"model.replay_path: {exc}") from exc
    return [m for m in record.messages if m.get("role") == "assistant"]


class ReplayModel(OfflineModel):
    """Model protocol answering with the assistant messages of a recorded trajectory, in order."""

    @staticmethod
    def check_config(config: ModelConfig) -> str | None:
        return (
            None
            if config.replay_path
            else "a replay model needs `replay_path` (a trajectory JSON written by patchjury)"
        )

    @staticmethod
    def from_spec(rest: str) -> dict[str, Any]:
        """`--model replay:<trajectory.json>`."""
        return {"replay_path": rest}

    def __init__(self, config: ModelConfig, sampling: Sampling | None = None) -> None:
        self.config = config
        self.sampling = sampling or Sampling()
        self.path = Path(config.replay_path or "")
        self.answers = _assistant_messages(self.path)
        self.name = config.name or f"replay:{self.path.name}"

    def query(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
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
