"""Replay another agent's recorded bash commands through our loop: the k-th query runs its k-th command.

`--model replay-bash:FILE` (or `FILE#INSTANCE_ID`; `swebench run` fills `{instance_id}`): every recorded
command becomes a `run` tool call in our container, then the trajectory submits. Each assistant message
names the recorded return code, and the `run` observation holds ours, so the trajectory record carries both
side by side (patchjury.core.fidelity compares them).
"""

from __future__ import annotations

import time
from typing import Any

from patchjury.agent.config import ModelConfig
from patchjury.agent.errors import ModelError
from patchjury.agent.models.base import OfflineModel, Sampling, response, tool_call
from patchjury.agent.models.recorded_bash import RecordedCommand, load_recorded
from patchjury.agent.protocol import ModelResponse


def describe(k: int, n: int, cmd: RecordedCommand) -> str:
    """The assistant text of replayed command k (0-based) of n."""
    if cmd.timed_out:
        recorded = "timed out"
    elif cmd.returncode is None:
        recorded = "none recorded"
    else:
        recorded = str(cmd.returncode)
    return f"[replay-bash] command {k + 1}/{n}; recorded return code: {recorded}"


class ReplayBashModel(OfflineModel):
    """Model protocol answering with `run` calls of the recorded commands, then `submit`."""

    @staticmethod
    def check_config(config: ModelConfig) -> str | None:
        if config.replay_path:
            return None
        return "a replay-bash model needs `replay_path` (a mini-swe-agent .traj.json or FILE#INSTANCE_ID)"

    @staticmethod
    def from_spec(rest: str) -> dict[str, Any]:
        """`--model replay-bash:<other agent's trajectory>[#instance_id]`."""
        return {"replay_path": rest}

    def __init__(self, config: ModelConfig, sampling: Sampling | None = None) -> None:
        self.config = config
        self.sampling = sampling or Sampling()
        self.recorded = load_recorded(config.replay_path or "")
        self.commands = self.recorded.commands
        self.name = config.name or f"replay-bash:{self.recorded.instance_id or self.recorded.path}"

    def query(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        if self.config.latency_s:
            time.sleep(self.config.latency_s)
        k = sum(1 for m in messages if m.get("role") == "assistant")
        n = len(self.commands)
        if k < n:
            cmd = self.commands[k]
            return response(describe(k, n, cmd), [tool_call(f"replay-{k}", "run", {"command": cmd.command})])
        if k == n:
            return response(
                f"[replay-bash] all {n} recorded commands replayed; submitting",
                [tool_call(f"replay-{k}", "submit", {})],
            )
        raise ModelError(
            f"replay-bash: the {n} recorded commands are exhausted and the submission was refused "
            "(no change to submit?)"
        )
