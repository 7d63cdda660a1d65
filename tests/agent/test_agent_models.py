"""Model backends: deterministic scripts, replay, text-format parsing, litellm against a local fake server."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.errors import AgentConfigError, ModelError
from patchjury.agent.models.registry import make_model, model_for
from patchjury.agent.models.textformat import parse_tool_calls

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "run",
            "description": "Run a shell command.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
            },
        },
    }
]
HELLO = [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]


def test_deterministic_script_is_templated_per_trajectory_and_submits_when_exhausted() -> None:
    script = [{"tool": "run", "args": {"command": "echo {{ index * 10 }}{% if index %} odd{% endif %}"}}]
    cfg = AgentConfig(n_trajectories=2, temperatures=[0.2, 0.9])
    m0, m1 = (model_for(i, [ModelConfig(type="deterministic", script=script)], cfg) for i in (0, 1))
    assert json.loads(m0.query(HELLO).tool_calls[0].arguments) == {"command": "echo 0"}
    assert json.loads(m1.query(HELLO).tool_calls[0].arguments) == {"command": "echo 10 odd"}
    assert m1.sampling.temperature == 0.9  # type: ignore[attr-defined]
    after = [*HELLO, {"role": "assistant", "content": ""}]
    assert m0.query(after).tool_calls[0].name == "submit"


def test_deterministic_script_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text("just: a mapping\n")
    with pytest.raises(AgentConfigError, match="list of steps"):
        make_model(ModelConfig(type="deterministic", script_path=str(bad)))
    model = make_model(
        ModelConfig(type="deterministic", script=[{"tool": "run", "args": {"command": "{{ nope }}"}}])
    )
    with pytest.raises(AgentConfigError, match="nope"):
        model.query(HELLO)
    with pytest.raises(ModelError, match="outage"):
        make_model(ModelConfig(type="deterministic", script=[{"fail": "outage"}])).query(HELLO)
    with pytest.raises(ValueError, match="script"):
        ModelConfig(type="deterministic")


def test_models_are_used_round_robin() -> None:
    a = ModelConfig(type="deterministic", name="a", script=[])
    b = ModelConfig(type="deterministic", name="b", script=[])
    names = [model_for(i, [a, b], AgentConfig()).name for i in range(4)]
    assert names == ["a", "b", "a", "b"]
    with pytest.raises(AgentConfigError, match="no model"):
        model_for(0, [], AgentConfig())


def test_replay_model_returns_recorded_assistant_messages(tmp_path: Path) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "run", "arguments": '{"command": "ls"}'}}
    record = {
        "format": "patchjury-trajectory/1",
        "messages": [*HELLO, {"role": "assistant", "content": "first", "tool_calls": [call]}],
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(record))
    model = make_model(ModelConfig(type="replay", replay_path=str(path)))
    out = model.query(HELLO)
    assert out.content == "first"
    assert [c.model_dump() for c in out.tool_calls] == [
        {"id": "c1", "name": "run", "arguments": '{"command": "ls"}'}
    ]
    with pytest.raises(ModelError, match="only 1 assistant"):
        model.query([*HELLO, {"role": "assistant", "content": "x"}])


def test_text_format_parser_reports_malformed_blocks() -> None:
    text = 'ok\n```tool\n{"name": "run", "arguments": {"command": "ls"}}\n```\n```tool\n{oops\n```'
    calls = parse_tool_calls(text, 3)
    assert calls[0].model_dump() == {"id": "text-3-0", "name": "run", "arguments": '{"command": "ls"}'}
    assert calls[1].name == "__malformed__" and "not valid JSON" in calls[1].arguments
    assert parse_tool_calls("no block here", 0) == []


def test_litellm_native_tools_retry_and_unknown_cost(caplog: pytest.LogCaptureFixture) -> None:
    script = [
        {"status": 503, "error": "overloaded"},
        {"content": "go", "tool_calls": [{"name": "run", "arguments": {"command": "ls"}}]},
    ]
    with FakeOpenAIServer(script) as server:
        cfg = ModelConfig(
            name="openai/unknown-fake-model", api_base=server.base_url, backoff_s=0.05, extra={"api_key": "k"}
        )
        with caplog.at_level(logging.WARNING):
            out = make_model(cfg).query(HELLO, TOOLS)
        assert out.tool_calls[0].name == "run"
        assert json.loads(out.tool_calls[0].arguments) == {"command": "ls"}
        assert out.cost == 0.0 and (out.usage.prompt_tokens, out.usage.completion_tokens) == (100, 20)
        assert "no price known" in caplog.text
        assert len(server.requests) == 2 and server.requests[1]["tools"][0]["function"]["name"] == "run"


def test_litellm_client_errors_are_not_retried() -> None:
    with FakeOpenAIServer([{"status": 400, "error": "context too long"}]) as server:
        cfg = ModelConfig(
            name="openai/x", api_base=server.base_url, retries=3, backoff_s=0.01, extra={"api_key": "k"}
        )
        with pytest.raises(ModelError, match="BadRequestError"):
            make_model(cfg).query(HELLO, TOOLS)
        assert len(server.requests) == 1


def test_litellm_gives_up_after_retries_with_model_error() -> None:
    with FakeOpenAIServer([{"status": 500, "error": "down"}]) as server:
        cfg = ModelConfig(
            name="openai/x", api_base=server.base_url, retries=1, backoff_s=0.01, extra={"api_key": "k"}
        )
        with pytest.raises(ModelError, match="after 2 attempts"):
            make_model(cfg).query(HELLO, TOOLS)
        assert len(server.requests) == 2


def test_litellm_text_format_describes_tools_and_parses_blocks() -> None:
    block = '```tool\n{"name": "run", "arguments": {"command": "pwd"}}\n```'
    with FakeOpenAIServer([{"content": block}]) as server:
        cfg = ModelConfig(
            name="openai/gpt-4o-mini", api_base=server.base_url, text_tool_format=True, extra={"api_key": "k"}
        )
        out = make_model(cfg).query(HELLO, TOOLS)
        sent = server.requests[0]
    assert out.tool_calls[0].name == "run" and out.cost > 0  # priced from the local cost map
    assert "tools" not in sent and "```tool" in sent["messages"][0]["content"]


def test_missing_api_key_env_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PJ_TEST_NO_SUCH_KEY", raising=False)
    with pytest.raises(AgentConfigError, match="PJ_TEST_NO_SUCH_KEY"):
        make_model(ModelConfig(name="openai/x", api_key_env="PJ_TEST_NO_SUCH_KEY"))


def test_model_configs_from_cli_names() -> None:
    from patchjury.agent.models.registry import model_configs_from_names

    a, b, c = model_configs_from_names(
        ["openai/gpt-4o-mini", "deterministic:demo.yaml", "replay:t.json"], api_base="http://127.0.0.1:1/v1"
    )
    assert (a.type, a.name, a.api_base) == ("litellm", "openai/gpt-4o-mini", "http://127.0.0.1:1/v1")
    assert (b.type, b.script_path) == ("deterministic", "demo.yaml")
    assert (c.type, c.replay_path) == ("replay", "t.json")


def test_fake_server_serves_top_logprobs_through_litellm() -> None:
    from patchjury.agent.models.litellm_model import import_litellm

    entry = {
        "content": "YES",
        "logprobs": [
            {
                "token": "YES",
                "logprob": -0.1,
                "top_logprobs": [{"token": "YES", "logprob": -0.1}, {"token": "NO", "logprob": -2.5}],
            }
        ],
    }
    with FakeOpenAIServer([entry]) as server:
        resp = import_litellm().completion(
            model="openai/judge",
            api_base=server.base_url,
            api_key="k",
            messages=HELLO,
            logprobs=True,
            top_logprobs=2,
        )
        assert server.requests[0]["logprobs"] is True and server.requests[0]["top_logprobs"] == 2
    top = resp.choices[0].logprobs.content[0].top_logprobs
    assert [(t.token, t.logprob) for t in top] == [("YES", -0.1), ("NO", -2.5)]
