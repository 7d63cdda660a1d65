"""Configuration of the execution-free verifier, and its backends by `type` (imported lazily, by name).

`BACKENDS` is the one name -> factory map: each value names a `from_config(config, static) -> Verifier` function as
`module:function`, imported only when that backend is built (mini-swe-agent's pattern), so loading a config never
imports scikit-learn, litellm or the judge's templates, and the backends can import this module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, field_validator

from patchjury.selection.errors import SelectionConfigError

if TYPE_CHECKING:
    from patchjury.selection.protocol import Verifier
    from patchjury.selection.static_check import StaticChecker

BACKENDS: dict[str, str] = {
    "sklearn": "patchjury.selection.verifier.sklearn_verifier:from_config",
    "judge": "patchjury.selection.verifier.judge:from_config",
    "none": "patchjury.selection.verifier.sklearn_verifier:constant_from_config",
}
"""`VerifierConfig.type` -> `module:function` building that verifier from (config, static checker or None)."""


class VerifierConfig(BaseModel):
    """Which execution-free verifier scores candidates, and its settings."""

    model_config = ConfigDict(extra="forbid")

    type: str = "sklearn"
    """A name of `BACKENDS`: `sklearn`: the trained feature model (CPU, shipped); `judge`: an LLM judge answering
    YES/NO via an OpenAI-compatible endpoint; `none`: no verifier (every score 0.5)."""
    model_path: str | None = None
    """sklearn: path to a verifier artifact JSON (from `patchjury verifier train`); None = the shipped default."""
    static_checks: bool = True
    """sklearn: run static checks (pyflakes before/after the patch) when the repository is known (`--repo` or
    `--repo-cache`); false = those features read "not checked"."""
    judge_model: str = "openai/judge"
    """judge: litellm model name, e.g. `openai/<served-name>` for a vLLM server."""
    api_base: str | None = None
    """judge: base URL of the OpenAI-compatible endpoint, e.g. `http://127.0.0.1:8000/v1`."""
    api_key_env: str = "OPENAI_API_KEY"
    """judge: environment variable holding the API key (a dummy key is used when unset, fine for local servers)."""
    max_steps: int = 40
    """judge: at most this many trajectory steps are shown (the last ones), to bound the prompt."""
    max_chars: int = 60000
    """judge: the rendered prompt is cut to this many characters (issue and patch are kept whole when possible)."""
    top_logprobs: int = 5
    """judge: how many alternatives per token to request; YES/NO must appear among them."""
    timeout_s: float = 120.0
    """judge: per-request timeout in seconds."""
    num_retries: int = 2
    """judge: retries on transient endpoint errors."""

    @field_validator("type")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise SelectionConfigError(
                f"unknown verifier type {value!r}: choose one of {', '.join(BACKENDS)}"
            )
        return value


def build_verifier(config: VerifierConfig, static: StaticChecker | None = None) -> Verifier:
    """The Verifier named by `config.type`, its backend module imported now. `static`: where a verifier's
    static-check features come from (None: they read "not checked")."""
    module, _, function = BACKENDS[config.type].partition(":")
    factory = getattr(importlib.import_module(module), function)
    verifier: Verifier = factory(config, static)
    return verifier
