"""Text-format tool calling for models without function calling.

Tools are described in the system prompt; the model answers with one fenced block per call:

    ```tool
    {"name": "view", "arguments": {"path": "src/x.py"}}
    ```
"""

from __future__ import annotations

import json
import re
from typing import Any

from patchjury.agent.models.base import tool_call
from patchjury.agent.protocol import ToolCall

_BLOCK = re.compile(r"```tool[ \t]*\n(.*?)\n?```", re.DOTALL)


def describe_tools(schemas: list[dict[str, Any]]) -> str:
    """Human/LLM-readable description of OpenAI tool schemas, plus the calling convention."""
    lines = [
        "You call tools by writing a fenced block with the language `tool` holding one JSON object "
        'with "name" and "arguments", for example:',
        "```tool",
        '{"name": "view", "arguments": {"path": "README.md"}}',
        "```",
        "Write exactly one such block per message; its result comes back in the next message.",
        "",
        "Available tools:",
    ]
    for schema in schemas:
        fn = schema.get("function", schema)
        lines.append(f"- {fn['name']}: {fn.get('description', '').strip()}")
        lines.append(f"  arguments JSON schema: {json.dumps(fn.get('parameters', {}), sort_keys=True)}")
    return "\n".join(lines)


def parse_tool_calls(text: str, step: int) -> list[ToolCall]:
    """Calls found in `text`. A block that is not a JSON object with a name comes back with
    name `__malformed__` and the parse error as arguments, so the loop reports it to the model."""
    calls = []
    for k, match in enumerate(_BLOCK.finditer(text or "")):
        call_id = f"text-{step}-{k}"
        body = match.group(1).strip()
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            calls.append(tool_call(call_id, "__malformed__", f"block is not valid JSON: {exc}"))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            calls.append(
                tool_call(call_id, "__malformed__", 'block must be {"name": ..., "arguments": {...}}')
            )
            continue
        calls.append(tool_call(call_id, data["name"], data.get("arguments", {})))
    return calls
