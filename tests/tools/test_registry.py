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


def test_arguments_are_validated_once_by_the_tool(env: LocalEnv, config: ToolsConfig) -> None:
    """run_tool only resolves the name and parses the JSON; the schema check is the tool's own (one place)."""
    tools = {t.name: t for t in get_tools(config=config)}
    for name, args in [("view", {"path": 7}), ("edit", {"command": "delete", "path": "a.py"}), ("view", {})]:
        via_registry = run_tool(env, tools, name, json.dumps(args))
        direct = tools[name].run(env, args)
        assert via_registry == direct and direct.malformed and direct.data["error_kind"] == "bad_arguments"
    assert not run_tool(
        env, tools, "run", {"command": "false"}
    ).malformed  # a failed command is no format error


def test_toolset_hooks_read_only_and_state(env: LocalEnv, config: ToolsConfig) -> None:
    from patchjury.records import Task
    from patchjury.tools.repo_map import stored_focus_text
    from patchjury.tools.state import state_dir
    from patchjury.tools.toolset import Toolset

    toolset = Toolset.from_config(
        config.model_copy(update={"names": ["view", "repo_map", "write_test", "submit"]})
    )
    assert toolset.names == ["view", "repo_map", "write_test", "submit"]
    assert [s["function"]["name"] for s in toolset.schemas] == toolset.names
    assert not toolset.changes_files(["view", "repo_map"]) and toolset.changes_files(["view", "write_test"])
    assert toolset.changes_files(["teleport"])  # unknown: assume it may have changed files
    toolset.start(env, Task(instance_id="i", problem_statement="pkg/calc.py add() subtracts"))
    assert stored_focus_text(env, config) == "pkg/calc.py add() subtracts"  # repo_map's start hook
    test = "import sys\nfrom pkg.calc import add\nsys.exit(0 if add(2, 2) == 4 else 2)\n"
    assert not toolset.run(env, "write_test", {"path": "t.py", "content": test}).error
    state = toolset.state(env)
    assert toolset.has_state(state) and list(state["tests"]) == ["t.py"]
    patch, tests = toolset.outputs(env)
    assert patch == "" and [t.path for t in tests] == ["t.py"] and toolset.reproduced(env) is None
    toolset.end(env)
    assert env.execute(f"test -e {state_dir(env, config)}").exit_code != 0  # the tools' state is gone
    toolset.restore(env, state)
    assert [t.path for t in toolset.outputs(env)[1]] == ["t.py"]
