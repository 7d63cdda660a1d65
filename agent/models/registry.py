"""Pick a model backend by `ModelConfig.type` (backends imported lazily)."""

from __future__ import annotations

from agent.config import AgentConfig, ModelConfig
from agent.errors import AgentConfigError
from agent.models.base import Sampling
from agent.protocol import Model


def make_model(config: ModelConfig, sampling: Sampling | None = None) -> Model:
    """A Model for `config` with per-trajectory sampling settings."""
    if config.type == "litellm":
        from agent.models.litellm_model import LitellmModel

        return LitellmModel(config, sampling)
    if config.type == "deterministic":
        from agent.models.deterministic import DeterministicModel

        return DeterministicModel(config, sampling)
    if config.type == "replay":
        from agent.models.replay import ReplayModel

        return ReplayModel(config, sampling)
    raise AgentConfigError(f"unknown model type {config.type!r}: use litellm, deterministic or replay")


def model_for(index: int, models: list[ModelConfig], agent: AgentConfig) -> Model:
    """The model of trajectory `index`: models are used round robin, sampling varies per index."""
    if not models:
        raise AgentConfigError(
            "no model configured: pass at least one model (e.g. --model openai/gpt-4o-mini)"
        )
    sampling = Sampling(
        temperature=agent.temperature_for(index), top_p=agent.top_p, seed=agent.seed_for(index), index=index
    )
    return make_model(models[index % len(models)], sampling)
