"""The real model adapter: any provider through litellm, native or text-format tool calling.

litellm is imported lazily (it takes seconds) and always with the LOCAL cost map, so no cost map is
fetched over the network. Unknown models cost 0 with one warning per model name.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any

from patchjury.agent.config import ModelConfig
from patchjury.agent.errors import AgentConfigError, ModelError
from patchjury.agent.models.base import Sampling, response, tool_call
from patchjury.agent.models.textformat import describe_tools, parse_tool_calls
from patchjury.agent.protocol import ModelResponse

log = logging.getLogger(__name__)
_warned: set[str] = set()
_warn_lock = threading.Lock()
_import_lock = threading.Lock()


def import_litellm() -> Any:
    """Import litellm with the local cost map and quiet logging (thread-safe, once)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with _import_lock:
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
    return litellm


def _transient(litellm: Any) -> tuple[type[BaseException], ...]:
    return (
        litellm.exceptions.RateLimitError,
        litellm.exceptions.Timeout,
        litellm.exceptions.APIConnectionError,
        litellm.exceptions.ServiceUnavailableError,
        litellm.exceptions.InternalServerError,
        litellm.exceptions.BadGatewayError,
    )


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


class LitellmModel:
    """Model protocol over litellm.completion, with retries, timeout and cost accounting."""

    @staticmethod
    def check_config(config: ModelConfig) -> str | None:
        return (
            None if config.name else "model.name is required for type=litellm (e.g. name: openai/gpt-4o-mini)"
        )

    def __init__(self, config: ModelConfig, sampling: Sampling | None = None) -> None:
        self.config = config
        self.name = config.name
        self.sampling = sampling or Sampling()
        self._calls = 0
        if config.api_key_env and not os.environ.get(config.api_key_env):
            raise AgentConfigError(
                f"environment variable {config.api_key_env} (model.api_key_env) is not set: "
                f"export it with the API key of {config.name}"
            )

    def _kwargs(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
        cfg = self.config
        kwargs: dict[str, Any] = {"model": cfg.name, "timeout": cfg.timeout, "num_retries": 0}
        kwargs["temperature"] = self.sampling.temperature
        if self.sampling.top_p is not None:
            kwargs["top_p"] = self.sampling.top_p
        if self.sampling.seed is not None:
            kwargs["seed"] = self.sampling.seed
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key_env:
            kwargs["api_key"] = os.environ[cfg.api_key_env]
        if cfg.text_tool_format:
            kwargs["messages"] = to_text_messages(messages, tools or [])
        else:
            kwargs["messages"] = messages
            if tools:
                kwargs["tools"] = tools
        kwargs["drop_params"] = True
        kwargs.update(cfg.extra)
        return kwargs

    def query(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        litellm = import_litellm()
        import openai

        transient = _transient(litellm)
        kwargs = self._kwargs(messages, tools)
        delay = self.config.backoff_s
        for attempt in range(self.config.retries + 1):
            try:
                resp = litellm.completion(**kwargs)
                break
            except transient as exc:
                if attempt == self.config.retries:
                    raise ModelError(
                        f"{self.name}: {type(exc).__name__} after {attempt + 1} attempts: {exc}"
                    ) from exc
                log.warning(
                    "%s: %s (attempt %d), retrying in %.1fs",
                    self.name,
                    type(exc).__name__,
                    attempt + 1,
                    delay,
                )
                time.sleep(delay * (1 + 0.25 * random.random()))
                delay = min(delay * 2, 60.0)
            except (openai.OpenAIError, ValueError) as exc:  # bad request, auth, context window: not retried
                raise ModelError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        self._calls += 1
        return self._parse(resp, litellm)

    def _parse(self, resp: Any, litellm: Any) -> ModelResponse:
        if not resp.choices:
            raise ModelError(f"{self.name}: the response has no choices")
        msg = resp.choices[0].message
        content = msg.content or ""
        if self.config.text_tool_format:
            calls = parse_tool_calls(content, self._calls)
        else:
            calls = []
            for k, call in enumerate(msg.tool_calls or []):
                fn = call.function
                calls.append(
                    tool_call(call.id or f"call-{self._calls}-{k}", fn.name or "", fn.arguments or "")
                )
        usage = getattr(resp, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        return response(content, calls, self._cost(resp, litellm), prompt_tokens, completion_tokens)

    def _cost(self, resp: Any, litellm: Any) -> float:
        try:
            return float(litellm.completion_cost(completion_response=resp, model=self.name) or 0.0)
        except Exception as exc:  # noqa: BLE001 - litellm raises bare Exception for unmapped models
            with _warn_lock:
                if self.name not in _warned:
                    _warned.add(self.name)
                    log.warning("no price known for model %s (%s): its cost counts as 0", self.name, exc)
            return 0.0
