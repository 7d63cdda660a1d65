"""A small OpenAI-compatible chat-completions server on 127.0.0.1 serving scripted responses.

    script = [
        {"tool_calls": [{"name": "view", "arguments": {"path": "a.py"}}]},
        {"content": "YES", "logprobs": [{"token": "YES", "logprob": -0.1,
                                          "top_logprobs": [{"token": "YES", "logprob": -0.1},
                                                           {"token": "NO", "logprob": -2.4}]}]},
        {"status": 500, "error": "overloaded"},           # an HTTP error (for retry tests)
    ]
    with FakeOpenAIServer(script) as server:
        litellm.completion(model="openai/fake", api_base=server.base_url, api_key="x", messages=[...])
        server.requests  # the JSON bodies received, in order

Responses are served in order; when the script is exhausted the last one repeats (or
`responder(request_json, n) -> dict` computes them). Each entry may set `usage`
({"prompt_tokens", "completion_tokens"}) and `delay_s`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chat_response(entry: dict[str, Any], model: str, n: int) -> dict[str, Any]:
    """An OpenAI chat.completion body for one script entry."""
    message: dict[str, Any] = {"role": "assistant", "content": entry.get("content")}
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
    usage = entry.get("usage", {"prompt_tokens": 100, "completion_tokens": 20})
    return {
        "id": f"chatcmpl-fake-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]},
    }


class FakeOpenAIServer:
    """Context manager running the server in a thread; `.base_url` ends with /v1."""

    def __init__(
        self,
        script: list[dict[str, Any]] | None = None,
        responder: Callable[[dict[str, Any], int], dict[str, Any]] | None = None,
    ) -> None:
        if not script and responder is None:
            raise ValueError("FakeOpenAIServer needs a non-empty script or a responder")
        self.script = list(script or [])
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            n = len(self.requests)
            self.requests.append(body)
        if self.responder is not None:
            return self.responder(body, n)
        return self.script[min(n, len(self.script) - 1)]

    def __enter__(self) -> FakeOpenAIServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                entry = fake._next(body)
                if entry.get("delay_s"):
                    time.sleep(entry["delay_s"])
                if "status" in entry:
                    self._send(
                        entry["status"],
                        {"error": {"message": entry.get("error", "error"), "type": "server_error"}},
                    )
                    return
                self._send(200, chat_response(entry, body.get("model", "fake"), len(fake.requests)))

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

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
