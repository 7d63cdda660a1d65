"""What a litellm request carries: the conversation in the form the provider takes, and its size in tokens.

- Text-format models get the tools described in the system prompt and observations as user messages.
- Reasoning is kept in the trajectory record (`reasoning_content`, `thinking_blocks` on assistant messages) but
  not sent back where providers refuse it: `reasoning_content` never (DeepSeek answers HTTP 400 to it), thinking
  blocks only to Anthropic-family models (which need them with tool use).
- Providers with explicit prompt caching (Anthropic) get `cache_control` breakpoints on the stable prefix: the
  issue (which closes the system prompt and tools), the newest message of the previous request, and the newest
  message, so each request reads what the previous one wrote.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from patchjury.agent.models.textformat import describe_tools

REASONING_KEYS = ("reasoning_content", "thinking_blocks")
CACHE_MARK = {"type": "ephemeral"}


def to_text_messages(messages: list[dict[str, Any]], schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Native tool-call messages -> plain chat for models without function calling."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        role = msg["role"]
        if role == "system":
            out.append({"role": "system", "content": f"{msg['content']}\n\n{describe_tools(schemas)}"})
        elif role == "tool":
            name = msg.get("name", "tool")
            out.append({"role": "user", "content": f"Observation from `{name}`:\n{msg['content']}"})
        elif role == "assistant":
            out.append({"role": "assistant", "content": msg.get("content") or ""})
        else:
            out.append({"role": role, "content": msg.get("content") or ""})
    # Consecutive user messages (several observations) are merged: some providers reject them.
    merged: list[dict[str, Any]] = []
    for msg in out:
        if merged and msg["role"] == "user" and merged[-1]["role"] == "user":
            merged[-1] = {"role": "user", "content": merged[-1]["content"] + "\n\n" + msg["content"]}
        else:
            merged.append(msg)
    return merged


def strip_reasoning(messages: list[dict[str, Any]], keep_thinking: bool) -> list[dict[str, Any]]:
    """The messages without the reasoning fields a provider would refuse (copies only where needed)."""
    drop = ("reasoning_content",) if keep_thinking else REASONING_KEYS
    return [
        {k: v for k, v in m.items() if k not in drop} if any(k in m for k in drop) else m for m in messages
    ]


def _marked(message: dict[str, Any]) -> dict[str, Any]:
    if message.get("role") == "tool":  # litellm puts a tool message's mark on its tool_result block
        return {**message, "cache_control": CACHE_MARK}
    content = message.get("content")
    if isinstance(content, list):
        if not content:
            return message
        parts = [*content[:-1], {**content[-1], "cache_control": CACHE_MARK}]
    elif content:
        parts = [{"type": "text", "text": str(content), "cache_control": CACHE_MARK}]
    else:
        return message
    return {**message, "content": parts}


def mark_cache(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Breakpoints on the issue, on the last message before the newest assistant turn, and on the newest one."""
    points = {1, len(messages) - 1}
    turns = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    if turns and turns[-1] > 1:
        points.add(turns[-1] - 1)
    return [_marked(m) if i in points and i > 0 else m for i, m in enumerate(messages)]


def wire(
    messages: list[dict[str, Any]],
    schemas: list[dict[str, Any]],
    *,
    text_format: bool,
    keep_thinking: bool,
    cache_marks: bool,
) -> list[dict[str, Any]]:
    """The messages as sent."""
    out = to_text_messages(messages, schemas) if text_format else strip_reasoning(messages, keep_thinking)
    return mark_cache(out) if cache_marks else out


class TokenCounter:
    """Prompt tokens of a conversation, counted per message with litellm's counter for the model and cached by
    message content (a trajectory re-sends the same messages every step)."""

    def __init__(self, count: Callable[..., int]) -> None:
        self._count = count
        self._cache: dict[str, int] = {}
        self._lock = threading.Lock()

    def _one(self, message: dict[str, Any]) -> int:
        key = hashlib.sha1(json.dumps(message, sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = max(self._count(messages=[message]) - 3, 1)  # litellm adds 3 tokens priming the reply
            with self._lock:
                if len(self._cache) > 20_000:
                    self._cache.clear()
                self._cache[key] = hit
        return hit

    def __call__(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        total = 3 + sum(self._one(m) for m in messages)
        if tools:
            key = "tools:" + hashlib.sha1(json.dumps(tools, sort_keys=True).encode()).hexdigest()
            with self._lock:
                hit = self._cache.get(key)
            if hit is None:
                hit = self._count(messages=[], tools=tools)
                with self._lock:
                    self._cache[key] = hit
            total += hit
        return total
