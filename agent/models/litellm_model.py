"""The real model adapter: any provider through litellm, native or text-format tool calling.

litellm is imported lazily (it takes seconds) and always with the LOCAL cost map, so no cost map is
fetched over the network. Unknown models cost 0 with one warning per model name. What is sent (reasoning left
out, cache breakpoints, text-format tools) is agent.models.wire's; what is known of providers (context window,
credential variables, explicit caching) is agent.models.providers'.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
from typing import Any

from patchjury.agent.config import ModelConfig
from patchjury.agent.errors import AgentConfigError, ContextWindowError, ModelError
from patchjury.agent.models import providers
from patchjury.agent.models.base import Sampling, response, tool_call
from patchjury.agent.models.textformat import parse_tool_calls
from patchjury.agent.models.wire import TokenCounter, wire
from patchjury.agent.protocol import ModelResponse
from patchjury.trajectory_record import Usage

log = logging.getLogger(__name__)
_import_lock = threading.Lock()
MAX_WAIT_S = 60.0


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


def retry_after(exc: BaseException) -> float:
    """Seconds a rate-limited provider asked to wait (its Retry-After header), 0 when it said nothing."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        try:
            value = float((headers or {}).get("retry-after") or 0)
        except (TypeError, ValueError, AttributeError):
            continue
        if value > 0:
            return value
    return 0.0


CONTEXT_CODE = "context_length_exceeded"
CONTEXT_PHRASES = ("exceeds the context window", "prompt is too long")
"""Refusals litellm does not map to ContextWindowExceededError: OpenAI's newer models answer HTTP 400 with code
`context_length_exceeded` and "Your input exceeds the context window of this model" (litellm matches only the
older "This model's maximum context length is")."""


def context_refusal(exc: BaseException) -> bool:
    """A provider error that says the prompt is longer than the model's window."""
    body = getattr(exc, "body", None)  # the `error` object of the response
    codes = {getattr(exc, "code", None), body.get("code") if isinstance(body, dict) else None}
    text = str(exc).lower()
    return CONTEXT_CODE in codes or any(p in text for p in CONTEXT_PHRASES)


def usage_of(resp: Any) -> Usage:
    """Tokens of a litellm response, cached, cache-written and reasoning ones apart."""
    usage = getattr(resp, "usage", None)

    def num(obj: Any, *names: str) -> int:
        for name in names:
            value = getattr(obj, name, None) if obj is not None else None
            if value:
                return int(value)
        return 0

    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=num(usage, "prompt_tokens"),
        completion_tokens=num(usage, "completion_tokens"),
        cached_tokens=num(prompt_details, "cached_tokens") or num(usage, "cache_read_input_tokens"),
        cache_creation_tokens=num(usage, "cache_creation_input_tokens")
        or num(prompt_details, "cache_creation_tokens"),
        reasoning_tokens=num(completion_details, "reasoning_tokens"),
    )


class LitellmModel:
    """Model protocol over litellm.completion, with retries, timeout and cost accounting."""

    @staticmethod
    def check_config(config: ModelConfig) -> str | None:
        if config.name:
            return None
        return "model.name is required for type=litellm (e.g. name: openai/gpt-4o-mini, or --model NAME)"

    @staticmethod
    def missing_keys(config: ModelConfig) -> list[str]:
        """Credential variables the environment lacks for `config` (checked before any work)."""
        if config.api_key_env:
            return [] if os.environ.get(config.api_key_env) else [config.api_key_env]
        if config.api_base:
            return []  # a self-hosted OpenAI-compatible server usually takes no key
        return providers.missing_keys(import_litellm(), config.name)

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

    @functools.cached_property
    def context_window(self) -> int:
        return self.config.context_window or providers.context_window(import_litellm(), self.name)

    @functools.cached_property
    def _counter(self) -> TokenCounter:
        return TokenCounter(functools.partial(import_litellm().token_counter, model=self.name))

    @functools.cached_property
    def _caching(self) -> bool:
        if self.config.prompt_caching != "auto":
            return self.config.prompt_caching == "on"
        return providers.explicit_caching(import_litellm(), self.name)

    @functools.cached_property
    def _keyless(self) -> bool:
        """No key in the environment for this provider (a self-hosted server at `api_base` needs none)."""
        return bool(providers.missing_keys(import_litellm(), self.name))

    @functools.cached_property
    def _thinking(self) -> bool:
        return providers.keeps_thinking(import_litellm(), self.name)

    def _wire(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, marks: bool) -> Any:
        return wire(
            messages,
            tools or [],
            text_format=self.config.text_tool_format,
            keep_thinking=self._thinking,
            cache_marks=marks and self._caching,
        )

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        schemas = None if self.config.text_tool_format else tools
        return self._counter(self._wire(messages, tools, marks=False), schemas)

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
        elif cfg.api_base and "api_key" not in cfg.extra and self._keyless:
            kwargs["api_key"] = (
                "no-key"  # local servers (vLLM, Ollama, LM Studio) take any key; litellm wants one
            )
        if cfg.reasoning_effort:
            kwargs["reasoning_effort"] = cfg.reasoning_effort
        kwargs["messages"] = self._wire(messages, tools, marks=True)
        if tools and not cfg.text_tool_format:
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
            except litellm.exceptions.ContextWindowExceededError as exc:
                raise ContextWindowError(f"{self.name}: {exc}") from exc
            except transient as exc:
                if attempt == self.config.retries:
                    raise ModelError(
                        f"{self.name}: {type(exc).__name__} after {attempt + 1} attempts: {exc}"
                    ) from exc
                wait = min(max(delay * (1 + 0.25 * random.random()), retry_after(exc)), MAX_WAIT_S)
                log.warning(
                    "%s: %s (attempt %d), retrying in %.1fs", self.name, type(exc).__name__, attempt + 1, wait
                )
                time.sleep(wait)
                delay = min(delay * 2, MAX_WAIT_S)
            except litellm.exceptions.AuthenticationError as exc:
                keys = providers.missing_keys(litellm, self.name) or [
                    self.config.api_key_env or "its API key"
                ]
                raise ModelError(
                    f"{self.name}: the provider refused the credentials ({exc}); check "
                    f"{providers.describe_keys(keys)}"
                ) from exc
            except (openai.OpenAIError, ValueError) as exc:  # bad request, auth: not retried
                if context_refusal(exc):
                    raise ContextWindowError(f"{self.name}: {exc}") from exc
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
        out = response(content, calls, self._cost(resp, litellm))
        out.usage = usage_of(resp)
        out.reasoning = getattr(msg, "reasoning_content", None) or None
        blocks = getattr(msg, "thinking_blocks", None)
        out.thinking_blocks = [dict(b) for b in blocks] if blocks else None
        return out

    def _cost(self, resp: Any, litellm: Any) -> float:
        """Dollars from litellm's offline price table: uncached, cache-read and cache-write prompt tokens each
        at their own rate (tests/agent/test_agent_costs.py checks the arithmetic)."""
        try:
            return float(litellm.completion_cost(completion_response=resp, model=self.name) or 0.0)
        except Exception as exc:  # noqa: BLE001 - litellm raises bare Exception for unmapped models
            providers.warn_once(
                f"price:{self.name}", "no price known for model %s (%s): its cost counts as 0", self.name, exc
            )
            return 0.0
