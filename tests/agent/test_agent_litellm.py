"""Full trajectories through the REAL litellm request/response path against a local OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import REPRO, agent_config, fixing_script
from fakes.openai_server import FakeOpenAIServer

from patchjury.agent.config import ModelConfig
from patchjury.agent.runner import run_trajectories
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import Task
from patchjury.trajectory_record import load_trajectory


def _calls(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": step["tool"], "arguments": step["args"]}]


def _render(step: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(step).replace("{{ index }}", "0"))


@pytest.mark.slow
def test_native_tool_calling_trajectory_through_litellm(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    script = [{"content": "step", "tool_calls": _calls(_render(s))} for s in fixing_script()]
    with FakeOpenAIServer(script) as server:
        model = ModelConfig(name="openai/fake-coder", api_base=server.base_url, extra={"api_key": "sk-fake"})
        (cand,) = run_trajectories(
            task,
            lambda i: LocalEnv(LocalEnvConfig(repo=buggy_repo)),
            tmp_path / "run",
            agent_config(n_trajectories=1, temperature=0.3),
            model,
            progress=False,
        )
        requests = server.requests
    assert cand.status == "submitted" and cand.reproduced is True
    assert "+    return a + b" in cand.model_patch and cand.tests[0].content == REPRO
    assert len(requests) == 6 and requests[0]["model"] == "fake-coder" and requests[0]["temperature"] == 0.3
    assert {t["function"]["name"] for t in requests[0]["tools"]} >= {
        "edit",
        "write_test",
        "run_test",
        "submit",
    }
    last = requests[-1]["messages"]
    assert [m["role"] for m in last[:3]] == ["system", "user", "assistant"]
    tool_msgs = [m for m in last if m["role"] == "tool"]
    assert len(tool_msgs) == 5 and tool_msgs[0]["tool_call_id"] == "call_1_0"
    assert "add(2, 2) returns 0" in last[1]["content"]
    record = load_trajectory(str(cand.trajectory))
    assert record.model == "openai/fake-coder"
    assert record.totals.prompt_tokens == 600 and record.totals.completion_tokens == 120


def test_text_format_fallback_trajectory(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    def block(step: dict[str, Any]) -> dict[str, Any]:
        step = _render(step)
        body = json.dumps({"name": step["tool"], "arguments": step["args"]})
        return {"content": f"I will call {step['tool']}.\n```tool\n{body}\n```"}

    steps = fixing_script()
    script = [block(steps[0]), {"content": "```tool\n{broken json\n```"}, *[block(s) for s in steps[1:]]]
    with FakeOpenAIServer(script) as server:
        model = ModelConfig(
            name="openai/old-model", api_base=server.base_url, text_tool_format=True, extra={"api_key": "k"}
        )
        (cand,) = run_trajectories(
            task,
            lambda i: LocalEnv(LocalEnvConfig(repo=buggy_repo)),
            tmp_path / "run",
            agent_config(n_trajectories=1),
            model,
            progress=False,
        )
        requests = server.requests
    assert cand.status == "submitted" and "+    return a + b" in cand.model_patch
    assert all("tools" not in r for r in requests)
    assert "```tool" in requests[0]["messages"][0]["content"]
    roles = [m["role"] for m in requests[-1]["messages"]]
    assert "tool" not in roles and roles[:2] == ["system", "user"]
    third = requests[2]["messages"][-1]["content"]
    assert third.startswith("Observation from `__malformed__`") and "not valid JSON" in third
    record = load_trajectory(str(cand.trajectory))
    assert record.steps[1].observations[0].format_error is True
