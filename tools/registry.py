"""Tool registry: names -> lazily imported tool classes, OpenAI schemas, and a safe dispatcher.

tools = get_tools()                                  # every tool, default ToolsConfig
schemas = openai_tool_schemas(tools)                 # pass as `tools=` to the model
obs = run_tool(env, {t.name: t for t in tools}, name, arguments_json)   # never raises for bad input
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.config import ToolsConfig
from patchjury.tools.errors import ToolConfigError
from patchjury.tools.protocol import Observation, Tool

#: name -> "module:Class"; each class is constructed with a ToolsConfig. Add a tool here.
TOOLS: dict[str, str] = {
    "view": "patchjury.tools.view:ViewTool",
    "search": "patchjury.tools.search:SearchTool",
    "find_files": "patchjury.tools.find_files:FindFilesTool",
    "edit": "patchjury.tools.edit:EditTool",
    "run": "patchjury.tools.run:RunTool",
    "repo_map": "patchjury.tools.repo_map:RepoMapTool",
    "write_test": "patchjury.tools.write_test:WriteTestTool",
    "run_test": "patchjury.tools.run_test:RunTestTool",
    "submit": "patchjury.tools.submit:SubmitTool",
}


def get_tools(names: list[str] | None = None, config: ToolsConfig | None = None) -> list[Tool]:
    """Tool objects for `names` (default: all, in registry order), each built with `config`."""
    config = config or ToolsConfig()
    wanted = list(TOOLS) if names is None else list(names)
    unknown = [n for n in wanted if n not in TOOLS]
    if unknown:
        raise ToolConfigError(f"unknown tool(s) {', '.join(unknown)}; available: {', '.join(TOOLS)}")
    tools: list[Tool] = []
    for name in dict.fromkeys(wanted):
        module, _, attr = TOOLS[name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
        tools.append(cls(config))
    return tools


def openai_tool_schemas(tools: list[Tool]) -> list[dict[str, Any]]:
    """OpenAI function-calling declarations: [{"type": "function", "function": {name, description, parameters}}]."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.schema},
        }
        for t in tools
    ]


def run_tool(
    env: Env, tools_by_name: Mapping[str, Tool], name: str, arguments: str | dict[str, Any] | None
) -> Observation:
    """Resolve the tool and parse the JSON arguments of one model tool call, then run it (the tool validates them
    against its schema). Bad calls become error observations, never raises for model input (a broken Env still
    propagates)."""
    if name not in tools_by_name:
        # Models sometimes prefix names (functions.view) or change case.
        alias = {n.lower(): n for n in tools_by_name}.get(str(name).rsplit(".", 1)[-1].strip().lower())
        if alias is None:
            return Observation(
                text=f"unknown tool {name!r}; available tools: {', '.join(tools_by_name)}. Call one of them.",
                error=True,
                data={"error_kind": "unknown_tool"},
            )
        name = alias
    args = parse_arguments(arguments)
    if isinstance(args, str):
        return Observation(text=f"bad call to {name}: {args}", error=True, data={"error_kind": "bad_json"})
    return tools_by_name[name].run(env, args)  # the tool validates against its schema (Tool.run's contract)


def parse_arguments(arguments: str | dict[str, Any] | None) -> dict[str, Any] | str:
    """The arguments as a dict, or a message saying why they cannot be used."""
    if arguments is None:
        return {}
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        return f"arguments must be a JSON object, got {type(arguments).__name__}"
    text = arguments.strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        snippet = text if len(text) <= 200 else text[:200] + "..."
        return (
            f"arguments are not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {snippet!r}. "
            'Send a JSON object, e.g. {"path": "src/app.py"}, with strings quoted and newlines escaped as \\n'
        )
    if not isinstance(value, dict):
        return f'arguments must be a JSON object like {{"name": value}}, got {type(value).__name__}'
    return value
