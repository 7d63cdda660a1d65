"""Endpoints from the command line: flags merge with the config's model fields, a missing key names the right
variable for each provider, and the documented local-server commands (docs/models.md) work end to end."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import fixing_script
from fakes.openai_server import FakeOpenAIServer
from typer.testing import CliRunner

from patchjury.cli import app
from patchjury.core.errors import UsageError
from patchjury.core.settings import check_model_keys, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_flags_merge_with_the_config_model_fields(tmp_path: Path) -> None:
    (m,) = load_settings(["model.api_base=http://127.0.0.1:8000/v1"], models=["openai/qwen"]).model_list()
    assert (m.type, m.name, m.api_base) == ("litellm", "openai/qwen", "http://127.0.0.1:8000/v1")
    (d,) = load_settings(["model.latency_s=1.5"], models=["deterministic:s.yaml"]).model_list()
    assert (d.type, d.script_path, d.latency_s) == ("deterministic", "s.yaml", 1.5)
    conf = tmp_path / "endpoint.yaml"
    conf.write_text(
        "model:\n  api_base: http://127.0.0.1:1234/v1\n  api_key_env: LOCAL_KEY\n  context_window: 32768\n"
    )
    (c,) = load_settings([str(conf)], models=["openai/local"]).model_list()
    assert (c.api_key_env, c.context_window) == ("LOCAL_KEY", 32768)
    (r,) = load_settings(["model.name=openai/gpt-4o"], models=["replay:t.json"]).model_list()
    assert (r.type, r.name, r.replay_path) == ("replay", "", "t.json")  # the litellm name is no replay label
    with pytest.raises(ValueError, match=r"model\.name is required for type=litellm"):
        load_settings([str(conf)]).model_list()


@pytest.mark.parametrize(
    ("model", "wanted"),
    [
        ("openai/gpt-4o", "needs OPENAI_API_KEY. Export it (`export OPENAI_API_KEY=...`)"),
        (
            "anthropic/claude-sonnet-4-5",
            "needs ANTHROPIC_API_KEY. Export it (`export ANTHROPIC_API_KEY=...`)",
        ),
        (
            "gemini/gemini-2.5-pro",
            "needs GEMINI_API_KEY (or GOOGLE_API_KEY). Export it (`export GEMINI_API_KEY",
        ),
        ("deepseek/deepseek-chat", "needs DEEPSEEK_API_KEY"),
        ("mistral/mistral-large-latest", "needs MISTRAL_API_KEY"),
        ("azure/gpt-4o", "needs AZURE_API_BASE, AZURE_API_VERSION and AZURE_API_KEY"),
    ],
)
def test_a_missing_key_names_the_providers_variable(
    monkeypatch: pytest.MonkeyPatch, model: str, wanted: str
) -> None:
    for key in list(os.environ):
        if key.endswith(("_API_KEY", "_API_BASE", "_API_VERSION")):
            monkeypatch.delenv(key)
    with pytest.raises(UsageError) as err:
        check_model_keys(load_settings([], models=[model]).model_list())
    assert wanted in str(err.value)
    if not model.startswith("openai/"):
        assert "OPENAI_API_KEY" not in str(err.value)
    check_model_keys(load_settings([], models=["ollama/qwen2.5-coder"]).model_list())  # local: no key
    check_model_keys(load_settings(["model.api_base=http://127.0.0.1:8000/v1"], models=[model]).model_list())


def _documented_commands() -> list[str]:
    return [line for line in DOCS.read_text().splitlines() if line.startswith("patchjury solve")]


@pytest.mark.slow
def test_the_documented_local_server_commands_work(
    buggy_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = _documented_commands()
    assert len(commands) == 3 and {re.search(r":(\d+)/v1", c).group(1) for c in commands} == {
        "8000",
        "11434",
        "1234",
    }  # type: ignore[union-attr]
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    issue = tmp_path / "ISSUE.md"
    issue.write_text("add(2, 2) returns 0 instead of 4\n")
    steps = json.loads(json.dumps(fixing_script()).replace("{{ index }}", "0"))

    def respond(body: dict[str, Any], n: int) -> dict[str, Any]:
        k = sum(1 for m in body["messages"] if m["role"] == "assistant")
        return {"content": "", "tool_calls": [{"name": steps[k]["tool"], "arguments": steps[k]["args"]}]}

    for k, command in enumerate(commands):
        with FakeOpenAIServer(responder=respond, context_window=32_768) as server:
            line = re.sub(r"http://127\.0\.0\.1:\d+/v1", server.base_url, command)
            args = shlex.split(line)[1:]
            args = [str(buggy_repo) if a == "." else str(issue) if a == "ISSUE.md" else a for a in args]
            args += ["-n", "1", "-c", "env.type=local", "--run-id", f"doc{k}"]
            result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
            model = server.requests[0]["model"] if server.requests else None
        assert result.exit_code == 0, (command, result.output)
        outcome = json.loads((buggy_repo / ".patchjury" / "runs" / f"doc{k}" / "outcome.json").read_text())
        assert outcome["status"] == "patch", (command, outcome)
        assert model == shlex.split(command)[shlex.split(command).index("--model") + 1].removeprefix(
            "openai/"
        )
