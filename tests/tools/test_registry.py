"""Registry: lazy tool classes, OpenAI schemas, and run_tool turning every bad call into an observation."""

from __future__ import annotations

import json

import pytest

from patchjury.envs.local import LocalEnv
from patchjury.tools.config import ToolsConfig
from patchjury.tools.errors import ToolConfigError
from patchjury.tools.protocol import Tool
from patchjury.tools.registry import TOOLS, get_tools, openai_tool_schemas, run_tool

EXPECTED = ["view", "search", "find_files", "edit", "run", "repo_map", "write_test", "run_test", "submit"]


def test_all_tools_load_and_satisfy_the_protocol(config: ToolsConfig) -> None:
    tools = get_tools(config=config)
    assert [t.name for t in tools] == EXPECTED == list(TOOLS)
    for tool in tools:
        assert isinstance(tool, Tool)
        assert tool.config is config  # type: ignore[attr-defined]
        assert tool.schema["type"] == "object" and tool.schema.get("additionalProperties") is False
        assert set(tool.schema.get("required", [])) <= set(tool.schema["properties"])
        assert len(tool.description) > 40


def test_get_tools_subset_and_unknown_name() -> None:
    assert [t.name for t in get_tools(["submit", "view"])] == ["submit", "view"]
    with pytest.raises(ToolConfigError, match="available: view, search"):
        get_tools(["view", "teleport"])


def test_openai_schemas_shape() -> None:
    schemas = openai_tool_schemas(get_tools())
    json.dumps(schemas)
    for entry in schemas:
        assert entry["type"] == "function"
        assert set(entry["function"]) == {"name", "description", "parameters"}
    edit = next(s for s in schemas if s["function"]["name"] == "edit")["function"]["parameters"]
    assert edit["properties"]["command"]["enum"] == ["str_replace", "create", "insert", "undo"]


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("teleport", "{}", "unknown tool 'teleport'; available tools: view,"),
        ("view", '{"path": "pkg/calc.py"', "not valid JSON"),
        ("view", "[1, 2]", "must be a JSON object"),
        ("view", "{}", "missing required argument 'path'"),
        ("view", {"path": "a.py", "line": 3}, "unknown argument(s) 'line'; allowed: path, view_range"),
        ("view", {"path": 7}, "argument 'path' must be of type string, got integer 7"),
        ("view", {"path": "a.py", "view_range": [1]}, "needs at least 2 items"),
        (
            "view",
            {"path": "a.py", "view_range": ["1", "2"]},
            "argument 'view_range'[0] must be of type integer",
        ),
        (
            "edit",
            {"command": "delete", "path": "a.py"},
            "must be one of 'str_replace', 'create', 'insert', 'undo'",
        ),
        ("run", {"command": "ls", "timeout": True}, "must be of type number, got boolean"),
        ("search", {"pattern": ""}, "argument 'pattern' must not be empty"),
    ],
)
def test_run_tool_turns_bad_calls_into_error_observations(
    env: LocalEnv, config: ToolsConfig, name: str, arguments: str | dict[str, object], expected: str
) -> None:
    tools = {t.name: t for t in get_tools(config=config)}
    obs = run_tool(env, tools, name, arguments)  # type: ignore[arg-type]
    assert obs.error and not obs.submitted
    assert expected in obs.text


def test_run_tool_accepts_good_calls_and_lenient_forms(env: LocalEnv, config: ToolsConfig) -> None:
    tools = {t.name: t for t in get_tools(config=config)}
    assert not run_tool(env, tools, "view", '{"path": "pkg/calc.py", "view_range": [1.0, 2]}').error
    assert not run_tool(env, tools, "functions.find_files", {"pattern": "*.py"}).error
    assert run_tool(env, tools, "submit", "").error  # empty args parse as {}; refused only for the empty diff
    assert "nothing to submit" in run_tool(env, tools, "submit", None).text
