"""What patchjury needs to know about a provider, read from litellm's offline model info.

- the context window (`max_input_tokens`), with one warning and a conservative default for unknown models;
- the environment variables that hold its credentials (so a missing key names the right one);
- whether it caches prompts explicitly (`cache_control` breakpoints) and takes thinking blocks back.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 16_384
"""Context window assumed for a model litellm does not know (set `model.context_window` to use more)."""
LOCAL_PROVIDERS = frozenset({"ollama", "ollama_chat", "hosted_vllm", "lm_studio", "llamafile", "vllm"})
"""Servers on your own machine: no key needed."""
EXPLICIT_CACHING = frozenset({"anthropic", "bedrock", "vertex_ai", "vertex_ai_beta"})
"""Providers where Claude models cache prompts only at `cache_control` breakpoints."""
ALTERNATIVES = ({"GEMINI_API_KEY", "GOOGLE_API_KEY"},)
"""Variables of which any one is enough (litellm lists both as missing)."""

_warned: set[str] = set()
_lock = threading.Lock()


def warn_once(key: str, message: str, *args: Any) -> None:
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


def provider_of(litellm: Any, name: str) -> str:
    try:
        return str(litellm.get_llm_provider(name)[1])
    except Exception:  # noqa: BLE001 - litellm raises bare errors for names it cannot route
        return ""


def context_window(litellm: Any, name: str) -> int:
    """`max_input_tokens` from litellm's offline model info, else DEFAULT_WINDOW with one warning."""
    try:
        info = litellm.get_model_info(name)
        window = info.get("max_input_tokens") or info.get("max_tokens")
    except Exception:  # noqa: BLE001 - litellm raises bare Exception for unmapped models
        window = None
    if window:
        return int(window)
    warn_once(
        f"window:{name}",
        "context window of %s unknown: assuming %d tokens (set model.context_window to the server's limit)",
        name,
        DEFAULT_WINDOW,
    )
    return DEFAULT_WINDOW


def explicit_caching(litellm: Any, name: str) -> bool:
    """Claude models (directly, or through Bedrock or Vertex AI) cache only what `cache_control` marks."""
    provider = provider_of(litellm, name)
    return provider == "anthropic" or (provider in EXPLICIT_CACHING and "claude" in name.lower())


def keeps_thinking(litellm: Any, name: str) -> bool:
    """Anthropic-family models take their signed thinking blocks back (and need them with tool use)."""
    return explicit_caching(litellm, name)


def missing_keys(litellm: Any, name: str) -> list[str]:
    """The credential variables `name` needs that the environment lacks ([] for local servers)."""
    if provider_of(litellm, name) in LOCAL_PROVIDERS:
        return []
    info = litellm.validate_environment(model=name)
    if info.get("keys_in_environment"):
        return []
    return [str(k) for k in info.get("missing_keys", [])]


def describe_keys(keys: list[str]) -> str:
    """`A`, `A, B and C`, or `A (or B)` for alternatives; the first name is the one to export."""
    for alt in ALTERNATIVES:
        if set(keys) == alt:
            first, *rest = sorted(alt)
            return f"{first} (or {', '.join(rest)})"
    return keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} and {keys[-1]}"
