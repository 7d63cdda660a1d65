"""Long trajectories in small context windows, through litellm's real request path against a fake server that
behaves as hosted models do (strict validation, HTTP 400 `context_length_exceeded`, 429 with Retry-After)."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import REPRO, agent_config
from fakes.openai_server import FakeOpenAIServer

from patchjury.agent.config import HistoryConfig, ModelConfig
from patchjury.agent.runner import run_trajectories
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import Candidate, Task
from patchjury.trajectory_record import load_trajectory

LISTING = "seq -f 'line %g of a long listing that fills the context window' 1 400"
FINISH = [
    {"name": "write_test", "arguments": {"path": "repro_test.py", "content": REPRO}},
    {"name": "run_test", "arguments": {"path": "repro_test.py", "on_original": True}},
    {
        "name": "edit",
        "arguments": {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
    },
    {"name": "submit", "arguments": {}},
]


def long_run(n_listings: int) -> Any:
    """`n_listings` commands with ~10,000 characters of output each, then test, fix and submit."""

    def respond(body: dict[str, Any], n: int) -> dict[str, Any]:
        call = (
            {"name": "run", "arguments": {"command": LISTING}}
            if n < n_listings
            else FINISH[min(n - n_listings, 3)]
        )
        return {"content": f"step {n + 1}", "tool_calls": [call]}

    return respond


def run(
    repo: Path, task: Task, tmp: Path, server: FakeOpenAIServer, name: str = "openai/fake-14k", **model: Any
) -> tuple[Candidate, Any]:
    base = server.anthropic_base if name.startswith("anthropic/") else server.base_url
    cfg = ModelConfig(name=name, api_base=base, extra={"api_key": "k"}, **model)
    (cand,) = run_trajectories(
        task,
        lambda i: LocalEnv(LocalEnvConfig(repo=repo)),
        tmp / "run",
        agent_config(n_trajectories=1, step_limit=60),
        cfg,
        progress=False,
    )
    return cand, load_trajectory(str(cand.trajectory))


@pytest.mark.slow
def test_forty_steps_of_large_outputs_fit_a_14k_window(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=long_run(36), context_window=14_000) as server:
        cand, record = run(buggy_repo, task, tmp_path, server, context_window=14_000)
        rejected, sizes, n_requests = server.rejected, server.prompt_sizes, len(server.requests)
    assert cand.status == "submitted" and "+    return a + b" in cand.model_patch and cand.reproduced is True
    assert n_requests == 40 and not rejected and max(sizes) <= 14_000
    contexts = [s.context for s in record.steps if s.context is not None]
    assert len(contexts) == 40 and max(c.tokens for c in contexts) <= 0.8 * 14_000
    assert contexts[0].level == 0 and contexts[-1].level >= 1 and contexts[-1].elided_before > 2
    # The record keeps every observation whole; the model was sent stubs for the old ones.
    observations = [m for m in record.messages if m["role"] == "tool"]
    assert len(observations) == 40 and all(len(m["content"]) > 9_000 for m in observations[:36])
    last = server.requests[-1]["messages"]
    stubs = [
        m
        for m in last
        if m["role"] == "tool" and m["content"].startswith("[elided to fit the context window")
    ]
    assert stubs and "call it again to see them" in stubs[0]["content"]
    assert len([m for m in last if m["role"] == "tool"]) == 39  # every call still answered: a valid list
    # Between two moves of the elision boundary the prompt prefix is byte-stable (what prompt caches reuse).
    moves = sum(1 for a, b in itertools.pairwise(contexts) if b.elided_before != a.elided_before)
    assert moves <= 15 and sum(c.stable_bytes for c in contexts) > 0.5 * sum(c.bytes for c in contexts[1:])


REFUSALS = {
    "classic": "This model's maximum context length is 14000 tokens",
    "current": "Your input exceeds the context window of this model",  # litellm leaves it a BadRequestError
}


@pytest.mark.slow
@pytest.mark.parametrize("body", sorted(REFUSALS))
def test_a_provider_refusal_is_met_by_condensing_harder(
    buggy_repo: Path, task: Task, tmp_path: Path, body: str
) -> None:
    """The configured window is wrong (64k; the server takes 14k): the server refuses with its real 400 body (either
    of OpenAI's two messages, both with code `context_length_exceeded`), the agent condenses harder and retries,
    and the trajectory still submits."""
    with FakeOpenAIServer(responder=long_run(12), context_window=14_000, context_error=body) as server:
        cand, record = run(buggy_repo, task, tmp_path, server, context_window=64_000)
        rejected = server.rejected
    assert cand.status == "submitted" and "+    return a + b" in cand.model_patch, record.error
    assert rejected and {r["error"]["code"] for r in rejected} == {"context_length_exceeded"}
    assert REFUSALS[body] in rejected[0]["error"]["message"]
    assert sum(s.context.retries for s in record.steps if s.context) == len(rejected)


@pytest.mark.slow
def test_an_anthropic_refusal_is_met_by_condensing_harder(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    """The same through Anthropic's Messages API and its own error body ("prompt is too long: N tokens > M
    maximum"), with cache breakpoints on."""
    with FakeOpenAIServer(responder=long_run(12), context_window=14_000) as server:
        cand, record = run(
            buggy_repo, task, tmp_path, server, name="anthropic/claude-sonnet-4-5", context_window=64_000
        )
        rejected = server.rejected
    assert cand.status == "submitted" and "+    return a + b" in cand.model_patch, record.error
    assert rejected and all(r["type"] == "error" for r in rejected)
    assert rejected[0]["error"]["message"].startswith("prompt is too long: ")
    assert sum(s.context.retries for s in record.steps if s.context) == len(rejected)


def test_context_exhausted_when_even_the_shortest_history_does_not_fit(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    with FakeOpenAIServer(responder=long_run(5), context_window=14_000) as server:
        cand, record = run(buggy_repo, task, tmp_path, server, context_window=400)
        assert server.requests == []  # known before sending: nothing was sent
    assert cand.status == "context_exhausted" and "does not fit the context window of 400" in str(
        record.error
    )
    with FakeOpenAIServer(responder=long_run(5), context_window=300) as server:
        cand, record = run(buggy_repo, task, tmp_path / "2", server)  # window unknown: 16,384 assumed
        n_requests = len(server.requests)
    assert cand.status == "context_exhausted" and "refused the prompt as too long 4 times" in str(
        record.error
    )
    assert n_requests == 4  # the first try and HistoryConfig.retries = 3 harder condensations


@pytest.mark.slow
def test_the_model_summarises_what_is_elided(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    steps = long_run(10)

    def respond(body: dict[str, Any], n: int) -> dict[str, Any]:
        if body["messages"][0]["content"].startswith("You condense the history"):
            return {
                "content": "SUMMARY: listed the numbers; calc.py still subtracts",
                "usage": {"prompt_tokens": 500, "completion_tokens": 50},
            }
        return steps(body, sum(1 for m in body["messages"] if m["role"] == "tool"))

    with FakeOpenAIServer(responder=respond, context_window=14_000) as server:
        cfg = ModelConfig(
            name="openai/fake-14k", api_base=server.base_url, extra={"api_key": "k"}, context_window=14_000
        )
        agent = agent_config(n_trajectories=1, history=HistoryConfig(summarize=True))
        (cand,) = run_trajectories(
            task,
            lambda i: LocalEnv(LocalEnvConfig(repo=buggy_repo)),
            tmp_path / "run",
            agent,
            cfg,
            progress=False,
        )
        requests = server.requests
    record = load_trajectory(str(cand.trajectory))
    assert cand.status == "submitted"
    summaries = [s for s in record.steps if s.context and s.context.summary]
    assert summaries and summaries[0].context.summary.startswith("SUMMARY:")
    assert summaries[0].prompt_tokens >= 500  # the summary call is counted with its step
    assert "SUMMARY: listed the numbers" in requests[-1]["messages"][1]["content"]


@pytest.mark.parametrize("name", ["openai/x", "anthropic/claude-sonnet-4-5"])
def test_rate_limits_wait_for_retry_after(caplog: pytest.LogCaptureFixture, name: str) -> None:
    from patchjury.agent.models.registry import make_model

    script = [
        {"status": 429, "retry_after": 1},
        {"content": "ok", "tool_calls": [{"name": "run", "arguments": {"command": "ls"}}]},
    ]
    with FakeOpenAIServer(script) as server:
        base = server.anthropic_base if name.startswith("anthropic/") else server.base_url
        model = make_model(ModelConfig(name=name, api_base=base, backoff_s=0.01, extra={"api_key": "k"}))
        with caplog.at_level(logging.WARNING):
            out = model.query([{"role": "user", "content": "hi"}])
    assert out.tool_calls[0].name == "run" and "RateLimitError (attempt 1), retrying in 1.0s" in caplog.text


def test_reasoning_is_recorded_but_not_sent_back(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    """A reasoning model returns `reasoning_content`; the fake refuses it in a request (as DeepSeek does)."""

    def respond(body: dict[str, Any], n: int) -> dict[str, Any]:
        call = FINISH[min(n, 3)]
        usage = {
            "prompt_tokens": 200,
            "completion_tokens": 90,
            "completion_tokens_details": {"reasoning_tokens": 60},
        }
        return {
            "content": "",
            "reasoning_content": f"thinking about step {n}",
            "tool_calls": [call],
            "usage": usage,
        }

    with FakeOpenAIServer(responder=respond) as server:
        cand, record = run(buggy_repo, task, tmp_path, server, reasoning_effort="high")
        requests, rejected = server.requests, server.rejected
    assert cand.status == "submitted" and not rejected
    assert requests[0]["reasoning_effort"] == "high"
    assert all("reasoning_content" not in m for r in requests for m in r["messages"])
    thoughts = [m.get("reasoning_content") for m in record.messages if m["role"] == "assistant"]
    assert thoughts[0] == "thinking about step 0" and record.totals.reasoning_tokens == 60 * len(thoughts)


def test_the_fake_refuses_what_hosted_models_refuse() -> None:
    from patchjury.agent.errors import ModelError
    from patchjury.agent.models.registry import make_model

    call = {"id": "call_1", "type": "function", "function": {"name": "run", "arguments": "{}"}}
    unanswered = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "user", "content": "and?"},
    ]
    with FakeOpenAIServer([{"content": "ok"}]) as server:
        model = make_model(
            ModelConfig(name="openai/x", api_base=server.base_url, retries=0, extra={"api_key": "k"})
        )
        with pytest.raises(ModelError, match="did not have response messages: call_1"):
            model.query(unanswered)
        assert server.rejected[0]["error"]["type"] == "invalid_request_error"


def test_an_unknown_window_is_assumed_small_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    from patchjury.agent.models import providers
    from patchjury.agent.models.registry import make_model

    with caplog.at_level(logging.WARNING):
        windows = [make_model(ModelConfig(name="openai/my-local-model")).context_window for _ in range(3)]
    assert windows == [providers.DEFAULT_WINDOW] * 3
    assert caplog.text.count("context window of openai/my-local-model unknown: assuming 16384 tokens") == 1
    assert (
        make_model(ModelConfig(name="openai/gpt-4o")).context_window == 128_000
    )  # litellm's max_input_tokens
    assert make_model(ModelConfig(name="openai/gpt-4o", context_window=9_000)).context_window == 9_000
