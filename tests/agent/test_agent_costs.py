"""Prompt caching and true costs, through litellm's real request path: OpenAI-style automatic caching (a
byte-stable prefix) and Anthropic's explicit `cache_control` breakpoints, priced from litellm's offline table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import agent_config, fixing_script
from fakes.openai_server import FakeOpenAIServer

from patchjury.agent.config import ModelConfig
from patchjury.agent.models.litellm_model import import_litellm
from patchjury.agent.runner import run_trajectories
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import Task
from patchjury.trajectory_record import StepRecord, TrajectoryRecord, load_trajectory


def script() -> list[dict[str, Any]]:
    steps = json.loads(json.dumps(fixing_script()).replace("{{ index }}", "0"))
    return [
        {"content": f"step {k}", "tool_calls": [{"name": s["tool"], "arguments": s["args"]}]}
        for k, s in enumerate(steps)
    ]


def solve(repo: Path, task: Task, tmp: Path, model: ModelConfig) -> TrajectoryRecord:
    (cand,) = run_trajectories(
        task,
        lambda i: LocalEnv(LocalEnvConfig(repo=repo)),
        tmp / "run",
        agent_config(n_trajectories=1),
        model,
        progress=False,
    )
    assert cand.status == "submitted"
    return load_trajectory(str(cand.trajectory))


def price(name: str, step: StepRecord) -> float:
    """Dollars of one step from the offline price table: each kind of prompt token at its own rate."""
    info = import_litellm().model_cost[name]
    uncached = step.prompt_tokens - step.cached_tokens - step.cache_creation_tokens
    return (
        uncached * info["input_cost_per_token"]
        + step.cached_tokens * info["cache_read_input_token_cost"]
        + step.cache_creation_tokens
        * info.get("cache_creation_input_token_cost", info["input_cost_per_token"])
        + step.completion_tokens * info["output_cost_per_token"]
    )


@pytest.mark.slow
def test_openai_automatic_caching_is_read_from_usage_and_priced(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    with FakeOpenAIServer(script(), count_tokens=True) as server:
        model = ModelConfig(name="openai/gpt-4o", api_base=server.base_url, extra={"api_key": "k"})
        record = solve(buggy_repo, task, tmp_path, model)
        bodies = server.requests
    assert all("cache_control" not in json.dumps(b) for b in bodies)  # automatic caching: no marks
    steps = record.steps
    assert steps[0].cached_tokens == 0 and all(s.cached_tokens >= 1024 for s in steps[1:])
    assert all(s.cached_tokens <= s.prompt_tokens for s in steps)
    for step in steps:
        assert step.cost == pytest.approx(price("gpt-4o", step), rel=1e-9)
    totals = record.totals
    assert totals.cached_tokens == sum(s.cached_tokens for s in steps) and totals.cached_share > 0.5
    assert totals.cost < sum(s.prompt_tokens * 2.5e-6 + s.completion_tokens * 1e-5 for s in steps)


@pytest.mark.slow
def test_anthropic_cache_breakpoints_are_written_then_read(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    with FakeOpenAIServer(script()) as server:
        model = ModelConfig(
            name="anthropic/claude-sonnet-4-5", api_base=server.anthropic_base, extra={"api_key": "k"}
        )
        record = solve(buggy_repo, task, tmp_path, model)
        bodies, rejected = server.requests, server.rejected
    assert not rejected and len(bodies) == 6
    marked = [[i for i, m in enumerate(b["messages"]) if "cache_control" in json.dumps(m)] for b in bodies]
    # breakpoints: the issue, the end of the previous request, the newest message (tool results at 2k)
    assert marked == [sorted({0, max(2 * k - 2, 0), 2 * k}) for k in range(6)]
    steps = record.steps
    assert steps[0].cache_creation_tokens > 1024 and steps[0].cached_tokens == 0
    assert all(s.cached_tokens > 0 for s in steps[1:])  # each request reads what the one before wrote
    for step in steps:
        assert step.cost == pytest.approx(price("claude-sonnet-4-5", step), rel=1e-9)
    assert record.totals.cached_share > 0.5
    off = ModelConfig(
        name="anthropic/claude-sonnet-4-5", prompt_caching="off", api_base="http://127.0.0.1:9/x"
    )
    from patchjury.agent.models.registry import make_model

    wire = make_model(off)._wire(
        [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], None, marks=True
    )  # type: ignore[attr-defined]
    assert "cache_control" not in json.dumps(wire)


@pytest.mark.slow
def test_anthropic_thinking_blocks_go_back_signed_and_stay_in_the_record(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    """Extended thinking with tool use, as Anthropic enforces it: the assistant turn with the last tool_use must
    start with its thinking block, sent back unchanged (signature checked); the record keeps every block."""
    thinking = [{**entry, "thinking": f"plan for step {k}"} for k, entry in enumerate(script())]
    with FakeOpenAIServer(thinking) as server:
        model = ModelConfig(
            name="anthropic/claude-sonnet-4-5",
            api_base=server.anthropic_base,
            reasoning_effort="low",
            extra={"api_key": "k"},
        )
        record = solve(buggy_repo, task, tmp_path, model)
        bodies, rejected = server.requests, server.rejected
    assert not rejected and len(bodies) == len(thinking)
    assert all(
        b["thinking"]["type"] == "enabled" and b["max_tokens"] > b["thinking"]["budget_tokens"]
        for b in bodies
    )
    for k, body in enumerate(bodies[1:], start=1):
        turns = [m for m in body["messages"] if m["role"] == "assistant"]
        assert [t["content"][0]["type"] for t in turns] == ["thinking"] * k
        assert turns[-1]["content"][0]["thinking"] == f"plan for step {k - 1}"
    kept = [m["thinking_blocks"][0]["thinking"] for m in record.messages if m.get("thinking_blocks")]
    assert kept == [f"plan for step {k}" for k in range(len(thinking))]


def test_the_fake_refuses_tool_use_without_its_thinking_block() -> None:
    """The server's rule is real: the same turn sent back without its thinking block (or with it altered) is
    refused with Anthropic's error, so the test above can fail."""
    litellm = import_litellm()
    entry = {"tool_calls": [{"name": "view", "arguments": {"path": "a.py"}}], "thinking": "look first"}
    tools = [{"type": "function", "function": {"name": "view", "parameters": {"type": "object"}}}]
    with FakeOpenAIServer([entry]) as server:
        kw: dict[str, Any] = {
            "model": "anthropic/claude-sonnet-4-5",
            "api_base": server.anthropic_base,
            "api_key": "k",
            "reasoning_effort": "low",
            "tools": tools,
        }
        first = litellm.completion(messages=[{"role": "user", "content": "fix it"}], **kw)
        msg = first.choices[0].message
        call = msg.tool_calls[0]
        turn = {"role": "assistant", "content": "", "tool_calls": [call.model_dump()]}
        result = {"role": "tool", "tool_call_id": call.id, "content": "a.py: 1 line"}
        for blocks in ([], [{**msg.thinking_blocks[0], "thinking": "altered"}]):
            bad = {**turn, "thinking_blocks": blocks} if blocks else turn
            with pytest.raises(litellm.exceptions.BadRequestError, match="thinking"):
                litellm.completion(messages=[{"role": "user", "content": "fix it"}, bad, result], **kw)
        good = {**turn, "thinking_blocks": [dict(b) for b in msg.thinking_blocks]}
        litellm.completion(messages=[{"role": "user", "content": "fix it"}, good, result], **kw)
    assert len(server.rejected) == 2
