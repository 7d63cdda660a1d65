"""Secrets of the calling process never reach what patchjury writes: records, logs, reports.

A secret is the value of an environment variable whose name looks like a credential (`*_KEY`, `*_TOKEN`,
`*_SECRET`, `*_PASSWORD`, `*_CREDENTIALS`, e.g. OPENAI_API_KEY, GITHUB_TOKEN) or that a config names as one
(`model.api_key_env`, via `register_secret_names`). Writers call `redact(text)`, which replaces every such value
(raw or JSON-escaped) by `[REDACTED:<NAME>]`; `install_log_redaction()` does the same for every log record.
Values shorter than MIN_LENGTH are left alone (they would match ordinary text: "1", "true").

Sandboxes are the first line (they do not see these variables at all: docker passes none of the host's
environment, the local backend scrubs it to an allowlist); this is the second, for what reaches a model anyway
(a key pasted in an issue, printed by a user's setup command).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable
from typing import Any

SECRET_NAME = re.compile(r"(?:^|_)(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
"""Environment variable names treated as secrets."""
MIN_LENGTH = 8
"""Shorter values are never redacted."""

_extra_names: set[str] = set()
_lock = threading.Lock()
_cache: tuple[tuple[tuple[str, str], ...], list[tuple[str, str]]] | None = None
_log_installed = False


def register_secret_names(names: Iterable[str | None]) -> None:
    """Treat these variables as secrets too (e.g. every model's `api_key_env`)."""
    with _lock:
        _extra_names.update(n for n in names if n)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) or name in _extra_names


def _pairs() -> list[tuple[str, str]]:
    """(text to find, replacement) for every secret value, raw and JSON-escaped, longest first."""
    global _cache
    env = tuple(sorted((k, v) for k, v in os.environ.items() if len(v) >= MIN_LENGTH and is_secret_name(k)))
    cached = _cache
    if cached is not None and cached[0] == env:
        return cached[1]
    pairs: dict[str, str] = {}
    for name, value in env:
        for form in (value, json.dumps(value)[1:-1]):
            pairs.setdefault(form, f"[REDACTED:{name}]")
    ordered = sorted(pairs.items(), key=lambda p: -len(p[0]))
    _cache = (env, ordered)
    return ordered


def redact(text: str) -> str:
    """`text` with every secret value replaced by `[REDACTED:<NAME>]`."""
    for value, replacement in _pairs():
        if value in text:
            text = text.replace(value, replacement)
    return text


def redact_data(data: Any) -> Any:
    """A copy of a JSON-like structure with every string redacted."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, list):
        return [redact_data(v) for v in data]
    if isinstance(data, dict):
        return {k: redact_data(v) for k, v in data.items()}
    return data


def install_log_redaction() -> None:
    """Redact every log record of the process (all loggers, including libraries'), once."""
    global _log_installed
    with _lock:
        if _log_installed:
            return
        _log_installed = True
    factory = logging.getLogRecordFactory()

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: leave it for logging's own error report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:  # tracebacks are formatted once, from exc_text
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(redacting)
