"""A small OpenAI-compatible chat-completions server on 127.0.0.1 that behaves as hosted models do.

    script = [
        {"tool_calls": [{"name": "view", "arguments": {"path": "a.py"}}]},
        {"content": "YES", "logprobs": [{"token": "YES", "logprob": -0.1,
                                          "top_logprobs": [{"token": "YES", "logprob": -0.1},
                                                           {"token": "NO", "logprob": -2.4}]}]},
        {"status": 500, "error": "overloaded"},           # an HTTP error (for retry tests)
        {"status": 429, "retry_after": 1},                # rate limited, with a Retry-After header
        {"content": "thinking done", "reasoning_content": "...", "tool_calls": [...]},   # a reasoning model
    ]
    with FakeOpenAIServer(script, context_window=14_000) as server:
        litellm.completion(model="openai/fake", api_base=server.base_url, api_key="x", messages=[...])
        server.requests  # the JSON bodies received, in order (rejected ones too)

Responses are served in order; when the script is exhausted the last one repeats (or
`responder(request_json, n) -> dict` computes them). Each entry may set `usage` and `delay_s`.

What a hosted model does and this server does too (every request, before the script is consulted):
- strict validation with OpenAI's error bodies (HTTP 400 `invalid_request_error`): every assistant `tool_calls` id
  must be answered by a `tool` message before the next assistant/user message, a `tool` message must answer a
  preceding call, message fields outside the API are refused (e.g. `reasoning_content` sent back, as DeepSeek
  refuses it), tool names must match `^[a-zA-Z0-9_-]{1,64}$`;
- with `context_window`, prompts are counted with the cl100k tokenizer and longer ones are refused with HTTP 400
  and code `context_length_exceeded`: OpenAI's body for older models ("This model's maximum context length is
  ...", which litellm maps to ContextWindowExceededError) or, with `context_error="current"`, the one newer models
  send ("Your input exceeds the context window of this model", which litellm leaves a BadRequestError);
- usage is the real count of the prompt (unless an entry sets `usage`), and automatic prompt caching reports
  `prompt_tokens_details.cached_tokens`: the longest prefix (in 128-token blocks, from 1,024 tokens) shared with
  an earlier request, as OpenAI's caching does;
- `/v1/messages` answers Anthropic's Messages API the same way (tool_use blocks, `cache_control` breakpoints: a
  prefix up to a breakpoint that was written before is read from cache, `cache_read_input_tokens`, and the rest
  up to the last breakpoint is written, `cache_creation_input_tokens`), with Anthropic's error bodies
  (`{"type": "error", "error": {...}}`: "prompt is too long: N tokens > M maximum", `rate_limit_error` with
  Retry-After).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALLOWED_KEYS = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "tool_calls", "refusal", "audio", "function_call"},
    "tool": {"role", "content", "tool_call_id", "name"},
}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class RequestError(Exception):
    """A request a hosted model would refuse: HTTP status and error body."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
        }
        self.anthropic_body = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message},
        }
        """What Anthropic's Messages API sends for the same refusal."""


@lru_cache(maxsize=1)
def _encoding() -> Any:
    """cl100k_base from litellm's bundled tokenizer files (offline)."""
    spec = importlib.util.find_spec("litellm")
    if spec and spec.submodule_search_locations:
        folder = os.path.join(spec.submodule_search_locations[0], "litellm_core_utils", "tokenizers")
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", folder)
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


def prompt_tokens(body: dict[str, Any]) -> list[int]:
    """The prompt as one token sequence: the tool schemas first (OpenAI puts them in the system part, so they are
    in the cached prefix), then role markers, contents and tool calls."""
    enc = _encoding()
    parts = [json.dumps(body["tools"], sort_keys=True)] if body.get("tools") else []
    for m in body.get("messages", []):
        calls = json.dumps(m.get("tool_calls") or [], sort_keys=True) if m.get("tool_calls") else ""
        parts.append(f"<|{m.get('role')}|>{_text(m.get('content'))}{calls}<|end|>")
    return enc.encode("".join(parts), disallowed_special=())


def _require_answers(open_calls: list[str], answered: set[str]) -> None:
    """Every tool call of the last assistant message has its tool message before anything else comes."""
    missing = [c for c in open_calls if c not in answered]
    if missing:
        raise RequestError(
            400,
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(missing)}",
            param="messages",
        )


