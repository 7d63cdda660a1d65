"""Configuration of the execution-free verifier (selected by `type`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from patchjury.selection.protocol import Verifier
from patchjury.selection.static_check import StaticChecker


class VerifierConfig(BaseModel):
    """Which execution-free verifier scores candidates, and its settings."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["sklearn", "judge", "none"] = "sklearn"
    """`sklearn`: the trained feature model (CPU, shipped); `judge`: an LLM judge answering YES/NO via an
    OpenAI-compatible endpoint; `none`: no verifier (every score 0.5)."""
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


def build_verifier(config: VerifierConfig, static: StaticChecker | None = None) -> Verifier:
    """The Verifier named by `config.type` (backends imported lazily). `static`: where the sklearn verifier's
    static-check features come from (None: they read "not checked")."""
    if config.type == "sklearn":
        from patchjury.selection.verifier.sklearn_verifier import SklearnVerifier, load_default_verifier

        static = static if config.static_checks else None
        if config.model_path:
            return SklearnVerifier.from_path(config.model_path, static)
        return load_default_verifier(static)
    if config.type == "judge":
        from patchjury.selection.verifier.judge import LLMJudge

        return LLMJudge(config)
    from patchjury.selection.verifier.sklearn_verifier import ConstantVerifier

    return ConstantVerifier()