def validate_chat(body: dict[str, Any]) -> None:
    """Refuse what OpenAI refuses (a subset: the rules agents break)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "[] is too short - 'messages'", param="messages")
    open_calls: list[str] = []
    answered: set[str] = set()
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ALLOWED_KEYS:
            raise RequestError(
                400,
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', "
                f"'user', 'tool', and 'developer'.",
                param=f"messages[{i}].role",
            )
        extra = sorted(set(m) - ALLOWED_KEYS[role])
        if extra:
            raise RequestError(
                400,
                f"Additional properties are not allowed ('{extra[0]}' was unexpected) - 'messages.{i}'",
                param=f"messages.[{i}]",
            )
        if role == "tool":
            if m.get("tool_call_id") not in open_calls:
                raise RequestError(
                    400,
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    param=f"messages.[{i}].role",
                )
            answered.add(m["tool_call_id"])
            continue
        _require_answers(open_calls, answered)
        open_calls, answered = [], set()
        if role == "assistant":
            open_calls = [c.get("id") for c in m.get("tool_calls") or []]
            if m.get("content") is None and not open_calls:
                raise RequestError(
                    400,
                    "Invalid value for 'content': expected a string, got null.",
                    param=f"messages.[{i}].content",
                )
    _require_answers(open_calls, answered)
    for k, tool in enumerate(body.get("tools") or []):
        name = (tool.get("function") or {}).get("name", "")
        if not TOOL_NAME.match(name):
            raise RequestError(
                400,
                f"Invalid 'tools[{k}].function.name': string does not match pattern. "
                "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                param=f"tools[{k}].function.name",
            )
    temp = body.get("temperature")
    if temp is not None and not 0 <= float(temp) <= 2:
        raise RequestError(
            400,
            f"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but "
            f"got {temp} instead.",
            param="temperature",
        )


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class PromptCache:
    """OpenAI-style automatic caching: the longest prefix shared with a recent prompt, in 128-token blocks from
    1,024 tokens (what `prompt_tokens_details.cached_tokens` reports)."""

    def __init__(self, keep: int = 32) -> None:
        self.seen: list[list[int]] = []
        self.keep = keep
        self.lock = threading.Lock()

    def lookup_and_store(self, tokens: list[int]) -> int:
        with self.lock:
            best = max((_common_prefix(tokens, s) for s in self.seen), default=0)
            self.seen = [*self.seen[-(self.keep - 1) :], tokens]
        return 0 if best < 1024 else best // 128 * 128


class BreakpointCache:
    """Anthropic-style explicit caching: prefixes up to a `cache_control` breakpoint are written, and read back
    when a later request has a breakpoint after the very same prefix (at least 1,024 tokens)."""

    def __init__(self) -> None:
        self.written: set[str] = set()
        self.lock = threading.Lock()

    def account(self, blocks: list[tuple[str, int, bool]]) -> tuple[int, int]:
        """(cache_read, cache_creation) tokens for blocks of (serialized text, tokens, has breakpoint)."""
        prefix, total, points = "", 0, []
        for text, n, mark in blocks:
            prefix += text
            total += n
            if mark and total >= 1024:
                points.append((str(hash(prefix)), total))
        with self.lock:
            read = max((t for h, t in points if h in self.written), default=0)
            self.written.update(h for h, _ in points)
        last = points[-1][1] if points else 0
        return read, max(last - read, 0)


def chat_response(
    entry: dict[str, Any], model: str, n: int, usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An OpenAI chat.completion body for one script entry."""
    message: dict[str, Any] = {"role": "assistant", "content": entry.get("content")}
    if "reasoning_content" in entry:
        message["reasoning_content"] = entry["reasoning_content"]
    calls = entry.get("tool_calls") or []
    if calls:
        message["tool_calls"] = [
            {
                "id": c.get("id", f"call_{n}_{k}"),
                "type": "function",
                "function": {
                    "name": c["name"],
                    "arguments": c["arguments"]
                    if isinstance(c["arguments"], str)
                    else json.dumps(c["arguments"]),
                },
            }
            for k, c in enumerate(calls)
        ]
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": "tool_calls" if calls else "stop",
    }
    if "logprobs" in entry:
        choice["logprobs"] = {
            "content": [
                {
                    "token": lp["token"],
                    "logprob": lp["logprob"],
                    "bytes": list(lp["token"].encode()),
                    "top_logprobs": [
                        {"token": t["token"], "logprob": t["logprob"], "bytes": list(t["token"].encode())}
                        for t in lp.get("top_logprobs", [])
                    ],
                }
                for lp in entry["logprobs"]
            ]
        }
    usage = dict(entry.get("usage") or usage or {"prompt_tokens": 100, "completion_tokens": 20})
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {
        "id": f"chatcmpl-fake-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def _anthropic_blocks(body: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """The request as cacheable blocks in Anthropic's order: tools, system, messages."""
    enc = _encoding()
    out = []
    for tool in body.get("tools") or []:
        text = json.dumps(tool, sort_keys=True)
        out.append((text, len(enc.encode(text, disallowed_special=())), "cache_control" in tool))
    system = body.get("system") or []
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system:
        text = block.get("text", "")
        out.append((text, len(enc.encode(text, disallowed_special=())), "cache_control" in block))
    for m in body.get("messages", []):
        content = m.get("content")
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content or []:
            text = m["role"] + json.dumps(
                {k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True
            )
            out.append((text, len(enc.encode(text, disallowed_special=())), "cache_control" in block))
    return out


def validate_thinking(body: dict[str, Any], signatures: dict[str, str]) -> None:
    """Extended thinking as Anthropic enforces it: a budget of at least 1,024 tokens below max_tokens; the
    assistant turn that holds the last tool_use must start with its thinking block, sent back unchanged
    (its signature is checked against the text it was issued for)."""
    thinking = body.get("thinking") or {}
    if thinking.get("type") != "enabled":
        return
    budget = int(thinking.get("budget_tokens") or 0)
    if budget < 1024:
        raise RequestError(
            400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if int(body.get("max_tokens") or 0) <= budget:
        raise RequestError(400, "`max_tokens` must be greater than `thinking.budget_tokens`.")
    messages = body.get("messages", [])
    for i, m in enumerate(messages):
        blocks = m.get("content") if isinstance(m.get("content"), list) else []
        for j, b in enumerate(blocks):
            if b.get("type") == "thinking" and signatures.get(b.get("signature", "")) != b.get("thinking"):
                raise RequestError(400, f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        return
    blocks = messages[last].get("content")
    blocks = blocks if isinstance(blocks, list) else [{"type": "text", "text": blocks}]
    if any(b.get("type") == "tool_use" for b in blocks) and blocks[0].get("type") not in (
        "thinking",
        "redacted_thinking",
    ):
        raise RequestError(
            400,
            f"messages.{last}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
            f"`{blocks[0].get('type')}`. When `thinking` is enabled, a final `assistant` message must start "
            "with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
            "recommend you include thinking blocks from previous turns. To avoid this requirement, disable "
            "`thinking`.",
        )


def validate_anthropic(body: dict[str, Any]) -> None:
    """Every tool_use must be answered by a tool_result in the next (user) message."""
    pending: list[str] = []
    for i, m in enumerate(body.get("messages", [])):
        blocks = m.get("content") if isinstance(m.get("content"), list) else []
        results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        missing = [p for p in pending if p not in results]
        if missing:
            raise RequestError(
                400,
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message.",
            )
        pending = (
            [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            if m.get("role") == "assistant"
            else []
        )


def anthropic_response(
    entry: dict[str, Any], model: str, n: int, usage: dict[str, int], thinking: bool = False
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if thinking and entry.get("thinking"):
        content.append({"type": "thinking", "thinking": entry["thinking"], "signature": f"sig_fake_{n}"})
    if entry.get("content"):
        content.append({"type": "text", "text": entry["content"]})
    for k, c in enumerate(entry.get("tool_calls") or []):
        args = json.loads(c["arguments"]) if isinstance(c["arguments"], str) else c["arguments"]
        content.append(
            {"type": "tool_use", "id": c.get("id", f"toolu_{n}_{k}"), "name": c["name"], "input": args}
        )
    return {
        "id": f"msg_fake_{n}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if entry.get("tool_calls") else "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


class FakeOpenAIServer:
    """Context manager running the server in a thread; `.base_url` ends with /v1 (`.anthropic_base` for the
    Messages API).

    context_window: refuse longer prompts (HTTP 400 `context_length_exceeded`); None = no limit.
    context_error:  "classic" or "current": which of OpenAI's two refusal messages (see the module docstring).
    count_tokens:   report the real prompt size and automatic caching in usage (default: a fixed 100 + 20).
    """

    def __init__(
        self,
        script: list[dict[str, Any]] | None = None,
        responder: Callable[[dict[str, Any], int], dict[str, Any]] | None = None,
        *,
        context_window: int | None = None,
        count_tokens: bool = False,
        context_error: str = "classic",
    ) -> None:
        if context_error not in ("classic", "current"):
            raise ValueError(f"context_error must be 'classic' or 'current', not {context_error!r}")
        self.context_error = context_error
        if not script and responder is None:
            raise ValueError("FakeOpenAIServer needs a non-empty script or a responder")
        self.script = list(script or [])
        self.responder = responder
        self.context_window = context_window
        self.count_tokens = count_tokens or context_window is not None
        self.requests: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        """The error bodies sent back, in order."""
        self.prompt_sizes: list[int] = []
        """Prompt tokens of every counted request (refused ones too)."""
        self.cache = PromptCache()
        self.breakpoints = BreakpointCache()
        self.signatures: dict[str, str] = {}
        """Thinking blocks issued (signature -> text): sent back, they must match."""
        self.lock = threading.Lock()
        self._answered = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _record(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(body)

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            n = self._answered
            self._answered += 1
        if self.responder is not None:
            return self.responder(body, n)
        return self.script[min(n, len(self.script) - 1)]

    def _check_window(self, n_tokens: int, anthropic: bool = False) -> None:
        with self.lock:
            self.prompt_sizes.append(n_tokens)
        if self.context_window is None or n_tokens <= self.context_window:
            return
        if anthropic:
            message = f"prompt is too long: {n_tokens} tokens > {self.context_window} maximum"
        elif self.context_error == "current":
            message = (
                "Your input exceeds the context window of this model. Please adjust your input and try again."
            )
        else:
            message = (
                f"This model's maximum context length is {self.context_window} tokens. However, your messages "
                f"resulted in {n_tokens} tokens. Please reduce the length of the messages."
            )
        raise RequestError(400, message, code="context_length_exceeded", param="messages")

    def chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        validate_chat(body)
        usage = None
        if self.count_tokens:
            tokens = prompt_tokens(body)
            self._check_window(len(tokens))
            cached = self.cache.lookup_and_store(tokens)
            usage = {
                "prompt_tokens": len(tokens),
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": cached},
            }
        entry = self._next(body)
        return entry, {"usage": usage} if usage else {}

    def messages(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        validate_anthropic(body)
        validate_thinking(body, self.signatures)
        blocks = _anthropic_blocks(body)
        total = sum(n for _, n, _ in blocks)
        self._check_window(total, anthropic=True)
        read, created = self.breakpoints.account(blocks)
        usage = {
            "input_tokens": total - read - created,
            "output_tokens": 20,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": created,
        }
        return self._next(body), {"usage": usage}

    def __enter__(self) -> FakeOpenAIServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                path = self.path.rstrip("/")
                anthropic = path.endswith("/messages")
                if not anthropic and not path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake._record(body)
                try:
                    entry, extra = fake.messages(body) if anthropic else fake.chat(body)
                except RequestError as exc:
                    sent = exc.anthropic_body if anthropic else exc.body
                    with fake.lock:
                        fake.rejected.append(sent)
                    self._send(exc.status, sent)
                    return
                if entry.get("delay_s"):
                    time.sleep(entry["delay_s"])
                if "status" in entry:
                    self._error(entry, anthropic)
                    return
                model = body.get("model", "fake")
                n = len(fake.requests)
                if anthropic:
                    thinking = (body.get("thinking") or {}).get("type") == "enabled"
                    answer = anthropic_response(entry, model, n, extra["usage"], thinking)
                    fake.signatures.update(
                        (b["signature"], b["thinking"]) for b in answer["content"] if b["type"] == "thinking"
                    )
                    self._send(200, answer)
                else:
                    self._send(200, chat_response(entry, model, n, extra.get("usage")))

            def _error(self, entry: dict[str, Any], anthropic: bool) -> None:
                status = entry["status"]
                if anthropic:  # Anthropic's shape: rate_limit_error (with retry-after), overloaded_error, ...
                    kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
                    message = entry.get("error", "Number of requests has exceeded your rate limit")
                    headers = {"retry-after": str(entry.get("retry_after", 1))} if status == 429 else {}
                    self._send(
                        status, {"type": "error", "error": {"type": kind, "message": message}}, headers
                    )
                    return
                if status == 429:
                    after = entry.get("retry_after", 1)
                    body = {
                        "error": {
                            "message": f"Rate limit reached for requests. Please try again in {after}s.",
                            "type": "requests",
                            "param": None,
                            "code": "rate_limit_exceeded",
                        }
                    }
                    self._send(429, body, {"Retry-After": str(after)})
                    return
                self._send(
                    status, {"error": {"message": entry.get("error", "error"), "type": "server_error"}}
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAIServer is not running: use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def anthropic_base(self) -> str:
        """`api_base` for litellm's anthropic/ models (litellm appends /v1/messages)."""
        return self.base_url[: -len("/v1")]

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
